"""What a debtor's message means for the account: identity, reasons, hand-offs, opt-out, contactability, the inbox
(what an inbound message does) and the one Rasa client."""
