"""Serving: the bundle the build writes (the bundle/ package) and the recommendation API that reads it
(app.py, FastAPI; `amazing serve`). See docs/serving.md."""
