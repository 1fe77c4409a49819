"""The facts' one wire format: whatever a reducer emits is read back as the same fact."""

from __future__ import annotations

from typing import Any, get_args, get_type_hints

import pytest
from hypothesis import given
from hypothesis import strategies as st

from citypulse.streams.kpi import Fact, decode_fact, encode_fact
from citypulse.streams.kpi.facts import ResultReturned, agency_name, parse_agency_name
from citypulse.streams.stages.codec import dumps, loads

_CODE = st.text(st.characters(categories=("L", "N"), exclude_characters="/"), min_size=1)
_FIELDS: dict[object, st.SearchStrategy[Any]] = {
    tuple[str, str]: st.tuples(_CODE, _CODE),
    str: st.text(),
    float: st.floats(allow_nan=False, allow_infinity=False),
    int: st.integers(-1, 1),
    bool: st.booleans(),
    bool | None: st.none() | st.booleans(),
}


def _facts() -> st.SearchStrategy[Fact]:
    def one(kind: type) -> st.SearchStrategy[Any]:
        fields = {name: _FIELDS[t] for name, t in get_type_hints(kind).items()}
        return st.builds(kind, **fields)

    return st.one_of(*(one(kind) for kind in get_args(Fact)))


@given(_facts())
def test_every_fact_survives_the_wire(fact: Fact) -> None:
    decoded = decode_fact(loads(dumps(encode_fact(fact))))
    assert type(decoded) is type(fact)
    assert decoded == fact


def test_the_wire_names_are_those_of_the_stored_rows() -> None:
    # changelog rows written by earlier versions name their facts so: they must still decode
    names = {encode_fact(decode_fact([n, ["TTH", "STP"], *args]))[0] for n, args in (
        ("received", ["2026-03-02", "online", "full_process"]), ("opened", [1]),
        ("due_added", [1.0]), ("due_removed", [1.0]),
        ("resolved", ["D1", 1.0, "2026-03-02", "approved", None]),
        ("resolution_settled", ["D1", True]), ("processed", [1.0]), ("withdrawn", []),
        ("result_returned", ["2026-03-02", "online"]), ("rated", ["2026-03-02", True]),
        ("sent", ["2026-03-02", "electronic", True]), ("awaiting", [1.0]),
        ("delivered", [1.0, 2.0, True]),
        # v1.1
        ("accepted", ["2026-03-02", True]), ("paid", ["2026-03-02", "online"]),
    )}  # fmt: skip
    assert len(names) == len(get_args(Fact))


def test_a_result_returned_written_before_v1_1_is_not_electronic() -> None:
    old = decode_fact(["result_returned", ["TTH", "STP"], "2026-03-02", "online"])
    assert old == ResultReturned(("TTH", "STP"), "2026-03-02", "online", electronic=False)
    new = ResultReturned(("TTH", "STP"), "2026-03-02", "postal", electronic=True)
    assert decode_fact(encode_fact(new)) == new


def test_an_unknown_fact_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fact"):
        decode_fact(["drop_tables", ["TTH", "STP"]])


@given(st.tuples(_CODE, _CODE | st.just("a/b")))
def test_an_agency_name_gives_its_key_back(key: tuple[str, str]) -> None:
    assert parse_agency_name(agency_name(key)) == key
