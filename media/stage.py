"""A pipeline stage in a background thread: ``fn`` applied to each item of an iterable, ahead of the
consumer, through a bounded queue. Errors raised in the stage re-raise in the consumer; closing the
stage (or leaving its ``with`` block) stops it promptly.

Used to overlap work that releases the GIL (OpenCV, MediaPipe, pipe I/O) on several cores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")
_END = object()


class _Failure:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class Stage(Generic[T, R]):
    """Iterate over ``fn(item)`` for the items of ``items``, computed up to ``buffer`` items ahead."""

    def __init__(self, fn: Callable[[T], R], items: Iterable[T], buffer: int = 4, name: str = "stage") -> None:
        self._fn, self._items = fn, items
        self._queue: queue.Queue = queue.Queue(maxsize=max(buffer, 1))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for item in self._items:
                if self._stop.is_set() or not self._put(self._fn(item)):
                    return
        except BaseException as exc:  # noqa: BLE001  (handed to the consumer, which re-raises it)
            self._put(_Failure(exc))
            return
        self._put(_END)

    def __iter__(self) -> Iterator[R]:
        while True:
            item = self._queue.get()
            if item is _END:
                return
            if isinstance(item, _Failure):
                raise item.error
            yield item

    def close(self) -> None:
        """Stop the stage and wait (at most a second) for its thread."""
        self._stop.set()
        self._thread.join(timeout=1.0)

    def __enter__(self) -> Stage[T, R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
