"""Class names and the raw label values that denote them in data files.

A model remembers both: ``names`` are what it prints, ``values`` are how its training file
spelled each class (AG News writes 1..4 for World, Sports, Business, Sci/Tech). A test file may
use either spelling.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

AG_NEWS_NAMES = ("World", "Sports", "Business", "Sci/Tech")


def _as_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


def normalize(value: str) -> str:
    """'01' and ' 1' are the same class as '1'; other labels are taken as written (stripped)."""
    value = value.strip()
    n = _as_int(value)
    return str(n) if n is not None else value


@dataclass(frozen=True)
class LabelSet:
    names: tuple[str, ...]
    values: tuple[str, ...]

    def __post_init__(self):
        if len(self.names) != len(self.values):
            raise ValueError("names and values must have the same length")
        if len(self.names) < 2:
            raise ValueError(f"a classifier needs at least two classes, found {len(self.names)}: {list(self.values)}")
        if len(set(self.names)) != len(self.names):
            raise ValueError(f"class names must be distinct: {list(self.names)}")

    @classmethod
    def infer(cls, raw_values: Iterable[str], names: Sequence[str] | None = None) -> LabelSet:
        """Classes in sorted order (numeric when every label is an integer). Integer labels that
        are exactly 1..4 are AG News's classes and get its names unless ``names`` is given."""
        values = sorted({normalize(v) for v in raw_values})
        ints = [_as_int(v) for v in values]
        if all(i is not None for i in ints):
            values = [str(i) for i in sorted(ints)]
        if names is None:
            names = AG_NEWS_NAMES if values == ["1", "2", "3", "4"] else values
        elif len(names) != len(values):
            raise ValueError(
                f"{len(names)} class names given for {len(values)} labels in the data ({', '.join(values)})"
            )
        return cls(tuple(names), tuple(values))

    def __len__(self) -> int:
        return len(self.names)

    def index_map(self) -> dict[str, int]:
        """Raw value or class name -> class index."""
        m = {n: i for i, n in enumerate(self.names)}
        m.update({v: i for i, v in enumerate(self.values)})
        return m
