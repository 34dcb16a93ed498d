"""The requests a message makes in so many words (bot/language/asks.py), beside whatever else it says (#28 §1), and
the limit a debtor cannot meet (bot/language/wording.py, ``cannot_sooner``, #28 §2). Written for these tests, in the
wording of Colombia, Mexico, Argentina, Peru and Chile; none is a training example."""

import pytest

from bot.language import asks, wording

BALANCE, LINK, PERSON, PLAN = asks.BALANCE, asks.LINK, asks.PERSON, asks.PLAN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a reason, then a question or a request
        ("me quedé sin trabajo, ¿y cuánto es lo que debo?", (BALANCE,)),
        ("estoy sin chamba desde octubre, cuánto le debo?", (BALANCE,)),  # MX
        ("me atrasaron el sueldo, ¿a cuánto asciende la deuda?", (BALANCE,)),
        ("ando misio este mes, cuál es mi saldo?", (BALANCE,)),  # PE
        ("me quedé sin pega, cuánto me falta por pagar?", (BALANCE,)),  # CL
        ("oiga, y de cuánto es la deuda ahora", (BALANCE,)),
        ("se me pasó la fecha, me regala el link porfa", (LINK,)),  # CO
        ("me olvidé, pasame el link que pago ahora", (LINK,)),  # AR
        ("no me acordaba, me manda la liga de pago?", (LINK,)),  # MX
        ("se me olvidó, ¿me puede enviar el enlace?", (LINK,)),
        ("necesito el link para pagar, estuve enfermo", (LINK,)),
        ("el internet no funciona hace un mes, quiero hablar con alguien", (PERSON,)),
        ("la tele llegó rota, comuníqueme con un asesor", (PERSON,)),
        ("me pasás con una persona? el modem no anda", (PERSON,)),  # AR
        ("que me llame un asesor, el producto salió fallado", (PERSON,)),
        ("quiero atención personalizada", (PERSON,)),
        ("me enfermé, quiero pagar en cuotas", (PLAN,)),
        ("estoy sin laburo, ¿tienen plan de pagos?", (PLAN,)),  # AR
        ("se puede diferir? me recortaron el sueldo", (PLAN,)),
        ("lo pago a plazos si se puede", (PLAN,)),
        # two requests: the question first, a person last
        ("cuánto debo y mándeme el link", (BALANCE, LINK)),
        ("quiero hablar con un asesor, cuánto es el total?", (BALANCE, PERSON)),
        # no request in the words
        ("me quedé sin trabajo", ()),
        ("tengo la tarjeta y el préstamo del carro encima, a fin de mes le cancelo", ()),
        ("debo 800 mil pero le abono 50 mil el viernes", ()),
        ("debo como 3 meses de cuota", ()),
        ("mejor para el 22 que es cuando me depositan", ()),
        # taken back, or a complaint
        ("no me mande el link todavía", ()),
        ("el link no abre", ()),
        ("el enlace que me mandaron no funciona", ()),
        ("no quiero hablar con nadie", ()),
        ("no necesito un asesor, gracias", ()),
        ("no quiero cuotas", ()),
    ],
)
def test_the_requests_in_the_words(text, expected):
    assert asks.asks_in(text) == expected


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("me enfermé, quiero pagar en 3 cuotas", 3),
        ("¿lo puedo pagar a seis meses?", 6),
        ("dividido en dos partes porfa", 2),
        ("en 4 pagos me queda mejor", 4),
        ("quiero pagar en cuotas", None),
        ("debo 3 meses de cuota", None),  # arrears, not a plan
        ("llevo 2 meses sin trabajo, quiero pagar en cuotas", None),
        ("en 3 o en 4 cuotas", None),  # two counts: the bot asks
    ],
)
def test_the_instalment_count_already_given(text, count):
    assert asks.plan_count(text) == count


def test_a_request_is_no_reason():
    """ "Link" names trouble with the service only outside a request for one."""
    assert "service_issue" in wording.reason_cues("el link no abre")
    assert "service_issue" not in wording.reason_cues(asks.without_asks("mándeme el link"))
    assert "forgot" in wording.reason_cues(asks.without_asks("se me olvidó, mándeme el link"))


@pytest.mark.parametrize(
    "text",
    [
        "imposible antes de esa fecha",
        "antes no puedo, señorita",
        "no llego para esa fecha",
        "ni modo antes del 30",  # MX
        "esa fecha no me alcanza",
        "uy no, antes no alcanzo",
        "no hay forma de pagar antes",
        "antes de esa fecha me es imposible",
    ],
)
def test_cannot_meet_the_limit(text):
    assert wording.cannot_sooner(text)


@pytest.mark.parametrize(
    "text", ["no puedo pagar hoy", "el 22 mejor", "antes pagaba el 15", "sí, antes del 20 le pago", "gracias"]
)
def test_not_a_limit_too_soon(text):
    assert not wording.cannot_sooner(text)
