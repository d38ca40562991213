"""The marketing dashboard (Streamlit): ``amazing dashboard`` runs :mod:`app`.

Layout: ``app.py`` (navigation, language switch), ``views/`` (one file per page; not
``pages/``, which Streamlit would run in its legacy mode without app.py),
``data.py`` (cached reads of the Parquet exports), ``charts/`` (a function per chart, tested
without a browser), ``texts.py`` (every UI text in English and French, from ``locales/``),
``formatting.py`` (figures for people), ``campaigns.py`` (the emailing list) and ``ui.py``
(page helpers).
"""

from pathlib import Path

APP_PATH = Path(__file__).with_name("app.py")
