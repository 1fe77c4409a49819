"""When a worker counts as running, stalled or stuck (streams/exposition/liveness.py), and what its HTTP
port and watchdog say about it (streams/exposition/health.py)."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest
from prometheus_client import CollectorRegistry

from citypulse.streams.exits import EXIT_STUCK
from citypulse.streams.exposition.health import LivenessCollector, serve, watchdog
from citypulse.streams.exposition.liveness import Liveness, State

BOUND = 120.0


Step = tuple[float, bool, bool, int, int] | tuple[float, bool, bool, int, int, bool]


def observed(steps: list[Step], bound: float = BOUND) -> tuple[Liveness, list[State]]:
    """(time, assigned, recovering, lag, processed[, connected]) observations from time 0."""
    live = Liveness(bound, 0.0)
    states = []
    for t, a, r, lag, n, *connected in steps:
        c = connected[0] if connected else True
        states.append(live.observe(t, assigned=a, recovering=r, lag=lag, processed=n, connected=c))
    return live, states


@pytest.mark.parametrize(
    ("steps", "state", "stuck_at", "reason"),
    [
        # assigned, nothing waiting: running however long nothing arrives
        ([(1, True, False, 0, 0), (500, True, False, 0, 0)], State.RUNNING, 501, None),
        # input waiting and being processed: running
        ([(1, True, False, 9, 10), (100, True, False, 9, 20), (200, True, False, 9, 30)],
         State.RUNNING, 201, None),
        # input waiting, nothing processed: stalled after 10 s, stuck after the bound
        ([(1, True, False, 9, 10), (30, True, False, 9, 10)], State.STALLED, 100, None),
        ([(1, True, False, 9, 10), (30, True, False, 9, 10)], State.STALLED, 122, "stalled"),
        # a group that never settles
        ([(1, False, False, 0, 0), (60, False, False, 0, 0)], State.UNASSIGNED, 122,
         "unassigned"),
        # a recovery that never ends
        ([(1, True, True, 0, 0), (60, True, True, 0, 0)], State.RECOVERING, 122, "recovering"),
        ([(1, True, True, 0, 0), (60, True, True, 0, 0)], State.RECOVERING, 120, None),
        # the broker stopped answering fetches
        ([(1, True, False, 0, 0), (20, True, False, 0, 0, False), (140, True, False, 0, 0, False)],
         State.DISCONNECTED, 141, "disconnected"),
        ([(1, True, False, 0, 0), (20, True, False, 0, 0, False)], State.DISCONNECTED, 139, None),
        # nobody observed it since time 1: its event loop is blocked
        ([(1, True, False, 0, 0)], State.RUNNING, 122, "not observed"),
    ],
)  # fmt: skip
def test_states_and_when_a_worker_is_stuck(
    steps: list[Step],
    state: State,
    stuck_at: float,
    reason: str | None,
) -> None:
    live, states = observed(steps)
    assert states[-1] == state
    assert live.ready == (state == State.RUNNING)
    why = live.stuck(stuck_at)
    assert (why is None) if reason is None else (why is not None and why.startswith(reason))


def test_a_stall_is_timed_from_the_last_progress_not_from_when_it_was_noticed() -> None:
    live, _ = observed([(1, True, False, 5, 1), (50, True, False, 5, 1)])
    assert live.since == 1
    assert live.stuck(121.5) is not None


def test_recovering_again_restarts_the_clock() -> None:
    live, states = observed(
        [(1, True, True, 0, 0), (100, True, False, 0, 0), (110, True, True, 0, 0)]
    )
    assert states == [State.RECOVERING, State.RUNNING, State.RECOVERING]
    assert live.stuck(200) is None
    assert live.stuck(231) is not None


def test_the_http_port_serves_metrics_health_and_readiness_and_nothing_else() -> None:
    now = [0.0]
    live = Liveness(BOUND, 0.0)
    registry = CollectorRegistry()
    registry.register(LivenessCollector(live, clock=lambda: now[0]))
    server = serve(0, registry, live, addr="127.0.0.1", clock=lambda: now[0])
    base = f"http://127.0.0.1:{server.server_port}"

    def get(path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(base + path, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    try:
        assert get("/readyz") == (503, "starting\n")
        assert get("/healthz")[0] == 200
        live.observe(1, assigned=True, recovering=False, lag=0, processed=0)
        assert get("/readyz") == (200, "running\n")
        status, text = get("/metrics")
        assert status == 200
        assert 'citypulse_worker_state{state="running"} 1.0' in text
        assert 'citypulse_worker_state{state="stalled"} 0.0' in text
        assert "citypulse_worker_last_progress_timestamp_seconds" in text
        live.observe(2, assigned=False, recovering=False, lag=0, processed=0)
        live.observe(199, assigned=False, recovering=False, lag=0, processed=0)
        now[0] = 200.0
        status, text = get("/healthz")
        assert status == 503
        assert text.startswith("unassigned for 198 s")
        assert get("/readyz") == (503, "unassigned\n")
        for other in ("/", "/debug", "/metrics/../admin", "/readyz/x"):
            assert get(other)[0] == 404, other
    finally:
        server.shutdown()
        server.server_close()


def test_the_watchdog_exits_with_its_status_once_the_worker_is_stuck() -> None:
    exits: list[int] = []
    live = Liveness(1.0, 0.0)
    live.observe(0.0, assigned=False, recovering=False, lag=0, processed=0)
    clock = iter([0.5, 0.9, 1.5, 99.0])
    thread = watchdog(live, interval=0.001, clock=lambda: next(clock), exit=exits.append)
    thread.join(5)
    assert exits == [EXIT_STUCK]


def test_a_recovery_that_keeps_reading_its_changelogs_is_slow_not_stuck() -> None:
    live = Liveness(BOUND, 0.0)
    for t in range(0, 600, 10):  # ten minutes of recovery, reading all along
        live.observe(t, assigned=True, recovering=True, lag=0, processed=0, recovered=t * 1000)
    assert live.state == State.RECOVERING
    assert live.stuck(595) is None
    live.observe(600, assigned=True, recovering=True, lag=0, processed=0, recovered=590_000)
    assert live.stuck(600 + BOUND - 20) is None
    reason = live.stuck(590 + BOUND + 1)  # nothing read since 590
    assert reason is not None
    assert reason.startswith("recovering for 121 s")
