"""Class names and the raw label values that denote them in data files.

A model remembers both: ``names`` are what it prints, ``values`` are how its training file
spelled each class (AG News writes 1..4 for World, Sports, Business, Sci/Tech). A test file may
use either spelling.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .errors import escape_controls, has_control

AG_NEWS_NAMES = ("World", "Sports", "Business", "Sci/Tech")


def _as_int(value: str) -> int | None:
    try:
        return int(value)
    except ValueError:
        return None


_DIGITS = re.compile(r"(\d+)")


def sort_key(name: str) -> tuple:
    """How a person sorts class names: case-insensitively, with runs of digits compared as numbers
    ('intent2' before 'intent10'); names equal that way fall back to code-point order, so the
    order is total and the same on every machine."""
    parts = _DIGITS.split(name.casefold())
    # Even positions are text, odd ones digit runs: tuples of the same shape compare position by
    # position without mixing str and int.
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts)), name


def sort_names(names: Iterable[str]) -> list[str]:
    """``names`` in the order ``sort_key`` gives; all-integer labels sort numerically ('-1' before '2')."""
    names = list(names)
    ints = [_as_int(v) for v in names]
    if all(i is not None for i in ints):
        return [v for _, v in sorted(zip(ints, names))]
    return sorted(names, key=sort_key)


_INTEGRAL = re.compile(r"([+-]?\d+)\.0+")  # 1.0: how pandas writes an integer column that has a gap


def normalize(value: str) -> str:
    """'01', ' 1' and '1.0' are the same class as '1'; other labels are taken as written (stripped)."""
    value = value.strip()
    integral = _INTEGRAL.fullmatch(value)
    n = _as_int(integral.group(1) if integral else value)
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
        for name in self.names:
            if not isinstance(name, str) or has_control(name):
                # A newline in a name would print one output line as two (-k, --format).
                raise ValueError(f"class name '{escape_controls(str(name))}' contains a control character "
                                 "(newline, tab, NUL, ...); class names are printed one per field and line, "
                                 "rename that class in the data")

    @classmethod
    def infer(cls, raw_values: Iterable[str], names: Sequence[str] | None = None) -> LabelSet:
        """Classes in the order a person sorts them (``sort_names``: numeric when every label is
        an integer, otherwise case-insensitive with numbers inside names compared as numbers).
        Integer labels that are exactly 1..4 are AG News's classes and get its names unless
        ``names`` is given.

        This order is the class index order of a NEW model only: a checkpoint or bundle stores
        its names and values in index order and is read back as stored, never re-sorted."""
        values = sort_names({normalize(v) for v in raw_values})
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
        # A model stored before '1.0' read as '1' keeps its '1.0' class for data read now.
        for i, v in enumerate(self.values):
            m.setdefault(normalize(v), i)
        return m
