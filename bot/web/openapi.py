"""``GET /api/v1/openapi.json``: the OpenAPI 3.1 description of ``/api/v1`` and of the webhooks we serve.

Public on purpose: the document holds no data, only shapes, so it needs no API key (tools such as Swagger UI or
code generators can read it). It describes what this server serves: the sandbox outbox appears only when the
sandbox messaging provider is on. ``tests/web/test_openapi.py`` checks it against the app's routes and real
responses, so a route or a field cannot land undescribed. The prose version is ``docs/api.md``.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, current_app, jsonify

from bot.billing import money
from bot.platform.config import get_settings

bp = Blueprint("openapi", __name__, url_prefix="/api/v1")

VERSION = "0.1.0"  # the project's version (pyproject.toml)
OUTBOX_PATH = "/api/v1/sandbox/outbox"


def register(app: Flask) -> None:
    app.register_blueprint(bp)


@bp.get("/openapi.json")
def document():
    include_sandbox = "sandbox_api" in current_app.blueprints
    return jsonify(build(get_settings().public_base_url, include_sandbox=include_sandbox))


# --- Building blocks -----------------------------------------------------------------------------------------
def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema 2020-12 (OpenAPI 3.1) spells "may be null" as a type list."""
    out = dict(schema)
    kind = out.get("type", "string")
    out["type"] = [kind, "null"] if isinstance(kind, str) else [*kind, "null"]
    if "enum" in out:
        out["enum"] = [*out["enum"], None]
    return out


def _obj(
    properties: dict[str, Any], required: list[str] | None = None, description: str | None = None, **extra: Any
) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object"}
    if description:
        out["description"] = description
    out["properties"] = properties
    out["required"] = list(properties) if required is None else required
    out.update(extra)
    return out


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _error(description: str) -> dict[str, Any]:
    return _json(_ref("Error"), description)


STR = {"type": "string"}
BOOL = {"type": "boolean"}
DATE = {"type": "string", "format": "date", "description": "YYYY-MM-DD"}
TIME = {"type": "string", "format": "date-time", "description": "ISO 8601, UTC (ends in Z)"}
MONEY = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$", "description": 'a decimal string, e.g. "185000.00"'}
CURRENCY = {"type": "string", "pattern": "^[A-Z]{3}$", "description": "ISO 4217"}
E164 = {"type": "string", "pattern": r"^\+[1-9]\d{6,14}$", "description": "E.164 (the SMS form: +52…, never +521…)"}
CHANNEL = {"type": "string", "enum": ["whatsapp", "sms"]}
REASONS = ["job_loss", "income_delay", "forgot", "health", "other_debts", "service_issue", "other"]


def _schemas() -> dict[str, Any]:
    invoice_in = _obj(
        {
            "external_id": {"type": "string", "minLength": 1, "maxLength": 100},
            "amount": {
                **MONEY,
                "type": ["string", "integer"],
                "description": "decimal string, at most 2 decimals (none for CLP); not negative. A JSON integer "
                "is accepted too, a float never",
            },
            "currency": {**CURRENCY, "enum": list(money.SUPPORTED_CURRENCIES)},
            "due_date": DATE,
            "balance": {
                **MONEY,
                "type": ["string", "integer"],
                "description": "what is still owed; defaults to amount on a new invoice",
            },
            "description": {
                "type": "string",
                "minLength": 1,
                "maxLength": 200,
                "description": 'what the invoice is for (e.g. "Celular Samsung A15"): shown to the debtor, who may '
                'name the invoice by it ("la del celular"); left as it was when absent on an update',
            },
        },
        required=["external_id", "amount", "currency", "due_date"],
        description="An invoice as the billing system sends it.",
    )
    debtor_in = _obj(
        {
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "phone": {
                "type": "string",
                "description": "E.164 (a national number of `country` or `whatsapp:+…` is normalised)",
            },
            "whatsapp": {**BOOL, "default": False, "description": "the debtor can be reached on WhatsApp"},
            "country": {"type": "string", "pattern": "^[A-Za-z]{2}$", "description": "ISO 3166 alpha-2"},
            "timezone": {"type": "string", "description": "IANA zone; defaults to the country's main zone"},
            "document_last4": {
                "type": "string",
                "pattern": r"^\d{4}$",
                "description": "last 4 digits of the ID document: the identity check's answer",
            },
            "document": {
                "type": "string",
                "maxLength": 40,
                "description": "the full ID number: stored only as a keyed hash plus its last 4 digits, never returned",
            },
            "language": {"type": "string", "default": "es", "maxLength": 8},
            "invoices": {
                "type": "array",
                "maxItems": 500,
                "items": invoice_in,
                "description": "upserted by external_id; invoices not listed are left as they are",
            },
        },
        required=["name", "phone", "country"],
        description="The body of PUT /api/v1/debtors/{external_id}.",
    )

    invoice = _obj(
        {
            "external_id": STR,
            "amount": MONEY,
            "balance": MONEY,
            "currency": CURRENCY,
            "description": _nullable(STR),
            "original_due_date": {**DATE, "description": "the due date the billing system sent"},
            "due_date": {**DATE, "description": "the current due date (after any agreed change)"},
            "status": {"type": "string", "enum": ["open", "paid", "disputed", "cancelled"]},
        }
    )
    promise = _obj(
        {
            "invoice_external_id": _nullable(STR),
            "promised_date": DATE,
            "amount": MONEY,
            "currency": CURRENCY,
            "status": {"type": "string", "enum": ["open", "kept", "broken", "replaced"]},
            "source": {"type": "string", "enum": ["bot", "agent"]},
            "created_at": TIME,
        }
    )
    instalment = _obj(
        {
            "number": {"type": "integer", "minimum": 1},
            "due_date": DATE,
            "amount": MONEY,
            "paid": BOOL,
            "paid_at": _nullable(TIME),
        }
    )
    plan = _obj(
        {
            "invoice_external_id": {**_nullable(STR), "description": "null for a plan over several invoices"},
            "invoices": {
                "type": "array",
                "items": STR,
                "description": "every invoice the plan covers (external ids, oldest due first; a plan over one lists "
                "it): its instalments split their total and a payment settles them oldest first",
            },
            "total": MONEY,
            "currency": CURRENCY,
            "status": {
                "type": "string",
                "enum": ["active", "late", "broken", "completed", "cancelled"],
                "description": "on the debtor's own day: late = an instalment past its due date; broken = too many "
                "days late (config/payment_plan_policy.yml), handed to an agent; an instalment whose invoice is "
                "paid is never late",
            },
            "days_late": {"type": "integer", "minimum": 0, "description": "days the oldest unpaid instalment is late"},
            "created_at": TIME,
            "instalments": {"type": "array", "items": _ref("Instalment"), "description": "in order"},
        }
    )
    reason = _obj(
        {
            "reason": {"type": "string", "enum": REASONS},
            "text": {**STR, "description": "the debtor's own words"},
            "invoice_external_id": _nullable(STR),
            "created_at": TIME,
        }
    )
    due_change = _obj(
        {
            "invoice_external_id": _nullable(STR),
            "old_date": DATE,
            "new_date": DATE,
            "changed_by": {**STR, "description": "bot, or the agent who moved it"},
            "created_at": TIME,
        }
    )
    link = _obj(
        {
            "url": {**STR, "format": "uri", "description": "our short link (PUBLIC_BASE_URL/p/<code>): fits an SMS"},
            "checkout_url": {**STR, "format": "uri", "description": "the provider's checkout page"},
            "invoice_external_id": {
                **_nullable(STR),
                "description": "the invoice a one-invoice link pays (null for a link that pays several)",
            },
            "invoices": {
                "type": "array",
                "items": STR,
                "description": "every invoice the link pays, in the order a payment settles them (oldest due first)",
            },
            "amount": MONEY,
            "currency": CURRENCY,
            "status": {"type": "string", "enum": ["active", "paid", "expired"]},
            "expires_at": TIME,
            "created_at": TIME,
        }
    )
    payment = _obj(
        {
            "provider_id": STR,
            "provider": {
                **STR,
                "description": "sandbox, mercadopago, billing (recorded by your billing system) or proof (an agent "
                "confirmed a proof of payment)",
            },
            "invoice_external_id": _nullable(STR),
            "amount": MONEY,
            "currency": CURRENCY,
            "status": {
                **STR,
                "description": "Mercado Pago's payment status: approved, pending, rejected, refunded, ...",
            },
            "status_detail": _nullable(STR),
            "refunded_amount": MONEY,
            "paid_at": _nullable(TIME),
        }
    )
    handoff = _obj(
        {
            "status": {"type": "string", "enum": ["open", "claimed", "closed"]},
            "reason": {**STR, "description": "why the bot handed over, e.g. request_human, dispute_debt"},
            "created_at": TIME,
        }
    )
    settlement = _obj(
        {
            "code": {**STR, "description": "the certificate's verification code"},
            "url": {**STR, "format": "uri", "description": "the certificate PDF"},
            "issued_at": TIME,
            "status": {"type": "string", "enum": ["valid", "revoked"]},
        }
    )
    credit = _obj({"currency": CURRENCY, "amount": MONEY})
    offer = _obj(
        {
            "id": {"type": "integer"},
            "invoice_external_id": _nullable(STR),
            "name": {**STR, "description": "the offer's name in config/settlement_offers.yml"},
            "kind": {
                "type": "string",
                "enum": ["discount", "first_instalment"],
                "description": "a discount for paying in full by valid_until, or a plan with a larger first instalment",
            },
            "balance": {**MONEY, "description": "what was owed when the offer was made"},
            "amount": {
                **MONEY,
                "description": "what the debtor pays now: the discounted total, or the first instalment",
            },
            "currency": CURRENCY,
            "discount_pct": MONEY,
            "instalments": _nullable({"type": "integer", "description": "first_instalment: the plan's count"}),
            "valid_until": DATE,
            "status": {
                "type": "string",
                "enum": ["offered", "accepted", "declined", "expired", "paid", "refunded"],
                "description": "refunded: paid, then the payment was given back; the discount is owed again",
            },
            "link_url": _nullable({**STR, "format": "uri", "description": "the link sent when it was accepted"}),
            "created_at": TIME,
            "accepted_at": _nullable(TIME),
            "paid_at": _nullable(TIME),
        },
        description="A settlement offer the bot made in the chat (config/settlement_offers.yml).",
    )

    def items(schema_name: str) -> dict[str, Any]:
        return {"type": "array", "items": _ref(schema_name)}

    debtor = _obj(
        {
            "external_id": STR,
            "name": STR,
            "phone": {
                "anyOf": [E164, {"type": "string", "pattern": "^erased:"}],
                "description": "E.164; after an erasure a placeholder starting `erased:` (no number)",
            },
            "whatsapp": BOOL,
            "country": {"type": "string", "pattern": "^[A-Z]{2}$"},
            "timezone": STR,
            "language": STR,
            "document_last4": _nullable({"type": "string", "pattern": r"^\d{4}$"}),
            "contact_status": {
                "type": "string",
                "enum": ["ok", "wrong_number", "invalid_number", "landline", "unsubscribed", "unreachable", "erased"],
            },
            "created_at": TIME,
            "updated_at": TIME,
            "invoices": {**items("Invoice"), "description": "by due date"},
            "promises": items("Promise"),
            "payment_plans": {**items("PaymentPlan"), "description": "oldest first"},
            "settlement_offers": {**items("SettlementOffer"), "description": "offers made in the chat, oldest first"},
            "nonpayment_reasons": items("NonpaymentReason"),
            "due_date_changes": items("DueDateChange"),
            "payment_links": items("PaymentLink"),
            "payments": items("Payment"),
            "handoffs": items("Handoff"),
            "opted_out": {**BOOL, "description": "the debtor asked not to be written to again"},
            "identity_locked_until": _nullable(
                {
                    **TIME,
                    "description": "set while the debtor is locked out of the identity check (wrong document digits)",
                }
            ),
            "settlements": {**items("Settlement"), "description": "settlement certificates (paz y salvo)"},
            "credit": {**items("Credit"), "description": "over-payments kept for the debtor, per currency"},
            "erased_at": _nullable(
                {**TIME, "description": "when the debtor's personal data was erased on request (DELETE)"}
            ),
        },
        description="A debtor as GET /api/v1/debtors/{external_id} returns it. Lists are oldest first; "
        "more fields may be added.",
    )

    message = _obj(
        {
            "id": {"type": "integer"},
            "direction": {"type": "string", "enum": ["in", "out"]},
            "author": {"type": "string", "enum": ["debtor", "bot", "agent", "system"]},
            "channel": CHANNEL,
            "body": STR,
            "status": {
                **STR,
                "description": "received (inbound); pending, queued, sending, sent, delivered, read, undelivered, "
                "failed (outbound); held (outside the debtor's allowed contact hours: goes at hold_until), "
                "cancelled (a held message taken back, or no longer due when its time came)",
            },
            "hold_until": _nullable(
                {**TIME, "description": "held messages only: when the contact rules let it go (UTC)"}
            ),
            "error_code": _nullable({**STR, "description": "the provider's error code on a failed send"}),
            "media": {"type": "array", "items": _obj({"url": {**STR, "format": "uri"}, "content_type": STR})},
            "created_at": {**TIME, "description": "when the message was received or handed to the provider"},
            "encoding": _nullable({"type": "string", "enum": ["GSM-7", "UCS-2"], "description": "outbound SMS only"}),
            "segments": _nullable({"type": "integer", "description": "outbound SMS only"}),
            "intent": _nullable({**STR, "description": "debtor messages only: the intent understood"}),
            "confidence": _nullable({"type": "number", "description": "debtor messages only"}),
            "entities": {
                "type": "array",
                "description": "debtor messages only: the entities extracted",
                "items": {"type": "object", "properties": {"entity": STR, "value": {}}, "additionalProperties": True},
            },
        },
        required=["id", "direction", "author", "channel", "body", "status", "error_code", "media", "created_at"],
        description="One message of a transcript.",
    )
    outbox_item = _obj(
        {
            "to": E164,
            "channel": CHANNEL,
            "body": STR,
            "status": STR,
            "created_at": TIME,
            "sid": _nullable({**STR, "description": "the message sid the sandbox provider gave it"}),
            "content_sid": _nullable({**STR, "description": "an approved WhatsApp template sent instead of a body"}),
            "media_url": _nullable({**STR, "description": "the document attached (a signed /d/ link to a PDF)"}),
            "media": {"type": "array", "items": STR, "description": "the attachments' URLs (media_url as a list)"},
            "buttons": {
                "type": "array",
                "description": "the WhatsApp buttons sent with it, {id, title} (a reply's id comes back as "
                "ButtonPayload when tapped), a link button with its url too; an approved template's quick replies "
                "with their static ids (recobra.check_balance); empty on SMS, where the options are numbered in "
                "the body",
                "items": {
                    "type": "object",
                    "properties": {"id": STR, "title": STR, "url": STR},
                    "required": ["id", "title"],
                },
            },
        },
        required=["to", "channel", "body", "status", "created_at"],
    )
    error = _obj(
        {
            "error": _obj(
                {
                    "code": {**STR, "description": "machine-readable, e.g. unauthorized, not_found, validation_error"},
                    "message": {**STR, "description": "for people"},
                    "field": {
                        **STR,
                        "description": "validation errors: the offending field, e.g. invoices[0].currency",
                    },
                },
                required=["code", "message"],
            )
        },
        description="Every 4xx/5xx answer of the API and the webhooks. Never a stack trace.",
    )
    rows = {"type": "array", "items": {"type": "object", "additionalProperties": True}}
    erasure = _obj(
        {
            "external_id": STR,
            "status": {"type": "string", "enum": ["erased", "already_erased"]},
            "erased_at": TIME,
            "removed": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
                "description": "first erasure only: what was removed or anonymised, by kind (messages, "
                "tracker_events, nonpayment_reason_texts, handoffs, agent_notes, pending_contacts_cancelled, "
                "settlement_names)",
            },
        },
        required=["external_id", "status", "erased_at"],
        description="The answer to DELETE /api/v1/debtors/{external_id}: the same 200 every time (idempotent).",
    )
    export = _obj(
        {
            "format": {"type": "string", "const": "recobra.debtor-export/1"},
            "exported_at": TIME,
            "profile": {"type": "object", "additionalProperties": True},
            "consent": {"type": "object", "additionalProperties": True},
            **{
                name: rows
                for name in (
                    "invoices",
                    "payments",
                    "payment_allocations",
                    "payment_links",
                    "payment_proofs",
                    "promises",
                    "payment_plans",
                    "settlement_offers",
                    "due_date_changes",
                    "nonpayment_reasons",
                    "conversations",
                    "messages",
                    "handoffs",
                    "agent_notes",
                    "contact_attempts",
                    "identity_checks",
                    "settlements",
                    "audit",
                )
            },
            "rasa_tracker": _nullable(
                {
                    "type": "object",
                    "additionalProperties": rows,
                    "description": "Rasa's stored events per conversation id (phone); null without a tracker store",
                }
            ),
        },
        description="Everything held about a debtor (a data-access request): every column of every row, named as "
        "in the store; money as decimal strings, times ISO 8601 UTC. The document's hash and certificate PDFs are "
        "left out.",
    )
    payment_in = _obj(
        {
            "external_id": {
                "type": "string",
                "minLength": 1,
                "maxLength": 64,
                "description": "your id for the payment: a repeat with the same id is applied once",
            },
            "debtor_external_id": {"type": "string", "minLength": 1, "maxLength": 100},
            "invoices": {
                "type": "array",
                "minItems": 1,
                "maxItems": 50,
                "items": _obj(
                    {
                        "external_id": {"type": "string", "minLength": 1, "maxLength": 100},
                        "amount": {**MONEY, "type": ["string", "integer"], "description": "more than zero"},
                    }
                ),
                "description": "the debtor's invoices the payment went to, and how much to each (their sum is "
                "`amount`); more than an invoice's balance is kept as the debtor's credit",
            },
            "amount": {**MONEY, "type": ["string", "integer"], "description": "more than zero; a float never"},
            "currency": {**CURRENCY, "enum": list(money.SUPPORTED_CURRENCIES), "description": "the invoices' currency"},
            "paid_at": {
                "type": "string",
                "description": "ISO 8601 time with its offset (2026-12-04T15:20:00-05:00), or a date YYYY-MM-DD "
                "(the start of that day in the debtor's zone); not in the future",
            },
            "method": {"type": "string", "maxLength": 40, "description": "how it was paid, e.g. bank_transfer, cash"},
        },
        required=["external_id", "debtor_external_id", "invoices", "amount", "currency", "paid_at"],
        description="The body of POST /api/v1/payments: a payment your billing system recorded outside Mercado Pago.",
    )
    payment_out = _obj(
        {
            "external_id": STR,
            "debtor_external_id": STR,
            "provider": {"type": "string", "const": "billing"},
            "amount": MONEY,
            "currency": CURRENCY,
            "status": {"type": "string", "const": "approved"},
            "method": _nullable(STR),
            "paid_at": TIME,
            "invoices": {
                "type": "array",
                "items": _obj(
                    {
                        "external_id": STR,
                        "amount": MONEY,
                        "applied_amount": {**MONEY, "description": "what reduced the invoice's balance"},
                        "credit_amount": {
                            **MONEY,
                            "description": "what was more than the balance: the debtor's credit",
                        },
                    }
                ),
            },
            "created_at": {**TIME, "description": "when Recobra recorded it"},
        },
        description="A payment recorded by the billing system, as applied (the same answer for every repeat).",
    )
    return {
        "PaymentRecord": payment_in,
        "RecordedPayment": payment_out,
        "DebtorErasure": erasure,
        "DebtorExport": export,
        "DebtorUpsert": debtor_in,
        "InvoiceUpsert": invoice_in,
        "Debtor": debtor,
        "Invoice": invoice,
        "Promise": promise,
        "PaymentPlan": plan,
        "Instalment": instalment,
        "NonpaymentReason": reason,
        "DueDateChange": due_change,
        "PaymentLink": link,
        "Payment": payment,
        "Handoff": handoff,
        "Settlement": settlement,
        "Credit": credit,
        "SettlementOffer": offer,
        "SettlementOffers": _obj({"offers": {"type": "array", "items": _ref("SettlementOffer")}}),
        "Message": message,
        "Messages": _obj({"messages": {"type": "array", "items": _ref("Message")}}),
        "OutboxMessage": outbox_item,
        "Outbox": _obj({"messages": {"type": "array", "items": _ref("OutboxMessage")}}),
        "Error": error,
        "MercadoPagoAck": _obj(
            {"status": {"type": "string", "enum": ["queued", "duplicate", "ignored"]}, "reason": STR},
            required=["status"],
        ),
        "TwilioInbound": _obj(
            {
                "MessageSid": STR,
                "AccountSid": STR,
                "From": {**STR, "description": "E.164, or whatsapp:+E164 for WhatsApp"},
                "To": STR,
                "Body": STR,
                "NumMedia": STR,
                "MediaUrl0": STR,
                "MediaContentType0": STR,
                "ProfileName": STR,
                "WaId": STR,
            },
            required=["MessageSid", "From"],
            description="Twilio's inbound message webhook (form fields; up to MediaUrl9/MediaContentType9).",
        ),
        "TwilioStatus": _obj(
            {
                "MessageSid": STR,
                "MessageStatus": {
                    "type": "string",
                    "enum": ["queued", "sending", "sent", "delivered", "undelivered", "failed", "read"],
                },
                "ErrorCode": STR,
            },
            required=["MessageSid", "MessageStatus"],
            description="Twilio's status callback (form fields). A status never moves backwards.",
        ),
        "MercadoPagoNotification": _obj(
            {
                "type": {**STR, "description": "payment (other topics are acknowledged and ignored)"},
                "action": STR,
                "data": _obj({"id": STR}, required=[]),
            },
            required=[],
            description="Never trusted: the payment is fetched from Mercado Pago by its id.",
        ),
    }


def _external_id() -> dict[str, Any]:
    return {
        "name": "external_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1, "maxLength": 100},
        "description": "the debtor's id in your billing system",
    }


API_ERRORS = {
    "401": {"$ref": "#/components/responses/Unauthorized"},
    "500": {"$ref": "#/components/responses/InternalError"},
}


def _paths(include_sandbox: bool) -> dict[str, Any]:
    bearer: list[dict[str, list[str]]] = [{"bearerAuth": []}]
    paths: dict[str, Any] = {
        "/api/v1/openapi.json": {
            "get": {
                "operationId": "getOpenAPI",
                "tags": ["meta"],
                "security": [],
                "summary": "This document (public: it holds no data)",
                "responses": {"200": _json({"type": "object"}, "the OpenAPI 3.1 description")},
            }
        },
        "/api/v1/debtors/{external_id}": {
            "parameters": [_external_id()],
            "put": {
                "operationId": "upsertDebtor",
                "tags": ["debtors"],
                "security": bearer,
                "summary": "Create or update a debtor with its invoices (idempotent)",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("DebtorUpsert")}}},
                "responses": {
                    "201": _json(_ref("Debtor"), "created"),
                    "200": _json(_ref("Debtor"), "updated (or unchanged)"),
                    "400": _error("malformed_json: the body is not JSON"),
                    **API_ERRORS,
                    "413": _error("payload_too_large"),
                    "409": _error("debtor_erased: this debtor was erased on request"),
                    "415": _error("unsupported_media_type: send Content-Type: application/json"),
                    "422": _error("validation_error, with `field`"),
                },
            },
            "get": {
                "operationId": "getDebtor",
                "tags": ["debtors"],
                "security": bearer,
                "summary": "A debtor with invoices, promises, reasons, due-date changes, links, payments, hand-offs",
                "responses": {"200": _json(_ref("Debtor"), "the debtor"), **API_ERRORS, "404": _error("not_found")},
            },
            "delete": {
                "operationId": "eraseDebtor",
                "tags": ["debtors"],
                "security": bearer,
                "summary": "Erase the debtor's personal data on request (audited; invoices and payments stay, "
                "anonymised; the phone is never contacted by a campaign again). Idempotent: a repeat answers 200 "
                "with status already_erased",
                "responses": {
                    "200": _json(_ref("DebtorErasure"), "erased (or already erased)"),
                    **API_ERRORS,
                    "404": _error("not_found"),
                },
            },
        },
        "/api/v1/debtors/{external_id}/export": {
            "parameters": [_external_id()],
            "get": {
                "operationId": "exportDebtor",
                "tags": ["debtors"],
                "security": bearer,
                "summary": "Everything held about the debtor, as JSON (a data-access request; audited)",
                "responses": {
                    "200": _json(_ref("DebtorExport"), "the debtor's data"),
                    **API_ERRORS,
                    "404": _error("not_found"),
                },
            },
        },
        "/api/v1/payments": {
            "post": {
                "operationId": "recordPayment",
                "tags": ["payments"],
                "security": bearer,
                "summary": "A payment your billing system recorded outside Mercado Pago (a transfer, cash), applied "
                "once with a Mercado Pago payment's effects: balance, promise kept, instalments, the debtor's "
                "confirmation, the settlement certificate at zero balance",
                "description": "Idempotent by external_id: a repeat answers 200 with the same body and changes "
                "nothing; the same external_id with other content answers 409.",
                "requestBody": {"required": True, "content": {"application/json": {"schema": _ref("PaymentRecord")}}},
                "responses": {
                    "201": _json(_ref("RecordedPayment"), "recorded and applied"),
                    "200": _json(_ref("RecordedPayment"), "a repeat: recorded before, nothing changed"),
                    "400": _error("malformed_json: the body is not JSON"),
                    **API_ERRORS,
                    "409": _error(
                        "payment_conflict: the external_id was used for another payment; debtor_erased: the "
                        "debtor was erased on request"
                    ),
                    "413": _error("payload_too_large"),
                    "415": _error("unsupported_media_type: send Content-Type: application/json"),
                    "422": _error(
                        "validation_error, with `field`: unknown debtor or invoice, a currency not the invoices', "
                        "an amount not more than zero or not the invoices' sum, a paid_at without offset or in the "
                        "future"
                    ),
                },
            }
        },
        "/api/v1/debtors/{external_id}/offers": {
            "parameters": [_external_id()],
            "get": {
                "operationId": "getSettlementOffers",
                "tags": ["debtors"],
                "security": bearer,
                "summary": "The settlement offers made to the debtor, oldest first: accepted, declined, paid, refunded",
                "parameters": [
                    {
                        "name": "status",
                        "in": "query",
                        "required": False,
                        "schema": {
                            "type": "string",
                            "enum": ["offered", "accepted", "declined", "expired", "paid", "refunded"],
                        },
                        "description": "only the offers in this status",
                    }
                ],
                "responses": {
                    "200": _json(_ref("SettlementOffers"), "the offers"),
                    "400": _error("bad_request: an unknown status"),
                    **API_ERRORS,
                    "404": _error("not_found"),
                },
            },
        },
        "/api/v1/conversations/{external_id}/messages": {
            "parameters": [_external_id()],
            "get": {
                "operationId": "getMessages",
                "tags": ["conversations"],
                "security": bearer,
                "summary": "The debtor's transcript, oldest first, WhatsApp and SMS together",
                "responses": {
                    "200": _json(_ref("Messages"), "the transcript"),
                    **API_ERRORS,
                    "404": _error("not_found"),
                },
            },
        },
        "/webhooks/twilio/messages": {
            "post": {
                "operationId": "twilioInbound",
                "tags": ["webhooks"],
                "security": [{"twilioSignature": []}],
                "summary": "Twilio: an inbound SMS or WhatsApp message",
                "description": "Stored (deduplicated by MessageSid), queued for the worker, and answered at once with "
                "empty TwiML; the reply goes out later through the provider.",
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": _ref("TwilioInbound")}},
                },
                "responses": {
                    "200": {
                        "description": "empty TwiML (also for a repeat or an unusable message)",
                        "content": {"text/xml": {"schema": {"type": "string"}}},
                    },
                    "403": _error("forbidden: missing or invalid X-Twilio-Signature"),
                },
            }
        },
        "/webhooks/twilio/status": {
            "post": {
                "operationId": "twilioStatus",
                "tags": ["webhooks"],
                "security": [{"twilioSignature": []}],
                "summary": "Twilio: a delivery status callback",
                "requestBody": {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": _ref("TwilioStatus")}},
                },
                "responses": {
                    "204": {"description": "applied (or ignored when older than what we have)"},
                    "403": _error("forbidden: missing or invalid X-Twilio-Signature"),
                },
            }
        },
        "/webhooks/mercadopago": {
            "post": {
                "operationId": "mercadoPagoNotification",
                "tags": ["webhooks"],
                "security": [{"mercadoPagoSignature": [], "mercadoPagoRequestId": []}],
                "summary": "Mercado Pago: a payment notification",
                "parameters": [
                    {"name": "data.id", "in": "query", "schema": STR, "description": "the payment id (signed)"},
                    {"name": "type", "in": "query", "schema": STR, "description": "payment; other topics are ignored"},
                ],
                "requestBody": {"content": {"application/json": {"schema": _ref("MercadoPagoNotification")}}},
                "responses": {
                    "200": _json(_ref("MercadoPagoAck"), "queued for the worker (or a duplicate, or ignored)"),
                    "403": _error("forbidden: missing, forged or stale x-signature"),
                    "503": _error("unavailable: the queue is down; Mercado Pago delivers again later"),
                },
            }
        },
    }
    if include_sandbox:
        paths[OUTBOX_PATH] = {
            "get": {
                "operationId": "getOutbox",
                "tags": ["sandbox"],
                "security": bearer,
                "summary": "Sandbox only: the messages the sandbox provider was asked to send, oldest first",
                "description": "Served only in demo mode with MESSAGING_PROVIDER=sandbox (404 otherwise).",
                "parameters": [
                    {
                        "name": "to",
                        "in": "query",
                        "required": False,
                        "schema": STR,
                        "description": "only messages to this phone (any form: +521… finds +52…)",
                    }
                ],
                "responses": {
                    "200": _json(_ref("Outbox"), "the outbox"),
                    **API_ERRORS,
                    "400": _error("bad_request: `to` is not a phone number"),
                },
            }
        }
    return paths


def build(base_url: str = "http://localhost:8000", include_sandbox: bool = True) -> dict[str, Any]:
    """The OpenAPI 3.1 document, as a plain dict."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Recobra API",
            "version": VERSION,
            "summary": "Debtors, transcripts and provider webhooks of a Recobra collections bot",
            "description": "Billing systems upsert debtors and read back what the conversations produced. "
            "Money is a decimal string with its currency; dates are YYYY-MM-DD; times ISO 8601 UTC. "
            'Errors are JSON {"error": {"code", "message", "field"?}}. See docs/api.md.',
        },
        "servers": [{"url": base_url}],
        "tags": [
            {"name": "debtors"},
            {"name": "payments"},
            {"name": "conversations"},
            {
                "name": "webhooks",
                "description": "called by Twilio and Mercado Pago; each checks the provider's signature",
            },
            {"name": "sandbox"},
            {"name": "meta"},
        ],
        "paths": _paths(include_sandbox),
        "components": {
            "schemas": _schemas(),
            "responses": {
                "Unauthorized": _error("unauthorized: no or wrong `Authorization: Bearer <RECOBRA_API_KEY>`"),
                "InternalError": _error("internal_error: nothing was changed; try again"),
            },
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "RECOBRA_API_KEY (printed by `make run` in demo mode)",
                },
                "twilioSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Twilio-Signature",
                    "description": "base64 HMAC-SHA1 with TWILIO_AUTH_TOKEN over PUBLIC_BASE_URL + "
                    "path (+ query) and the sorted form parameters",
                },
                "mercadoPagoSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-signature",
                    "description": "ts=<unix>,v1=<hex HMAC-SHA256 with MERCADOPAGO_WEBHOOK_SECRET "
                    "of id:<data.id>;request-id:<x-request-id>;ts:<ts>;>",
                },
                "mercadoPagoRequestId": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "x-request-id",
                    "description": "part of the signed manifest; a repeat is queued once",
                },
            },
        },
    }
