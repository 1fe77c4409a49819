"""The facts: what an entity reducer tells the owner of an agency's aggregates.

Entity state (one dossier, one document) and per-agency aggregates are kept apart so that
they can live in different places: in one engine the facts go straight to its
:class:`~.agency.AgencyBook`; in a worker, they are recorded with the entity, sent to the
single owner of the agency and applied there (CONTRACT §5, "any number of workers").

One immutable record type per fact; :func:`encode_fact` and :func:`decode_fact` are their
only wire format, ``[name, [province, agency], *fields]`` (JSON-ready), as stored in entity
rows and sent in facts messages. The types are named tuples rather than frozen dataclasses:
a reducer emits one or two facts per event, and a frozen dataclass costs three times as much
to build. (Being tuples, two facts of different types with equal fields compare equal: compare
their types too where that matters.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Any, Final, NamedTuple, get_args

__all__ = [
    "Accepted",
    "AgencyKey",
    "Awaiting",
    "Delivered",
    "DueAdded",
    "DueRemoved",
    "Emit",
    "Fact",
    "Opened",
    "Paid",
    "Processed",
    "Rated",
    "Received",
    "ResolutionSettled",
    "Resolved",
    "ResultReturned",
    "Sent",
    "Withdrawn",
    "agency_name",
    "decode_fact",
    "encode_fact",
    "parse_agency_name",
]

#: (province, agency) as exported in labels (after the cardinality bound is applied).
AgencyKey = tuple[str, str]


class Received(NamedTuple):
    """A dossier was submitted."""

    key: AgencyKey
    day: str
    channel: str
    service_level: str


class Accepted(NamedTuple):
    """A dossier was accepted; ``digitized``: its papers were digitised at reception."""

    key: AgencyKey
    day: str
    digitized: bool


class Opened(NamedTuple):
    """The number of open dossiers changed by ``delta``."""

    key: AgencyKey
    delta: int


class DueAdded(NamedTuple):
    """An open dossier has deadline ``due_at`` (it counts for overdue / due soon)."""

    key: AgencyKey
    due_at: float


class DueRemoved(NamedTuple):
    """An open dossier with deadline ``due_at`` was closed."""

    key: AgencyKey
    due_at: float


class Resolved(NamedTuple):
    """A dossier was resolved; ``on_time`` is None while its acceptance is not known."""

    key: AgencyKey
    dossier_id: str
    resolved_at: float
    day: str
    outcome: str
    on_time: bool | None


class ResolutionSettled(NamedTuple):
    """The acceptance of a pending resolution arrived (in time): it is on time or late."""

    key: AgencyKey
    dossier_id: str
    on_time: bool


class Processed(NamedTuple):
    """A dossier's processing time (resolved - submitted) is known."""

    key: AgencyKey
    seconds: float


class Withdrawn(NamedTuple):
    """An open or not yet submitted dossier was withdrawn."""

    key: AgencyKey


class ResultReturned(NamedTuple):
    """A dossier's result was returned; ``electronic``: as a digitally signed electronic
    document (a default, so that facts written before v1.1 decode)."""

    key: AgencyKey
    day: str
    delivery: str
    electronic: bool = False


class Paid(NamedTuple):
    """A dossier's fee was paid, through ``channel``."""

    key: AgencyKey
    day: str
    channel: str


class Rated(NamedTuple):
    """A dossier was rated."""

    key: AgencyKey
    day: str
    satisfied: bool


class Sent(NamedTuple):
    """A document was sent."""

    key: AgencyKey
    day: str
    format: str
    signed: bool


class Awaiting(NamedTuple):
    """A document sent at ``sent_at`` is not known to be received (undelivered candidate)."""

    key: AgencyKey
    sent_at: float


class Delivered(NamedTuple):
    """A document's delivery time is known; ``awaited``: it had been reported awaiting."""

    key: AgencyKey
    sent_at: float
    seconds: float
    awaited: bool


Fact = (
    Received | Accepted | Opened | DueAdded | DueRemoved | Resolved | ResolutionSettled
    | Processed | Withdrawn | ResultReturned | Paid | Rated | Sent | Awaiting | Delivered
)  # fmt: skip

#: where a reducer sends the facts it emits
Emit = Callable[[Fact], None]


def _wire_name(kind: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()  # DueAdded -> due_added


_BY_NAME: Final[dict[str, type[Fact]]] = {_wire_name(k): k for k in get_args(Fact)}
_NAME_OF: Final[dict[type, str]] = {kind: name for name, kind in _BY_NAME.items()}


def encode_fact(fact: Fact) -> list[Any]:
    """``[name, [province, agency], *fields]``, in the fact's field order."""
    return [_NAME_OF[type(fact)], [*fact[0]], *fact[1:]]


def decode_fact(data: Sequence[Any]) -> Fact:
    """The fact :func:`encode_fact` wrote (``ValueError`` for a name it never writes)."""
    name, key, *fields = data
    kind = _BY_NAME.get(name)
    if kind is None:
        raise ValueError(f"unknown fact {name!r}")
    return kind((key[0], key[1]), *fields)


def agency_name(key: AgencyKey) -> str:
    """``province/agency``: the key of an agency's facts messages and of its row."""
    return f"{key[0]}/{key[1]}"


def parse_agency_name(name: str) -> AgencyKey:
    province, agency = name.split("/", 1)
    return province, agency
