"""Figures for people: thousands separators, percentages and money, in English or French.

English: ``1,234``, ``12.3%``, ``$1,234.50``. French: ``1 234``, ``12,3 %``, ``1 234,50 $``
(narrow no-break space between thousands, as the French typography rules ask). The same
conventions go into the charts through :func:`vega_locale`.
"""

from __future__ import annotations

import math
from typing import Literal

Language = Literal["en", "fr"]
LANGUAGES: tuple[Language, ...] = ("en", "fr")
#: The shop's currency symbol (REES46 prices are in US dollars).
CURRENCY_SYMBOL = "$"
_THIN = "\u202f"  # narrow no-break space: French thousands separator and before % and $
_MISSING = "–"


def _is_missing(value: object) -> bool:
    if value is None:
        return True
    try:
        return math.isnan(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _localise(text: str, language: Language) -> str:
    """Turn an English-formatted number (``1,234.5``) into the French one (``1 234,5``)."""
    if language == "en":
        return text
    return text.replace(",", "\0").replace(".", ",").replace("\0", _THIN)


def number(value: object, language: Language, decimals: int = 0) -> str:
    """``1234.5`` -> ``1,235`` (en) / ``1 235`` (fr); a dash when missing."""
    if _is_missing(value):
        return _MISSING
    return _localise(f"{float(value):,.{decimals}f}", language)  # type: ignore[arg-type]


def figure(value: object, language: Language) -> str:
    """A count without decimals, any other number with 3 significant decimals (0.0123, 12.3)."""
    if _is_missing(value):
        return _MISSING
    amount = float(value)  # type: ignore[arg-type]
    if amount.is_integer() and abs(amount) >= 1:
        return number(amount, language)
    return _localise(f"{amount:,.3g}" if abs(amount) < 1 else f"{amount:,.2f}", language)


def percent(value: object, language: Language, decimals: int = 1, signed: bool = False) -> str:
    """A share (``0.123``) as ``12.3%`` (en) / ``12,3 %`` (fr); ``signed`` adds ``+``."""
    if _is_missing(value):
        return _MISSING
    sign = "+" if signed else ""
    body = _localise(f"{float(value) * 100:{sign},.{decimals}f}", language)  # type: ignore[arg-type]
    body = body.replace("-", "−")
    return f"{body}%" if language == "en" else f"{body}{_THIN}%"


def money(value: object, language: Language, decimals: int = 2) -> str:
    """``1234.5`` -> ``$1,234.50`` (en) / ``1 234,50 $`` (fr)."""
    if _is_missing(value):
        return _MISSING
    amount = float(value)  # type: ignore[arg-type]
    body = _localise(f"{abs(amount):,.{decimals}f}", language)
    sign = "−" if amount < 0 else ""
    if language == "en":
        return f"{sign}{CURRENCY_SYMBOL}{body}"
    return f"{sign}{body}{_THIN}{CURRENCY_SYMBOL}"


def vega_locale(language: Language) -> dict[str, object]:
    """The d3 number and time locale for Vega-Lite's ``config.locale``."""
    if language == "en":
        return {
            "number": {
                "decimal": ".",
                "thousands": ",",
                "grouping": [3],
                "currency": [CURRENCY_SYMBOL, ""],
            },
            "time": {
                "dateTime": "%x, %X",
                "date": "%-m/%-d/%Y",
                "time": "%-I:%M:%S %p",
                "periods": ["AM", "PM"],
                "days": [
                    "Sunday",
                    "Monday",
                    "Tuesday",
                    "Wednesday",
                    "Thursday",
                    "Friday",
                    "Saturday",
                ],
                "shortDays": ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"],
                "months": [
                    "January",
                    "February",
                    "March",
                    "April",
                    "May",
                    "June",
                    "July",
                    "August",
                    "September",
                    "October",
                    "November",
                    "December",
                ],
                "shortMonths": [
                    "Jan",
                    "Feb",
                    "Mar",
                    "Apr",
                    "May",
                    "Jun",
                    "Jul",
                    "Aug",
                    "Sep",
                    "Oct",
                    "Nov",
                    "Dec",
                ],
            },
        }
    return {
        "number": {
            "decimal": ",",
            "thousands": _THIN,
            "grouping": [3],
            "currency": ["", f"{_THIN}{CURRENCY_SYMBOL}"],
            "percent": f"{_THIN}%",
        },
        "time": {
            "dateTime": "%A %e %B %Y à %X",
            "date": "%d/%m/%Y",
            "time": "%H:%M:%S",
            "periods": ["AM", "PM"],
            "days": ["dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"],
            "shortDays": ["dim.", "lun.", "mar.", "mer.", "jeu.", "ven.", "sam."],
            "months": [
                "janvier",
                "février",
                "mars",
                "avril",
                "mai",
                "juin",
                "juillet",
                "août",
                "septembre",
                "octobre",
                "novembre",
                "décembre",
            ],
            "shortMonths": [
                "janv.",
                "févr.",
                "mars",
                "avr.",
                "mai",
                "juin",
                "juil.",
                "août",
                "sept.",
                "oct.",
                "nov.",
                "déc.",
            ],
        },
    }
