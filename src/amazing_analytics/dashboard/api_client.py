"""The recommendation API's live answer for the dashboard (standard library only).

The API's address is ``$AMAZING_API_URL`` (e.g. ``http://127.0.0.1:8000``); without it the
dashboard says how to set it. The route is the contract of issue 11:
``GET /v1/users/{user_id}/recommendations?k=10``.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class ApiUnavailableError(RuntimeError):
    """The API did not answer, or not with JSON (the message says why, in plain words)."""


def api_url() -> str | None:
    """``$AMAZING_API_URL`` without a trailing slash, or None when unset."""
    value = os.environ.get("AMAZING_API_URL", "").strip()
    return value.rstrip("/") or None


def user_recommendations(
    base_url: str, user_id: int, k: int = 10, timeout: float = 2.0
) -> dict[str, Any]:
    """The API's answer for one user (``items``, ``model``, ``build_id``, ``is_personalised``)."""
    url = f"{base_url}/v1/users/{int(user_id)}/recommendations?" + urllib.parse.urlencode({"k": k})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - our own API
            return json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as error:
        raise ApiUnavailableError(f"HTTP {error.code} {error.reason}") from error
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        raise ApiUnavailableError(str(getattr(error, "reason", error))) from error
    except json.JSONDecodeError as error:
        raise ApiUnavailableError("the answer is not JSON") from error
