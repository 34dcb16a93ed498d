"""Pure helpers that turn what the NLU extracted (``date``, ``amount`` text) into values.

No Rasa and no Flask here: the actions and the services call these with the debtor's own
time zone, balance and currency, and an injectable clock.
"""

from bot.language.amounts import resolve_amount, resolve_installments
from bot.language.dates import local_today, resolve_date
from bot.language.text import normalise

__all__ = ["local_today", "normalise", "resolve_amount", "resolve_date", "resolve_installments"]
