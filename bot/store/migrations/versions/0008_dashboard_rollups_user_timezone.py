"""dashboard rollups (pre-computed figures per conversation and event), their refresh state, each user's time zone

``dashboard_rollups`` holds one row per conversation, metric and event time (see ``bot.rollups``), covered by one
index for the dashboard's query. The indexes on ``updated_at`` / ``resolved_at`` let the dashboard find, cheaply,
the rows changed since the last refresh (their conversations are computed live until the next one).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23 15:00:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

CHANGE_INDEXES = [
    ("ix_conversations_updated_at", "conversations", ["updated_at"]),
    ("ix_debtors_updated_at", "debtors", ["updated_at"]),
    ("ix_messages_updated_at", "messages", ["updated_at"]),
    ("ix_payments_updated_at", "payments", ["updated_at"]),
    ("ix_payment_links_updated_at", "payment_links", ["updated_at"]),
    ("ix_promises_resolved_at", "promises", ["resolved_at"]),
    ("ix_contact_attempts_updated_at", "contact_attempts", ["updated_at"]),
    # A debtor's identity checks (the rollup of a few conversations looks them up by debtor).
    ("ix_audit_log_target", "audit_log", ["target_id", "target_type", "action", "created_at"]),
]


def upgrade() -> None:
    op.create_table('dashboard_rollups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('metric', sa.String(length=120), nullable=False),
    sa.Column('at', bot.store.types.UTCDateTime(), nullable=False),
    sa.Column('prev_at', bot.store.types.UTCDateTime(), nullable=True),
    sa.Column('conv_created_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.Column('conv_last_message_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=True),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('amount', bot.store.types.Money(), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dashboard_rollups_conversation', 'dashboard_rollups',
                    ['conversation_id', 'metric', 'at', 'prev_at', 'conv_last_message_at', 'conv_created_at', 'country',
                     'channel', 'events', 'amount'], unique=False)
    op.create_index('ix_dashboard_rollups_metric_at', 'dashboard_rollups',
                    ['metric', 'at', 'conv_last_message_at', 'conv_created_at', 'prev_at', 'country', 'channel',
                     'conversation_id', 'events', 'amount'], unique=False)
    op.create_table('rollup_state',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('watermark', bot.store.types.UTCDateTime(), nullable=False),
    sa.Column('max_ids', sa.JSON(), nullable=False),
    sa.Column('metrics', sa.JSON(), nullable=False),
    sa.Column('refreshed_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.Column('full_at', bot.store.types.UTCDateTime(), nullable=True),
    sa.Column('rows', sa.Integer(), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('name'),
    )
    # A plain ALTER TABLE (no batch copy: on SQLite that would drop and re-create ``users`` under its references).
    op.add_column('users', sa.Column('timezone', sa.String(length=64), nullable=True))
    for name, table, columns in CHANGE_INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(CHANGE_INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_column('users', 'timezone')
    op.drop_table('rollup_state')
    op.drop_index('ix_dashboard_rollups_metric_at', table_name='dashboard_rollups')
    op.drop_index('ix_dashboard_rollups_conversation', table_name='dashboard_rollups')
    op.drop_table('dashboard_rollups')
