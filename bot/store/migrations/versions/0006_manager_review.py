"""manager review: message flags, full-text search over message bodies, indexes for the dashboard

SQLite: an FTS5 table over ``messages.body`` (external content, ``unicode61 remove_diacritics 2`` so "cuanto"
finds "cuánto"), kept in sync by triggers. PostgreSQL: the ``unaccent`` extension when the server has it
(``bot.search`` falls back to the ``spanish`` text-search configuration when it does not).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23 13:20:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_promises_created_at", "promises", ["created_at"]),
    ("ix_payments_paid_at", "payments", ["paid_at"]),
    ("ix_payment_links_created_at", "payment_links", ["created_at"]),
    ("ix_payment_plans_created_at", "payment_plans", ["created_at"]),
    ("ix_due_date_changes_created_at", "due_date_changes", ["created_at"]),
    ("ix_nonpayment_reasons_created_at", "nonpayment_reasons", ["created_at"]),
    ("ix_handoffs_created_at", "handoffs", ["created_at"]),
    ("ix_handoffs_claimed_by", "handoffs", ["claimed_by"]),
    ("ix_debtors_country", "debtors", ["country"]),
    ("ix_debtors_opted_out_at", "debtors", ["opted_out_at"]),
    ("ix_messages_created_direction_conv", "messages", ["created_at", "direction", "conversation_id"]),
    ("ix_messages_intent_created", "messages", ["intent", "created_at"]),
    ("ix_messages_status_created", "messages", ["status", "created_at"]),
    ("ix_audit_log_action_created", "audit_log", ["action", "created_at"]),
    ("ix_contact_attempts_campaign_variant", "contact_attempts", ["campaign", "variant", "sent_at"]),
    ("ix_conversations_channel_last", "conversations", ["last_channel", "last_message_at"]),
    # Covers the period scan of the dashboard (no table lookups for the base figures).
    ("ix_conversations_period", "conversations",
     ["last_message_at", "created_at", "debtor_id", "last_inbound_at", "last_channel"]),
]

FTS_SQLITE = [
    """CREATE VIRTUAL TABLE messages_fts USING fts5(body, content='messages', content_rowid='id',
       tokenize="unicode61 remove_diacritics 2")""",
    """CREATE TRIGGER messages_fts_ai AFTER INSERT ON messages BEGIN
         INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
       END""",
    """CREATE TRIGGER messages_fts_ad AFTER DELETE ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
       END""",
    """CREATE TRIGGER messages_fts_au AFTER UPDATE OF body ON messages BEGIN
         INSERT INTO messages_fts(messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
         INSERT INTO messages_fts(rowid, body) VALUES (new.id, new.body);
       END""",
    "INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')",
]


def upgrade() -> None:
    op.create_table('message_flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('debtor_message_id', sa.Integer(), nullable=True),
    sa.Column('expected_intent', sa.String(length=80), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('created_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['debtor_message_id'], ['messages.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('message_id', name='uq_message_flags_message'),
    )
    with op.batch_alter_table('message_flags', schema=None) as batch_op:
        batch_op.create_index('ix_message_flags_message_id', ['message_id'], unique=False)
        batch_op.create_index('ix_message_flags_conversation_id', ['conversation_id'], unique=False)
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in FTS_SQLITE:
            op.execute(statement)
    elif bind.dialect.name == "postgresql":
        # Optional: not every managed PostgreSQL allows it. bot.search detects whether it is there.
        op.execute("""DO $$ BEGIN CREATE EXTENSION IF NOT EXISTS unaccent;
                      EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'unaccent unavailable'; END $$""")
        op.execute("CREATE INDEX ix_messages_body_fts ON messages USING gin (to_tsvector('spanish', body))")


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for trigger in ("messages_fts_ai", "messages_fts_ad", "messages_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS messages_fts")
    elif bind.dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_messages_body_fts")
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table('message_flags')
