"""several invoices: an invoice's concept (``description``, "Celular Samsung A15") that the debtor may name it by,
and the invoices one payment link pays (``payment_link_items``: one Mercado Pago preference, one item each)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 15:00:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('invoices') as batch:
        batch.add_column(sa.Column('description', sa.String(length=200), nullable=True))
    op.create_table(
        'payment_link_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('link_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('amount', bot.store.types.Money(), nullable=False),
        sa.Column('promise_id', sa.Integer(), nullable=True),
        sa.Column('instalment_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['link_id'], ['payment_links.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['promise_id'], ['promises.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['instalment_id'], ['instalments.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('link_id', 'invoice_id', name='uq_payment_link_items_link_invoice'),
        sa.CheckConstraint('amount > 0', name='ck_payment_link_items_amount'),
    )
    op.create_index('ix_payment_link_items_invoice_id', 'payment_link_items', ['invoice_id'])


def downgrade() -> None:
    op.drop_index('ix_payment_link_items_invoice_id', table_name='payment_link_items')
    op.drop_table('payment_link_items')
    with op.batch_alter_table('invoices') as batch:
        batch.drop_column('description')
