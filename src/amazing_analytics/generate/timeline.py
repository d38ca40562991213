"""When events happen and which session id they carry."""

from __future__ import annotations

import numpy as np

#: Median seconds before an event, by event type (view, cart, remove_from_cart, purchase).
GAP_MEDIAN_SECONDS = np.array([30.0, 15.0, 45.0, 75.0])
#: Log-normal sigma of the gaps, by event type.
GAP_SIGMA = np.array([1.0, 0.8, 0.8, 0.8])
#: Largest gap between two consecutive events of a session (seconds).
MAX_GAP_SECONDS = 1800


def event_times(
    event_session: np.ndarray,
    event_type: np.ndarray,
    extra_gap: np.ndarray,
    session_start: np.ndarray,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Unix seconds of session-ordered events, and the first event of each session.

    The first event is at the session start; each further one follows a log-normal gap by its
    type (plus ``extra_gap``, the jump of a second burst).
    """
    count = event_session.shape[0]
    median = GAP_MEDIAN_SECONDS[event_type]
    gap = np.rint(median * np.exp(GAP_SIGMA[event_type] * rng.standard_normal(count)))
    gap = np.clip(gap, 1, MAX_GAP_SECONDS).astype(np.int64) + extra_gap
    first = np.searchsorted(event_session, np.arange(session_start.shape[0]))
    gap[first[first < count]] = 0
    elapsed = np.cumsum(gap)
    times = session_start[event_session] + elapsed - elapsed[first][event_session]
    return times, first


def session_ids(session_count: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Random UUID v4 shaped session ids as (high, low) uint64 halves."""
    raw = rng.integers(
        0, np.iinfo(np.uint64).max, size=(session_count, 2), dtype=np.uint64, endpoint=True
    )
    high = (raw[:, 0] & np.uint64(0xFFFFFFFFFFFF0FFF)) | np.uint64(0x4000)
    low = (raw[:, 1] & np.uint64(0x3FFFFFFFFFFFFFFF)) | np.uint64(0x8000000000000000)
    return high, low
