"""identity_checks: a debtor's wrong answers to the identity question and the lock they lead to, kept in the store
(a Rasa slot resets after an hour of silence, so a lock kept there could be waited out)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 04:10:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('identity_checks',
    sa.Column('debtor_id', sa.Integer(), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False, server_default="0"),
    sa.Column('last_failure_at', bot.store.types.UTCDateTime(), nullable=True),
    sa.Column('locked_until', bot.store.types.UTCDateTime(), nullable=True),
    sa.Column('updated_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('debtor_id'),
    )


def downgrade() -> None:
    op.drop_table('identity_checks')
