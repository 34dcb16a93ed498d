"""manager review: covering indexes, so the dashboard's event-driven figures never read table rows

Each figure walks the period's events through an index holding every column it needs (the key it joins on,
the status it filters by), then finds the conversation through an index holding the period and segment
columns.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23 13:45:00
"""
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

INDEXES = [
    ("ix_conversations_debtor_cover", "conversations",
     ["debtor_id", "last_message_at", "created_at", "last_inbound_at", "last_channel"]),
    ("ix_audit_log_action_cover", "audit_log", ["action", "created_at", "target_type", "target_id"]),
    ("ix_promises_created_cover", "promises", ["created_at", "status", "debtor_id"]),
    ("ix_payments_paid_cover", "payments", ["paid_at", "status", "debtor_id", "currency", "amount"]),
    ("ix_payment_links_created_cover", "payment_links", ["created_at", "status", "debtor_id"]),
    ("ix_payment_plans_created_cover", "payment_plans", ["created_at", "debtor_id"]),
    ("ix_due_date_changes_created_cover", "due_date_changes", ["created_at", "debtor_id"]),
    ("ix_handoffs_created_cover", "handoffs", ["created_at", "reason", "conversation_id", "claimed_by"]),
    ("ix_nonpayment_reasons_created_cover", "nonpayment_reasons", ["created_at", "reason", "debtor_id"]),
    ("ix_nonpayment_reasons_reason_cover", "nonpayment_reasons", ["reason", "created_at", "debtor_id"]),
    ("ix_messages_status_cover", "messages", ["status", "created_at", "error_code", "conversation_id"]),
    ("ix_messages_intent_cover", "messages", ["intent", "created_at", "conversation_id"]),
    ("ix_contact_attempts_sent_cover", "contact_attempts", ["sent_at", "status", "variant", "campaign", "debtor_id"]),
    ("ix_contact_attempts_debtor_cover", "contact_attempts", ["debtor_id", "sent_at", "status", "campaign", "variant"]),
    ("ix_debtors_opted_out_cover", "debtors", ["opted_out_at", "opted_out"]),
]


def upgrade() -> None:
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns, unique=False)


def downgrade() -> None:
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
