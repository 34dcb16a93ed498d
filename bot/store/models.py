"""The billing store's tables.

Money columns hold ``Decimal`` with an ISO 4217 currency beside them; times are aware UTC.
Every lookup the product makes has an index (phone, external ids, provider ids, due dates).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import registry, relationship
from sqlalchemy.orm.decl_api import DeclarativeMeta

from bot.store.types import Money, UTCDateTime, utcnow

_registry = registry()


class Base(metaclass=DeclarativeMeta):
    """The declarative base, spelled as a class so that type checkers see the tables as classes."""

    __abstract__ = True
    registry = _registry
    metadata = _registry.metadata
    __init__ = _registry.constructor


# Contact status of a debtor's phone: how reachable they are.
CONTACT_STATUSES = ("ok", "wrong_number", "invalid_number", "landline", "unsubscribed", "unreachable", "erased")
INVOICE_STATUSES = ("open", "paid", "disputed", "cancelled")
PROMISE_STATUSES = ("open", "kept", "broken", "replaced")
LINK_STATUSES = ("active", "paid", "expired")
HANDOFF_STATUSES = ("open", "claimed", "closed")
REASONS = ("job_loss", "income_delay", "forgot", "health", "other_debts", "service_issue", "other")
ROLES = ("agent", "manager", "admin")


class Debtor(Base):
    __tablename__ = "debtors"

    id = Column(Integer, primary_key=True)
    external_id = Column(String(100), nullable=False, unique=True)
    name = Column(String(200), nullable=False)
    phone = Column(String(20), nullable=False, index=True)  # E.164, the SMS form (+52..., never +521...)
    whatsapp = Column(Boolean, nullable=False, default=False)
    country = Column(String(2), nullable=False)
    timezone = Column(String(64), nullable=False)
    language = Column(String(8), nullable=False, default="es")
    document_hash = Column(String(128))
    document_last4 = Column(String(4))
    contact_status = Column(String(20), nullable=False, default="ok")
    opted_out = Column(Boolean, nullable=False, default=False)
    opted_out_at = Column(UTCDateTime)
    # Set when the debtor's personal data was erased on request (bot.lifecycle.erasure): the row stays, anonymised,
    # as the link that keeps their invoices and payments in the books.
    erased_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    invoices = relationship(
        "Invoice",
        back_populates="debtor",
        order_by="Invoice.due_date",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    __table_args__ = (CheckConstraint("length(country) = 2", name="ck_debtors_country"),)


class IdentityCheck(Base):
    """A debtor's wrong answers to the identity question, kept in the store rather than in a Rasa
    slot: a slot resets when the conversation session expires (an hour of silence), so a lock kept
    there could be waited out and the document digits guessed a few at a time."""

    __tablename__ = "identity_checks"

    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), primary_key=True)
    failures = Column(Integer, nullable=False, default=0)  # wrong answers since the last right one or lock
    last_failure_at = Column(UTCDateTime)
    locked_until = Column(UTCDateTime)  # no disclosure to this debtor before then, whatever they answer
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Invoice(Base):
    __tablename__ = "invoices"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    external_id = Column(String(100), nullable=False)
    amount = Column(Money, nullable=False)
    balance = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)
    # what it was for, as the lender wrote it ("Celular Samsung A15"): the debtor may name the invoice by it
    description = Column(String(200))
    original_due_date = Column(Date, nullable=False)
    due_date = Column(Date, nullable=False, index=True)
    status = Column(String(20), nullable=False, default="open", index=True)
    reminders_paused = Column(Boolean, nullable=False, default=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    debtor = relationship("Debtor", back_populates="invoices")

    __table_args__ = (
        UniqueConstraint("debtor_id", "external_id", name="uq_invoices_debtor_external"),
        CheckConstraint("amount >= 0", name="ck_invoices_amount"),
        Index("ix_invoices_external_id", "external_id"),
    )


class Payment(Base):
    __tablename__ = "payments"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    payment_link_id = Column(Integer, ForeignKey("payment_links.id", ondelete="SET NULL"), index=True)
    provider = Column(String(20), nullable=False)
    provider_id = Column(String(64), nullable=False)
    amount = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)
    status = Column(String(20), nullable=False)
    status_detail = Column(String(80))
    method = Column(String(40))
    paid_at = Column(UTCDateTime)
    applied = Column(Boolean, nullable=False, default=False)
    refunded_amount = Column(Money, nullable=False, default=Decimal("0.00"), server_default="0")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("provider", "provider_id", name="uq_payments_provider_id"),)


class PaymentLink(Base):
    __tablename__ = "payment_links"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    promise_id = Column(Integer, ForeignKey("promises.id", ondelete="SET NULL"))
    instalment_id = Column(Integer, ForeignKey("instalments.id", ondelete="SET NULL"))
    reference = Column(String(64), nullable=False, unique=True)  # our external_reference
    short_code = Column(String(16), nullable=False, unique=True)
    provider = Column(String(20), nullable=False)
    provider_ref = Column(String(128), index=True)  # Mercado Pago preference id
    url = Column(Text, nullable=False)  # the provider's checkout URL (init_point)
    amount = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)
    status = Column(String(20), nullable=False, default="active", index=True)
    expires_at = Column(UTCDateTime, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class PaymentLinkItem(Base):
    """One invoice a link pays, when the link pays several (the whole balance, or the invoices the debtor chose):
    one Mercado Pago preference item each. A link for one invoice has none (``PaymentLink.invoice_id`` says it).
    An approved payment of the link settles each item's invoice by its amount, in ``position`` order (oldest due
    first): ``bot.billing.payment_events``."""

    __tablename__ = "payment_link_items"

    id = Column(Integer, primary_key=True)
    link_id = Column(Integer, ForeignKey("payment_links.id", ondelete="CASCADE"), nullable=False)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    amount = Column(Money, nullable=False)
    promise_id = Column(Integer, ForeignKey("promises.id", ondelete="SET NULL"))
    instalment_id = Column(Integer, ForeignKey("instalments.id", ondelete="SET NULL"))

    __table_args__ = (
        UniqueConstraint("link_id", "invoice_id", name="uq_payment_link_items_link_invoice"),
        CheckConstraint("amount > 0", name="ck_payment_link_items_amount"),
    )


class SettlementOffer(Base):
    """A settlement offer made to a debtor (``config/settlement_offers.yml``): a discount for paying in full by a
    date, or a plan with a larger first instalment. The manager sees every one made, accepted and paid."""

    __tablename__ = "settlement_offers"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    name = Column(String(64), nullable=False)  # the offer's name in the config
    kind = Column(String(20), nullable=False)  # discount, first_instalment
    balance = Column(Money, nullable=False)  # what was owed when offered
    amount = Column(Money, nullable=False)  # what the debtor pays now: the discounted total, or the first instalment
    currency = Column(String(3), nullable=False)
    discount_pct = Column(Money, nullable=False, default=0)
    instalments = Column(Integer)  # first_instalment: the plan's count
    valid_until = Column(Date, nullable=False)
    # offered, accepted, declined, paid, refunded, expired
    status = Column(String(20), nullable=False, default="offered", index=True)
    link_id = Column(Integer, ForeignKey("payment_links.id", ondelete="SET NULL"), index=True)
    plan_id = Column(Integer, ForeignKey("payment_plans.id", ondelete="SET NULL"))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)
    accepted_at = Column(UTCDateTime)
    paid_at = Column(UTCDateTime)


class Promise(Base):
    __tablename__ = "promises"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    promised_date = Column(Date, nullable=False, index=True)
    amount = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)
    status = Column(String(20), nullable=False, default="open")
    source = Column(String(20), nullable=False, default="bot")  # bot, agent
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    resolved_at = Column(UTCDateTime)

    __table_args__ = (
        # One open promise per invoice: a new promise replaces the old one (enforced, not hoped for).
        Index(
            "uq_promises_one_open_per_invoice",
            "invoice_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )


class NonpaymentReason(Base):
    __tablename__ = "nonpayment_reasons"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="SET NULL"))
    reason = Column(String(20), nullable=False, index=True)
    text = Column(Text, nullable=False, default="")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class DueDateChange(Base):
    __tablename__ = "due_date_changes"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    old_date = Column(Date, nullable=False)
    new_date = Column(Date, nullable=False)
    changed_by = Column(String(40), nullable=False, default="bot")
    note = Column(Text)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class PaymentPlan(Base):
    """A plan of instalments over one invoice (``invoice_id``) or, when the debtor chose several ("todas", "las dos"),
    over their total: then ``invoice_id`` is null and ``items`` (``PaymentPlanItem``) name the invoices."""

    __tablename__ = "payment_plans"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=True, index=True)
    total = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)
    instalment_count = Column(Integer, nullable=False)
    status = Column(String(20), nullable=False, default="active")  # active, completed, broken, cancelled
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    instalments = relationship("Instalment", back_populates="plan", order_by="Instalment.number")
    items = relationship("PaymentPlanItem", order_by="PaymentPlanItem.position", cascade="all, delete-orphan")


class PaymentPlanItem(Base):
    """One invoice of a plan over several, in the order payments settle them (oldest due first), with its balance
    when the plan was made: what has been paid on the plan is how far those balances came down
    (``bot.billing.payment_plans.paid_on_plan``)."""

    __tablename__ = "payment_plan_items"

    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("payment_plans.id", ondelete="CASCADE"), nullable=False)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="CASCADE"), nullable=False, index=True)
    position = Column(Integer, nullable=False)
    amount = Column(Money, nullable=False)

    __table_args__ = (
        UniqueConstraint("plan_id", "invoice_id", name="uq_payment_plan_items_plan_invoice"),
        CheckConstraint("amount > 0", name="ck_payment_plan_items_amount"),
    )


class Instalment(Base):
    __tablename__ = "instalments"

    id = Column(Integer, primary_key=True)
    plan_id = Column(Integer, ForeignKey("payment_plans.id", ondelete="CASCADE"), nullable=False, index=True)
    number = Column(Integer, nullable=False)
    due_date = Column(Date, nullable=False, index=True)
    amount = Column(Money, nullable=False)
    status = Column(String(20), nullable=False, default="pending")  # pending, paid
    paid_at = Column(UTCDateTime)

    plan = relationship("PaymentPlan", back_populates="instalments")

    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_instalments_plan_number"),)


class Conversation(Base):
    """One per person: keyed by the E.164 phone, the same for WhatsApp and SMS (docs/api.md)."""

    __tablename__ = "conversations"

    id = Column(Integer, primary_key=True)
    phone = Column(String(20), nullable=False, unique=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="SET NULL"), index=True)
    last_channel = Column(String(10))  # whatsapp, sms
    mode = Column(String(10), nullable=False, default="bot")  # bot, human
    last_inbound_at = Column(UTCDateTime)
    last_whatsapp_inbound_at = Column(UTCDateTime)  # opens WhatsApp's 24-hour window
    last_message_at = Column(UTCDateTime, index=True)
    tags = Column(JSON, nullable=False, default=list)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class Message(Base):
    __tablename__ = "messages"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="SET NULL"), index=True)
    direction = Column(String(3), nullable=False)  # in, out
    author = Column(String(10), nullable=False)  # debtor, bot, agent, system
    agent_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    channel = Column(String(10), nullable=False)  # whatsapp, sms
    to_phone = Column(String(20))
    from_phone = Column(String(20))
    body = Column(Text, nullable=False, default="")
    media = Column(JSON, nullable=False, default=list)  # [{"url": ..., "content_type": ...}]
    provider_sid = Column(String(64), unique=True)
    status = Column(String(20), nullable=False, default="received")
    error_code = Column(String(10))
    encoding = Column(String(8))  # GSM-7 or UCS-2 for SMS
    segments = Column(Integer)
    intent = Column(String(80))
    confidence = Column(Float)
    entities = Column(JSON)
    attempts = Column(Integer, nullable=False, default=0)
    content_sid = Column(String(40))  # approved WhatsApp template sent instead of a body
    content_variables = Column(JSON)  # its numbered variables {"1": ..., "2": ...}
    # Outbound: the choices the message offers ([{"title", "payload"}] or [{"title", "url"}]: bot.messaging.choices),
    # sent as WhatsApp buttons or numbered SMS lines; the debtor's pick is read against the latest of them.
    choices = Column(JSON)
    # Inbound: the tapped WhatsApp button's id (Twilio's ButtonPayload, "c<question row id>.<option>")
    button_payload = Column(String(200))
    # When the body (and media, entities, template values) was removed by retention or erasure; the row stays
    # for the dashboard's figures and the contact records that point at it.
    redacted_at = Column(UTCDateTime)
    # The contact gate (bot.messaging.contact_gate): a message outside the debtor's allowed window has status
    # "held" and goes at ``hold_until``; ``contact_kind`` says how the gate counted it (contact, answer,
    # override, exempt, campaign) so that the caps count agent and system contacts too.
    hold_until = Column(UTCDateTime)
    contact_kind = Column(String(10))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (
        Index("ix_messages_conversation_created", "conversation_id", "created_at"),
        Index("ix_messages_status_hold_until", "status", "hold_until"),
        Index("ix_messages_created_at", "created_at"),
    )


class Handoff(Base):
    __tablename__ = "handoffs"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), index=True)
    status = Column(String(10), nullable=False, default="open", index=True)
    reason = Column(String(40), nullable=False)
    summary = Column(Text, nullable=False, default="")
    claimed_by = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    claimed_at = Column(UTCDateTime)
    closed_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        # At most one live hand-off per conversation.
        Index(
            "uq_handoffs_one_live_per_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status != 'closed'"),
            postgresql_where=text("status != 'closed'"),
        ),
    )


class User(Base):
    __tablename__ = "users"

    id = Column(Integer, primary_key=True)
    username = Column(String(80), nullable=False, unique=True)
    name = Column(String(200), nullable=False, default="")
    role = Column(String(10), nullable=False)
    password_hash = Column(String(255), nullable=False)
    active = Column(Boolean, nullable=False, default=True)
    timezone = Column(String(64))  # IANA zone for the times and periods shown to this user (None: configured)
    # Part of every session's id: raised at logout, password change and deactivation, so that a copied
    # session cookie dies with them (Flask's sessions are signed cookies, not server-side records).
    session_version = Column(Integer, nullable=False, default=0, server_default="0")
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (CheckConstraint("role in ('agent', 'manager', 'admin')", name="ck_users_role"),)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id = Column(Integer, primary_key=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor = Column(String(80), nullable=False)  # username, "api", "bot", "worker"
    action = Column(String(60), nullable=False)
    target_type = Column(String(40))
    target_id = Column(String(100))
    details = Column(JSON, nullable=False, default=dict)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)


__all__ = [
    "Base",
    "Debtor",
    "Invoice",
    "Payment",
    "PaymentLink",
    "Promise",
    "NonpaymentReason",
    "DueDateChange",
    "PaymentPlan",
    "Instalment",
    "PaymentPlanItem",
    "Conversation",
    "Message",
    "Handoff",
    "User",
    "AuditLog",
    "ContactAttempt",
]


class ContactAttempt(Base):
    """Every automated contact attempt (campaign stage or follow-up), kept for the legal retention time.

    ``key`` makes a send idempotent: one debtor + invoice + stage + day is attempted at most once, even
    with several workers or a restart mid-run.
    """

    __tablename__ = "contact_attempts"

    id = Column(Integer, primary_key=True)
    key = Column(String(160), nullable=False, unique=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="SET NULL"), index=True)
    campaign = Column(String(80), nullable=False)
    stage = Column(String(40), nullable=False)
    variant = Column(String(20))
    channel = Column(String(10))
    # planned -> sent | failed; deferred (policy) -> planned later; suppressed / blocked are final for the key
    status = Column(String(12), nullable=False, default="planned", index=True)
    reason = Column(String(60))
    rules_version = Column(String(40))
    scheduled_for = Column(UTCDateTime, nullable=False, index=True)
    sent_at = Column(UTCDateTime, index=True)
    message_id = Column(Integer, ForeignKey("messages.id", ondelete="SET NULL"))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow, index=True)  # retention deletes by age
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)


class AgentNote(Base):
    """An internal note an agent writes on a hand-off (or a dispute outcome); never sent to the debtor."""

    __tablename__ = "agent_notes"

    id = Column(Integer, primary_key=True)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="CASCADE"), index=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), index=True)
    user_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    kind = Column(String(20), nullable=False, default="note")  # note, dispute_outcome, override
    body = Column(Text, nullable=False)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)


class SandboxPayment(Base):
    """A payment made on the sandbox checkout page: what the sandbox provider answers when asked for it
    (kept in the store so the web and every worker see the same thing)."""

    __tablename__ = "sandbox_payments"

    id = Column(Integer, primary_key=True)
    provider_id = Column(String(64), nullable=False)
    reference = Column(String(64), nullable=False, index=True)  # the link's external_reference
    amount = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)
    status = Column(String(20), nullable=False)
    status_detail = Column(String(80))
    payment_method_id = Column(String(40))
    payment_type_id = Column(String(40))
    date_approved = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)
    updated_at = Column(UTCDateTime, nullable=False, default=utcnow, onupdate=utcnow)

    __table_args__ = (UniqueConstraint("provider_id", name="uq_sandbox_payments_provider_id"),)


class PaymentAllocation(Base):
    """What applying one approved payment did to one invoice: the part that reduced the invoice's balance and the part
    kept as the debtor's credit (an over-payment), so that a refund or charge-back undoes exactly that."""

    __tablename__ = "payment_allocations"

    id = Column(Integer, primary_key=True)
    payment_id = Column(Integer, ForeignKey("payments.id", ondelete="CASCADE"), nullable=False)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    invoice_id = Column(Integer, ForeignKey("invoices.id", ondelete="SET NULL"))
    promise_id = Column(Integer, ForeignKey("promises.id", ondelete="SET NULL"))
    instalment_id = Column(Integer, ForeignKey("instalments.id", ondelete="SET NULL"))
    applied_amount = Column(Money, nullable=False)
    credit_amount = Column(Money, nullable=False)
    currency = Column(String(3), nullable=False)
    invoice_was_paid = Column(Boolean, nullable=False, default=False)  # this payment settled the invoice
    reversed_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (
        # one per invoice the payment went to (a payment the billing system recorded may cover several)
        UniqueConstraint("payment_id", "invoice_id", name="uq_payment_allocations_payment_invoice"),
        Index("ix_payment_allocations_payment_id", "payment_id"),
        CheckConstraint("applied_amount >= 0 AND credit_amount >= 0", name="ck_payment_allocations_amounts"),
    )


class Settlement(Base):
    """A settlement certificate ("paz y salvo"): issued once when the debtor's total balance reaches zero
    (once per set of settled invoices: ``fingerprint``), verifiable by its unguessable ``code``."""

    __tablename__ = "settlements"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    code = Column(String(32), nullable=False)
    fingerprint = Column(String(64), nullable=False)
    issued_at = Column(UTCDateTime, nullable=False, default=utcnow)
    details = Column(JSON, nullable=False, default=dict)
    pdf = Column(LargeBinary, nullable=False)

    __table_args__ = (
        UniqueConstraint("code", name="uq_settlements_code"),
        UniqueConstraint("debtor_id", "fingerprint", name="uq_settlements_debtor_fingerprint"),
    )


__all__ += ["SandboxPayment", "PaymentAllocation", "Settlement"]


class MessageFlag(Base):
    """A manager's mark on a transcript: a bot reply that was wrong (and the debtor message it answered, with the
    intent it should have been), exported as Rasa NLU examples for retraining."""

    __tablename__ = "message_flags"

    id = Column(Integer, primary_key=True)
    message_id = Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False, index=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False, index=True)
    debtor_message_id = Column(Integer, ForeignKey("messages.id", ondelete="SET NULL"))
    expected_intent = Column(String(80))
    note = Column(Text, nullable=False, default="")
    user_id = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("message_id", name="uq_message_flags_message"),)


__all__ += ["MessageFlag"]


class DashboardRollup(Base):
    """The dashboard's figures, pre-computed per conversation (``bot.review.rollups``): one row per conversation, metric
    (``promise``, ``reason:job_loss``, ``failure:30003``, ``recovered:MXN``, ``sent:<campaign>|<variant>`` ...)
    and event time, with the time of
    the conversation's previous event of the same metric (so "conversations with the metric in a period" is a
    plain sum: the rows in the period whose previous event is before it), the conversation's own period columns
    and segment (country, channel). Rows of ``_live`` mark conversations always computed live."""

    __tablename__ = "dashboard_rollups"

    id = Column(Integer, primary_key=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    metric = Column(String(120), nullable=False)
    at = Column(UTCDateTime, nullable=False)
    prev_at = Column(UTCDateTime)
    conv_created_at = Column(UTCDateTime, nullable=False)
    conv_last_message_at = Column(UTCDateTime, nullable=False)
    country = Column(String(2))
    channel = Column(String(10))
    events = Column(Integer, nullable=False, default=1)
    amount = Column(Money)

    __table_args__ = (
        # Covers the dashboard's one query (``metric IN (...)``, the period): rows come grouped by metric, no sort.
        Index(
            "ix_dashboard_rollups_metric_at",
            "metric",
            "at",
            "conv_last_message_at",
            "conv_created_at",
            "prev_at",
            "country",
            "channel",
            "conversation_id",
            "events",
            "amount",
        ),
        # The same by conversation: the rows of a few conversations (the changed ones), and the A/B intersections.
        Index(
            "ix_dashboard_rollups_conversation",
            "conversation_id",
            "metric",
            "at",
            "prev_at",
            "conv_last_message_at",
            "conv_created_at",
            "country",
            "channel",
            "events",
            "amount",
        ),
    )


class RollupState(Base):
    """When the rollups were last refreshed: rows created (id above ``max_ids``) or changed (after ``watermark``)
    since then belong to conversations the dashboard computes live until the next refresh."""

    __tablename__ = "rollup_state"

    name = Column(String(40), primary_key=True)
    watermark = Column(UTCDateTime, nullable=False)
    max_ids = Column(JSON, nullable=False, default=dict)
    metrics = Column(JSON, nullable=False, default=list)  # the metrics the rollup holds
    refreshed_at = Column(UTCDateTime, nullable=False)
    full_at = Column(UTCDateTime)
    rows = Column(Integer, nullable=False, default=0)
    seconds = Column(Float)


__all__ += ["DashboardRollup", "RollupState"]


class ErasedPhone(Base):
    """A phone whose owner had their data erased: never contacted by a campaign again, whoever it is later pushed for.

    Only a digest is kept (``bot.lifecycle.erased_phones``), the least that lets a later push of the same number be
    recognised; it is a pseudonym, not an anonymous value (a given number can be checked against it), kept on the
    legal ground of honouring the erasure."""

    __tablename__ = "erased_phones"

    id = Column(Integer, primary_key=True)
    digest = Column(String(64), nullable=False, unique=True)
    erased_at = Column(UTCDateTime, nullable=False, default=utcnow)


__all__ += ["ErasedPhone"]


class PaymentProof(Base):
    """A photo or PDF the debtor sent as proof of a payment made elsewhere (a transfer, a bank deposit): a task for
    an agent, who confirms it (the payment is recorded through ``bot.billing.recorded_payments``, as if the billing
    system had reported it) or rejects it with a reason the debtor is told. The file stays on its message."""

    __tablename__ = "payment_proofs"

    id = Column(Integer, primary_key=True)
    debtor_id = Column(Integer, ForeignKey("debtors.id", ondelete="CASCADE"), nullable=False, index=True)
    conversation_id = Column(Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False)
    message_id = Column(Integer, ForeignKey("messages.id", ondelete="CASCADE"), nullable=False)
    handoff_id = Column(Integer, ForeignKey("handoffs.id", ondelete="SET NULL"))
    status = Column(String(12), nullable=False, default="pending", index=True)  # pending, confirmed, rejected
    reason = Column(Text)  # why it was rejected, as the debtor was told
    payment_id = Column(Integer, ForeignKey("payments.id", ondelete="SET NULL"))
    decided_by = Column(Integer, ForeignKey("users.id", ondelete="SET NULL"))
    decided_at = Column(UTCDateTime)
    created_at = Column(UTCDateTime, nullable=False, default=utcnow)

    __table_args__ = (UniqueConstraint("message_id", name="uq_payment_proofs_message"),)


__all__ += ["PaymentProof"]
