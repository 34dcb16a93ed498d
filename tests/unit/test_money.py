"""Money as the debtor reads it on the phone: the country's separators and spacing, no ".00" on whole sums."""

from decimal import Decimal

import pytest

from bot.billing.money import format_money


@pytest.mark.parametrize(
    ("amount", "currency", "country", "shown"),
    [
        ("185000.00", "COP", "CO", "$185.000"),
        ("1599.00", "MXN", "MX", "$1,599"),
        ("899.50", "MXN", "MX", "$899.50"),
        ("48500.00", "ARS", "AR", "$48.500"),
        ("45990", "CLP", "CL", "$45.990"),
        # Peru writes a space after S/, for whole sums as for the rest
        ("720.00", "PEN", "PE", "S/ 720"),
        ("89.90", "PEN", "PE", "S/ 89.90"),
    ],
)
def test_amounts_read_the_local_way(amount, currency, country, shown):
    assert format_money(Decimal(amount), currency, country) == shown
