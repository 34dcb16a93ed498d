"""payments: sandbox payments, payment allocations (applied vs credit), settlement certificates

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23 12:55:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('sandbox_payments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.String(length=64), nullable=False),
    sa.Column('reference', sa.String(length=64), nullable=False),
    sa.Column('amount', bot.store.types.Money(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('status_detail', sa.String(length=80), nullable=True),
    sa.Column('payment_method_id', sa.String(length=40), nullable=True),
    sa.Column('payment_type_id', sa.String(length=40), nullable=True),
    sa.Column('date_approved', bot.store.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.Column('updated_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('provider_id', name='uq_sandbox_payments_provider_id'),
    )
    with op.batch_alter_table('sandbox_payments', schema=None) as batch_op:
        batch_op.create_index('ix_sandbox_payments_reference', ['reference'], unique=False)

    op.create_table('payment_allocations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('payment_id', sa.Integer(), nullable=False),
    sa.Column('debtor_id', sa.Integer(), nullable=False),
    sa.Column('invoice_id', sa.Integer(), nullable=True),
    sa.Column('promise_id', sa.Integer(), nullable=True),
    sa.Column('instalment_id', sa.Integer(), nullable=True),
    sa.Column('applied_amount', bot.store.types.Money(), nullable=False),
    sa.Column('credit_amount', bot.store.types.Money(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('invoice_was_paid', sa.Boolean(), nullable=False),
    sa.Column('reversed_at', bot.store.types.UTCDateTime(), nullable=True),
    sa.Column('created_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtors.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['promise_id'], ['promises.id'], ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['instalment_id'], ['instalments.id'], ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('payment_id', name='uq_payment_allocations_payment'),
    sa.CheckConstraint('applied_amount >= 0 AND credit_amount >= 0', name='ck_payment_allocations_amounts'),
    )
    with op.batch_alter_table('payment_allocations', schema=None) as batch_op:
        batch_op.create_index('ix_payment_allocations_debtor_id', ['debtor_id'], unique=False)

    op.create_table('settlements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('debtor_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('fingerprint', sa.String(length=64), nullable=False),
    sa.Column('issued_at', bot.store.types.UTCDateTime(), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.Column('pdf', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['debtor_id'], ['debtors.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code', name='uq_settlements_code'),
    sa.UniqueConstraint('debtor_id', 'fingerprint', name='uq_settlements_debtor_fingerprint'),
    )
    with op.batch_alter_table('settlements', schema=None) as batch_op:
        batch_op.create_index('ix_settlements_debtor_id', ['debtor_id'], unique=False)


def downgrade() -> None:
    op.drop_table('settlements')
    op.drop_table('payment_allocations')
    op.drop_table('sandbox_payments')
