"""How numbers read: one money format for the console, the reports, the workbook and messages.

A board reads £17,000, £1.38m, £339.6m and £1.20bn with a real minus sign (−£229.5m), never
£-229,541,072 or 341000000.000006: amounts within half a pound of zero are zero.
"""

from __future__ import annotations

import math
from typing import Any

MINUS = "\u2212"  # a real minus sign: "-" is a hyphen in print


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def money(value: Any, sign: bool = False) -> str:
    """£ for a board paper: £17,000; £1.38m; £339.6m; £1.20bn; "+£1,200" with ``sign``."""
    if is_missing(value):
        return "—"
    amount = float(value)
    if abs(amount) < 0.5:
        amount = 0.0
    size = abs(amount)
    if size >= 1e9:
        text = f"£{size / 1e9:.2f}bn"
    elif size >= 1e7:
        text = f"£{size / 1e6:.1f}m"
    elif size >= 1e6:
        text = f"£{size / 1e6:.2f}m"
    else:
        text = f"£{size:,.0f}"
    if amount < 0:
        return MINUS + text
    return ("+" if sign and amount > 0 else "") + text


def pounds(value: Any) -> str:
    """£ to the pound, for tables where exact figures matter."""
    if is_missing(value):
        return "—"
    amount = float(value)
    return (MINUS if amount < -0.5 else "") + f"£{abs(amount):,.0f}"


def number(value: Any, decimals: int = 0) -> str:
    if is_missing(value):
        return "—"
    amount = float(value)
    if abs(amount) < 0.5 * 10 ** -decimals:
        amount = 0.0
    return (MINUS if amount < 0 else "") + f"{abs(amount):,.{decimals}f}"


def unit_money(value: Any) -> str:
    """£ per unit of a marginal value: to the penny from £1 up (£800.00, −£6,000.00), four
    decimals below (£0.2101); a real minus sign, and none on an amount that rounds to zero."""
    amount = float(value)
    digits = 2 if abs(amount) >= 1 or amount == 0 else 4
    return (MINUS if amount < 0 and round(abs(amount), digits) > 0 else "") + f"£{abs(amount):,.{digits}f}"


def worse_off(change: Any, horizon: int, value_per_qaly: Any) -> str:
    """How much worse off a plan is, in the words every message uses: "£12,071 a year worse off,
    counting health at £20,000 per QALY against spend and the risk charge" ("£12,071 worse off
    over the 5 years" for a multi-year plan; "no worse off" within half a pound). ``change`` is
    the rise of the objective, which a board must not read as value for money: the headline gives
    that in £ per QALY, while this is health lost at the £ per QALY set against spend and risk
    charge saved."""
    amount = (f"{money(change)} a year worse off" if horizon == 1 else
              f"{money(change)} worse off over the {horizon} years")
    if float(change) <= 0.5:
        amount = "no worse off"
    return (f"{amount}, counting health at {money(value_per_qaly)} per QALY against spend and the "
            "risk charge")
