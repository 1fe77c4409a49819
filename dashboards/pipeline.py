"""Pipeline health: is the wall telling the truth? Workers, throughput, rejections, lag."""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as builders

from .panels import GREEN, ORANGE, RED, dashboard, steps, tile, trend
from .promql import RATE_INTERVAL, SMOOTHING_WINDOWS, quantile

__all__ = ["UID", "build"]

UID = "citypulse-pipeline"
WORKERS = 'up{job="citypulse"}'
HOUR = SMOOTHING_WINDOWS[0]
DEAD = "topic:citypulse_events_dead_letter:rate5m"
EVENTS = "topic:citypulse_events:rate5m"


def build() -> builders.Dashboard:
    board = dashboard(
        UID,
        "citypulse · Pipeline health",
        "The event pipeline behind the wall: workers, events, rejections, lag.",
        ["pipeline"],
    )
    tiles = [
        tile(
            "Workers up",
            "Workers Prometheus can scrape. Red at zero: the wall is frozen; runbook of "
            "CitypulseWorkerDown.",
            (f"sum({WORKERS})", "up"),
            (0, 0, 4, 4),
            unit="none",
            decimals=0,
            thresholds=steps(RED, (1, GREEN)),
        ),
        tile(
            "Events per second",
            "Valid events folded into the KPIs per second, all topics, over 5 minutes. Zero "
            "for 10 minutes pages CitypulseNoEvents.",
            (f"sum({EVENTS})", "events/s"),
            (4, 0, 4, 4),
            unit="none",
            thresholds=steps(RED, (0.001, GREEN)),
        ),
        tile(
            "Dead-letter share",
            "Share of messages rejected to citypulse.dead-letter (invalid, late or "
            "conflicting) over 5 minutes. Normal is about 1 %; orange above 5 % (runbook of "
            "CitypulseDeadLetterHigh): read the dead-letter topic's reason headers.",
            (f"sum({DEAD}) / (sum({EVENTS}) + sum({DEAD}) > 0)", "dead letters"),
            (8, 0, 4, 4),
            thresholds=steps(GREEN, (0.05, ORANGE)),
        ),
        tile(
            "Stream time behind the clock",
            "Wall-clock time minus the newest event time seen. Minutes are normal; hours "
            "mean an upstream system stopped sending or the worker is far behind (during a "
            "replay this is the age of the recording).",
            ("time() - max(citypulse_stream_time_seconds)", "behind"),
            (12, 0, 4, 4),
            unit="s",
            decimals=0,
        ),
        tile(
            "Duplicates per second",
            "Events received again with an event_id already seen (upstream retries), "
            "counted once in the KPIs. A jump means an upstream system is resending.",
            (f"sum(rate(citypulse_events_duplicate_total[{RATE_INTERVAL}]))", "duplicates/s"),
            (16, 0, 4, 4),
            unit="none",
            decimals=2,
        ),
        tile(
            "Late events per second",
            "Events older than stream time minus the allowed lateness, rejected to the "
            "dead letters. Non-zero means an upstream system delivers hours late.",
            (f"sum(rate(citypulse_events_late_total[{RATE_INTERVAL}]))", "late/s"),
            (20, 0, 4, 4),
            unit="none",
            decimals=2,
            thresholds=steps(GREEN, (0.01, ORANGE)),
        ),
    ]
    for panel in tiles:
        board = board.with_panel(panel)
    per_second = "sum by ({by}) (rate({metric}[" + RATE_INTERVAL + "]))"
    return (
        board.with_panel(
            trend(
                "Events per second by topic and type",
                "Valid events per second. The shape follows office hours; a "
                "flat line at zero on one topic means its upstream system stopped.",
                [
                    (
                        per_second.format(by="topic, event_type", metric="citypulse_events_total"),
                        "{{event_type}}",
                    )
                ],
                (0, 4, 12, 8),
                unit="none",
                stacked=True,
            )
        )
        .with_panel(
            trend(
                "Dead letters by reason",
                "Messages rejected per second, by reason (header x-citypulse-reason in "
                "citypulse.dead-letter). invalid_json/invalid_schema/unknown_event_type: an "
                "upstream system sends bad data; late: it sends old data; conflict: two "
                "different events for a once-only step.",
                [
                    (
                        per_second.format(by="reason", metric="citypulse_events_invalid_total"),
                        "{{reason}}",
                    ),
                    (f"sum(rate(citypulse_events_late_total[{RATE_INTERVAL}]))", "late"),
                    (f"sum(rate(citypulse_events_conflict_total[{RATE_INTERVAL}]))", "conflict"),
                ],
                (12, 4, 12, 8),
                unit="none",
                stacked=True,
            )
        )
        .with_panel(
            trend(
                "Duplicates and redeliveries",
                "Duplicates: the same event_id sent twice upstream. Redelivered: messages "
                "the worker had already handled, delivered again after a restart or "
                "rebalance and skipped. Neither changes a KPI.",
                [
                    (
                        per_second.format(by="topic", metric="citypulse_events_duplicate_total"),
                        "duplicates {{topic}}",
                    ),
                    (
                        per_second.format(by="topic", metric="citypulse_events_redelivered_total"),
                        "redelivered {{topic}}",
                    ),
                ],
                (0, 12, 8, 8),
                unit="none",
            )
        )
        .with_panel(
            trend(
                "Late events by topic",
                "Events rejected as late per second. They are not in the KPIs: if they "
                "matter, replay them after raising CITYPULSE_ALLOWED_LATENESS.",
                [
                    (
                        per_second.format(by="topic", metric="citypulse_events_late_total"),
                        "{{topic}}",
                    )
                ],
                (8, 12, 8, 8),
                unit="none",
            )
        )
        .with_panel(
            trend(
                "Workers up/down",
                "1 while Prometheus scrapes a worker, 0 when it cannot. Workers share the "
                "partitions: while one is down its agencies' KPIs are frozen until the "
                "rebalance gives them to another.",
                [(WORKERS, "{{instance}}")],
                (16, 12, 8, 8),
                unit="none",
                thresholds=steps(RED, (1, GREEN)),
                minimum=0,
                maximum=1,
            )
        )
        .with_panel(
            trend(
                "Event lag percentiles",
                "Arrival time minus occurred_at of recent events (over Grafana's rate "
                "interval): how "
                "late upstream systems deliver. Far above the allowed lateness (default 1 h) "
                "means events are being rejected as late.",
                [
                    (
                        quantile(q, "citypulse_event_lag_seconds", "", "topic", RATE_INTERVAL),
                        f"p{round(q * 100)} {{{{topic}}}}",
                    )
                    for q in (0.5, 0.99)
                ],
                (0, 20, 8, 8),
                unit="s",
            )
        )
        .with_panel(
            trend(
                "Stream-time freshness",
                "Wall-clock time minus each topic's stream time (newest event time). Growing "
                "steadily: the topic's upstream is silent or the worker is behind.",
                [("time() - max by (topic) (citypulse_stream_time_seconds)", "{{topic}}")],
                (8, 20, 8, 8),
                unit="s",
            )
        )
        .with_panel(
            trend(
                "Consumer lag",
                "Messages in the input topics not yet read by the workers (highwater minus "
                "position, per topic). Growing: the workers cannot keep up; add one "
                "(`docker compose up --scale worker=N`, at most one per partition).",
                [("sum by (topic) (citypulse_consumer_lag_messages)", "{{topic}}")],
                (16, 20, 8, 8),
                unit="none",
                minimum=0,
            )
        )
        .with_panel(
            trend(
                "Self-checks and repairs",
                "Over the past hour. Skipped offsets and inconsistent facts stay at zero "
                "unless events were lost (each pages: runbooks of CitypulseOffsetsSkipped and "
                "CitypulseFactsInconsistent). Re-read changelog records are a table recovery "
                "that skipped records, repaired by the worker before it served; group takeovers "
                "are a consumer group the embedded broker left without a leader, formed again by "
                "a worker: nothing to do.",
                [
                    (
                        f"sum by (topic) (increase(citypulse_offsets_skipped_total[{HOUR}]))",
                        "skipped offsets {{topic}}",
                    ),
                    (
                        f"sum by (reason) (increase(citypulse_facts_inconsistent_total[{HOUR}]))",
                        "inconsistent facts {{reason}}",
                    ),
                    (
                        "sum by (table) "
                        f"(increase(citypulse_changelog_records_reread_total[{HOUR}]))",
                        "re-read {{table}}",
                    ),
                    (
                        f"sum(increase(citypulse_group_takeovers_total[{HOUR}]))",
                        "group takeovers",
                    ),
                ],
                (0, 28, 24, 8),
                unit="none",
                minimum=0,
            )
        )
    )
