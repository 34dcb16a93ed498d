"""The sandbox payments provider: checkout on our own web edge, no money moves.

``create_link`` points at the web edge's sandbox checkout page (``/sandbox/checkout/<reference>``). The
payments that page records live in the store (``sandbox_payments``), so the web edge and every worker see
them; ``get_payment`` and ``search_payments`` read them back in the shape Mercado Pago's adapter gives
(``bot.providers.ports.PaymentInfo``), so the payment jobs cannot tell the two apart.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.platform.config import get_settings
from bot.providers.ports import LinkRequest, PaymentInfo, PaymentProviderError, ProviderLink
from bot.store.db import session_scope
from bot.store.models import SandboxPayment


class SandboxPayments:
    """Checkout on the web edge's sandbox page, and look-ups of the payments it recorded."""

    name = "sandbox"

    def create_link(self, request: LinkRequest) -> ProviderLink:
        base = get_settings().public_base_url
        return ProviderLink(url=f"{base}/sandbox/checkout/{request.reference}", provider_ref=f"sb-{request.reference}")

    def get_payment(self, payment_id: str) -> PaymentInfo:
        with session_scope() as session:
            row = session.execute(
                select(SandboxPayment).where(SandboxPayment.provider_id == str(payment_id))
            ).scalar_one_or_none()
            if row is None:
                raise PaymentProviderError(f"sandbox payment {payment_id} not found")
            return sandbox_payment_dict(row)

    def search_payments(self, external_reference: str) -> list[PaymentInfo]:
        with session_scope() as session:
            rows = (
                session.execute(
                    select(SandboxPayment)
                    .where(SandboxPayment.reference == external_reference)
                    .order_by(SandboxPayment.id.desc())
                )
                .scalars()
                .all()
            )
            return [sandbox_payment_dict(r) for r in rows]


def sandbox_payment_dict(row: Any) -> PaymentInfo:
    return {
        "id": row.provider_id,
        "status": row.status,
        "status_detail": row.status_detail,
        "transaction_amount": row.amount,
        "currency_id": row.currency,
        "external_reference": row.reference,
        "date_approved": row.date_approved,
        "date_of_expiration": None,
        "payment_method_id": row.payment_method_id,
        "payment_type_id": row.payment_type_id,
        "ticket_url": None,
    }
