"""The dashboard's pages, in menu order (no Streamlit calls: the tests import it)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Not "pages/": Streamlit (1.67) runs any pages/ folder beside the entry script in its legacy
# multipage mode, which never runs app.py (no st.navigation, no language switch).
PAGES_DIR = Path(__file__).with_name("views")


@dataclass(frozen=True)
class PageSpec:
    file: str  # under views/
    nav_key: str  # its name in the menu (texts)
    title_key: str  # its title (texts)
    icon: str

    @property
    def url_path(self) -> str:
        return Path(self.file).stem


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview.py", "nav.overview", "overview.title", ":material/flag:"),
    PageSpec("amazing_basics.py", "nav.basics", "basics.title", ":material/trending_down:"),
    PageSpec("segments.py", "nav.segments", "segments.title", ":material/groups:"),
    PageSpec("campaigns.py", "nav.campaigns", "campaigns.title", ":material/mail:"),
    PageSpec("recommendations.py", "nav.recommendations", "reco.title", ":material/recommend:"),
    PageSpec("forecasts.py", "nav.forecasts", "forecasts.title", ":material/show_chart:"),
    PageSpec("decisions.py", "nav.decisions", "decisions.title", ":material/rule:"),
    PageSpec("data_quality.py", "nav.quality", "quality.title", ":material/fact_check:"),
    PageSpec("models_privacy.py", "nav.privacy", "privacy.title", ":material/shield:"),
)
LANGUAGE_NAMES = {"en": "English", "fr": "Français"}
