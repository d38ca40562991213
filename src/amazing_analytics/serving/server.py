"""Run the API under uvicorn (uvloop + httptools), with logs that never carry a user id."""

from __future__ import annotations

import os
from pathlib import Path

#: uvicorn's own access log prints the raw path (``/v1/users/<id>/...``): it is switched off and
#: the API's middleware logs the route template instead (logger ``amazing.access``).
LOG_CONFIG: dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "default": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {
        "default": {
            "class": "logging.StreamHandler",
            "formatter": "default",
            "stream": "ext://sys.stderr",
        },
    },
    "loggers": {
        "uvicorn": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        "amazing.serving": {"handlers": ["default"], "level": "INFO", "propagate": False},
        "amazing.access": {"handlers": ["default"], "level": "INFO", "propagate": False},
    },
}


def run(
    bundle: Path,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    workers: int = 1,
    gdpr_live: Path | None = None,
    feedback_dir: Path | None = None,
    access_log: bool = True,
) -> None:
    import uvicorn

    os.environ["AMAZING_SERVING_DIR"] = str(bundle)
    if gdpr_live is not None:
        os.environ["AMAZING_GDPR_LIVE_DIR"] = str(gdpr_live)
    if feedback_dir is not None:
        os.environ["AMAZING_FEEDBACK_DIR"] = str(feedback_dir)
    config = {**LOG_CONFIG, "loggers": dict(LOG_CONFIG["loggers"])}
    if not access_log:
        config["loggers"]["amazing.access"] = {
            "handlers": [],
            "level": "WARNING",
            "propagate": False,
        }
    uvicorn.run(
        "amazing_analytics.serving.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_config=config,
    )
