"""users.session_version: part of every session's id, raised at logout, password change and deactivation, so that
a session cookie copied before them stops working

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 04:40:00
"""
from alembic import op  # noqa: I001
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    with op.batch_alter_table('users') as batch:
        batch.drop_column('session_version')
