"""LabelSet: class names and the raw values that denote them in data files."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lstmtc.infer.labels import AG_NEWS_NAMES, LabelSet, _as_int, normalize, sort_key, sort_names


@pytest.mark.parametrize(("raw", "expected"), [("1", "1"), (" 1 ", "1"), ("01", "1"), ("+2", "2"), ("-0", "0"),
                                               ("pos", "pos"), (" Sci/Tech ", "Sci/Tech"), ("1.0", "1"),
                                               ("-2.00", "-2"), ("1.5", "1.5"), ("1.", "1.")])
def test_normalize(raw, expected):
    assert normalize(raw) == expected


def test_agnews_values_get_agnews_names():
    ls = LabelSet.infer(["3", "1", "4", "2", "1"])
    assert ls.values == ("1", "2", "3", "4")
    assert ls.names == AG_NEWS_NAMES == ("World", "Sports", "Business", "Sci/Tech")
    assert len(ls) == 4


def test_other_integer_sets_keep_their_values_as_names():
    assert LabelSet.infer(["0", "1", "2", "3"]).names == ("0", "1", "2", "3")
    assert LabelSet.infer(["1", "2", "3", "4", "5"]).names == ("1", "2", "3", "4", "5")
    assert LabelSet.infer(["2", "10", "1"]).values == ("1", "2", "10")


def test_string_labels_sorted():
    ls = LabelSet.infer(["spam", "ham", "eggs", "ham"])
    assert ls.names == ls.values == ("eggs", "ham", "spam")


def test_string_labels_sort_as_a_person_sorts_them():
    # case-insensitive: by code point "Zebra" came before "apple"
    assert LabelSet.infer(["Zebra", "apple", "Mango", "apple"]).names == ("apple", "Mango", "Zebra")
    # numbers inside names compare as numbers
    assert LabelSet.infer(["intent10", "Intent2", "intent1"]).values == ("intent1", "Intent2", "intent10")
    # integers among other labels: numerically, before letters
    assert LabelSet.infer(["other", "10", "2"]).values == ("2", "10", "other")
    # names equal but for case keep a fixed order (code point), whatever the input order
    assert LabelSet.infer(["b", "B", "a"]).values == LabelSet.infer(["B", "a", "b"]).values == ("a", "B", "b")
    assert LabelSet.infer(["Éclair", "eclair", "Zoo", "éclair"]).values[-1] == "éclair"


def test_stored_order_is_never_resorted():
    # A model trained before this sort order stored its classes in code-point order; index i of its
    # output means names[i], so reading it back must keep that order.
    old = LabelSet(("Zebra", "apple"), ("Zebra", "apple"))
    assert old.names == ("Zebra", "apple") and old.index_map() == {"Zebra": 0, "apple": 1}


@given(st.lists(st.text(alphabet="aAbBzZ019_ ", max_size=6), max_size=12))
def test_sort_names_is_a_total_order(names):
    once = sort_names(names)
    assert sorted(once) == sorted(names)
    assert sort_names(reversed(names)) == once  # independent of input order
    if any(_as_int(n) is None for n in names):  # (all-integer lists sort numerically)
        keys = [sort_key(n) for n in once]
        assert keys == sorted(keys)
    if not any(c.isdigit() for n in names for c in n):
        folded = [n.casefold() for n in once]
        assert folded == sorted(folded)


def test_names_override():
    ls = LabelSet.infer(["1", "2", "3", "4"], ["a", "b", "c", "d"])
    assert ls.names == ("a", "b", "c", "d") and ls.values == ("1", "2", "3", "4")
    with pytest.raises(ValueError, match="3 class names given for 2 labels"):
        LabelSet.infer(["x", "y"], ["a", "b", "c"])


def test_invalid_label_sets():
    with pytest.raises(ValueError, match="at least two classes"):
        LabelSet.infer(["1", "1"])
    with pytest.raises(ValueError, match="at least two classes"):
        LabelSet.infer([])
    with pytest.raises(ValueError, match="distinct"):
        LabelSet(("a", "a"), ("1", "2"))
    with pytest.raises(ValueError, match="same length"):
        LabelSet(("a", "b"), ("1",))


def test_index_map_takes_names_and_values():
    ls = LabelSet(AG_NEWS_NAMES, ("1", "2", "3", "4"))
    m = ls.index_map()
    assert [m[v] for v in ls.values] == [0, 1, 2, 3]
    assert [m[n] for n in ls.names] == [0, 1, 2, 3]
    assert "5" not in m and "world" not in m


@given(st.lists(st.integers(-50, 50), min_size=1))
def test_integer_labels_infer_numeric_order(ints):
    values = [str(i) for i in ints]
    if len(set(ints)) < 2:
        with pytest.raises(ValueError):
            LabelSet.infer(values)
        return
    ls = LabelSet.infer(values)
    assert ls.values == tuple(str(i) for i in sorted(set(ints)))
    m = ls.index_map()
    assert all(ls.values[m[normalize(v)]] == normalize(v) for v in values)


def test_a_model_stored_with_a_float_label_still_maps_it():
    old = LabelSet(("neg", "pos"), ("0.0", "1.0"))  # values as a model stored them before '1.0' meant '1'
    m = old.index_map()
    assert m[normalize("1.0")] == 1 and m["1.0"] == 1 and m["0"] == 0
