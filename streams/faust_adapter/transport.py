"""Everything citypulse does with Faust's internals, in one place, for the Faust version it was
written for (:data:`FAUST_VERSION`: another major or minor version refuses to import, another
patch version is logged). Faust's aiokafka transport with seven changes: true changelog ends,
changelog ranges read again, a shorter fetch wait, records delivered in batches, a cheaper
dispatch, a group that the embedded broker wedges on a departed leader broken
(group_wedge.py), seeks made in the consumer's thread (``_Consumer._seek``); and the few
private attributes the worker reads (:func:`producer_of`, :func:`last_read_offsets`,
:func:`recovered_ends`).

**True changelog ends.** Table recovery reads each changelog partition up to the highwater
that Faust asks the broker for (ListOffsets). The embedded broker answers with the first
offset of the partition's newest record batch + 1 (BROKER-NOTES #1), so recovery stopped
before the end of a batch that a killed worker left behind, and a later recovery of a
partition the worker kept then failed with ``ConsistencyError`` (it had read further than
the reported end). Here the end is verified by reading: from the reported end - 1, fetch
until nothing further arrives (:func:`true_end_offsets`). On Kafka the record at end - 1
is the last one, so the answer is the same and costs one fetch per changelog partition.

**Ranges read again.** Table recovery can skip changelog records when a rebalance interrupts
it (offset_coverage.py); :func:`read_ranges` reads the skipped ranges with a consumer of its
own, like the end check, so that the worker can apply them before it adopts the state.

**Fetch wait.** Faust 0.15 creates its consumer with ``fetch_max_wait_ms=1500`` and no
setting to change it. Apache Kafka answers a fetch as soon as data arrives, so the value
hardly matters there; the embedded broker answers late (measured with a plain aiokafka
consumer, one record every 100 ms: delivery p50 372 ms / max 735 ms with a 1,500 ms wait,
3 ms / 7 ms with 100 ms), and the worker then stalls for up to 1.5 s at a time. With a
shorter wait an idle worker polls a little more often, which costs nothing worth counting.

**Batches.** Faust hands every fetched record to the streams on its own: an event, a queue
put, a stream step, an acknowledgement, and for the worker's batches ``take_events``' buffer,
which together cost more than the worker's own work per event. The consumer's fetch loop
(``_Consumer._drain_messages``, Faust's loop otherwise unchanged) hands the records of each
topic registered with ``App.deliver_batches`` over as one list per fetch; the app queues them
for its stages and acknowledges them by offset once a batch's output is delivered. Group
membership, assignments, table recovery (the changelogs still go through Faust's streams)
and commits stay Faust's. Unlike Faust's loop, this one does not drop a batch topic's records
below the last offset it read: the stages' sequence guard decides what is new. Faust's rule
made seek-back storms: records fetched before a seek back, delivered after it, moved the read
offset past the seek's target, so the records then read again from the target were dropped
as already read, and the worker sought back again, up to hundreds of times a minute
(docs/chaos.md, finding 21).

**Dispatch.** Faust's fetch loop (``Consumer._drain_messages``) hands every message to the
streams with ``await self.wait_first(callback(message), self.suspend_flow.wait())``: the
delivery races a rebalance's suspension of the flow, so that a delivery blocked on a full
stream buffer is abandoned when a rebalance starts. That costs four tasks and an
``asyncio.wait`` per message, about a third of the worker's time (BROKER-NOTES: "where the
time goes"), although a delivery almost never blocks. Here the delivery's first step runs
at once, as Python 3.12's eager tasks would run it: if it finishes there (the buffer had
room), that is the result; if it suspends, the rest of it races the suspension of the flow
exactly as before (:func:`finish`). Same outcome, same order; the tasks are only paid for
a delivery that has to wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Mapping,
    Sequence,
)
from typing import Any, ClassVar, cast

import faust
from aiokafka.structs import TopicPartition
from faust.transport.consumer import CONSUMER_FETCHING
from faust.transport.drivers import aiokafka as driver
from mode.services import WaitResults

from .group_wedge import DepartedLeaderWatch, watch_group

__all__ = [
    "FAUST_VERSION",
    "FETCH_MAX_WAIT_MS",
    "App",
    "finish",
    "first_step",
    "last_fetch_age",
    "last_read_offsets",
    "producer_of",
    "read_ranges",
    "recovered_ends",
    "resume_at",
    "true_end_offsets",
]

log = logging.getLogger(__name__)

#: the faust-streaming release this module's use of Faust's internals was checked against
FAUST_VERSION = "0.15.3"
if faust.__version__.split(".")[:2] != FAUST_VERSION.split(".")[:2]:
    raise ImportError(
        f"citypulse's worker was written for faust-streaming {FAUST_VERSION} and reaches into "
        f"its internals (streams/faust_adapter/transport.py); found {faust.__version__}: install "
        f"faust-streaming=={FAUST_VERSION}"
    )
if faust.__version__ != FAUST_VERSION:
    log.warning("faust-streaming %s, not %s: untested", faust.__version__, FAUST_VERSION)

FETCH_MAX_WAIT_MS = 100


def producer_of(app: faust.App) -> Any:
    """Faust's own aiokafka producer (its settings, credentials and lifecycle)."""
    return app.producer._ensure_producer()  # type: ignore[attr-defined]


def last_read_offsets(consumer: Any) -> Mapping[Any, int]:
    """The last offset Faust's consumer read, per partition."""
    return cast(Mapping[Any, int], consumer._read_offset)


def recovered_ends(app: faust.App, tps: Iterable[Any]) -> dict[Any, int]:
    """The end offset table recovery read each changelog partition of ``tps`` to (as verified
    by :func:`true_end_offsets`); partitions it has none for are left out."""
    highwaters = cast(Any, app.tables).recovery.active_highwaters  # the ends, minus one
    return {tp: highwaters[tp] + 1 for tp in tps if highwaters.get(tp) is not None}


async def true_end_offsets(
    consumer: Any, reported: Mapping[Any, int | None], rounds: int = 50
) -> dict[Any, int | None]:
    """The end offset (next offset to be written) of each partition, read rather than
    trusted: ``consumer`` is a started aiokafka consumer not in a group; ``reported`` the
    ends the broker reported. Every partition is read from ``reported - 1`` (from 0 when the
    broker reported 0 or nothing: seen for partitions with records after a worker's freeze)
    until its fetches are answered and bring nothing further. The end is the greater of the
    last record + 1 and the highwater the fetch responses carry."""
    ends: dict[Any, int | None] = dict(reported)
    todo = list(ends)
    if not todo:
        return ends
    consumer.assign(todo)
    for tp in todo:
        consumer.seek(tp, max(0, (ends[tp] or 0) - 1))
    for _ in range(rounds):
        fetched = await consumer.getmany(*todo, timeout_ms=2 * FETCH_MAX_WAIT_MS)
        for tp, records in fetched.items():
            if records:
                ends[tp] = max(ends[tp] or 0, records[-1].offset + 1)
        answered = 0
        for tp in todo:
            highwater = consumer.highwater(tp)  # set by any fetch response, even an empty one
            if highwater is not None:
                answered += 1
                ends[tp] = max(ends[tp] or 0, highwater)
        if not fetched and answered == len(todo):
            return ends
    log.warning("changelog ends not settled after %d fetches: %s", rounds, ends)
    return ends


async def read_ranges(
    consumer: Any, ranges: Mapping[Any, Sequence[tuple[int, int]]], patience: int = 25
) -> tuple[dict[Any, list[Any]], dict[Any, list[tuple[int, int]]]]:
    """The records of each partition's ``[start, stop)`` ranges (sorted, disjoint), read by
    ``consumer``, a started aiokafka consumer not in a group: ``(records by partition, the
    ranges read whole)``. A range is read whole once a record at ``stop - 1`` or beyond
    arrived (a compacted changelog may hold none in between: nothing is missing then). One
    whose partition brings nothing further for ``patience`` fetches is left out: its records
    are gone or not readable, which the caller must not take for "none"."""
    # aiokafka wants its own TopicPartition (Faust's TP is another named tuple)
    todo = {TopicPartition(tp.topic, tp.partition): list(s) for tp, s in ranges.items() if s}
    given = {TopicPartition(tp.topic, tp.partition): tp for tp in ranges}
    records: dict[Any, list[Any]] = {given[tp]: [] for tp in todo}
    whole: dict[Any, list[tuple[int, int]]] = {given[tp]: [] for tp in todo}
    if not todo:
        return records, whole
    consumer.assign(list(todo))
    for tp, spans in todo.items():
        consumer.seek(tp, spans[0][0])
    idle = dict.fromkeys(todo, 0)
    while todo:
        fetched = await consumer.getmany(*todo, timeout_ms=2 * FETCH_MAX_WAIT_MS)
        for tp in list(todo):
            start, stop = todo[tp][0]
            batch = fetched.get(tp, [])
            records[given[tp]].extend(r for r in batch if start <= r.offset < stop)
            if batch and batch[-1].offset >= stop - 1:
                whole[given[tp]].append((start, stop))
            elif batch:
                idle[tp] = 0
                continue
            elif idle[tp] + 1 < patience:
                idle[tp] += 1
                continue
            else:
                log.error("%s: offsets %d..%d could not be read", tp, start, stop - 1)
            idle[tp] = 0
            todo[tp].pop(0)
            if todo[tp]:
                consumer.seek(tp, todo[tp][0][0])
            else:
                del todo[tp]
    return records, whole


def first_step(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """Run ``coro`` until it first suspends: ``(True, its result)`` if it finished,
    else ``(False, what it yielded)`` (a future it waits for, or None for a bare yield),
    to be passed to :func:`finish`. An exception it raises propagates."""
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        return True, done.value
    return False, yielded


async def finish(coro: Coroutine[Any, Any, Any], yielded: Any) -> Any:
    """Run ``coro`` to its end after :func:`first_step` (what an asyncio Task does): wait
    for the future it yielded, then resume it (it reads the future's result or error
    itself). If this is cancelled meanwhile, the future is cancelled and the coroutine gets
    the CancelledError where it waits, as a cancelled Task's coroutine would."""
    while True:
        try:
            if yielded is None:
                await asyncio.sleep(0)
            else:
                yielded._asyncio_future_blocking = False  # as Task.__step does
                await asyncio.wait((yielded,))
        except asyncio.CancelledError:
            if yielded is not None:
                yielded.cancel()
            try:
                yielded = coro.throw(asyncio.CancelledError())
            except StopIteration as done:
                return done.value
            continue
        try:
            yielded = coro.send(None)
        except StopIteration as done:
            return done.value


def _waits_on(coro: Any, event: asyncio.Event) -> bool:
    """Whether ``coro`` is a not yet started ``event.wait()``."""
    frame = getattr(coro, "cr_frame", None)
    return (
        frame is not None
        and coro.cr_code is asyncio.Event.wait.__code__
        and frame.f_locals.get("self") is event
    )


def resume_at(consumer: Any, offsets: Mapping[Any, int]) -> None:
    """Where the worker's state says each adopted partition resumes; this module's consumer
    seeks there after Faust's seek to the committed offsets (``_Consumer.perform_seek``).
    Cleared (``{}``) when partitions are revoked: Faust also seeks while a rebalance is
    under way, and the offsets of the last generation are stale by then."""
    consumer.resume_offsets = dict(offsets)


def last_fetch_age(consumer: Any, topics: Iterable[str], now_ms: float) -> float | None:
    """Seconds since the broker last answered a fetch for any partition of ``topics``
    assigned to a Faust ``consumer``; None if none is assigned or none was fetched yet. An
    idle worker's fetches are answered every FETCH_MAX_WAIT_MS; a broker that stopped
    answering lets this grow."""
    try:
        reader = consumer._thread._ensure_consumer()
        wanted = set(topics)
        stamps = [
            reader.last_poll_timestamp(tp) for tp in reader.assignment() if tp.topic in wanted
        ]
    except Exception:  # not started, or mid-rebalance
        return None
    known = [t for t in stamps if t is not None]
    return (now_ms - max(known)) / 1000 if known else None


class _ConsumerThread(driver.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        consumer._fetch_max_wait_ms = FETCH_MAX_WAIT_MS  # read by start() for its Fetcher
        app = cast(App, self.app)
        watch = DepartedLeaderWatch.for_session(app.conf.broker_session_timeout)
        watch_group(consumer, watch, app.on_group_takeover)
        return consumer

    @contextlib.asynccontextmanager
    async def _reader(self) -> AsyncIterator[Any]:
        """A consumer of the worker's settings and credentials, not in its group."""
        reader = self._create_client_consumer(cast(driver.Transport, self.transport))
        reader._enable_auto_commit = False
        reader._fetch_max_wait_ms = FETCH_MAX_WAIT_MS
        await reader.start()
        try:
            yield reader
        finally:
            # aiokafka's stop() cancels a task of its own and awaits it, which raises
            # CancelledError in the caller (it ended Faust's recovery task): wait on it
            # from outside, so that only a cancellation of this task propagates
            await asyncio.wait([asyncio.ensure_future(reader.stop())])

    async def _read_ranges(
        self, ranges: Mapping[Any, Sequence[tuple[int, int]]]
    ) -> tuple[dict[Any, list[Any]], dict[Any, list[tuple[int, int]]]]:
        async with self._reader() as reader:
            return await read_ranges(reader, ranges)

    async def _highwaters(self, partitions: list[Any]) -> Mapping[Any, int]:
        """The ends table recovery reads up to (module docstring), verified by reading."""
        reported = await super()._highwaters(partitions)
        async with self._reader() as reader:
            ends = await true_end_offsets(reader, reported)
        moved = {tp: (reported[tp], end) for tp, end in ends.items() if end != reported[tp]}
        if moved:
            log.info("changelog ends the broker under-reported (reported, read): %s", moved)
        return cast(Mapping[Any, int], ends)


class _Consumer(driver.Consumer):
    #: where the worker's state says each adopted partition resumes (set by the worker when
    #: its stages adopt partitions); applied after Faust's seek to the committed offsets
    resume_offsets: dict[Any, int]

    async def _drain_messages(self, fetcher: Any) -> None:
        """Faust's fetch loop, with each fetch's records of a topic the app delivers in
        batches handed over as one batch (module docstring, "Batches"); the records of other
        topics (the tables' changelogs, read by recovery) go through Faust's streams one by
        one, as in Faust."""
        handlers = cast(App, self.app).batch_handlers
        if not handlers:
            return await super()._drain_messages(fetcher)
        callback = self.callback
        read_offset = self._read_offset
        acks_enabled_for = self.app.topics.acks_enabled_for
        flow = self.suspend_flow
        stopped = cast(Any, self)._stopped.is_set
        fetcher_stopped = fetcher._stopped.is_set
        try:
            while not (stopped() or fetcher_stopped()):
                self.diag.set_flag(CONSUMER_FETCHING)
                batches: dict[str, list[Any]] = {}
                await self.sleep(0)
                if self.should_stop:
                    continue
                async for tp, message in self.getmany(timeout=1.0):
                    offset = message.offset
                    last = read_offset[tp]
                    if tp.topic in handlers:
                        # all of them: the stage decides what it has read (sequence_guard.py)
                        batches.setdefault(tp.topic, []).append(message)
                    elif last is not None and offset < last:
                        continue  # read before (Faust's rule)
                    else:
                        await self._commit_if_due()
                        await self.wait_first(callback(message), flow.wait())
                    if last and offset - last > 1 and acks_enabled_for(message.topic):
                        await self._add_gap(tp, last + 1, offset)
                    read_offset[tp] = offset
                await self._commit_if_due()
                for topic, messages in batches.items():
                    await self.wait_first(handlers[topic](messages), flow.wait())
                self.diag.unset_flag(CONSUMER_FETCHING)
        except self.consumer_stopped_errors:
            if self.transport.app.should_stop:
                return
            raise
        except asyncio.CancelledError:
            if self.transport.app.should_stop:
                return
            raise
        except Exception as exc:
            self.log.exception("Drain messages raised: %r", exc)
            raise
        finally:
            self.diag.unset_flag(CONSUMER_FETCHING)

    async def _commit_if_due(self) -> None:
        """Faust's commit after every ``broker_commit_every`` acknowledgements."""
        if self._commit_every is not None and self._n_acked >= self._commit_every:
            self._n_acked = 0
            await self.commit()

    def acknowledge(self, messages: Iterable[Any]) -> None:
        """Acknowledge ``messages``, a batch whose output is delivered: their offsets may be
        committed (once every earlier offset of their partition is acknowledged too)."""
        ack = self.ack
        for message in messages:
            ack(message)

    def _new_consumer_thread(self) -> driver.AIOKafkaConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)

    async def read_ranges(
        self, ranges: Mapping[Any, Sequence[tuple[int, int]]]
    ) -> tuple[dict[Any, list[Any]], dict[Any, list[tuple[int, int]]]]:
        """:func:`read_ranges` with a reader of this consumer's settings, in its thread."""
        thread = cast(_ConsumerThread, self._thread)
        return cast(
            tuple[dict[Any, list[Any]], dict[Any, list[tuple[int, int]]]],
            await thread.call_thread(thread._read_ranges, ranges),
        )

    async def on_partitions_revoked(self, revoked: set[Any]) -> None:
        """Faust's, and the revoked partitions forgotten as "buffered" (back-pressured).

        Faust's fetch loop hands over records of a buffered partition even when the partition
        is paused (faust-streaming #88 added that so that a full stream buffer drops nothing),
        but it never forgets a partition as buffered. One that was back-pressured when a
        rebalance began was therefore read during the next table recovery, while paused and
        before the seek to where its state ends: those events, of the new generation, reached
        the stage first, and the same offsets read again after the seek then counted as
        already handled. A chaos run lost 441 events that way."""
        self._buffered_partitions.difference_update(revoked)
        await super().on_partitions_revoked(revoked)

    async def _seek(self, partition: Any, offset: int) -> None:
        """aiokafka's seek, run in the consumer's thread like every other call Faust makes to
        aiokafka. Faust calls it from the app's event loop, and aiokafka's seek deletes the
        partition's fetched records: when the consumer's thread was inside
        ``fetched_records`` at that moment, its own delete of them raised ``KeyError``, which
        crashed Faust's fetcher and stopped the worker (seen twice in one chaos run, while the
        sequence guard sought partitions back under load)."""
        thread = self._thread
        await thread.call_thread(thread._ensure_consumer().seek, partition, offset)

    async def perform_seek(self) -> None:
        """Faust's seek to the committed offsets, then each adopted partition to where the
        worker's state ends: the state decides, not the commit. (A worker frozen past its
        session timeout can still commit, on the embedded broker, for a batch whose rows land
        after its successor recovered; aiokafka leaves a partition without a commit where the
        consumer last was; and events fetched before the rebalance were withheld, never
        applied, so the position may be past them.) Always, not only when the state ends
        before the position Faust tracks: that position is where the streams last read, and
        a chaos run lost 200 events when it said "behind" while the fetcher was past them."""
        await super().perform_seek()
        committed = dict(self._read_offset)
        offsets = getattr(self, "resume_offsets", {})
        assigned = self.assignment()
        for tp, offset in offsets.items():
            if tp not in assigned:  # revoked meanwhile: the next rebalance adopts it again
                continue
            await self.seek(tp, offset)
            if committed.get(tp) not in (offset, None):
                log.info(
                    "%s resumes at %d, where its state ends (committed: %s)",
                    tp,
                    offset,
                    committed.get(tp),
                )

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        """The fetch loop's ``wait_first(callback(message), self.suspend_flow.wait())``
        with the delivery's first step run at once (module docstring); any other call as
        Faust does it."""
        if (
            len(coros) != 2
            or timeout is not None
            or not asyncio.iscoroutine(coros[0])
            or not _waits_on(coros[1], self.suspend_flow)
            or self.suspend_flow.is_set()
            or self.should_stop
            or self._crashed.is_set()
        ):
            return await super().wait_first(*coros, timeout=timeout)
        delivery, flow = coros
        try:
            done, value = first_step(delivery)
        except BaseException:
            flow.close()
            raise
        if done:
            flow.close()  # never started: closing it is all it needs
            return WaitResults([delivery], [value], False)
        return await super().wait_first(finish(delivery, value), flow)


class _Transport(driver.Transport):
    Consumer: ClassVar[Any] = _Consumer


class App(faust.App):
    """A Faust app with this module's consumer (``kafka://`` URLs only)."""

    #: called when the consumer takes a departed leader's member id over (group_wedge.py)
    on_group_takeover: Callable[[], None] = staticmethod(lambda: None)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: topic -> where each fetch's records of it go, as one batch (deliver_batches)
        self.batch_handlers: dict[str, Callable[[list[Any]], Awaitable[None]]] = {}
        #: what runs from the moment the app starts (every_from_start, run_from_start)
        self._from_start: list[Callable[[], Awaitable[None]]] = []

    def deliver_batches(
        self, topic: faust.TopicT, handler: Callable[[list[Any]], Awaitable[None]]
    ) -> None:
        """Subscribe to ``topic`` and hand each fetch's records of it to ``handler``, as a
        list of Faust messages, instead of to a stream. Nothing acknowledges them: the
        handler calls ``consumer.acknowledge`` once their output is delivered. The handler
        should only queue them: the fetch loop waits for it (racing a rebalance's suspension
        of the flow, like Faust's delivery to a stream)."""
        for name in topic.topics:
            self.batch_handlers[name] = handler
        self.topics.add(topic)

    def every_from_start(self, interval: float, fun: Callable[[], Awaitable[None]]) -> None:
        """Run ``fun`` every ``interval`` seconds from the moment the app starts.

        ``app.timer()`` is no use for watching a worker: Faust starts timers only once the
        first table recovery is complete, so a worker recovering a long history (minutes, for
        a million events) would look unobserved, as if its event loop were blocked."""
        self._from_start.append(lambda: self._repeat(interval, fun))

    def run_from_start(self, fun: Callable[[], Awaitable[None]]) -> None:
        """Run ``fun`` from the moment the app starts until it stops."""
        self._from_start.append(fun)

    async def on_start(self) -> None:
        await super().on_start()
        for start in self._from_start:
            self.add_future(start())

    async def _repeat(self, interval: float, fun: Callable[[], Awaitable[None]]) -> None:
        while not self.should_stop:
            try:
                await fun()
            except Exception:  # a watcher outlives its errors (e.g. before the consumer exists)
                log.debug("%s failed", fun, exc_info=True)
            await asyncio.sleep(interval)

    def _new_transport(self) -> Any:
        url = self.conf.broker_consumer[0]
        if url.scheme not in ("kafka", "aiokafka"):
            return super()._new_transport()
        return _Transport(self.conf.broker_consumer, self)
