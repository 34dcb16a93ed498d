"""settlement offers: a discount for paying in full by a date, or a plan with a larger first instalment,
each offer made, accepted and paid (config/settlement_offers.yml, bot/billing/offers.py)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 13:40:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'settlement_offers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('debtor_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('balance', bot.store.types.Money(), nullable=False),
        sa.Column('amount', bot.store.types.Money(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('discount_pct', bot.store.types.Money(), nullable=False),
        sa.Column('instalments', sa.Integer(), nullable=True),
        sa.Column('valid_until', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=True),
        sa.Column('plan_id', sa.Integer(), nullable=True),
        sa.Column('created_at', bot.store.types.UTCDateTime(), nullable=False),
        sa.Column('accepted_at', bot.store.types.UTCDateTime(), nullable=True),
        sa.Column('paid_at', bot.store.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(['debtor_id'], ['debtors.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['link_id'], ['payment_links.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['plan_id'], ['payment_plans.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_settlement_offers_debtor_id', 'settlement_offers', ['debtor_id'])
    op.create_index('ix_settlement_offers_invoice_id', 'settlement_offers', ['invoice_id'])
    op.create_index('ix_settlement_offers_status', 'settlement_offers', ['status'])
    op.create_index('ix_settlement_offers_link_id', 'settlement_offers', ['link_id'])
    op.create_index('ix_settlement_offers_created_at', 'settlement_offers', ['created_at'])


def downgrade() -> None:
    op.drop_table('settlement_offers')
