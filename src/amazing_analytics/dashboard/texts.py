"""Every piece of UI text of the dashboard, in English and French, in one place.

The text is package data, one file per language: ``locales/en.toml`` and ``locales/fr.toml``,
each with the sections ``texts`` (UI text by key), ``columns`` (the headers of mart columns) and
``features`` (forecasting features in plain words, by the pattern of their name). This module
loads them into ``TEXTS[key] = (english, french)``, ``COLUMNS`` and ``FEATURE_PATTERNS``;
:func:`text` picks the language and fills ``{named}`` placeholders. A key in one language's file
and not in the other's fails the import; a text without the same placeholders in both is a bug
that ``tests/python/test_dashboard_units.py`` catches.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources

from amazing_analytics.dashboard.formatting import LANGUAGES, Language

#: One language's file: its sections, each ``{key: text}``.
Locale = dict[str, dict[str, str]]


def _read_locale(language: Language) -> Locale:
    """The sections of one language's file."""
    path = resources.files("amazing_analytics.dashboard").joinpath("locales", f"{language}.toml")
    with path.open("rb") as handle:
        return tomllib.load(handle)


def _pair_languages(section: str, locales: dict[Language, Locale]) -> dict[str, tuple[str, str]]:
    """``{key: (english, french)}`` in the English file's order.

    Raises:
        ValueError: a key is in one language's file and not in the other's.
    """
    english, french = locales["en"][section], locales["fr"][section]
    unpaired = sorted(set(english) ^ set(french))
    if unpaired:
        raise ValueError(f"dashboard texts, section {section}: not in both languages: {unpaired}")
    return {key: (english[key], french[key]) for key in english}


_LOCALES: dict[Language, Locale] = {language: _read_locale(language) for language in LANGUAGES}
TEXTS: dict[str, tuple[str, str]] = _pair_languages("texts", _LOCALES)
#: Column headers of the tables the dashboard shows.
COLUMNS: dict[str, tuple[str, str]] = _pair_languages("columns", _LOCALES)
#: Forecasting features in plain words; ``{n}`` is the number of days in the name. The first
#: pattern, in the files' order, that matches the whole name wins.
FEATURE_PATTERNS: tuple[tuple[str, tuple[str, str]], ...] = tuple(
    _pair_languages("features", _LOCALES).items()
)


def text(key: str, language: Language, **values: object) -> str:
    """The text of ``key`` in ``language``, placeholders filled.

    Raises:
        KeyError: an unknown key (a bug in a page, found by the tests).
    """
    english, french = TEXTS[key]
    template = english if language == "en" else _french_spacing(french)
    return template.format(**values) if values else template


def _french_spacing(template: str) -> str:
    """No-break spaces before ? ! ; : (French typography), so a line never starts with one."""
    for mark in ("?", "!", ";"):
        template = template.replace(f" {mark}", f"\u202f{mark}")
    return template.replace(" :", "\u00a0:")


def feature_label(feature: str, language: Language) -> str:
    """A forecasting feature in plain words (its name when it has no pattern)."""
    for pattern, (english, french) in FEATURE_PATTERNS:
        match = re.fullmatch(pattern, feature)
        if match:
            template = english if language == "en" else french
            return template.format(n=match.group(1)) if match.groups() else template
    return feature


def column_label(column: str, language: Language) -> str:
    """The header of a mart column (the column name itself when it has no label)."""
    labels = COLUMNS.get(column)
    if labels is None:
        return column
    return labels[0] if language == "en" else labels[1]
