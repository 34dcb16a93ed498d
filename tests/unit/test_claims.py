"""What a "ya pagué" message already tells: the bot must not ask again for what the debtor said."""

import pytest

from bot.language.claims import read_claim


@pytest.mark.parametrize(
    ("text", "when", "how"),
    [
        ("ya pagué", False, False),
        ("yo ya pagué eso", False, False),
        ("ya pagué ayer", True, False),
        ("pagué antier en la mañana", True, False),
        ("lo pagué el lunes", True, False),
        ("ya cancelé el 15 de noviembre", True, False),
        ("pagué hace 3 días", True, False),
        ("ya hice el pago la semana pasada", True, False),
        ("pagué hace un rato", True, False),
        ("ya pagué por transferencia", False, True),
        ("pague en el OXXO", False, True),
        ("hice el depósito en el banco", False, True),
        ("lo pagué con el link que me mandaron", False, True),
        ("ya les pagué por Nequi", False, True),
        ("pagué con yape", False, True),
        ("ya pagué ayer por transferencia", True, True),
        ("YA PAGUE HOY EN EFECTIVO", True, True),
        ("pagué el viernes en Rapipago, tengo el comprobante", True, True),
        ("ayer hice la consignación en Bancolombia", True, True),
        ("pagué con tarjeta de débito el 3 de diciembre", True, True),
    ],
)
def test_when_and_how_are_read_from_the_claim(text, when, how):
    claim = read_claim(text)
    assert (claim.when, claim.how) == (when, how)


def test_a_date_the_nlu_found_says_when():
    assert read_claim("ya pagué eso", said_date=True).when
    assert not read_claim("ya pagué eso", said_date=False).when
