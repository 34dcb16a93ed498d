"""What the dashboard page shows, and where each figure comes from: the rollup when it can answer, else live.

The conversation totals (conversations, debtors, replied) are always counted live from the conversations' own
rows; the outcome counts, money, reasons and delivery failures come from ``rollups`` (plus the conversations
changed since its last refresh, computed now by ``rollups.compute``) when the filter allows it
(``rollups.can_serve``), else from ``figures.live_figures``. The choice lives here, above both, so neither the
rollup nor the live queries need to know of the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import case, distinct, func, select
from sqlalchemy.orm import Session

from bot.review import rollups
from bot.review.ab import ABAmounts, ABRows, ab_results, add_ab, live_ab_counts
from bot.review.figures import add_figures, event_count, live_figures
from bot.review.filters import C, Filters, conditions, conversations_from, replied_clause

# The figures the dashboard shows, each linked to the list of its conversations (``Filters.plus_outcome``).
METRICS = (
    "replied",
    "verified",
    "promise",
    "promise_kept",
    "promise_broken",
    "link_sent",
    "link_paid",
    "paid",
    "plan",
    "date_moved",
    "dispute",
    "handoff",
    "contained",
    "opted_out",
    "no_reply",
)


@dataclass
class Dashboard:
    """The dashboard page's figures under ``filters``; ``source`` says whether the outcome figures came from the
    rollup (with ``live_conversations`` computed now) or all live — the page shows it, so a manager knows."""

    filters: Filters
    conversations: int
    debtors: int
    counts: dict[str, int]
    recovered: list[tuple[str, Decimal]]
    reasons: list[tuple[str, int]]
    failures: list[tuple[str, int, int]]
    ab: list[dict[str, Any]]
    source: str = "live"  # or "rollup" (pre-computed, plus the conversations changed since computed live)
    live_conversations: int = 0

    def pct(self, part: str, whole: str) -> float | None:
        w = self.conversations if whole == "conversations" else self.counts.get(whole, 0)
        return None if not w else 100.0 * self.counts.get(part, 0) / w


def dashboard(session: Session, f: Filters, rollup: bool = True, ab: bool = True) -> Dashboard:
    """The dashboard's figures. The conversation totals (conversations, debtors, replied) and the figures that
    combine two outcomes (contained, A/B) are read live; the outcome counts, money, reasons and delivery failures
    come from the rollup (``bot.review.rollups``) when it can answer the filter — with the conversations changed since
    its last refresh computed now and added — else live. Both ways give the same figures.

    ``ab=False`` leaves the A/B results out (``ab`` is then empty): the dashboard page shows them apart
    (``ab_table``, their own page), so the page's figures do not wait for them."""
    with_ab = ab
    start, end = f.bounds
    where = conditions(session, f)
    replied = replied_clause(start, end)
    figures, source, live_ids = None, "live", set()
    ab_counted: tuple[ABRows, ABAmounts] | None = None
    state = rollups.get_state(session) if rollup and rollups.can_serve(f) else None
    if state is not None:
        live_ids = rollups.live_conversations(session, state)
        if len(live_ids) <= rollups.LIVE_LIMIT:
            figures, source = rollups.read(session, f, state, live_ids), "rollup"
            # The conversations changed since the refresh: their rows computed now, read the same way; those of
            # debtors with several conversations by the live queries.
            fresh_rows = rollups.compute(session, sorted(live_ids))
            fresh, multi = rollups.evaluate(fresh_rows, f)
            add_figures(figures, fresh)
            multi_where = [*where, C.c.id.in_(sorted(multi))]
            if multi:
                add_figures(figures, live_figures(session, f, multi_where))
            if with_ab:
                ab_counted = _rollup_ab(session, f, state, live_ids, fresh_rows, multi, where)
        else:
            live_ids = set()
    if source == "rollup":
        # Outside the live conversations every debtor has one conversation (the live set holds all conversations
        # of any debtor with several): distinct debtors = debtors outside + distinct debtors inside.
        totals = session.execute(
            select(
                func.count().label("conversations"),
                func.count(C.c.debtor_id).label("debtors"),
                func.coalesce(func.sum(case((replied, 1), else_=0)), 0).label("replied"),
            )
            .select_from(conversations_from(f))
            .where(*where)
        ).one()
        debtors = totals.debtors
        if live_ids:
            inside = session.execute(
                select(func.count(C.c.debtor_id), func.count(distinct(C.c.debtor_id)))
                .select_from(conversations_from(f))
                .where(*where, C.c.id.in_(sorted(live_ids)))
            ).one()
            debtors += inside[1] - inside[0]
    else:
        totals = session.execute(
            select(
                func.count().label("conversations"),
                func.count(distinct(C.c.debtor_id)).label("debtors"),
                func.coalesce(func.sum(case((replied, 1), else_=0)), 0).label("replied"),
            )
            .select_from(conversations_from(f))
            .where(*where)
        ).one()
        debtors = totals.debtors
    counts = {"replied": int(totals.replied), "no_reply": totals.conversations - int(totals.replied)}
    if figures is None:
        figures = live_figures(session, f, where)
    counts.update(figures.counts)
    counts["contained"] = counts["replied"] - event_count(session, f, "handoff", where, [replied])
    return Dashboard(
        filters=f,
        conversations=totals.conversations,
        debtors=debtors,
        counts=counts,
        # (Entries a subtraction left at zero are not figures: the live queries would not list them.)
        recovered=sorted((cur, amount) for cur, amount in figures.recovered.items() if figures.payments.get(cur)),
        reasons=sorted(((r, n) for r, n in figures.reasons.items() if n), key=lambda rn: (-rn[1], rn[0])),
        failures=sorted(((code, c, m) for code, (c, m) in figures.failures.items() if m), key=lambda x: (-x[2], x[0])),
        ab=ab_results(session, f, where, counted=ab_counted) if with_ab else [],
        source=source,
        live_conversations=len(live_ids),
    )


def ab_table(session: Session, f: Filters, rollup: bool = True) -> list[dict[str, Any]]:
    """The A/B results alone (``ab_results``' shape), from the rollup when it can answer the filter (with the
    conversations changed since its refresh computed now), else live: the dashboard's ``ab``, without the rest."""
    where = conditions(session, f)
    state = rollups.get_state(session) if rollup and rollups.can_serve(f) else None
    if state is not None:
        live_ids = rollups.live_conversations(session, state)
        if len(live_ids) <= rollups.LIVE_LIMIT:
            fresh_rows = rollups.compute(session, sorted(live_ids))
            _fresh, multi = rollups.evaluate(fresh_rows, f)
            counted = _rollup_ab(session, f, state, live_ids, fresh_rows, multi, where)
            return ab_results(session, f, where, counted=counted)
    return ab_results(session, f, where)


def _rollup_ab(
    session: Session,
    f: Filters,
    state: Any,
    live_ids: set[int],
    fresh_rows: list[dict[str, Any]],
    multi: set[int],
    where: list,
) -> tuple[ABRows, ABAmounts]:
    """The A/B counts from the rollup plus, for the debtors with several conversations (``multi``, which the rollup
    leaves to the live queries so a payment is never counted twice), the live counts."""
    counted = rollups.rollup_ab_counts(session, f, state, None, live_ids, fresh_rows, where)
    if multi:
        add_ab(counted, live_ab_counts(session, f, [*where, C.c.id.in_(sorted(multi))]))
    return counted
