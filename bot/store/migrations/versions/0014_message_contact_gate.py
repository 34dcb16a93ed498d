"""contact gate: messages.hold_until (a message held outside the debtor's allowed window goes then) and
messages.contact_kind (how the gate counted it: contact, answer, override, exempt, campaign)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:20:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('hold_until', bot.store.types.UTCDateTime(), nullable=True))
        batch.add_column(sa.Column('contact_kind', sa.String(length=10), nullable=True))
    op.create_index('ix_messages_status_hold_until', 'messages', ['status', 'hold_until'])


def downgrade() -> None:
    op.drop_index('ix_messages_status_hold_until', table_name='messages')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('contact_kind')
        batch.drop_column('hold_until')
