"""PromQL shapes the dashboards share (pure strings)."""

from __future__ import annotations

__all__ = ["quantile", "rolling_ratio"]


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
