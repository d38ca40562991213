"""A fit run in a second thread beside the caller's own work (:func:`beside`), for the two
evaluations: LightFM's fit releases Python's lock, so on two cores one thread fits while the
other fits or scores. The result does not depend on the threads: each task works on its own
data and seeds, and BLAS is held to one thread meanwhile (the two threads already fill the
cores; no result depends on BLAS's thread count)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from threadpoolctl import threadpool_limits

T = TypeVar("T")


@contextmanager
def beside(task: Callable[..., T], *args: object) -> Iterator[Future[T]]:
    """``task(*args)`` running in a second thread for the body of the ``with``; its future
    (``.result()`` waits for it and raises what it raised). Leaving the block waits for it."""
    with threadpool_limits(1), ThreadPoolExecutor(1, thread_name_prefix="beside") as pool:
        yield pool.submit(task, *args)
