"""Configuration, from the environment only."""
import os
from dataclasses import dataclass, field
from pathlib import Path

# The contract's record schema: beside the repository's contracts/ by default,
# copied into the image by the Dockerfile (which sets the variable).
DEFAULT_SCHEMA = Path(__file__).resolve().parents[2] / "contracts" / "metric-record.schema.json"


@dataclass(frozen=True)
class Settings:
    port: int
    workers: int
    log_level: str
    db_host: str
    db_port: int
    db_user: str
    # Out of repr, so that logging the settings cannot print it.
    db_password: str = field(repr=False)
    db_name: str
    db_pool_size: int
    record_schema: Path
    # The write path's bearer token; required by the service (route1/__main__.py), not by
    # the migrations, which read the rest of these settings too.
    ingest_token: str = field(repr=False)


def _int(env, name, default):
    value = env.get(name, "").strip()
    return int(value) if value else default


def from_env(env=os.environ):
    return Settings(
        port=_int(env, "PORT", 8080),
        workers=max(1, _int(env, "WORKERS", 1)),
        log_level=env.get("LOG_LEVEL", "info").lower(),
        db_host=env.get("DB_HOST", "127.0.0.1"),
        db_port=_int(env, "DB_PORT", 3306),
        db_user=env.get("DB_USER", "monitor"),
        db_password=env.get("DB_PASSWORD", ""),
        db_name=env.get("DB_NAME", "monitor"),
        db_pool_size=max(1, _int(env, "DB_POOL_SIZE", 16)),
        record_schema=Path(env.get("METRIC_RECORD_SCHEMA", str(DEFAULT_SCHEMA))),
        ingest_token=env.get("INGEST_TOKEN", ""),
    )
