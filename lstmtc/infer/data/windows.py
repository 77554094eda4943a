"""How an input is cut into the windows that are scored at once (``windows``), and the ``PAUSE``
a live input's reader yields when it has nothing more to give right now."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
PAUSE = None  # what ``reader._lines`` yields when a live input has nothing more to give right now


def windows(items: Iterable[T], size: int, chars: Callable[[T], int], max_chars: int | None = None
            ) -> Iterator[list[T]]:
    """Lists of at most ``size`` items, in order, each handed on early once the ``chars`` of its
    items reach ``max_chars``, or at a ``PAUSE`` item (a live input with nothing more for now; not
    kept): how every input is cut into the windows that are scored at once."""
    window: list[T] = []
    held = 0
    for item in items:
        if item is PAUSE:
            if window:
                yield window
                window, held = [], 0
            continue
        window.append(item)
        held += chars(item)
        if len(window) >= size or (max_chars is not None and held >= max_chars):
            yield window
            window, held = [], 0
    if window:
        yield window
