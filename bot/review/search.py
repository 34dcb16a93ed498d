"""Full-text search over message bodies, accent- and case-insensitive ("cuanto" finds "cuánto").

- SQLite: the FTS5 table ``messages_fts`` (``unicode61 remove_diacritics 2``), kept in sync with ``messages``
  by the triggers of migration 0006. Every word must match; each word also matches as a prefix
  ("pag" finds "pagué", "pagar").
- PostgreSQL: ``unaccent(lower(body)) LIKE unaccent(lower(...))`` per word when the ``unaccent`` extension is
  installed (migration 0006 creates it where the server allows); otherwise ``translate(lower(body), <accented>,
  <plain>) LIKE ...`` per word — the same accent- and case-insensitive match with no extension (a scan, not an
  index: managed servers without ``unaccent`` are the exception). ``_has_unaccent`` decides once per database.
- Anything else: a plain case-insensitive LIKE.
"""

from __future__ import annotations

import re
import unicodedata

from sqlalchemy import and_, func, literal_column, select, text
from sqlalchemy.orm import Session

from bot.store.models import Message

_WORD = re.compile(r"\w+", re.UNICODE)
# Lower-case letters with marks and their plain letter: PostgreSQL's translate() without the unaccent extension.
ACCENTED = "áàâäãåéèêëíìîïóòôöõúùûüñçý"
PLAIN = "aaaaaaeeeeiiiiooooouuuuncy"
_UNACCENT: dict[str, bool] = {}


def words(query: str) -> list[str]:
    return [w for w in _WORD.findall(query or "")][:8]


def fold(value: str) -> str:
    """Lower case without accents (what the index compares)."""
    return "".join(c for c in unicodedata.normalize("NFKD", value.lower()) if not unicodedata.combining(c))


def fts5_query(query: str) -> str:
    return " ".join(f'"{fold(w)}"*' for w in words(query))


def _has_unaccent(session: Session) -> bool:
    key = str(session.get_bind().url)
    if key not in _UNACCENT:
        found = session.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'unaccent'")).first()
        _UNACCENT[key] = found is not None
    return _UNACCENT[key]


def matching_messages(session: Session, query: str):
    """A SELECT of the ids of the messages matching ``query`` (None: no words, no filter)."""
    terms = words(query)
    if not terms:
        return None
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return (
            select(literal_column("rowid"))
            .select_from(text("messages_fts"))
            .where(text("messages_fts MATCH :fts_q").bindparams(fts_q=fts5_query(query)))
        )
    if dialect == "postgresql":
        if _has_unaccent(session):
            conds = [func.unaccent(func.lower(Message.body)).like(func.unaccent(f"%{fold(w)}%")) for w in terms]
        else:
            folded = func.translate(func.lower(Message.body), ACCENTED, PLAIN)
            conds = [folded.like(f"%{fold(w)}%") for w in terms]
        return select(Message.id).where(and_(*conds))
    return select(Message.id).where(and_(*[func.lower(Message.body).like(f"%{w.lower()}%") for w in terms]))


def matching_conversations(session: Session, query: str):
    ids = matching_messages(session, query)
    if ids is None:
        return None
    return select(Message.conversation_id).where(Message.id.in_(ids))


def snippets(session: Session, conversation_ids: list[int], query: str, per_conversation: int = 1) -> dict[int, str]:
    """The first matching message body of each conversation (for the list)."""
    ids = matching_messages(session, query)
    if ids is None or not conversation_ids:
        return {}
    out: dict[int, str] = {}
    for conv_id, body in session.execute(
        select(Message.conversation_id, Message.body)
        .where(Message.conversation_id.in_(conversation_ids), Message.id.in_(ids))
        .order_by(Message.conversation_id, Message.id)
    ):
        out.setdefault(conv_id, body)
    return out
