"""payments: the part of an approved payment refunded since (Mercado Pago's partial refunds)

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23 16:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.add_column(sa.Column("refunded_amount", sa.BigInteger(), nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("payments") as batch:
        batch.drop_column("refunded_amount")
