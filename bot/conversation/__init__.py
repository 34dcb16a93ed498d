"""What a debtor's message means for the account: identity, reasons, hand-offs, opt-out, the Rasa client."""
