"""The account statement as a PDF: "mándeme la factura", "pásame el recibo", "quiero ver mi estado de cuenta".

No intent of the classifier's asks for it: ``bot.language.asks.asks_statement`` finds the request in the words,
and the action that runs the turn carries it out (``actions.dialogue.whole_message``), right after the balance
(the summary in the chat, the document attached). Like the balance, only
after the identity check: the PDF names the debtor and every open invoice. The reply carries the document as an
attachment (``utter_message(attachment=…)``): the worker sends it as WhatsApp media (Twilio fetches it); the link
is in the text too, for SMS and for a phone that does not show the attachment.
"""

from __future__ import annotations

from actions.base import PENDING_CONFIRMATION, Ctx
from bot.billing import accounts, statements
from bot.language import asks


def send_statement(ctx: Ctx) -> None:
    if not ctx.require_verified(asks.STATEMENT):
        return
    if not accounts.open_invoices(ctx.session, ctx.debtor):
        if "check_balance" not in ctx.turn.intents:  # (the balance, carried out just before, said so already)
            ctx.utter("utter_no_debt")
        return
    url = statements.statement_url(ctx.debtor)
    ctx.utter("utter_statement_sent", url=url, attachment=url)
    if ctx.turn.intents and ctx.turn.intents[-1] != asks.STATEMENT:
        return  # what follows in the message comes next
    ctx.utter("utter_offer_payment_link")
    ctx.set(PENDING_CONFIRMATION, "payment_link")
