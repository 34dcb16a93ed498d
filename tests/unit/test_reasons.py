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
