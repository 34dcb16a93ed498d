"""agent notes: internal notes agents write on a hand-off (never sent to the debtor)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 12:50:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'agent_notes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('handoff_id', sa.Integer(), nullable=True),
        sa.Column('debtor_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_at', bot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(['handoff_id'], ['handoffs.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['debtor_id'], ['debtors.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_agent_notes_handoff_id', 'agent_notes', ['handoff_id'])
    op.create_index('ix_agent_notes_debtor_id', 'agent_notes', ['debtor_id'])


def downgrade() -> None:
    op.drop_index('ix_agent_notes_debtor_id', table_name='agent_notes')
    op.drop_index('ix_agent_notes_handoff_id', table_name='agent_notes')
    op.drop_table('agent_notes')
