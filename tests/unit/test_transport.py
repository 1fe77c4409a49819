"""The worker's dispatch of a message to its stream (streams/faust_adapter/transport.py): a delivery's first
step runs at once; one that has to wait behaves as the asyncio Task Faust would have made."""

from __future__ import annotations

import asyncio

import pytest

from citypulse.streams.faust_adapter.transport import finish, first_step


def test_a_delivery_that_does_not_wait_finishes_in_its_first_step() -> None:
    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=2)
        tasks_before = len(asyncio.all_tasks())
        done, value = first_step(deliver(queue, 7))
        assert (done, value) == (True, "delivered 7")
        assert queue.get_nowait() == 7
        assert len(asyncio.all_tasks()) == tasks_before  # no task was made for it

    asyncio.run(main())


def test_a_delivery_that_waits_is_finished_with_the_result_of_what_it_waited_for() -> None:
    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        queue.put_nowait(1)  # full: the delivery has to wait for room
        delivery = deliver(queue, 2)
        done, yielded = first_step(delivery)
        assert not done
        finishing = asyncio.ensure_future(finish(delivery, yielded))
        await asyncio.sleep(0.01)
        assert not finishing.done()
        assert queue.get_nowait() == 1  # room: the delivery goes on
        assert await finishing == "delivered 2"
        assert queue.get_nowait() == 2

    asyncio.run(main())


def test_an_error_of_what_it_waited_for_is_raised_inside_the_delivery() -> None:
    async def main() -> None:
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()

        async def delivery() -> str:
            try:
                await future
            except KeyError as exc:
                return f"handled {exc!r}"
            return "not reached"

        coro = delivery()
        done, yielded = first_step(coro)
        assert (done, yielded) == (False, future)
        finishing = asyncio.ensure_future(finish(coro, yielded))
        future.set_exception(KeyError("k"))
        assert await finishing == "handled KeyError('k')"

    asyncio.run(main())


def test_bare_yields_give_the_loop_a_turn_each() -> None:
    async def main() -> None:
        turns: list[str] = []

        async def delivery() -> int:
            for _ in range(3):
                turns.append("delivery")
                await asyncio.sleep(0)
            return 3

        async def other() -> None:
            for _ in range(3):
                turns.append("other")
                await asyncio.sleep(0)

        coro = delivery()
        done, yielded = first_step(coro)
        assert (done, yielded) == (False, None)
        result, _ = await asyncio.gather(finish(coro, yielded), other())
        assert result == 3
        assert turns.count("delivery") == 3
        assert turns[1] == "other"  # interleaved, as tasks are

    asyncio.run(main())


def test_a_waiting_delivery_abandoned_for_a_rebalance_is_cancelled_where_it_waits() -> None:
    # the fetch loop's race: delivery vs the suspension of the flow (a rebalance starting)
    async def main() -> None:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        queue.put_nowait(1)
        cleaned: list[str] = []

        async def delivery() -> None:
            try:
                await queue.put(2)
            finally:
                cleaned.append("finally ran")

        suspended = asyncio.Event()
        coro = delivery()
        done, yielded = first_step(coro)
        assert not done
        finishing = asyncio.ensure_future(finish(coro, yielded))
        flow = asyncio.ensure_future(suspended.wait())
        asyncio.get_running_loop().call_later(0.01, suspended.set)
        first, _ = await asyncio.wait({finishing, flow}, return_when=asyncio.FIRST_COMPLETED)
        assert first == {flow}
        finishing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await finishing
        assert cleaned == ["finally ran"]
        assert queue.qsize() == 1  # the abandoned message was not delivered
        assert queue.get_nowait() == 1

    asyncio.run(main())


def test_an_error_in_the_first_step_propagates() -> None:
    async def delivery() -> None:
        raise ValueError("undecodable")

    with pytest.raises(ValueError, match="undecodable"):
        first_step(delivery())


async def deliver(queue: asyncio.Queue[int], value: int) -> str:
    await queue.put(value)
    return f"delivered {value}"


def test_the_fetch_loops_wait_on_the_flow_is_recognised() -> None:
    from citypulse.streams.faust_adapter.transport import _waits_on

    async def main() -> None:
        flow, other = asyncio.Event(), asyncio.Event()
        waits = [flow.wait(), other.wait(), asyncio.sleep(0)]
        assert [_waits_on(c, flow) for c in waits] == [True, False, False]
        for c in waits:
            c.close()

    asyncio.run(main())


def test_the_faust_internals_are_checked_against_the_faust_the_project_pins() -> None:
    import re
    import tomllib
    from pathlib import Path

    import faust

    from citypulse.streams.faust_adapter.transport import FAUST_VERSION

    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    pins = [d for d in pyproject["project"]["dependencies"] if d.startswith("faust-streaming")]
    assert [re.sub(r"^faust-streaming==", "", p) for p in pins] == [FAUST_VERSION]
    assert faust.__version__ == FAUST_VERSION  # what the suite runs is what was checked


def test_a_seek_runs_in_the_consumers_thread() -> None:
    """aiokafka's seek deletes the partition's fetched records; made from the app's loop while
    the consumer's thread was reading them, it crashed Faust's fetcher (KeyError)."""
    from citypulse.streams.faust_adapter.transport import _Consumer

    calls: list[tuple[object, ...]] = []

    class Reader:
        def seek(self, partition: object, offset: int) -> None:
            raise AssertionError("called from the app's loop, not through the thread")

    class Thread:
        def _ensure_consumer(self) -> Reader:
            return Reader()

        async def call_thread(self, fun: object, *args: object) -> None:
            calls.append((getattr(fun, "__name__", fun), *args))

    consumer = object.__new__(_Consumer)
    consumer._thread = Thread()  # type: ignore[assignment]
    asyncio.run(consumer._seek("tp", 42))
    assert calls == [("seek", "tp", 42)]
