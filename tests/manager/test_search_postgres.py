"""Full-text search on PostgreSQL, with and without the ``unaccent`` extension (some managed servers do not
allow it): accent- and case-insensitive either way. Runs when TEST_DATABASE_URL names a PostgreSQL server
(.ci/run); SQLite's FTS5 path is tested in test_reporting."""

from __future__ import annotations

import os
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from bot.review import filters, search, transcripts

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("DATABASE_URL", "").startswith("postgresql"), reason="PostgreSQL only (TEST_DATABASE_URL)"
    ),
]

BODIES = ["¿Cuánto debo?", "PAGUÉ ayer en Oxxo", "me quedé sin trabajo", "Ñandú y pingüino", "nada que ver"]


@pytest.fixture()
def bodies(session):
    from tests import factories

    at = datetime(2026, 11, 5, 15, 0, tzinfo=timezone.utc)
    ids = {}
    for i, body in enumerate(BODIES):
        phone = f"+5730011100{i:02d}"
        conv = factories.conversation(session, None, phone=phone, last_channel="sms", created_at=at, last_message_at=at)
        ids[body] = factories.message(session, conv, "debtor", body, created_at=at).id
    session.commit()
    return ids


def found(session, query: str) -> set[str]:
    from bot.store.models import Message

    q = search.matching_messages(session, query)
    return set(session.execute(select(Message.body).where(Message.id.in_(q))).scalars())


CASES = [
    ("cuanto", {"¿Cuánto debo?"}),
    ("CUÁNTO debo", {"¿Cuánto debo?"}),
    ("pague", {"PAGUÉ ayer en Oxxo"}),
    ("quede trabajo", {"me quedé sin trabajo"}),
    ("nandu pinguino", {"Ñandú y pingüino"}),
    ("xyz", set()),
]


@pytest.mark.parametrize("unaccent", [True, False], ids=["unaccent", "without-unaccent"])
def test_accent_and_case_insensitive_with_and_without_unaccent(session, bodies, monkeypatch, unaccent):
    key = str(session.get_bind().url)
    if unaccent and not search._has_unaccent(session):
        pytest.skip("this PostgreSQL server has no unaccent extension")
    monkeypatch.setitem(search._UNACCENT, key, unaccent)
    for query, expected in CASES:
        assert found(session, query) == expected, query
    # The list's search filter goes through the same path.
    f = filters.Filters.from_args({"from": "2026-11-01", "to": "2026-11-30", "q": "cuanto"})
    assert [r.last_text for r in transcripts.conversations(session, f)] == ["¿Cuánto debo?"]


def test_unaccent_is_detected_once_per_database(session):
    search._UNACCENT.pop(str(session.get_bind().url), None)
    first = search._has_unaccent(session)
    assert search._UNACCENT[str(session.get_bind().url)] is first
