"""All settings of citypulse in one place: environment variables with a ``CITYPULSE_`` prefix.

Durations accept seconds (``3600``) or ISO 8601 (``PT1H``).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, PositiveInt
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Duration", "Settings"]


def _seconds(value: Any) -> Any:
    """``"3600"`` or ``"90.5"`` from an environment variable means seconds."""
    if isinstance(value, str):
        try:
            return timedelta(seconds=float(value))
        except ValueError:
            return value
    return value


#: A duration: seconds (``3600``) or ISO 8601 (``PT1H``).
Duration = Annotated[timedelta, BeforeValidator(_seconds)]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_", extra="ignore")

    reference_file: Path | None = Field(
        None, description="Reference data (TOML); default: the packaged Thua Thien Hue file."
    )
    allowed_lateness: Duration = Field(
        timedelta(hours=1), description="Events older than stream time minus this are late."
    )
    dedup_retention: Duration | None = Field(
        None,
        description="How long a finished dossier/document is remembered for dedup "
        "(>= allowed lateness; default: the allowed lateness).",
    )
    due_soon_horizon: Duration = Field(
        timedelta(hours=24), description="An open dossier due within this is 'due soon'."
    )
    undelivered_after: Duration = Field(
        timedelta(hours=24), description="A document not received this long after sending."
    )
    max_agencies: PositiveInt = Field(
        500, description="Distinct agency labels before unknown ones become '_other'."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of citypulse's own loggers."
    )
