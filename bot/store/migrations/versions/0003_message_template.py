"""message template: content_sid and content_variables on outbound WhatsApp template messages

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:50:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('content_sid', sa.String(length=40), nullable=True))
        batch.add_column(sa.Column('content_variables', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('content_variables')
        batch.drop_column('content_sid')
