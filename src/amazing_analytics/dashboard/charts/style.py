"""The charts' common look: heights, bar step, the met / not met colours and the language's
number and date formats (:func:`finish`)."""

from __future__ import annotations

import altair as alt

from amazing_analytics.dashboard.formatting import Language, vega_locale

#: Chart height in pixels (the width follows the page).
HEIGHT = 280


#: Height of one bar in charts with a category axis (Vega-Lite squeezes fixed heights).
BAR_STEP = alt.Step(26)


MET_COLOURS = alt.Scale(domain=[True, False], range=["#2e7d32", "#c62828"])


def finish(chart: alt.TopLevelMixin, language: Language) -> alt.TopLevelMixin:
    """The language's number and date formats, and a common look."""
    return chart.configure(locale=vega_locale(language)).configure_title(
        anchor="start", fontSize=15
    )
