"""PromQL shapes the dashboards share (pure strings)."""

from __future__ import annotations

__all__ = ["RATE_INTERVAL", "SMOOTHING_WINDOWS", "quantile", "rolling_ratio"]

#: the window of a per-second rate on a panel: Grafana's, at least four scrape intervals, so
#: that a rate never has fewer than two samples whatever the scrape interval and zoom
RATE_INTERVAL = "$__rate_interval"
#: longer windows some panels choose on purpose, to smooth sparse per-agency series (a few
#: resolutions an hour): the only fixed windows a rate on a panel may use
SMOOTHING_WINDOWS = ("1h", "24h")


def _selector(*parts: str) -> str:
    return "{" + ", ".join(p for p in parts if p) + "}"


def rolling_ratio(
    metric: str, numerator: str, scope: str, denominator: str = "", window: str = "1h"
) -> str:
    """share of ``metric``'s increase over ``window`` matching ``numerator`` among those
    matching ``denominator`` (all by default), within ``scope``; no value, not NaN, when
    nothing happened in the window"""
    top = f"sum(increase({metric}{_selector(scope, numerator)}[{window}]))"
    bottom = f"sum(increase({metric}{_selector(scope, denominator)}[{window}]))"
    return f"{top}\n/ ({bottom} > 0)"


def quantile(q: float, histogram: str, scope: str, by: str = "", window: str = "1h") -> str:
    """the ``q`` quantile of a histogram's observations over ``window``"""
    keep = ", ".join(["le", by] if by else ["le"])
    return (
        f"histogram_quantile({q:g}, sum by ({keep}) "
        f"(rate({histogram}_bucket{_selector(scope)}[{window}])))"
    )
