"""What counts as saying it plainly (bot/language/wording.py): the acts that cannot be undone need these words."""

import pytest

from bot.language import wording


@pytest.mark.parametrize(
    "text",
    [
        "número equivocado, no conozco a esa persona",
        "NUMERO EQUIVOCADO",
        "no soy esa persona",
        "yo no soy la persona que buscan",
        "no conozco a ningún Carlos",
        "se equivocaron de número",
        "aquí no vive ningún Juan",
        "che, le erraron al número",
        "este celular ya no es de ella",
    ],
)
def test_plain_wrong_number(text):
    assert wording.says_wrong_number(text)


@pytest.mark.parametrize(
    "text",
    ["¿de parte de quién? no reconozco este número", "no reconozco este número", "quién es?", "ese no", "hola?"],
)
def test_not_plainly_a_wrong_number(text):
    assert not wording.says_wrong_number(text)


@pytest.mark.parametrize("text", ["¿de parte de quién?", "quién es?", "quien habla", "de dónde me escriben?"])
def test_asks_who_is_writing(text):
    assert wording.asks_who_is_writing(text)


@pytest.mark.parametrize(
    "text",
    [
        "no me escriban más",
        "dejen de mandarme mensajes",
        "quiero darme de baja",
        "bórrenme de la lista",
        "no quiero recibir más mensajes",
        "STOP por favor",
        "no me contacten más",
    ],
)
def test_plain_opt_out(text):
    assert wording.says_opt_out(text)


@pytest.mark.parametrize("text", ["déjenme en paz", "basta", "ya no quiero nada", "qué fastidio", "ok"])
def test_not_plainly_an_opt_out(text):
    assert not wording.says_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        "no reconozco esa deuda",
        "esa deuda no es mía",
        "yo no debo nada",
        "nunca pedí ese crédito",
        "el monto está mal",
        "me suplantaron la identidad",
        "quiero impugnar la deuda",
        "esa deuda ya prescribió",
    ],
)
def test_plain_dispute(text):
    assert wording.says_dispute(text)


@pytest.mark.parametrize("text", ["qué es esto?", "esto está raro", "no reconozco este número", "de qué me hablan"])
def test_not_plainly_a_dispute(text):
    assert not wording.says_dispute(text)


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("me quedé sin chamba", "job_loss"),
        ("quedé sin pega", "job_loss"),
        ("me echaron del laburo", "job_loss"),
        ("estoy desempleado", "job_loss"),
        ("me liquidaron de la empresa", "job_loss"),
        ("estoy pelado", "short_of_money"),
        ("ando misio", "short_of_money"),
        ("no tengo guita", "short_of_money"),
        ("no me han pagado la quincena", "late_pay"),
    ],
)
def test_reason_cues(text, cue):
    assert cue in wording.reason_cues(text)


@pytest.mark.parametrize("text", ["estoy pelado este mes", "ando sin plata", "no me alcanza", "estoy seco"])
def test_being_broke_is_no_job_loss(text):
    assert "job_loss" not in wording.reason_cues(text)


def test_paid_overtime_is_no_job_loss():
    assert "job_loss" not in wording.reason_cues("no me liquidaron las horas extra todavía")
