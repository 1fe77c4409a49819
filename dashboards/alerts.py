"""Prometheus alerting and recording rules, generated from one table of KPI thresholds.

Pure data: :func:`rule_groups` returns the rule file as plain dicts; :func:`render` writes
it as YAML with a stable order, so that the checked-in file can be compared with a fresh
rendering. Thresholds default to what provincial control centres commonly page on
(on-time resolution 95 % / 90 %, electronic documents and digital signatures 90 %,
satisfaction 90 %, any overdue dossier); the runbook of every alert is a section of
``docs/runbooks.md``.

Two habits keep the pager quiet:

* **recovery margin** (hysteresis): a KPI alert that fired stays active until the KPI is back
  above its threshold *plus* the margin (the expression keeps the series while its own
  ``ALERTS`` series is firing), so a KPI hovering at the threshold does not flap;
* **minimum volume**: a rate of today is judged only once its denominator has some volume
  (ten resolutions, say): at 08:00 one late resolution out of one is not an incident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import yaml

from citypulse.schemas import load_reference
from citypulse.streams.kpi.ratios import RATIOS

from .service_index_rules import INDEX_THRESHOLDS, service_index_alert, service_index_rules

__all__ = [
    "BURN_RATES",
    "OBJECTIVES",
    "RUNBOOKS",
    "THRESHOLDS",
    "KpiThreshold",
    "Objective",
    "render",
    "rule_groups",
]

RUNBOOKS = "https://github.com/citypulse/citypulse/blob/main/docs/runbooks.md"
KEY = "province, agency"

#: How long a KPI alert stays firing after its expression stops returning. The worker's KPI
#: series vanish the moment it cannot be scraped, before CitypulseWorkerDown fires (its `for:`):
#: without this, every KPI page would be sent as *resolved* when the pipeline dies. Kept
#: firing, they stay muted by Alertmanager's inhibition until the pipeline is back.
KPI_KEEP_FIRING = "5m"

#: The start of every KPI alert's texts (a Go template): ``$agency`` and ``$province`` become
#: the names of the reference data, from ``citypulse_agency_info`` ("Sở Tư pháp [STP]",
#: "Thừa Thiên Huế"), or stay the codes if no worker exports that series.
NAMES = (
    "{{ $agency := $labels.agency }}{{ $province := $labels.province }}"
    '{{ with printf "citypulse_agency_info{province=%q,agency=%q}" $labels.province '
    "$labels.agency | query }}"
    '{{ $agency = printf "%s [%s]" (. | first | label "agency_name") $labels.agency }}'
    '{{ $province = . | first | label "province_name" }}{{ end }}'
)
WHO = NAMES + "{{ $agency }} ({{ $province }})"


@dataclass(frozen=True)
class KpiThreshold:
    """A rate of today (``citypulse_kpi_ratio{kpi=...}``) that must stay above thresholds."""

    kpi: str
    title: str  # for humans: "on-time resolution"
    title_vi: str  # the same in Vietnamese: "tỷ lệ hồ sơ giải quyết đúng hạn"
    denominator: str  # the citypulse_today_items item the rate divides by
    min_volume: int  # judged only once the denominator reaches this today
    warning: float
    critical: float | None
    margin: float  # recovery margin: clears at threshold + margin
    for_: str  # how long below the threshold before it fires

    @property
    def alert(self) -> str:
        return "Citypulse" + "".join(w.capitalize() for w in self.kpi.split("_")) + "Low"

    @property
    def anchor(self) -> str:
        return self.alert.lower()


THRESHOLDS: tuple[KpiThreshold, ...] = (
    KpiThreshold(
        "on_time_resolution", "on-time resolution", "tỷ lệ hồ sơ giải quyết đúng hạn",
        "resolved", 10, 0.95, 0.90, 0.01, "15m",
    ),
    KpiThreshold(
        "electronic_document", "electronic documents", "tỷ lệ văn bản điện tử",
        "documents_sent", 10, 0.90, None, 0.02, "30m",
    ),
    KpiThreshold(
        "digital_signature", "digital signatures", "tỷ lệ văn bản điện tử có ký số",
        "documents_electronic", 10, 0.90, None, 0.02, "30m",
    ),
    KpiThreshold(
        "satisfaction", "satisfaction", "tỷ lệ đánh giá hài lòng",
        "ratings", 10, 0.90, None, 0.02, "30m",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class Objective:
    """A service-level objective on a ratio KPI whose counters carry its events: at least
    ``objective`` of them good over the long run, so an error budget of ``1 - objective``.
    Judged by how fast the budget burns (multiwindow, multi-burn-rate, as Sloth and Pyrra
    generate them), not by today's figure alone."""

    kpi: str  # the threshold table's KPI it comes from
    title: str
    title_vi: str
    bad_title: str  # what a bad event is, for humans: "resolved late"
    bad_title_vi: str
    events: str  # the counter of all events
    bad: str  # label matchers of its bad events
    objective: float
    min_volume: int  # a window is judged only with at least this many events in it

    @property
    def alert(self) -> str:
        return "Citypulse" + "".join(w.capitalize() for w in self.kpi.split("_")) + "BurnRate"

    @property
    def budget(self) -> float:
        return 1 - self.objective

    def ratio(self, window: str) -> str:
        """The recorded share of bad events over ``window``."""
        return (
            f"{KEY.replace(', ', '_')}:{self.events.removesuffix('_total')}:bad_ratio_rate{window}"
        )


#: (severity, burn factor, long window, short window): the Google SRE workbook's pairs. A burn
#: factor of 14.4 spends 2 % of a 30-day budget in an hour; 1 spends it all in 30 days.
BURN_RATES: tuple[tuple[str, float, str, str], ...] = (
    ("critical", 14.4, "1h", "5m"),
    ("critical", 6, "6h", "30m"),
    ("warning", 3, "1d", "2h"),
    ("warning", 1, "3d", "6h"),
)


def _threshold(kpi: str) -> KpiThreshold:
    return next(t for t in THRESHOLDS if t.kpi == kpi)


#: on-time resolution: the one ratio KPI with a counter of good and bad events per agency
#: (``citypulse_dossiers_resolved_total{timeliness}``); its objective is the threshold
#: table's warning threshold
OBJECTIVES: tuple[Objective, ...] = (
    Objective(
        "on_time_resolution",
        "on-time resolution",
        _threshold("on_time_resolution").title_vi,
        "resolved late",
        "hồ sơ giải quyết trễ hạn",
        "citypulse_dossiers_resolved_total",
        'timeliness="late"',
        _threshold("on_time_resolution").warning,
        _threshold("on_time_resolution").min_volume,
    ),
)


def _burn_recording_rules(o: Objective) -> list[dict[str, Any]]:
    windows = sorted({w for _, _, *pair in BURN_RATES for w in pair}, key=_seconds)
    return [
        {
            "record": o.ratio(window),
            "expr": (
                f"sum by ({KEY}) (rate({o.events}{{{o.bad}}}[{window}]))\n"
                f"/ sum by ({KEY}) (rate({o.events}[{window}]))"
            ),
        }
        for window in windows
    ]


def _burn_alert(o: Objective, severity: str) -> dict[str, Any]:
    pairs = [(f, long, short) for s, f, long, short in BURN_RATES if s == severity]
    terms = [
        f"(\n  {o.ratio(long)} > {f * o.budget:.4g}\n  and {o.ratio(short)} > {f * o.budget:.4g}\n"
        f"  and on({KEY}) sum by ({KEY}) (increase({o.events}[{long}])) >= {o.min_volume}\n)"
        for f, long, short in pairs
    ]
    speed = "fast" if severity == "critical" else "steadily"
    speed_vi = "nhanh" if severity == "critical" else "kéo dài"
    windows = " or ".join(f"{long} and {short}" for _, long, short in pairs)
    return {
        "alert": o.alert,
        "expr": "\nor\n".join(terms),
        "for": "2m",
        "keep_firing_for": KPI_KEEP_FIRING,
        "labels": {"severity": severity, "component": "kpi", "kpi": o.kpi},
        "annotations": {
            "summary": (
                f"{WHO}: {o.title} is using up its error budget {speed}: "
                f"{{{{ $value | humanizePercentage }}}} {o.bad_title}, objective {o.objective:.0%}"
                f" {o.title}"
            ),
            "summary_vi": (
                f"{WHO}: {o.title_vi} giảm {speed_vi}: {{{{ $value | humanizePercentage }}}} "
                f"{o.bad_title_vi}, mục tiêu {o.objective:.0%}"
            ),
            "description": (
                f"Over the last {windows}, the share {o.bad_title} spends the {o.budget:.0%} "
                f"error budget {' or '.join(f'{f:g}' for f, _, _ in pairs)} times as fast as "
                f"the objective allows (with at least {o.min_volume} in the longer window)."
            ),
            "runbook_url": f"{RUNBOOKS}#{o.alert.lower()}",
        },
    }


def _slo_rules() -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = []
    for o in OBJECTIVES:
        rules.extend(_burn_recording_rules(o))
        rules.extend(_burn_alert(o, severity) for severity in ("critical", "warning"))
    return rules


def _seconds(window: str) -> int:
    return int(window[:-1]) * {"m": 60, "h": 3600, "d": 86400}[window[-1]]


def _kpi_alert(t: KpiThreshold, severity: str, threshold: float) -> dict[str, Any]:
    ratio = f'citypulse_kpi_ratio{{kpi="{t.kpi}"}}'
    firing = f'ALERTS{{alertname="{t.alert}", severity="{severity}", alertstate="firing"}}'
    volume = f'citypulse_today_items{{item="{t.denominator}"}} >= {t.min_volume}'
    expr = (
        f"(\n  {ratio} < {threshold:g}\n"
        f"  or\n  ({ratio} < {threshold + t.margin:g} and on({KEY}) {firing})\n)\n"
        f"and on({KEY}) {volume}"
    )
    return {
        "alert": t.alert,
        "expr": expr,
        "for": t.for_,
        "keep_firing_for": KPI_KEEP_FIRING,
        "labels": {"severity": severity, "component": "kpi", "kpi": t.kpi},
        "annotations": {
            "summary": (
                f"{WHO}: {t.title} today is {{{{ $value | humanizePercentage }}}}, "
                f"below {threshold:.0%}"
            ),
            "summary_vi": (
                f"{WHO}: {t.title_vi} hôm nay là {{{{ $value | humanizePercentage }}}}, "
                f"dưới ngưỡng {threshold:.0%}"
            ),
            "description": (
                f"The share of {t.title} today has been below {threshold:.0%} for {t.for_} "
                f"(with at least {t.min_volume} {t.denominator.replace('_', ' ')} today). It "
                f"clears at {threshold + t.margin:.0%}."
            ),
            "runbook_url": f"{RUNBOOKS}#{t.anchor}",
        },
    }


def _count_alert(
    name: str, metric: str, for_: str, what: str, what_vi: str, severity: str = "warning"
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": f"{metric} > 0",
        "for": for_,
        "keep_firing_for": KPI_KEEP_FIRING,
        "labels": {"severity": severity, "component": "kpi"},
        "annotations": {
            "summary": f"{WHO}: {{{{ $value }}}} {what}",
            "summary_vi": f"{WHO}: {{{{ $value }}}} {what_vi}",
            "description": f"{what.capitalize()} for more than {for_}.",
            "runbook_url": f"{RUNBOOKS}#{name.lower()}",
        },
    }


def _pipeline_alert(
    name: str,
    expr: str,
    for_: str,
    severity: str,
    summary: tuple[str, str],
    description: str,
) -> dict[str, Any]:
    return {
        "alert": name,
        "expr": expr,
        "for": for_,
        "labels": {"severity": severity, "component": "pipeline"},
        "annotations": {
            "summary": summary[0],
            "summary_vi": summary[1],
            "description": description,
            "runbook_url": f"{RUNBOOKS}#{name.lower()}",
        },
    }


#: province ratios of today, recomputed from summed counts (a ratio is never averaged)
PROVINCE_RATIOS: tuple[tuple[str, str, str], ...] = tuple(
    (r.kpi, r.numerator.item, r.denominator.item) for r in RATIOS
)


def _recording_rules() -> list[dict[str, Any]]:
    items = "citypulse_today_items"
    rules: list[dict[str, Any]] = [
        {
            "record": "province:citypulse_kpi_ratio:today",
            "expr": (
                f'sum by (province) ({items}{{item="{numerator}"}})\n'
                f'/ (sum by (province) ({items}{{item="{denominator}"}}) > 0)'
            ),
            "labels": {"kpi": kpi},
        }
        for kpi, numerator, denominator in PROVINCE_RATIOS
    ]
    # the province's digital-government index: the weighted mean of its ratios that are
    # defined, as for an agency (ratios.index), from the ratios just recorded
    weighted = "province:citypulse_index_weighted:today"
    weight = "province:citypulse_index_weight:today"
    for kpi, w in load_reference().index_weights:
        if w > 0:
            ratio = f'province:citypulse_kpi_ratio:today{{kpi="{kpi}"}}'
            labels = {"kpi": kpi}
            rules.append({"record": weighted, "expr": f"{w:g} * {ratio}", "labels": labels})
            rules.append({"record": weight, "expr": f"0 * {ratio} + {w:g}", "labels": {**labels}})
    rules.append(
        {
            "record": "province:citypulse_kpi_ratio:today",
            "expr": f"sum by (province) ({weighted})\n/ sum by (province) ({weight})",
            "labels": {"kpi": "digital_government_index"},
        }
    )
    rules.extend(
        {
            "record": f"province:citypulse_{gauge}:sum",
            "expr": f"sum by (province) (citypulse_{gauge})",
        }
        for gauge in (
            "dossiers_open",
            "dossiers_overdue",
            "dossiers_due_soon",
            "documents_undelivered",
        )
    )
    rules.append(
        {
            "record": "topic:citypulse_events:rate5m",
            "expr": "sum by (topic) (rate(citypulse_events_total[5m]))",
        }
    )
    rules.append(
        {
            "record": "topic:citypulse_events_dead_letter:rate5m",
            # one sum per counter: rate() drops the metric name, so a single regex selector
            # over late_total{topic} and conflict_total{topic} would collide on its labels
            "expr": "\n+ ".join(
                f"sum by (topic) (rate(citypulse_events_{kind}_total[5m]))"
                for kind in ("invalid", "late", "conflict")
            ),
        }
    )
    return rules


def rule_groups() -> dict[str, Any]:
    """The whole rule file: recording rules, KPI alerts, objectives' burn rates, pipeline
    alerts."""
    kpi_alerts: list[dict[str, Any]] = []
    for t in THRESHOLDS:
        kpi_alerts.append(_kpi_alert(t, "warning", t.warning))
        if t.critical is not None:
            kpi_alerts.append(_kpi_alert(t, "critical", t.critical))
    kpi_alerts.extend(
        service_index_alert(t, WHO, RUNBOOKS, KPI_KEEP_FIRING) for t in INDEX_THRESHOLDS
    )
    kpi_alerts.append(
        _count_alert(
            "CitypulseDossiersOverdue",
            "citypulse_dossiers_overdue",
            "15m",
            "dossiers overdue",
            "hồ sơ quá hạn",
        )
    )
    kpi_alerts.append(
        _count_alert(
            "CitypulseDocumentsUndelivered",
            "citypulse_documents_undelivered",
            "30m",
            "documents sent and not received in time",
            "văn bản đã gửi nhưng chưa được nhận đúng hạn",
        )
    )
    pipeline = [
        _pipeline_alert(
            "CitypulseWorkerDown",
            'up{job="citypulse"} == 0',
            "2m",
            "critical",
            (
                "citypulse worker {{ $labels.instance }} is down",
                "citypulse worker {{ $labels.instance }} ngừng hoạt động",
            ),
            "Prometheus cannot scrape the worker: the KPIs it owns are not updated.",
        ),
        # Only a topic whose count was already there 10 minutes ago: a worker that read a
        # backlog before Prometheus first scraped it shows a count that appears at its final
        # value, and its increase over the window is 0 although the events just arrived (the
        # page would also mute every KPI alert, alertmanager.yml).
        _pipeline_alert(
            "CitypulseNoEvents",
            "sum by (topic) (increase(citypulse_events_total[10m])) == 0\n"
            "and sum by (topic) (citypulse_events_total offset 10m)",
            "0m",
            "critical",
            (
                "no events on {{ $labels.topic }} for 10 minutes",
                "không có sự kiện nào trên {{ $labels.topic }} trong 10 phút",
            ),
            "Upstream systems sent nothing for 10 minutes: the wall shows stale KPIs.",
        ),
        _pipeline_alert(
            "CitypulseDeadLetterHigh",
            "topic:citypulse_events_dead_letter:rate5m\n"
            "/ (topic:citypulse_events:rate5m + topic:citypulse_events_dead_letter:rate5m)\n"
            "> 0.05",
            "10m",
            "warning",
            (
                "{{ $value | humanizePercentage }} of {{ $labels.topic }} goes to the dead letters",
                "{{ $value | humanizePercentage }} thông điệp của {{ $labels.topic }} bị từ chối "
                "(dead letter)",
            ),
            "More than 5 % of messages are rejected (invalid, late or conflicting) for 10 min; "
            "normal is about 1 %.",
        ),
        _pipeline_alert(
            "CitypulseFactsInconsistent",
            "sum by (instance, reason) (increase(citypulse_facts_inconsistent_total[10m])) > 0",
            "0m",
            "warning",
            (
                "{{ $labels.instance }}: agency facts that do not fit ({{ $labels.reason }})",
                "{{ $labels.instance }}: dữ liệu của cơ quan không khớp ({{ $labels.reason }})",
            ),
            "The agency stage skipped facts that contradict an agency's state: a citypulse "
            "bug or a lost message. Some agency's open or undelivered counts may be off.",
        ),
        _pipeline_alert(
            "CitypulseOffsetsSkipped",
            "sum by (instance, topic) (increase(citypulse_offsets_skipped_total[10m])) > 0",
            "0m",
            "critical",
            (
                "{{ $labels.instance }}: messages of {{ $labels.topic }} were never processed",
                "{{ $labels.instance }}: thông điệp của {{ $labels.topic }} bị bỏ qua, "
                "chưa được xử lý",
            ),
            "A worker jumped over offsets it had not handled: events lost (committed "
            "unprocessed, or state lost in a recovery). The KPIs undercount.",
        ),
        _pipeline_alert(
            "CitypulseWorkerNotRunning",
            'max by (instance, state) (citypulse_worker_state{state!="running"}) == 1',
            "1m",
            "warning",
            (
                "citypulse worker {{ $labels.instance }} is {{ $labels.state }}",
                "citypulse worker {{ $labels.instance }} đang ở trạng thái {{ $labels.state }}",
            ),
            "The worker has no partitions, is rebalancing or recovering, lost its broker, or "
            "has input waiting and processes none. It exits by itself after "
            "CITYPULSE_STALL_TIMEOUT (2 min) for its supervisor to restart it.",
        ),
    ]
    return {
        "groups": [
            {"name": "citypulse-recording", "interval": "30s", "rules": _recording_rules()},
            {
                "name": "citypulse-service-index",
                "interval": "30s",
                "rules": service_index_rules(load_reference().scoring),
            },
            {"name": "citypulse-kpi", "interval": "30s", "rules": kpi_alerts},
            # the ratios and the alerts that read them in one group: evaluated in this order,
            # so an alert always sees the ratios of the same evaluation
            {"name": "citypulse-slo", "interval": "30s", "rules": _slo_rules()},
            {"name": "citypulse-pipeline", "interval": "30s", "rules": pipeline},
        ]
    }


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(data: dict[str, Any]) -> str:
    """YAML, keys in the order given (stable), multi-line expressions as blocks."""
    header = "# Generated by `citypulse alerts render` from dashboards/alerts.py: do not edit.\n"
    return header + yaml.dump(data, Dumper=_Dumper, sort_keys=False, width=100)
