"""The facts: what an entity reducer tells the owner of an agency's aggregates.

Entity state (one dossier, one document) and per-agency aggregates are kept apart so that
they can live in different places: in one engine the facts go straight to its
:class:`~.agency.AgencyBook`; in a worker, they are recorded with the entity, sent to the
single owner of the agency and applied there (CONTRACT §5, "any number of workers").

One frozen dataclass per fact; :func:`encode_fact` and :func:`decode_fact` are their only
wire format, ``[name, [province, agency], *fields]`` (JSON-ready), as stored in entity rows
and sent in facts messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final, get_args

__all__ = [
    "AgencyKey",
    "Awaiting",
    "Delivered",
    "DueAdded",
    "DueRemoved",
    "Emit",
    "Fact",
    "Opened",
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


@dataclass(frozen=True, slots=True)
class Received:
    """A dossier was submitted."""

    key: AgencyKey
    day: str
    channel: str
    service_level: str


@dataclass(frozen=True, slots=True)
class Opened:
    """The number of open dossiers changed by ``delta``."""

    key: AgencyKey
    delta: int


@dataclass(frozen=True, slots=True)
class DueAdded:
    """An open dossier has deadline ``due_at`` (it counts for overdue / due soon)."""

    key: AgencyKey
    due_at: float


@dataclass(frozen=True, slots=True)
class DueRemoved:
    """An open dossier with deadline ``due_at`` was closed."""

    key: AgencyKey
    due_at: float


@dataclass(frozen=True, slots=True)
class Resolved:
    """A dossier was resolved; ``on_time`` is None while its acceptance is not known."""

    key: AgencyKey
    dossier_id: str
    resolved_at: float
    day: str
    outcome: str
    on_time: bool | None


@dataclass(frozen=True, slots=True)
class ResolutionSettled:
    """The acceptance of a pending resolution arrived (in time): it is on time or late."""

    key: AgencyKey
    dossier_id: str
    on_time: bool


@dataclass(frozen=True, slots=True)
class Processed:
    """A dossier's processing time (resolved - submitted) is known."""

    key: AgencyKey
    seconds: float


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """An open or not yet submitted dossier was withdrawn."""

    key: AgencyKey


@dataclass(frozen=True, slots=True)
class ResultReturned:
    """A dossier's result was returned."""

    key: AgencyKey
    day: str
    delivery: str


@dataclass(frozen=True, slots=True)
class Rated:
    """A dossier was rated."""

    key: AgencyKey
    day: str
    satisfied: bool


@dataclass(frozen=True, slots=True)
class Sent:
    """A document was sent."""

    key: AgencyKey
    day: str
    format: str
    signed: bool


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A document sent at ``sent_at`` is not known to be received (undelivered candidate)."""

    key: AgencyKey
    sent_at: float


@dataclass(frozen=True, slots=True)
class Delivered:
    """A document's delivery time is known; ``awaited``: it had been reported awaiting."""

    key: AgencyKey
    sent_at: float
    seconds: float
    awaited: bool


Fact = (
    Received | Opened | DueAdded | DueRemoved | Resolved | ResolutionSettled | Processed
    | Withdrawn | ResultReturned | Rated | Sent | Awaiting | Delivered
)  # fmt: skip

#: where a reducer sends the facts it emits
Emit = Callable[[Fact], None]


def _wire_name(kind: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind.__name__).lower()  # DueAdded -> due_added


_BY_NAME: Final[dict[str, type[Fact]]] = {_wire_name(k): k for k in get_args(Fact)}
_NAME_OF: Final[dict[type, str]] = {k: n for n, k in _BY_NAME.items()}


def encode_fact(fact: Fact) -> list[Any]:
    """``[name, [province, agency], *fields]``, in the dataclass's field order."""
    fields = fact.__match_args__
    return [_NAME_OF[type(fact)], list(fact.key), *(getattr(fact, f) for f in fields[1:])]


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
