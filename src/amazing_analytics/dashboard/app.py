"""The dashboard's entry point: the language switch and the pages.

Run with ``amazing dashboard`` (or ``streamlit run`` on this file). Each page is a file of
``views/``; this script only builds the navigation and the sidebar.
"""

from __future__ import annotations

import streamlit as st

from amazing_analytics.dashboard import data
from amazing_analytics.dashboard.formatting import LANGUAGES
from amazing_analytics.dashboard.navigation import LANGUAGE_NAMES, PAGES, PAGES_DIR
from amazing_analytics.dashboard.ui import LANGUAGE_KEY, language, tr

st.set_page_config(page_title="Amazing analytics", page_icon=":material/insights:", layout="wide")

if LANGUAGE_KEY not in st.session_state:
    st.session_state[LANGUAGE_KEY] = "en"
st.sidebar.radio(
    tr("app.language"),
    options=list(LANGUAGES),
    format_func=LANGUAGE_NAMES.__getitem__,
    key=LANGUAGE_KEY,
    horizontal=True,
)

pages = [
    st.Page(
        str(PAGES_DIR / spec.file),
        title=tr(spec.nav_key),
        icon=spec.icon,
        url_path=spec.url_path,
        default=index == 0,
    )
    for index, spec in enumerate(PAGES)
]
current = st.navigation(pages)

built_at = data.export_built_at()
if built_at is None:
    st.sidebar.warning(tr("app.no_exports", folder=data.exports_dir() / "parquet"))
else:
    when = built_at.strftime("%d/%m/%Y %H:%M" if language() == "fr" else "%Y-%m-%d %H:%M")
    st.sidebar.caption(tr("app.built_at", when=when))

current.run()
