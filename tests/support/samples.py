"""Reading a worker's /metrics, and what it should say according to the oracle."""

from __future__ import annotations

import itertools
from typing import Any

from citypulse.scrape import Samples, parse
from citypulse.scrape import scrape as scrape_url

__all__ = ["KPI_FAMILIES", "Samples", "expected_samples", "kpi_samples", "parse", "scrape"]

KPI_FAMILIES = (
    "citypulse_dossiers_received", "citypulse_dossiers_resolved", "citypulse_dossiers_withdrawn",
    "citypulse_dossier_results_returned", "citypulse_dossier_ratings", "citypulse_documents_sent",
    "citypulse_dossiers_open", "citypulse_dossiers_overdue", "citypulse_dossiers_due_soon",
    "citypulse_dossiers_resolution_pending", "citypulse_documents_undelivered",
    "citypulse_dossier_processing_seconds", "citypulse_document_delivery_seconds",
    "citypulse_kpi_ratio", "citypulse_today_items", "citypulse_dossiers_accepted",
    "citypulse_dossier_payments", "citypulse_dossier_electronic_results",
    "citypulse_month_items", "citypulse_service_index_points",
)  # fmt: skip


def scrape(port: int, timeout: float = 5.0) -> str:
    return scrape_url(f"http://127.0.0.1:{port}/metrics", timeout)


def kpi_samples(text: str) -> Samples:
    return {k: v for k, v in parse(text).items() if k[0].startswith(KPI_FAMILIES)}


def _key(name: str, labels: dict[str, str]) -> tuple[str, tuple[tuple[str, str], ...]]:
    return name, tuple(sorted(labels.items()))


def expected_samples(report: dict[str, Any]) -> Samples:
    """The KPI series an exposition of ``report`` (oracle shape) must contain, naively."""
    out: Samples = {}
    for name, snap in report["agencies"].items():
        province, agency = name.split("/", 1)
        base = {"province": province, "agency": agency}
        for channel, level in itertools.product(
            ("online", "counter", "postal"), ("full_process", "partial", "offline")
        ):
            out[
                _key(
                    "citypulse_dossiers_received_total",
                    {**base, "channel": channel, "service_level": level},
                )
            ] = snap["received"].get(f"{channel}/{level}", 0)
        for outcome, timeliness in itertools.product(("approved", "rejected"), ("on_time", "late")):
            out[
                _key(
                    "citypulse_dossiers_resolved_total",
                    {**base, "outcome": outcome, "timeliness": timeliness},
                )
            ] = snap["resolved"].get(f"{outcome}/{timeliness}", 0)
        for delivery in ("online", "postal", "counter"):
            out[
                _key("citypulse_dossier_results_returned_total", {**base, "delivery": delivery})
            ] = snap["results_returned"].get(delivery, 0)
        for satisfied in ("true", "false"):
            out[_key("citypulse_dossier_ratings_total", {**base, "satisfied": satisfied})] = snap[
                "ratings"
            ].get(satisfied, 0)
        for fmt, signed in itertools.product(("electronic", "paper"), ("true", "false")):
            out[
                _key("citypulse_documents_sent_total", {**base, "format": fmt, "signed": signed})
            ] = snap["documents_sent"].get(f"{fmt}/{signed}", 0)
        for digitized in ("true", "false"):
            out[_key("citypulse_dossiers_accepted_total", {**base, "digitized": digitized})] = snap[
                "accepted"
            ].get(digitized, 0)
        for channel in ("online", "offline"):
            out[_key("citypulse_dossier_payments_total", {**base, "channel": channel})] = snap[
                "payments"
            ].get(channel, 0)
        out[_key("citypulse_dossier_electronic_results_total", base)] = sum(
            snap["results_electronic"].values()
        )
        out[_key("citypulse_dossiers_withdrawn_total", base)] = snap["withdrawn"]
        for gauge, field in (
            ("open", "open"),
            ("overdue", "overdue"),
            ("due_soon", "due_soon"),
            ("resolution_pending", "resolution_pending"),
        ):
            out[_key(f"citypulse_dossiers_{gauge}", base)] = snap[field]
        out[_key("citypulse_documents_undelivered", base)] = snap["undelivered"]
        for metric, field in (
            ("citypulse_dossier_processing_seconds", "processing"),
            ("citypulse_document_delivery_seconds", "delivery"),
        ):
            hist = snap[field]
            running = 0
            for bound, count in zip([*hist["bounds"], "+Inf"], hist["counts"], strict=True):
                running += count
                le = "+Inf" if bound == "+Inf" else repr(float(bound))
                out[_key(f"{metric}_bucket", {**base, "le": le})] = running
            out[_key(f"{metric}_count", base)] = running
            out[_key(f"{metric}_sum", base)] = hist["sum"]
        for kpi, value in snap["today_rates"].items():
            if value is not None:
                out[_key("citypulse_kpi_ratio", {**base, "kpi": kpi})] = value
        if snap["index"] is not None:
            out[_key("citypulse_kpi_ratio", {**base, "kpi": "digital_government_index"})] = snap[
                "index"
            ]
        for item, value in snap["today"].items():
            out[_key("citypulse_today_items", {**base, "item": item})] = value
        for item, value in snap["month"].items():
            out[_key("citypulse_month_items", {**base, "item": item})] = value
        for period, groups in snap["service_index"].items():
            for group, points in groups.items():
                labels = {**base, "period": period, "group": group}
                out[_key("citypulse_service_index_points", labels)] = points
    return out


def differences(got: Samples, expected: Samples, limit: int = 200) -> list[str]:
    """Readable differences (missing, extra, different), at most ``limit``."""
    out = []
    for key in sorted(set(got) | set(expected)):
        if got.get(key) != expected.get(key):
            out.append(
                f"{key[0]}{dict(key[1])}: worker {got.get(key)} != oracle {expected.get(key)}"
            )
        if len(out) >= limit:
            break
    return out
