import pytest

from bot.conversation import reasons
from bot.store.models import NonpaymentReason


def test_record_normalises(session, make_debtor):
    debtor = make_debtor()
    row = reasons.record(session, debtor, "job_loss", "  me quedé sin chamba ")
    other = reasons.record(session, debtor, "aliens", "raro")
    session.commit()
    assert (row.reason, row.text) == ("job_loss", "me quedé sin chamba")
    assert other.reason == "other"
    assert session.query(NonpaymentReason).count() == 2


def test_next_steps():
    assert reasons.next_step("job_loss") == "payment_plan"
    assert reasons.next_step("health") == "payment_plan"
    assert reasons.next_step("income_delay") == "promise"
    assert reasons.next_step("forgot") == "payment_link"
    assert reasons.next_step("service_issue") == "dispute"
    assert reasons.next_step("other_debts") == "plan_or_promise"


# --- the reason as far as the words bear it out (issue #28 §4) -----------------------------------------------


@pytest.mark.parametrize(
    ("classified", "text", "reason", "line"),
    [
        ("job_loss", "estoy pelado este mes", "other", "short_of_money"),
        ("job_loss", "ando sin plata", "other", "short_of_money"),
        ("other_debts", "no me alcanza", "other", "short_of_money"),
        ("job_loss", "estoy corto hasta que me paguen", "income_delay", "income_delay"),
        ("job_loss", "me quedé sin trabajo", "job_loss", "job_loss"),
        ("job_loss", "me botaron de la chamba", "job_loss", "job_loss"),
        ("job_loss", "mi negocio quebró", "job_loss", "job_loss"),
        ("health", "me operaron de la vesícula", "health", "health"),
        ("health", "es un tema familiar", "other", "other"),
        ("income_delay", "todavía no me depositan", "income_delay", "income_delay"),
        ("income_delay", "las ventas están por el piso", "income_delay", "income_low"),
        ("income_delay", "estoy en la ruina", "other", "short_of_money"),
        ("forgot", "se me chispoteó", "forgot", "forgot"),
        ("service_issue", "el internet no sirve", "service_issue", "service_issue"),
        ("service_issue", "pucha, no sé", "other", "other"),
        ("other", "no tengo lana", "other", "short_of_money"),
        ("aliens", "raro", "other", "other"),
        ("job_loss", "", "job_loss", "job_loss"),  # nothing to check it against: the reading stands
    ],
)
def test_read_keeps_only_what_the_words_say(classified, text, reason, line):
    assert reasons.read(classified, text) == reasons.Reading(reason, line)


def test_every_labelled_training_reason_is_borne_out_by_its_words():
    """The evidence is no stricter than the training data: each example labelled with a cause names it, except
    the ones that only say money is short (recorded as ``other`` by the rule of issue #28 §4)."""
    import re

    import yaml

    from bot.platform.config import ROOT

    span = re.compile(r"\[([^\]]+)\]\{[^}]+\}")
    label = re.compile(r'\{"entity": "reason", "value": "(\w+)"')
    missed = []
    for path in sorted((ROOT / "data" / "nlu").glob("*.yml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")).get("nlu") or []:
            for line in (item.get("examples") or "").splitlines():
                found = label.search(line)
                if not found:
                    continue
                text = span.sub(r"\1", line.strip()[2:])
                read = reasons.read(found[1], text)
                if read.reason != found[1] and read.line != "short_of_money":
                    missed.append((found[1], text, read.reason))
    assert not missed, missed
