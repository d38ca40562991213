"""Work spread over two threads, where the work releases Python's lock: a fit run beside the
caller's own work (:func:`beside`, the session evaluation: LightFM's fit releases it, so on two
cores one thread fits while the other scores), and independent tasks run two at a time
(:func:`in_order`: the batch evaluation's models and cold start, LightFM's fits side by side;
``recommendations``' chunks, whose SciPy sparse products and NumPy sorts release it; the serving
bundle's Parquet files, whose Arrow casts, writer and digests release it). The
result does not depend on the threads: each task works on its own data and seeds, and BLAS is
held to one thread meanwhile (the two threads already fill the cores; no result depends on
BLAS's thread count)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import TypeVar

from threadpoolctl import threadpool_limits

T = TypeVar("T")
A = TypeVar("A")

#: Threads that score chunks at once (:func:`in_order`): the machine this was measured on has two
#: cores; each thread holds one chunk's temporaries.
CHUNK_WORKERS = 2


@contextmanager
def beside(task: Callable[..., T], *args: object) -> Iterator[Future[T]]:
    """``task(*args)`` running in a second thread for the body of the ``with``; its future
    (``.result()`` waits for it and raises what it raised). Leaving the block waits for it."""
    with threadpool_limits(1), ThreadPoolExecutor(1, thread_name_prefix="beside") as pool:
        yield pool.submit(task, *args)


def in_order(task: Callable[[A], T], items: Iterable[A]) -> list[T]:
    """``[task(item) for item in items]``, :data:`CHUNK_WORKERS` items at a time, in order."""
    with (
        threadpool_limits(1),
        ThreadPoolExecutor(CHUNK_WORKERS, thread_name_prefix="chunks") as pool,
    ):
        return list(pool.map(task, items))
