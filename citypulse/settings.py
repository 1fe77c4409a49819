"""All settings of citypulse in one place: environment variables with a ``CITYPULSE_`` prefix.

Durations accept seconds (``3600``) or ISO 8601 (``PT1H``).
"""

from __future__ import annotations

import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    PositiveInt,
    SecretStr,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from citypulse.schemas import DEAD_LETTER_TOPIC, DOCUMENT_TOPIC, DOSSIER_TOPIC
from citypulse.schemas.reference import SHIPPED

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


#: the settings that are secrets: never logged, and also read from ``CITYPULSE_<NAME>_FILE``
SECRETS = ("sasl_password", "grafana_token", "grafana_password")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYPULSE_", extra="ignore")

    # -- Kafka --------------------------------------------------------------------------
    broker: str | None = Field(
        None,
        description="kafka://host:port[,host:port] of an existing Kafka; unset: embedded broker "
        "(demo) or an error (other commands).",
    )
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", description="Kafka security protocol."
    )
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = Field(
        None, description="SASL mechanism, with SASL_* protocols."
    )
    sasl_username: str | None = Field(None, description="SASL user name.")
    sasl_password: SecretStr | None = Field(None, description="SASL password (never logged).")
    sasl_password_file: Path | None = Field(
        None, description="File holding the SASL password (a Docker or Kubernetes secret)."
    )
    ssl_cafile: Path | None = Field(None, description="CA bundle to verify the brokers (TLS).")
    ssl_certfile: Path | None = Field(None, description="Client certificate (mutual TLS).")
    ssl_keyfile: Path | None = Field(None, description="Client private key (mutual TLS).")
    dossier_topic: str = Field(DOSSIER_TOPIC, description="Input topic of dossier events.")
    document_topic: str = Field(DOCUMENT_TOPIC, description="Input topic of document events.")
    dead_letter_topic: str = Field(DEAD_LETTER_TOPIC, description="Where rejected input goes.")
    partitions: PositiveInt = Field(4, description="Partitions of topics citypulse creates.")
    replication_factor: PositiveInt = Field(
        1, description="Replication factor of topics citypulse creates (3 on a real cluster)."
    )
    app_id: str = Field(
        "citypulse",
        description="Consumer group and prefix of the worker's own topics (tables, "
        "<app_id>.agency-facts). Workers with the same id share the work.",
        pattern=r"^[A-Za-z0-9._-]{1,100}$",
    )
    data_dir: Path = Field(
        Path(tempfile.gettempdir()) / "citypulse",
        description="Local scratch directory of the worker (Faust's datadir). Tables live in "
        "Kafka changelogs, so nothing here needs a backup.",
    )
    commit_interval: Duration = Field(
        timedelta(seconds=1),
        description="How often the worker commits input offsets (what a crash re-delivers).",
    )
    http_port: int = Field(
        9108, ge=0, le=65535, description="Worker HTTP port for /metrics, /healthz and /readyz."
    )
    http_host: str = Field(
        "0.0.0.0", description="Address the worker's HTTP port binds (127.0.0.1: this host only)."
    )
    processes: int = Field(
        1,
        ge=1,
        description="Worker processes `citypulse worker` runs, each a member of the group; "
        "process i serves HTTP on CITYPULSE_HTTP_PORT + i.",
    )
    stall_timeout: Duration = Field(
        timedelta(minutes=2),
        description="How long a worker may stay without partitions, in recovery, or with "
        "input waiting and none processed, before it exits (status 3) to be restarted.",
    )

    provinces: str = Field(
        ",".join(SHIPPED),
        description="The provinces watched, comma-separated: their packaged reference data "
        "(agencies, names, published shares) is loaded.",
    )
    reference_file: Path | None = Field(
        None,
        description="Reference data of one province (TOML), instead of the packaged provinces.",
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
        500, description="Distinct agency labels per worker before unknown ones become '_other'."
    )

    # -- Grafana (``citypulse dashboards push``) ---------------------------------------------
    grafana_url: str = Field("http://localhost:3000", description="Grafana to push dashboards to.")
    grafana_token: SecretStr | None = Field(
        None, description="Grafana service-account token (wins over user/password)."
    )
    grafana_token_file: Path | None = Field(None, description="File holding the Grafana token.")
    grafana_user: str | None = Field(None, description="Grafana basic-auth user.")
    grafana_password: SecretStr | None = Field(None, description="Grafana basic-auth password.")
    grafana_password_file: Path | None = Field(
        None, description="File holding the Grafana password."
    )
    grafana_folder: str = Field("citypulse", description="Grafana folder title (uid: citypulse).")
    prometheus_url: str = Field(
        "http://prometheus:9090",
        description="Prometheus URL as Grafana reaches it (for the datasource push creates).",
    )

    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Log level of citypulse's own loggers."
    )

    @field_validator("ssl_cafile", "ssl_certfile", "ssl_keyfile", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: Any) -> Any:
        # CITYPULSE_SSL_CERTFILE= (as compose files leave it) means "none", not the directory "."
        return None if value == "" else value

    @field_validator(*(f"{name}_file" for name in SECRETS), mode="before")
    @classmethod
    def _readable(cls, value: Any) -> Any:
        """A secret's file must be readable; checked here, per field, so that an error shows
        the path and never another setting's value."""
        if value is None or value == "":
            return None
        try:
            Path(value).read_bytes()
        except OSError as exc:
            raise ValueError(f"cannot read {value} ({exc.strerror})") from None
        return value

    @model_validator(mode="after")
    def _secrets_from_files(self) -> Settings:
        """``CITYPULSE_<SECRET>_FILE`` names a file holding the secret, as Docker and
        Kubernetes mount secrets; the variable itself wins when both are set."""
        for name in SECRETS:
            path: Path | None = getattr(self, f"{name}_file")
            if getattr(self, name) is None and path is not None:
                setattr(self, name, SecretStr(path.read_text(encoding="utf-8").rstrip("\r\n")))
        return self

    @field_validator("broker")
    @classmethod
    def _kafka_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not value.startswith("kafka://") or not value.removeprefix("kafka://"):
            raise ValueError(f"broker must look like kafka://host:port, got {value!r}")
        return value

    @field_validator("provinces")
    @classmethod
    def _shipped(cls, value: str) -> str:
        codes = [c.strip() for c in value.split(",") if c.strip()]
        unknown = [c for c in codes if c not in SHIPPED]
        if not codes or unknown:
            raise ValueError(
                f"provinces must be some of {','.join(SHIPPED)} (reference data ships for "
                f"those; give another with CITYPULSE_REFERENCE_FILE), got {value!r}"
            )
        return ",".join(codes)

    @property
    def province_codes(self) -> tuple[str, ...]:
        return tuple(self.provinces.split(","))

    @property
    def bootstrap_servers(self) -> list[str]:
        """``host:port`` of each bootstrap broker (empty when none is configured)."""
        if self.broker is None:
            return []
        return [s.strip() for s in self.broker.removeprefix("kafka://").split(",") if s.strip()]

    def kafka_client_options(self) -> dict[str, object]:
        """Security options in kafka-python's names (the password unwrapped only here)."""
        options: dict[str, object] = {"security_protocol": self.security_protocol}
        if self.sasl_mechanism:
            options["sasl_mechanism"] = self.sasl_mechanism
            options["sasl_plain_username"] = self.sasl_username
            if self.sasl_password is not None:
                options["sasl_plain_password"] = self.sasl_password.get_secret_value()
        for name in ("ssl_cafile", "ssl_certfile", "ssl_keyfile"):
            value = getattr(self, name)
            if value is not None:
                options[name] = str(value)
        return options

    @property
    def input_topics(self) -> tuple[str, str]:
        return (self.dossier_topic, self.document_topic)
