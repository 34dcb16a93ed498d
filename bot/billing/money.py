"""Money: Decimal amounts with an ISO 4217 currency, parsed strictly and shown the local way."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision

# Currencies Recobra collects in (Mercado Pago's, plus USD for other markets).
SUPPORTED_CURRENCIES = ("ARS", "BRL", "CLP", "COP", "MXN", "PEN", "UYU", "USD")

# The locale whose conventions a debtor of each country reads money in.
COUNTRY_LOCALES = {
    "AR": "es_AR",
    "CL": "es_CL",
    "CO": "es_CO",
    "MX": "es_MX",
    "PE": "es_PE",
    "UY": "es_UY",
    "BR": "pt_BR",
    "US": "es_US",
}


class MoneyError(ValueError):
    """An amount that is not a valid sum of money."""


def minor_digits(currency: str) -> int:
    """Decimals the currency uses: CLP has none, COP is written without them in practice."""
    return get_currency_precision(currency)


def parse_amount(value: object, currency: str) -> Decimal:
    """Parse a decimal string (never a float) into an exact, non-negative amount of ``currency``."""
    if isinstance(value, bool) or not isinstance(value, (str, int, Decimal)):
        raise MoneyError('amount must be a decimal string such as "120000.00"')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise MoneyError(f"amount {value!r} is not a number") from exc
    if not amount.is_finite():
        raise MoneyError(f"amount {value!r} is not a number")
    if amount < 0:
        raise MoneyError("amount must not be negative")
    if amount >= Decimal("1e15"):  # checked first: quantizing "1e400" overflows the decimal context
        raise MoneyError("amount is too large")
    digits = min(minor_digits(currency), 2)
    if amount != amount.quantize(Decimal(1).scaleb(-digits)):
        raise MoneyError(f"{currency} amounts have at most {digits} decimals")
    return amount.quantize(Decimal("0.01"))


def to_str(amount: Decimal) -> str:
    """The contract's decimal string: two decimals, no exponent."""
    return f"{amount.quantize(Decimal('0.01')):f}"


def format_money(amount: Decimal, currency: str, country: str | None = None) -> str:
    """How a debtor reads the amount: ``$120.000`` in Colombia, ``$1,500.50`` in Mexico, ``S/ 720`` in Peru.
    Whole amounts drop the decimals but keep the locale's spacing, so "S/ 720" and "S/ 89.90" read alike."""
    locale = COUNTRY_LOCALES.get((country or "").upper(), "es_419")
    digits = minor_digits(currency)
    if amount == amount.to_integral_value():
        digits = 0
    fmt = None
    if digits == 0:
        fmt = _whole_pattern(locale)
    try:
        text = format_currency(amount, currency, locale=locale, format=fmt, currency_digits=digits != 0)
    except Exception:  # an unknown locale must never stop a reply
        text = f"{currency} {amount:,.{digits}f}"
    return text.replace("\xa0", " ")


def _whole_pattern(locale: str) -> str:
    """The locale's currency pattern without decimals ("¤\xa0#,##0.00" -> "¤\xa0#,##0")."""
    from babel import Locale

    try:
        pattern = Locale.parse(locale).currency_formats["standard"].pattern.split(";")[0]
    except Exception:
        return "¤#,##0"
    return pattern.replace("#,##0.00", "#,##0") if "#,##0.00" in pattern else "¤#,##0"
