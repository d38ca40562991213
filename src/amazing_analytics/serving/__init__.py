"""Serving: the bundle the build writes (bundle.py) and the recommendation API that reads it
(app.py, FastAPI; `amazing serve`). See docs/serving.md."""
