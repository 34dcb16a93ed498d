"""The request for the statement PDF, found in the words, in the colloquial Spanish of five countries."""

from __future__ import annotations

import pytest

from bot.language import asks


@pytest.mark.parametrize(
    "text",
    [
        # Colombia
        "Mándeme la factura",
        "me regala el estado de cuenta por favor",
        "¿me puede enviar la cuenta de cobro?",
        "quisiera tener el desglose de mi deuda",
        # Mexico
        "ocupo la factura en pdf",
        "me pasa mi estado de cuenta porfa",
        "¿me hace llegar el recibo?",
        # Argentina
        "me pasás el resumen de cuenta?",
        "mandame la factura che",
        "¿me lo podés mandar en pdf?",
        # Peru
        "envíeme el extracto",
        "quiero ver mi estado de cuenta",
        "mándame el detalle de lo que debo en pdf",
        # Chile
        "pásame la boleta porfa",
        "necesito que me envíen el comprobante de lo que debo",
        "hola, ¿cómo veo mi estado de cuenta?",
        "estado de cuenta",
    ],
)
def test_asks_for_the_statement(text):
    assert asks.asks_statement(text)
    assert asks.STATEMENT in asks.asks_in(text)


@pytest.mark.parametrize(
    "text",
    [
        "le mando el comprobante",  # the debtor's proof of payment, not a request
        "ya pagué, aquí está el comprobante",
        "te paso el recibo del pago",
        "quiero pagar la factura",
        "mándame el link de la factura",  # the payment link
        "no me mande la factura",
        "no quiero el estado de cuenta",
        "cuánto debo",
        "la factura está mal, no reconozco ese cobro",
        "el viernes me dan mi liquidación y le deposito",  # severance pay, not a document
    ],
)
def test_other_messages_do_not(text):
    assert not asks.asks_statement(text)


def test_statement_and_balance_in_one_message_are_both_found_in_order():
    assert asks.asks_in("cuánto debo? y mándeme la factura") == (asks.BALANCE, asks.STATEMENT)
    assert asks.asks_in("mándeme el estado de cuenta y el link para pagar") == (asks.STATEMENT, asks.LINK)
