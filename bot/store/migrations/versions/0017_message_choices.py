"""choices: messages.choices (the options a bot message offers: WhatsApp buttons, numbered SMS lines) and
messages.button_payload (the WhatsApp button a debtor tapped), bot/messaging/choices.py

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 15:00:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.add_column(sa.Column('choices', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('button_payload', sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('messages') as batch:
        batch.drop_column('button_payload')
        batch.drop_column('choices')
