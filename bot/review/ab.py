"""A/B statistics: per campaign and variant, the conversations reached and how many replied, promised and paid,
with a Wilson interval on each rate and a two-proportion z-test between the first two variants.

Counting is done live here (``live_ab_counts``) or from the rollup (``rollups.rollup_ab_counts``, same shape);
the formatting and the statistics are shared, so the A/B page, the dashboard and the CSV export
(``exports.ab_csv``) agree.
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, case, distinct, func, select
from sqlalchemy.orm import Session

from bot.review.filters import (
    PAID_STATUSES,
    C,
    Filters,
    conditions,
    in_period,
    net_paid,
    outcome_clause,
    replied_clause,
    with_debtors,
)
from bot.store.models import ContactAttempt, Payment

# The rates compared between variants (and tested), in the order the table shows them.
AB_METRICS = ("replied", "promise", "paid")


ABRows = dict[tuple[str, str], list[int]]  # (campaign, variant) -> [reached, replied, promise, paid]
ABAmounts = dict[tuple[str, str, str], Decimal]  # (campaign, variant, currency) -> amount


def ab_results(
    session: Session, f: Filters, where: list | None = None, counted: tuple[ABRows, ABAmounts] | None = None
) -> list[dict[str, Any]]:
    """Per campaign and variant: reached, replied, promised, paid, amount; a two-proportion z-test on each rate.
    ``counted``: the counts already made (by the rollup), else they are counted here."""
    rows, amounts = counted if counted is not None else live_ab_counts(session, f, where)
    return _ab_format(rows, amounts)


def live_ab_counts(session: Session, f: Filters, where: list | None = None) -> tuple[ABRows, ABAmounts]:
    """The A/B counts computed live from the contact attempts and the outcomes of the period (over the
    conversations of ``where``); ``rollups.rollup_ab_counts`` gives the same shape from the rollup."""
    start, end = f.bounds
    where = where if where is not None else conditions(session, f)
    ca = ContactAttempt.__table__
    sent = and_(
        ca.c.status == "sent", in_period(ca.c.sent_at, start, end), ca.c.variant.isnot(None), ca.c.variant != "-"
    )
    replied = replied_clause(start, end)
    rows: ABRows = {}
    for r in session.execute(
        select(
            ca.c.campaign,
            ca.c.variant,
            func.count(distinct(C.c.id)).label("reached"),
            func.count(distinct(case((replied, C.c.id)))).label("replied"),
            func.count(distinct(case((outcome_clause("promise", start, end), C.c.id)))).label("promise"),
            func.count(distinct(case((outcome_clause("paid", start, end), C.c.id)))).label("paid"),
        )
        .select_from(with_debtors(f, ca.join(C, C.c.debtor_id == ca.c.debtor_id)))
        .where(sent, *where)
        .group_by(ca.c.campaign, ca.c.variant)
    ):
        rows[(r.campaign, r.variant)] = [r.reached, r.replied, r.promise, r.paid]
    amounts: ABAmounts = defaultdict(Decimal)
    if not rows:
        return rows, amounts
    # Money per variant and currency: each payment once per variant, however many conversations or attempts.
    p = Payment.__table__
    for _pid, camp, var, cur, amount in session.execute(
        select(p.c.id, ca.c.campaign, ca.c.variant, p.c.currency, net_paid(p))
        .distinct()
        .select_from(
            with_debtors(f, p.join(C, C.c.debtor_id == p.c.debtor_id).join(ca, ca.c.debtor_id == p.c.debtor_id))
        )
        .where(p.c.status.in_(PAID_STATUSES), in_period(p.c.paid_at, start, end), sent, *where)
    ):
        amounts[(camp, var, cur)] += amount
    return rows, amounts


def _ab_format(rows: ABRows, totals: ABAmounts) -> list[dict[str, Any]]:
    if not rows:
        return []
    amounts: dict[tuple[str, str], list[tuple[str, Decimal]]] = defaultdict(list)
    for (camp, var, cur), total in totals.items():
        amounts[(camp, var)].append((cur, total))
    campaigns: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for (campaign, variant), (reached, replied, promise, paid) in sorted(rows.items()):
        v: dict[str, Any] = {
            "variant": variant,
            "reached": reached,
            "replied": replied,
            "promise": promise,
            "paid": paid,
            "amounts": sorted(amounts.get((campaign, variant), [])),
        }
        for name in AB_METRICS:
            v[f"{name}_ci"] = wilson(v[name], reached)
        campaigns[campaign].append(v)
    out = []
    for camp, variants in campaigns.items():
        tests = {}
        if len(variants) >= 2:
            a, b = variants[0], variants[1]
            for name in AB_METRICS:
                z, p = two_proportion_z(a[name], a["reached"], b[name], b["reached"])
                winner = None
                if p is not None and p < 0.05:
                    winner = a["variant"] if a[name] / a["reached"] > b[name] / b["reached"] else b["variant"]
                tests[name] = {"z": z, "p": p, "winner": winner}
        out.append({"campaign": camp, "variants": variants, "tests": tests})
    return out


def add_ab(total: tuple[ABRows, ABAmounts], part: tuple[ABRows, ABAmounts]) -> None:
    """Add the A/B counts of a disjoint set of conversations (the dashboard's rollup part plus its live part)."""
    for variant, counts in part[0].items():
        mine = total[0].setdefault(variant, [0, 0, 0, 0])
        for i, n in enumerate(counts):
            mine[i] += n
    for money_key, amount in part[1].items():
        total[1][money_key] = total[1].get(money_key, Decimal(0)) + amount


def wilson(successes: int, n: int, z: float = 1.959964) -> tuple[float, float] | None:
    """The Wilson score interval (95 %) of a proportion, as fractions."""
    if n <= 0:
        return None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_z(x1: int, n1: int, x2: int, n2: int) -> tuple[float | None, float | None]:
    """Pooled two-proportion z-test: (z, two-sided p). None when it cannot be computed, and no p-value when the
    samples are too small for the normal approximation (fewer than 5 expected successes or failures a group)."""
    if n1 <= 0 or n2 <= 0:
        return None, None
    pooled = (x1 + x2) / (n1 + n2)
    if min(n1, n2) * min(pooled, 1 - pooled) < 5:
        return None, None
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se == 0:
        return None, None
    z = (x1 / n1 - x2 / n2) / se
    p = math.erfc(abs(z) / math.sqrt(2))
    return z, p
