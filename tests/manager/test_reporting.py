"""Metric computations, filters, search and masking against hand-built data with known answers."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.review import ab, dashboard, exports, filters, masks, transcripts
from tests import factories
from tests.runtimes import in_rasa_runtime


def test_dashboard_figures(session, history, november):
    d = dashboard.dashboard(session, november())
    assert d.conversations == 5  # OLD is outside November
    assert d.debtors == 5
    c = d.counts
    assert c["replied"] == 4
    assert c["no_reply"] == 1
    assert c["verified"] == 3
    assert c["promise"] == 2 and c["promise_kept"] == 1 and c["promise_broken"] == 1
    assert c["link_sent"] == 1 and c["link_paid"] == 1
    assert c["paid"] == 2
    assert c["handoff"] == 1 and c["dispute"] == 1
    assert c["contained"] == 3  # replied without a hand-off
    assert c["opted_out"] == 1
    assert c["plan"] == 0 and c["date_moved"] == 0
    # Per currency, never summed; the refunded payment is not recovered.
    assert d.recovered == [("COP", Decimal("200000.00")), ("MXN", Decimal("1500.00"))]
    assert d.reasons == [("job_loss", 2), ("forgot", 1)]
    assert d.failures == [("30003", 1, 1)]


def test_mexico_this_month(session, history, november):
    d = dashboard.dashboard(session, november(country="MX"))
    assert d.conversations == 2
    assert d.reasons == [("job_loss", 2)]
    assert (d.counts["promise"], d.counts["promise_kept"]) == (2, 1)
    assert d.pct("promise_kept", "promise") == 50.0
    assert d.recovered == [("MXN", Decimal("1500.00"))]


@pytest.mark.parametrize("name", dashboard.METRICS)
def test_every_figure_equals_its_list(session, history, november, name):
    """The list a figure links to holds exactly the conversations counted."""
    f = november()
    d = dashboard.dashboard(session, f)
    linked = filters.Filters.from_args(f.plus_outcome(name), tz=f.tz)
    assert transcripts.count(session, linked) == d.counts[name]
    assert len(transcripts.conversations(session, linked, per_page=100)) == d.counts[name]


def test_segment_figures_narrow_not_replace(session, history, november):
    f = november(outcome="promise")
    d = dashboard.dashboard(session, f)
    assert d.conversations == 2
    assert d.counts["paid"] == 1  # MX-2 only, not CO-1
    assert transcripts.count(session, filters.Filters.from_args(f.plus_outcome("paid"))) == 1


def test_reason_and_error_links(session, history, november):
    f = november()
    d = dashboard.dashboard(session, f)
    for reason, n in d.reasons:
        assert transcripts.count(session, filters.Filters.from_args(f.to_args(reason=reason))) == n
    for code, convs, _msgs in d.failures:
        assert transcripts.count(session, filters.Filters.from_args(f.to_args(error_code=code))) == convs


def test_filters(session, history, november):
    convs = history["convs"]

    def ids(**args: str) -> set[int]:
        return {r.id for r in transcripts.conversations(session, november(**args), per_page=100)}

    assert ids(country="MX") == {convs["MX-1"].id, convs["MX-2"].id}
    assert ids(channel="sms") == {convs["MX-2"].id}
    assert ids(outcome="promise_broken") == {convs["MX-1"].id}
    assert ids(outcome="promise_kept") == {convs["MX-2"].id}
    assert ids(outcome="paid") == {convs["MX-2"].id, convs["CO-1"].id}
    assert ids(outcome="opted_out") == {convs["PE-1"].id}
    assert ids(outcome="no_reply") == {convs["CO-2"].id}
    assert ids(reason="forgot") == {convs["PE-1"].id}
    assert ids(agent=str(history["agent"].id)) == {convs["PE-1"].id}
    assert ids(intent="request_payment_link") == {convs["CO-1"].id}
    assert ids(campaign="preventiva", variant="B") == {convs["MX-2"].id, convs["CO-1"].id}
    # The period: September finds only the old conversation and its broken promise.
    sept = filters.Filters.from_args({"from": "2026-09-01", "to": "2026-09-30", "outcome": "promise_broken"})
    assert [r.id for r in transcripts.conversations(session, sept)] == [convs["OLD"].id]
    # Most recent first.
    assert [r.id for r in transcripts.conversations(session, november())][:2] == [convs["PE-1"].id, convs["CO-2"].id]


def test_list_rows_carry_outcomes_and_masked_text(session, history, november):
    rows = {r.external_id: r for r in transcripts.conversations(session, november())}
    assert "promise_broken" in rows["MX-1"].outcomes
    assert set(rows["MX-2"].outcomes) >= {"paid", "promise_kept"}
    assert "1111-1111" not in rows["MX-1"].last_text


def test_search_is_accent_and_case_insensitive(session, history, november):
    convs = history["convs"]

    def ids(q: str) -> set[int]:
        return {r.id for r in transcripts.conversations(session, november(q=q), per_page=100)}

    assert ids("cuanto") == {convs["MX-1"].id}  # "¿cuánto debo?"; OLD is outside the period
    assert ids("CUÁNTO DEBO") == {convs["MX-1"].id}
    assert ids("olvido") == {convs["PE-1"].id}
    assert ids("despid") == {convs["MX-2"].id}  # prefix
    assert ids("quede TRABAJO") == {convs["MX-1"].id}  # every word, in one message
    assert ids("cuanto trabajo") == set()
    assert ids("zzzz") == set()
    assert ids('"; DROP TABLE messages; --') == set()


def test_search_index_follows_edits_and_deletes(session, history, november):
    from sqlalchemy import select

    from bot.store.models import Message

    m = session.execute(select(Message).where(Message.body == "mándame el link")).scalar_one()
    m.body = "quiero el comprobante de pago"
    session.commit()
    assert transcripts.count(session, november(q="mandame")) == 0
    assert transcripts.count(session, november(q="comprobante")) == 1
    session.delete(m)
    session.commit()
    assert transcripts.count(session, november(q="comprobante")) == 0


def test_ab_results(session, history, november):
    [camp] = dashboard.dashboard(session, november()).ab
    assert camp["campaign"] == "preventiva"
    a, b = camp["variants"]
    assert (a["variant"], a["reached"], a["replied"], a["promise"], a["paid"]) == ("A", 2, 1, 1, 0)
    assert (b["variant"], b["reached"], b["replied"], b["promise"], b["paid"]) == ("B", 2, 2, 1, 2)
    assert b["amounts"] == [("COP", Decimal("200000.00")), ("MXN", Decimal("1500.00"))]
    assert camp["tests"]["paid"]["winner"] is None  # 0/2 vs 2/2 is not evidence
    # On their own (the A/B page), the same results; the dashboard page leaves them out.
    assert dashboard.ab_table(session, november()) == [camp]
    assert dashboard.dashboard(session, november(), ab=False).ab == []


def test_statistics():
    z, p = ab.two_proportion_z(120, 1000, 80, 1000)
    assert z == pytest.approx(2.98, abs=0.01)
    assert p == pytest.approx(0.0029, abs=0.0002)
    assert ab.two_proportion_z(0, 0, 1, 2) == (None, None)
    assert ab.two_proportion_z(0, 10, 0, 10) == (None, None)
    lo, hi = ab.wilson(5, 10)
    assert (lo, hi) == (pytest.approx(0.2366, abs=1e-3), pytest.approx(0.7634, abs=1e-3))
    assert ab.wilson(0, 0) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mi tarjeta 4111 1111 1111 1234", "mi tarjeta ••••••••••••1234"),
        ("4111-1111-1111-1234-567", "•••••••••••••••4567"),
        ("cédula 1020345678", "cédula ••••••5678"),
        ("CC 1.020.345.678", "CC ••••••5678"),
        ("referencia 12345678901234567890123", "referencia •••••••••••••••••••0123"),
        ("debo $1.250.000 del mes", "debo $1.250.000 del mes"),
        ("son 1.250.000 pesos", "son 1.250.000 pesos"),
        ("le pago el 15/12/2026", "le pago el 15/12/2026"),
        ("mis últimos 4: 1234", "mis últimos 4: 1234"),
        ("tel 3001234567", "tel ••••••4567"),
    ],
)
def test_mask(text, expected):
    assert masks.mask(text) == expected


def test_filters_round_trip():
    f = filters.Filters.from_args(
        {
            "from": "2026-11-01",
            "to": "2026-11-30",
            "country": "mx",
            "outcome": "paid,bogus",
            "reason": "nope",
            "agent": "x",
            "q": " cuanto ",
        }
    )
    assert f.country == "MX" and f.outcome == "paid" and f.reason == "" and f.agent is None and f.q == "cuanto"
    assert filters.Filters.from_args(f.to_args()) == f
    assert f.plus_outcome("promise")["outcome"] == "paid,promise"
    swapped = filters.Filters.from_args({"from": "2026-11-30", "to": "2026-11-01"})
    assert swapped.date_from.isoformat() == "2026-11-01"
    start, end = swapped.bounds
    assert start.isoformat() == "2026-11-01T05:00:00+00:00" and end.isoformat() == "2026-12-01T05:00:00+00:00"


def test_list_csv_and_table_csv(session, history, november):
    text = "".join(exports.list_csv(session, november(country="MX")))
    lines = text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("conversation_id,debtor_external_id")
    assert len(lines) == 3
    assert "+525500000001" not in text and "1111-1111" not in text
    msgs = "".join(exports.table_csv(session, "messages"))
    assert "4111-1111-1111-1234" not in msgs and "•1234" in msgs
    debtors = "".join(exports.table_csv(session, "debtors"))
    assert "document_hash" not in debtors and "+525500000001" not in debtors
    with pytest.raises(KeyError):
        list(exports.table_csv(session, "users"))


def test_csv_cells_are_never_formulas():
    assert list(exports.csv_lines(["a"], [["=HYPERLINK(1)"], ["-5"]]))[1:] == ["'=HYPERLINK(1)\r\n", "'-5\r\n"]


READ_NLU = """
import json, sys
from rasa.shared.nlu.training_data.formats.rasa_yaml import RasaYAMLReader
examples = RasaYAMLReader().reads(sys.stdin.read()).training_examples
print(json.dumps([[e.get("intent"), e.get("text"), e.get("entities")] for e in examples]))
"""


def test_nlu_export_keeps_debtor_text_plain_for_rasa_and_yaml(session, make_debtor):
    """A debtor's message cannot write entity annotations into the training data, nor break the file:
    Rasa reads the export back with the debtor's words as plain text and no entity."""
    import yaml

    from bot.conversation import handoffs
    from bot.store.models import Message

    debtor = make_debtor()
    conv = handoffs.get_or_create_conversation(session, debtor.phone, debtor)
    session.flush()
    body = (
        'soy [Ana](name) y debo [50000]{"entity": "amount", "value": "1"} ver [x][{"entity": "reason"}] '
        '[perdí](reason:job_loss) el trabajo\x1b\ufeff\u2028: - key: "v" #no'
    )  # no NUL: ingest drops it
    plain = (
        'soy (Ana)(name) y debo (50000){"entity": "amount", "value": "1"} ver (x)({"entity": "reason"}) '
        '(perdí)(reason:job_loss) el trabajo : - key: "v" #no'
    )  # the line separator is a space

    def message(direction: str, text: str, intent: str | None = None) -> Message:
        author = "debtor" if direction == "in" else "bot"
        confidence = 0.3 if intent else None
        return factories.message(session, conv, author, text, intent=intent, confidence=confidence, status="processed")

    message("in", body, "greet")
    transcripts.flag_message(session, message("out", "Hola, ¿en qué le ayudo?"), None, "report_nonpayment_reason")
    message("in", "[otra](document_digits) cosa", "nlu_fallback")
    session.flush()

    exported = exports.nlu_export(session)
    data = yaml.safe_load(exported)
    assert data["nlu"][0]["examples"] == f"- {plain}\n"
    examples = in_rasa_runtime(READ_NLU, stdin=exported)  # read back by Rasa's own reader, on the Rasa runtime
    assert examples == [["report_nonpayment_reason", plain, None]]
    # the messages left to label, once the manager uncomments them, are just as plain
    commented = [line[len("#   ") :] for line in exported.splitlines() if line.startswith("#   - ")]
    assert "- (otra)(document_digits) cosa  (leído como nlu_fallback)" in commented
