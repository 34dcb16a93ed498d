"""data lifecycle: debtors.erased_at (erased on request, the anonymised row kept for the books), messages.redacted_at
(body removed by retention or erasure), erased_phones (digests of erased debtors' phones: never contacted again)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 12:00:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('debtors') as batch:
        batch.add_column(sa.Column('erased_at', bot.store.types.UTCDateTime(), nullable=True))
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('redacted_at', bot.store.types.UTCDateTime(), nullable=True))
    op.create_table('erased_phones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('erased_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('digest'),
    )
    # retention deletes contact records by age
    op.create_index('ix_contact_attempts_created_at', 'contact_attempts', ['created_at'])


def downgrade() -> None:
    op.drop_index('ix_contact_attempts_created_at', table_name='contact_attempts')
    op.drop_table('erased_phones')
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('redacted_at')
    with op.batch_alter_table('debtors') as batch:
        batch.drop_column('erased_at')
