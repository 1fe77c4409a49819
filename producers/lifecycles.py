"""Whole lifecycles of one dossier or one document, as timed event payloads."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from citypulse.schemas import Agency, Procedure

from .calendar import WorkCalendar
from .profile import Profile

__all__ = ["AgencyTraits", "Lifecycles", "TimedEvent"]

#: (unix seconds, event payload as JSON-ready dict)
TimedEvent = tuple[int, dict[str, Any]]

_HOUR = 3600
_DAY = 86400


@dataclass(frozen=True, slots=True)
class AgencyTraits:
    """How well one agency performs (drawn once per agency per seed)."""

    late_share: float
    electronic_share: float
    signed_share: float
    digitized_share: float
    online_payment_share: float
    electronic_result_share: float


class Lifecycles:
    def __init__(
        self,
        rng: random.Random,
        calendar: WorkCalendar,
        province: str,
        profile: Profile,
    ) -> None:
        self.rng = rng
        self.calendar = calendar
        self.province = province
        self.profile = profile
        self.tz = timezone(timedelta(seconds=calendar.offset))

    # -- payload helpers -----------------------------------------------------------------
    def _iso(self, t: int) -> str:
        return datetime.fromtimestamp(t, self.tz).isoformat()

    def _event(self, event_type: str, t: int, agency: str, **fields: Any) -> TimedEvent:
        payload = {
            "event_id": str(UUID(int=self.rng.getrandbits(128), version=4)),
            "event_type": event_type,
            "schema_version": 1,
            "occurred_at": self._iso(t),
            "province": self.province,
            "agency": agency,
            **fields,
        }
        return t, payload

    def _office_delay(self, t: float, mean_seconds: float) -> int:
        return self.calendar.add_working_seconds(t, self.rng.expovariate(1 / mean_seconds))

    # -- dossiers ------------------------------------------------------------------------
    def dossier(
        self,
        dossier_id: str,
        submitted_at: int,
        procedure: Procedure,
        agency: Agency,
        channel: str,
        traits: AgencyTraits,
    ) -> list[TimedEvent]:
        rng, cal, p = self.rng, self.calendar, self.profile
        ids = {"dossier_id": dossier_id}
        code = agency.code
        events = [
            self._event(
                "dossier.submitted",
                submitted_at,
                code,
                **ids,
                procedure_code=procedure.code,
                district=agency.district,
                channel=channel,
                service_level=procedure.service_level,
            )
        ]
        withdraws = rng.random() < p.withdrawn_share
        if withdraws and rng.random() < 0.3:  # withdrawn before acceptance
            events.append(
                self._event(
                    "dossier.withdrawn", self._office_delay(submitted_at, 4 * _HOUR), code, **ids
                )
            )
            return events

        if channel == "counter":  # accepted on the spot
            accepted = cal.add_working_seconds(submitted_at, rng.randint(120, 900))
        else:  # checked by an officer within office hours
            accepted = self._office_delay(submitted_at, 2 * _HOUR)
        due = cal.add_working_days(accepted, procedure.processing_days)
        digitized = rng.random() < traits.digitized_share
        events.append(
            self._event(
                "dossier.accepted",
                accepted,
                code,
                **ids,
                due_at=self._iso(due),
                digitized=digitized,
            )
        )
        if rng.random() < p.fee_share:
            online = rng.random() < traits.online_payment_share
            paid = accepted + (rng.randint(60, 3600) if online else rng.randint(60, 900))
            amount = rng.choice((25_000, 50_000, 100_000, 150_000, 300_000, 500_000))
            events.append(
                self._event(
                    "dossier.paid",
                    paid,
                    code,
                    **ids,
                    channel="online" if online else "offline",
                    amount_vnd=amount,
                )
            )

        t = accepted
        if rng.random() < p.supplement_share:
            for _ in range(2 if rng.random() < 0.25 else 1):
                requested = self._office_delay(t, max(_HOUR, 0.3 * (due - accepted)) / 3)
                events.append(
                    self._event(
                        "dossier.supplement_requested",
                        requested,
                        code,
                        **ids,
                        reason="missing documents",
                    )
                )
                answered = requested + int(rng.uniform(0.5, 4.0) * _DAY)
                if channel != "online":
                    answered = cal.next_working(answered)
                events.append(self._event("dossier.supplemented", answered, code, **ids))
                t = answered

        if withdraws:
            events.append(
                self._event("dossier.withdrawn", self._office_delay(t, 8 * _HOUR), code, **ids)
            )
            return events

        if rng.random() >= traits.late_share:
            earliest = max(t, accepted + int(0.2 * (due - accepted)))
            resolved = cal.next_working(earliest + rng.random() * max(0, due - 600 - earliest))
        else:
            resolved = self._office_delay(max(t, due), 1.5 * 8 * _HOUR)
        outcome = "rejected" if rng.random() < p.rejected_share else "approved"
        events.append(self._event("dossier.resolved", resolved, code, **ids, outcome=outcome))

        delivery = self._delivery(channel)
        if delivery == "online":
            returned = resolved + rng.randint(60, 1800)
        else:
            returned = self._office_delay(resolved, 6 * _HOUR)
        electronic = rng.random() < traits.electronic_result_share
        events.append(
            self._event(
                "dossier.result_returned",
                returned,
                code,
                **ids,
                delivery=delivery,
                electronic_result=electronic,
            )
        )

        if rng.random() < p.rating_share:
            rated = returned + int(rng.expovariate(1 / (6 * _HOUR)))
            late = resolved > due
            weights = (3, 3, 10, 30, 54) if late else (1, 2, 7, 28, 62)
            score = rng.choices((1, 2, 3, 4, 5), weights)[0]
            events.append(self._event("dossier.rated", rated, code, **ids, score=score))
        return events

    def _delivery(self, channel: str) -> str:
        weights = {"online": (70, 10, 20), "counter": (5, 15, 80), "postal": (0, 90, 10)}[channel]
        return self.rng.choices(("online", "postal", "counter"), weights)[0]

    # -- documents -----------------------------------------------------------------------
    def document(
        self,
        document_id: str,
        sent_at: int,
        sender: Agency,
        receiver: Agency,
        traits: AgencyTraits,
    ) -> list[TimedEvent]:
        rng, cal, p = self.rng, self.calendar, self.profile
        electronic = rng.random() < traits.electronic_share
        signed = electronic and rng.random() < traits.signed_share
        ids = {"document_id": document_id, "receiver_agency": receiver.code}
        events = [
            self._event(
                "document.sent",
                sent_at,
                sender.code,
                **ids,
                format="electronic" if electronic else "paper",
                signed=signed,
                urgency="urgent" if rng.random() < p.urgent_share else "normal",
            )
        ]
        if rng.random() < p.lost_document_share:
            return events
        if not electronic:
            received = cal.add_working_days(sent_at, rng.randint(1, 3))
        elif rng.random() < p.slow_delivery_share:
            received = cal.add_working_seconds(
                sent_at, rng.uniform(1.2, 3.0) * 8 * _HOUR + 8 * _HOUR
            )
        else:  # minutes to hours of office time (log-normal, median 15 min)
            minutes = math.exp(rng.gauss(math.log(15), 1.0))
            received = cal.add_working_seconds(sent_at, 60 * minutes)
        events.append(self._event("document.received", received, sender.code, **ids))
        return events
