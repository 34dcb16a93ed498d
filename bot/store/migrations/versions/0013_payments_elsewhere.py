"""payments made elsewhere: one allocation per invoice a payment covers, and the debtors' proofs of payment

A payment the billing system records (``POST /api/v1/payments``) may cover several invoices: the allocation is
unique per (payment, invoice) instead of per payment. ``payment_proofs``: a photo or PDF the debtor sent as proof
of a payment, waiting for an agent to confirm or reject it (issue #27 §4).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 13:30:00
"""
import sqlalchemy as sa
from alembic import op

import bot.store.types

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("payment_allocations") as batch:
        batch.drop_constraint("uq_payment_allocations_payment", type_="unique")
        batch.create_unique_constraint("uq_payment_allocations_payment_invoice", ["payment_id", "invoice_id"])
        batch.create_index("ix_payment_allocations_payment_id", ["payment_id"], unique=False)
    op.create_table(
        "payment_proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("debtor_id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("handoff_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("payment_id", sa.Integer(), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decided_at", bot.store.types.UTCDateTime(), nullable=True),
        sa.Column("created_at", bot.store.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["debtor_id"], ["debtors.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoffs.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["payment_id"], ["payments.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("message_id", name="uq_payment_proofs_message"),
    )
    with op.batch_alter_table("payment_proofs") as batch:
        batch.create_index("ix_payment_proofs_debtor_id", ["debtor_id"], unique=False)
        batch.create_index("ix_payment_proofs_status", ["status"], unique=False)


def downgrade() -> None:
    op.drop_table("payment_proofs")
    with op.batch_alter_table("payment_allocations") as batch:
        batch.drop_index("ix_payment_allocations_payment_id")
        batch.drop_constraint("uq_payment_allocations_payment_invoice", type_="unique")
        batch.create_unique_constraint("uq_payment_allocations_payment", ["payment_id"])
