"""A seeded, deterministic simulator of provinces' e-government event streams.

Dossiers arrive by two processes: the one-stop counter and post (office hours, with a
morning peak five times the rest of the day) and the online portal (around the clock,
quieter at night and at weekends). Each arrival draws a procedure and an agency from the
province's reference data and generates its whole lifecycle; documents are sent between
agencies in office hours. Each province draws from its own profile (its reference data's
``[profile]`` over the configured one) and its own ``random.Random``, so a province's events
are the same whichever provinces are simulated with it; the provinces' streams are merged in
event-time order, then pass through the fault injector. The same config gives the same bytes.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import datetime

from citypulse.schemas import DOCUMENT_TOPIC, DOSSIER_TOPIC, Agency, Procedure, Reference

from .calendar import WORK_PERIODS, WorkCalendar
from .faults import CleanEvent, FaultInjector, Message
from .lifecycles import AgencyTraits, Lifecycles, TimedEvent
from .profile import SimulationConfig

__all__ = ["Simulator"]

_HOUR = 3600
_DAY = 86400
_PEAK = (8 * _HOUR, 10 * _HOUR)  # morning counter peak
_PEAK_FACTOR = 5.0


def _office_weight(seconds_of_day: int) -> float:
    for start, end in WORK_PERIODS:
        if start <= seconds_of_day < end:
            return _PEAK_FACTOR if _PEAK[0] <= seconds_of_day < _PEAK[1] else 1.0
    return 0.0


def _portal_weight(seconds_of_day: int) -> float:
    return 1.0 if 6 * _HOUR <= seconds_of_day < 22 * _HOUR else 0.15


def _daily_integral(weight: Callable[[int], float]) -> float:
    return sum(weight(s) for s in range(0, _DAY, 60)) * 60


def _spread(rng: random.Random, mean: float, sigma: float = 0.7) -> float:
    """One agency's share around a province's ``mean``: normal on the log-odds scale, so
    that agencies spread realistically and every share stays within (0, 1)."""
    if mean in (0.0, 1.0):
        return mean
    logit = math.log(mean / (1 - mean)) + rng.gauss(0.0, sigma)
    return 1 / (1 + math.exp(-logit))


class _Arrivals:
    """Arrival times of a non-homogeneous Poisson process, by thinning."""

    def __init__(
        self,
        rng: random.Random,
        calendar: WorkCalendar,
        per_working_day: float,
        weight: Callable[[int], float],
        weekend_factor: float,
        start: float,
    ) -> None:
        self.rng, self.calendar, self.weight = rng, calendar, weight
        self.weekend_factor = weekend_factor
        self.scale = per_working_day / _daily_integral(weight)  # arrivals per second per weight
        self.max_rate = self.scale * max(weight(s) for s in range(0, _DAY, 60))
        self.t = start

    def next(self) -> int:
        while True:
            self.t += self.rng.expovariate(self.max_rate)
            rate = self.scale * self.weight(self.calendar.seconds_of_day(self.t))
            if not self.calendar.is_working_day(self.t):
                rate *= self.weekend_factor
            if self.rng.random() * self.max_rate < rate:
                return int(self.t)


class Simulator:
    """``messages()`` is an endless, deterministic stream of :class:`Message`, of one province
    or several (``references``)."""

    def __init__(
        self,
        references: Reference | Sequence[Reference],
        config: SimulationConfig | None = None,
    ) -> None:
        self.config = config or SimulationConfig()
        if isinstance(references, Reference):
            references = (references,)
        if len({r.province for r in references}) != len(references) or not references:
            raise ValueError("the provinces to simulate must be given once each")
        self.provinces = [
            _Province(
                r, self.config, self.config.seed if i == 0 else f"{self.config.seed}:{r.province}"
            )
            for i, r in enumerate(references)
        ]

    def events(self) -> Iterator[CleanEvent]:
        """Clean events of every province in event-time order (no faults)."""
        if len(self.provinces) == 1:
            return self.provinces[0].events()
        return heapq.merge(*(p.events() for p in self.provinces), key=lambda e: e[0])

    # -- messages ------------------------------------------------------------------------
    def messages(self, until: datetime | None = None) -> Iterator[Message]:
        """Messages with faults injected; endless, or up to simulated time ``until``."""
        clean: Iterator[CleanEvent] = self.events()
        if until is not None:
            end = until.timestamp()
            clean = itertools.takewhile(lambda e: e[0] <= end, clean)
        injector = FaultInjector(
            self.config.faults, self.config.allowed_lateness, random.Random(self.config.seed + 1)
        )
        return injector.run(clean)

    def take(self, n: int) -> list[Message]:
        """The first ``n`` messages."""
        return list(itertools.islice(self.messages(), n))


class _Province:
    """One province's clean stream: its arrivals, agencies' traits and lifecycles."""

    def __init__(self, reference: Reference, config: SimulationConfig, seed: int | str) -> None:
        self.reference = reference
        self.config = replace(config, profile=replace(config.profile, **dict(reference.profile)))
        self.rng = random.Random(seed)
        self.calendar = WorkCalendar(reference.timezone, self.config.start)
        self.lifecycles = Lifecycles(
            self.rng, self.calendar, reference.province, self.config.profile
        )
        self.traits = {a.code: self._draw_traits(a) for a in reference.agencies}
        self._procedure_slots = [
            (proc, agency) for proc in reference.procedures for agency in reference.handlers(proc)
        ]
        self._procedure_weights = list(
            itertools.accumulate(p.daily_volume for p, _ in self._procedure_slots)
        )
        self._online_slots = [
            (p, a) for p, a in self._procedure_slots if p.service_level != "offline"
        ]
        self._online_weights = list(
            itertools.accumulate(p.daily_volume for p, _ in self._online_slots)
        )
        self._senders = list(reference.agencies)
        self._sender_weights = list(
            itertools.accumulate(
                {"province": 6.0, "district": 4.0, "commune": 1.0}[a.level] for a in self._senders
            )
        )

    def _draw_traits(self, agency: Agency) -> AgencyTraits:
        p, rng = self.config.profile, self.rng
        spread = math.exp(rng.gauss(0.0, 0.5))
        late = self.config.agency_late_share.get(agency.code, min(0.5, p.late_share * spread))
        electronic = 1 - min(0.5, (1 - p.electronic_share) * math.exp(rng.gauss(0.0, 0.6)))
        signed = 1 - min(0.5, (1 - p.signed_share) * math.exp(rng.gauss(0.0, 0.6)))
        return AgencyTraits(
            late,
            electronic,
            signed,
            _spread(rng, p.digitized_share),
            _spread(rng, p.online_payment_share),
            _spread(rng, p.electronic_result_share),
        )

    # -- the clean stream ----------------------------------------------------------------
    def events(self) -> Iterator[CleanEvent]:
        """Clean events in event-time order (no faults)."""
        cfg, cal, rng = self.config, self.calendar, self.rng
        start = cfg.start.timestamp()
        per_day = cfg.volume * sum(p.daily_volume for p, _ in self._procedure_slots)
        share = cfg.profile.online_share
        counter = _Arrivals(rng, cal, per_day * (1 - share), _office_weight, 0.0, start)
        portal = _Arrivals(rng, cal, per_day * share, _portal_weight, 0.4, start)
        docs = _Arrivals(
            rng, cal, per_day * cfg.profile.documents_per_dossier, _office_weight, 0.02, start
        )
        next_at = {"counter": counter.next(), "portal": portal.next(), "docs": docs.next()}
        pending: list[tuple[int, int, str, str, dict[str, object]]] = []
        seq = itertools.count()
        serial = itertools.count(1)

        def push(topic: str, key: str, timed: list[TimedEvent]) -> None:
            for t, payload in timed:
                heapq.heappush(pending, (t, next(seq), topic, key, payload))

        while True:
            source = min(next_at, key=next_at.__getitem__)
            now = next_at[source]
            while pending and pending[0][0] <= now:
                t, _, topic, key, payload = heapq.heappop(pending)
                yield t, topic, key, payload
            n = next(serial)
            if source == "docs":
                sender = rng.choices(self._senders, cum_weights=self._sender_weights)[0]
                receiver = rng.choice([a for a in self._senders if a is not sender])
                doc_id = f"VB-{self.reference.province}-{sender.code}-{n:07d}"
                push(
                    DOCUMENT_TOPIC,
                    doc_id,
                    self.lifecycles.document(
                        doc_id, now, sender, receiver, self.traits[sender.code]
                    ),
                )
                next_at["docs"] = docs.next()
                continue
            procedure, agency = self._draw_procedure(online=source == "portal")
            if source == "portal":
                channel = "online"
                next_at["portal"] = portal.next()
            else:
                channel = "postal" if rng.random() < cfg.profile.postal_share else "counter"
                next_at["counter"] = counter.next()
            day = datetime.fromtimestamp(now, self.lifecycles.tz).strftime("%y%m%d")
            dossier_id = f"{self.reference.province}-{agency.code}-{day}-{n:07d}"
            timed = self.lifecycles.dossier(
                dossier_id, now, procedure, agency, channel, self.traits[agency.code]
            )
            push(DOSSIER_TOPIC, dossier_id, timed)

    def _draw_procedure(self, online: bool) -> tuple[Procedure, Agency]:
        slots, weights = (
            (self._online_slots, self._online_weights)
            if online
            else (self._procedure_slots, self._procedure_weights)
        )
        return self.rng.choices(slots, cum_weights=weights)[0]
