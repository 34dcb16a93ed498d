"""several invoices in one plan: payment_plans.invoice_id may be null, and payment_plan_items names the plan's
invoices (with each one's balance when the plan was made), bot/billing/payment_plans.py

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 16:00:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa
import bot.store.types


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('payment_plans') as batch:
        batch.alter_column('invoice_id', existing_type=sa.Integer(), nullable=True)
    op.create_table(
        'payment_plan_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('invoice_id', sa.Integer(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('amount', bot.store.types.Money(), nullable=False),
        sa.ForeignKeyConstraint(['plan_id'], ['payment_plans.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['invoice_id'], ['invoices.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('plan_id', 'invoice_id', name='uq_payment_plan_items_plan_invoice'),
        sa.CheckConstraint('amount > 0', name='ck_payment_plan_items_amount'),
    )
    op.create_index('ix_payment_plan_items_invoice_id', 'payment_plan_items', ['invoice_id'])


def downgrade() -> None:
    op.drop_index('ix_payment_plan_items_invoice_id', table_name='payment_plan_items')
    op.drop_table('payment_plan_items')
    # a plan over several invoices has no one invoice to keep: it goes (with its instalments)
    several = 'SELECT id FROM payment_plans WHERE invoice_id IS NULL'
    for table in ('payment_links', 'payment_link_items', 'payment_allocations'):
        op.execute(f'UPDATE {table} SET instalment_id = NULL WHERE instalment_id IN '
                   f'(SELECT id FROM instalments WHERE plan_id IN ({several}))')
    op.execute(f'DELETE FROM instalments WHERE plan_id IN ({several})')
    op.execute('DELETE FROM payment_plans WHERE invoice_id IS NULL')
    with op.batch_alter_table('payment_plans') as batch:
        batch.alter_column('invoice_id', existing_type=sa.Integer(), nullable=False)
