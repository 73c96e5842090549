"""The pipeline's configuration: one YAML file plus environment-variable overrides.

Everything that differs between a laptop demo, CI and a production deployment (where data
lives, which warehouse, where the publisher is, which trusts form the network) is read here
and nowhere else, so an analyst can answer "what did this run use?" from one place.

Overrides: ``CULTURE_OUTCOMES_<SECTION>_<KEY>`` (upper case), e.g.
``CULTURE_OUTCOMES_WAREHOUSE_TARGET=postgres``. ``CULTURE_OUTCOMES_CONFIG`` names another YAML file.
List values are comma-separated in the environment (``CULTURE_OUTCOMES_NETWORK_MEMBERS=RC9,RD8``).
"""

from __future__ import annotations

import os
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CONFIG = PROJECT_ROOT / "config" / "pipeline.yaml"
ENV_PREFIX = "CULTURE_OUTCOMES_"


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message says which key and why."""


@dataclass(frozen=True)
class Paths:
    data_dir: Path

    @property
    def landing(self) -> Path:
        return self.data_dir / "landing"

    @property
    def quarantine(self) -> Path:
        return self.data_dir / "quarantine"

    @property
    def published(self) -> Path:
        return self.data_dir / "published"

    @property
    def state(self) -> Path:
        return self.data_dir / "state"

    @property
    def warehouse_dir(self) -> Path:
        return self.data_dir / "warehouse"


@dataclass(frozen=True)
class Warehouse:
    target: str
    duckdb_path: Path
    postgres_host: str
    postgres_port: int
    postgres_user: str
    postgres_password: str
    postgres_dbname: str
    postgres_bi_role: str
    # How long a DuckDB writer queues behind another process writing the file before giving up.
    writer_wait_seconds: float = 3600.0

    @property
    def duckdb_raw_dir(self) -> Path:
        """On DuckDB, where each source's raw tables live: a file per dbt source beside the warehouse,
        attached read-only by dbt (:meth:`duckdb_raw_path`)."""
        return self.duckdb_path.parent / "raw"

    def duckdb_raw_path(self, raw_database: str) -> Path:
        """The DuckDB file of one dbt source's raw tables.

        DuckDB lets one process write a file at a time. With every raw table in the warehouse file,
        ingests running side by side handed that file over between their loads, each hand-over a
        checkpoint and a reopening (benchmarks/FINDINGS.md, section 16); a file per source lets each
        ingest write its own.
        """
        return self.duckdb_raw_dir / f"{raw_database}.duckdb"

    def postgres_dsn(self, dbname: str | None = None) -> str:
        """A libpq connection string; the password is included only when one is configured."""
        parts = [
            f"host={self.postgres_host}",
            f"port={self.postgres_port}",
            f"user={self.postgres_user}",
            f"dbname={dbname or self.postgres_dbname}",
        ]
        if self.postgres_password:
            parts.append(f"password={self.postgres_password}")
        return " ".join(parts)


@dataclass(frozen=True)
class Publisher:
    base_url: str
    timeout_seconds: float
    retries: int
    backoff_seconds: float
    max_bytes: int


@dataclass(frozen=True)
class Network:
    name: str
    members: tuple[str, ...]
    icb_codes: tuple[str, ...] = ()
    region_codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Disclosure:
    patient_experience_min_count: int
    staff_survey_min_responses: int
    sickness_min_fte_days_available: float


@dataclass(frozen=True)
class Validation:
    row_count_tolerance: float
    #: Files one validate_and_load task checks and loads (one database connection). The batches of a
    #: source run one at a time (the writer pool has one slot), and each repeats its screens, its
    #: connection and its newest file's Data Docs: a five-year FFT history in batches of 60 took 4-11 s
    #: longer than in one (benchmarks/FINDINGS.md, section 21).
    batch_files: int = 500


@dataclass(frozen=True)
class Publishing:
    retention: int
    successor_attribution: str
    synthetic_data: bool = False  # the demo's generated data: every release and pack says so
    workers: int = 0  # processes writing and checking a release's files; 0 = one per core


@dataclass(frozen=True)
class Notifications:
    webhook_url: str
    email_to: str


@dataclass(frozen=True)
class Settings:
    paths: Paths
    warehouse: Warehouse
    publisher: Publisher
    network: Network
    disclosure: Disclosure
    validation: Validation
    publishing: Publishing
    notifications: Notifications
    config_file: Path = field(default=DEFAULT_CONFIG)


_SECTIONS: dict[str, type] = {
    "paths": Paths,
    "warehouse": Warehouse,
    "publisher": Publisher,
    "network": Network,
    "disclosure": Disclosure,
    "validation": Validation,
    "publishing": Publishing,
    "notifications": Notifications,
}


def _coerce(section: str, key: str, raw: Any, annotation: str) -> Any:
    """Turn a YAML or environment value into the declared type, naming the key when it cannot."""
    try:
        if annotation == "Path":
            return Path(raw)
        if annotation == "int":
            return int(raw)
        if annotation == "float":
            return float(raw)
        if annotation == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).strip().lower() in {"1", "true", "yes", "on"}:
                return True
            if str(raw).strip().lower() in {"0", "false", "no", "off", ""}:
                return False
            raise ValueError(raw)
        if annotation.startswith("tuple"):
            if isinstance(raw, str):
                raw = [part for part in raw.split(",")]
            return tuple(str(item).strip().upper() for item in (raw or []) if str(item).strip())
        return "" if raw is None else str(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"configuration {section}.{key}: cannot read {raw!r} as {annotation}") from exc


def load_settings(config_file: Path | str | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read the YAML file, apply environment overrides and resolve paths against the project root."""
    env = os.environ if environ is None else environ
    path = Path(config_file or env.get(f"{ENV_PREFIX}CONFIG") or DEFAULT_CONFIG)
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    sections: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        values = dict(document.get(section) or {})
        kwargs: dict[str, Any] = {}
        for fld in fields(cls):
            env_key = f"{ENV_PREFIX}{section}_{fld.name}".upper()
            raw = env[env_key] if env_key in env else values.get(fld.name)
            if raw is None and fld.default is not MISSING:
                continue
            if raw is None and not str(fld.type).startswith("tuple"):
                raise ConfigError(f"configuration {section}.{fld.name} is missing in {path}")
            kwargs[fld.name] = _coerce(section, fld.name, raw, str(fld.type))
        sections[section] = kwargs

    data_dir = sections["paths"]["data_dir"]
    if not data_dir.is_absolute():
        data_dir = PROJECT_ROOT / data_dir
    sections["paths"]["data_dir"] = data_dir
    duckdb_path = sections["warehouse"]["duckdb_path"]
    if not str(duckdb_path) or str(duckdb_path) == ".":
        duckdb_path = data_dir / "warehouse" / "culture_outcomes.duckdb"
    elif not duckdb_path.is_absolute():
        duckdb_path = PROJECT_ROOT / duckdb_path
    sections["warehouse"]["duckdb_path"] = duckdb_path

    target = sections["warehouse"]["target"]
    if target not in {"duckdb", "postgres"}:
        raise ConfigError(f"configuration warehouse.target must be duckdb or postgres, got {target!r}")
    attribution = sections["publishing"]["successor_attribution"]
    if attribution not in {"successor", "as_published"}:
        raise ConfigError(
            "configuration publishing.successor_attribution must be successor or as_published, "
            f"got {attribution!r}"
        )
    return Settings(
        **{name: _SECTIONS[name](**kwargs) for name, kwargs in sections.items()},
        config_file=path,
    )
