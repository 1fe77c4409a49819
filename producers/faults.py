"""Delivery faults injected into a clean, time-ordered event stream.

Guarantees (relied on by the tests):

* ``disorder`` and ``duplicate`` messages arrive while stream time (the largest
  ``occurred_at`` delivered so far) is at most ``occurred_at + 0.8 * lateness``: never late.
* ``late`` messages arrive once stream time is past ``occurred_at + 1.2 * lateness``: always
  late. A late message not yet due when the stream ends is not delivered at all.
* ``malformed`` messages are extra messages; they replace nothing.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from .profile import Faults

__all__ = ["CleanEvent", "FaultInjector", "Message"]

#: (unix seconds, topic, key, payload)
CleanEvent = tuple[int, str, str, dict[str, Any]]

_PII = {
    "applicant_name": "Nguyễn Văn A",
    "citizen_id": "046090001234",
    "phone": "0905123456",
    "email": "nguyenvana@example.vn",
    "address": "12 Lê Lợi, Huế",
}


@dataclass(frozen=True, slots=True)
class Message:
    """One Kafka message as a producer would send it.

    ``at`` is the stream time when it is emitted (for pacing); ``fault`` says what was done
    to it: None for a clean event, else ``pii``, ``disorder``, ``duplicate``, ``late``, or the
    rejection reason of a malformed message (``invalid_json``, ``invalid_schema``,
    ``unknown_event_type``).
    """

    topic: str
    key: bytes
    value: bytes
    at: float
    fault: str | None = None


def _encode(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


class FaultInjector:
    def __init__(self, faults: Faults, lateness: float, rng: random.Random) -> None:
        self.faults = faults
        self.lateness = lateness
        self.rng = rng

    def run(self, clean: Iterable[CleanEvent]) -> Iterator[Message]:
        f, rng, lateness = self.faults, self.rng, self.lateness
        soon: list[tuple[float, int, Message]] = []  # (must go before stream passes, countdown)
        late: list[tuple[float, Message]] = []  # (deliver once stream passes)
        stream = float("-inf")
        for t, topic, key, payload in clean:
            if stream == float("-inf"):
                stream = float(t)  # messages before the first event are stamped with its time
            # release what must arrive before an event at t could make it late
            keep = []
            for deadline, countdown, msg in soon:
                if deadline < t or countdown <= 0:
                    yield Message(msg.topic, msg.key, msg.value, stream, msg.fault)
                else:
                    keep.append((deadline, countdown - 1, msg))
            soon = keep

            fault: str | None = None
            if f.pii and rng.random() < f.pii:
                payload = {**payload, **_PII}
                fault = "pii"
            msg = Message(topic, key.encode(), _encode(payload), 0.0, fault)
            if f.malformed and rng.random() < f.malformed:
                reason, value = self._malformed(payload)
                yield Message(topic, msg.key, value, stream, reason)

            r = rng.random()
            if r < f.late:
                late.append((t + 1.2 * lateness, Message(topic, msg.key, msg.value, 0.0, "late")))
            elif r < f.late + f.disorder:
                deadline = t + rng.uniform(0.05, 0.8) * lateness
                soon.append(
                    (
                        deadline,
                        rng.randint(1, 50),
                        Message(topic, msg.key, msg.value, 0.0, "disorder"),
                    )
                )
            else:
                stream = max(stream, t)
                yield Message(topic, msg.key, msg.value, stream, fault)
                if f.duplicate and rng.random() < f.duplicate:
                    dup = Message(topic, msg.key, msg.value, 0.0, "duplicate")
                    soon.append((t + 0.5 * lateness, rng.randint(0, 20), dup))

            if late and late[0][0] < stream:
                due = [m for threshold, m in late if threshold < stream]
                late = [(th, m) for th, m in late if th >= stream]
                for m in due:
                    yield Message(m.topic, m.key, m.value, stream, "late")
        for _, _, msg in soon:  # the stream ended: what was held in time is delivered
            yield Message(msg.topic, msg.key, msg.value, stream, msg.fault)

    def _malformed(self, payload: dict[str, Any]) -> tuple[str, bytes]:
        kind = self.rng.randrange(3)
        if kind == 0:
            raw = _encode(payload)
            return "invalid_json", raw[: len(raw) // 2]
        if kind == 1:
            flow = payload["event_type"].split(".")[0]
            return "unknown_event_type", _encode({**payload, "event_type": f"{flow}.archived"})
        broken = dict(payload)
        how = self.rng.randrange(3)
        if how == 0:
            broken["occurred_at"] = broken["occurred_at"][:19]  # no UTC offset
        elif how == 1:
            broken.pop("dossier_id" if "dossier_id" in broken else "document_id")
        else:
            broken["province"] = "Thừa Thiên Huế"  # not a code
        return "invalid_schema", _encode(broken)
