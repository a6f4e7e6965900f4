"""The runtime settings of fraudnet's faces, from the environment only: `Environment` (the API's
and the store's) and `Neo4jSettings` (the Neo4j server runs are published to).

| variable | meaning (default) |
|---|---|
| `FRAUDNET_STORE` | the store folder (`fraudnet-store`) |
| `FRAUDNET_DATA_ROOT` | the folder under which `POST /runs` may scan datasets (unset: scans over the API are off) |
| `FRAUDNET_API_KEYS` | `name:role:key,…` (a secret) |
| `FRAUDNET_API_KEYS_FILE` | a file of `name:role:key` lines, instead |
| `FRAUDNET_SCAN_TIMEOUT` | seconds a scan started over the API may run (3600) |
| `FRAUDNET_MAX_BODY_BYTES` | the largest request body the API reads (1 MB; 1 KiB to 1 GiB) |
| `FRAUDNET_CLIENT_TIMEOUT` | seconds a client has to send a request's headers, and then its body (10) |
| `FRAUDNET_HEAVY_CALLS_PER_KEY` | neighbourhood, path and report calls one key may run at once (2; at most 256) |
| `FRAUDNET_HEAVY_WORKERS` | processes that run those calls (unset: the number of cores + 1; at most 256) |

| variable | meaning (default) |
|---|---|
| `NEO4J_URI` | the Bolt URI of the Neo4j server (`bolt://host:7687`, `neo4j+s://host`…), without user or password |
| `NEO4J_USER` | (`neo4j`) |
| `NEO4J_PASSWORD` | (a secret; empty for a server without auth) |
| `NEO4J_DATABASE` | (`neo4j`) |

Secrets are `SecretStr`: never printed, never in a repr. A URI shown in a message or a log goes
through `safe_uri()`, which drops any user and password it holds.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from contract.errors import SettingsError
from contract.numbers import plain_number
from contract.tables import MAX_COUNT


# the largest a request body may be set to (1 GiB), and the most heavy-read calls per key and
# worker processes (each worker is a process started with the server: a machine runs a few)
MAX_BODY_BYTES, MAX_HEAVY = 1 << 30, 256


class Environment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUDNET_", extra="ignore", frozen=True, allow_inf_nan=False)

    store: Path = Path("fraudnet-store")
    data_root: Path | None = None
    api_keys: SecretStr | None = None
    api_keys_file: Path | None = None
    scan_timeout: float = Field(3600.0, gt=0, le=MAX_COUNT, description="seconds (a timer takes no more)")
    max_body_bytes: int = Field(1_000_000, ge=1024, le=MAX_BODY_BYTES)
    client_timeout: float = Field(10.0, gt=0, le=MAX_COUNT, description="seconds")
    heavy_calls_per_key: int = Field(2, ge=1, le=MAX_HEAVY)
    heavy_workers: int | None = Field(None, ge=1, le=MAX_HEAVY, description="processes, each started at once")

    @field_validator("*", mode="before")
    @classmethod
    def _plain(cls, value, info: ValidationInfo):
        """`FRAUDNET_HEAVY_WORKERS=1_6` is not 16 (`contract.numbers.plain_number`)."""
        return plain_number(cls.model_fields[info.field_name].annotation, value)


def environment_problems(e: ValidationError) -> list[str]:
    """One line per problem of `Environment`, naming the variable (`FRAUDNET_SCAN_TIMEOUT: …`), not
    the field."""
    return [f"FRAUDNET_{'_'.join(map(str, x['loc'])).upper()}: {x['msg']}" for x in e.errors()]


NEO4J_SCHEMES = ("bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc")   # the Neo4j drivers' URI schemes


def safe_uri(uri: str) -> str:
    """`uri` without the user and password of its authority, to be shown in a message or a log.

        >>> safe_uri("bolt://neo4j:s3cret@db.example.org:7687/?x=1"), safe_uri("neo4j+s://db.example.org")
        ('bolt://db.example.org:7687/?x=1', 'neo4j+s://db.example.org')
    """
    scheme, sep, rest = uri.partition("://")
    if not sep:
        scheme, rest = "", uri
    cut = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority = rest[:cut].rpartition("@")[2]
    return f"{scheme}{sep}{authority}{rest[cut:]}"


class Neo4jSettings(BaseSettings):
    """The Neo4j server runs are published to (`publish.neo4j`), from `NEO4J_URI`, `NEO4J_USER`,
    `NEO4J_PASSWORD` and `NEO4J_DATABASE`; keyword arguments (the CLI's `--uri`, `--user`,
    `--database`) take precedence. The password only ever comes from the environment in the
    faces, and is a `SecretStr`.

    Build it with `load()`, which reports every problem at once as a `SettingsError` without
    quoting the URI's credentials (pydantic's own `ValidationError` repeats the value as given).
    """
    model_config = SettingsConfigDict(env_prefix="NEO4J_", extra="ignore", frozen=True)

    uri: str = Field(description="the Bolt URI, e.g. bolt://localhost:7687")
    user: str = "neo4j"
    password: SecretStr = SecretStr("")
    database: str = "neo4j"

    @field_validator("uri")
    @classmethod
    def _uri(cls, v: str) -> str:
        scheme, sep, rest = v.partition("://")
        authority = rest.split("/")[0].split("?")[0].split("#")[0]
        if "@" in authority:
            # the message shows the URI without its credentials
            raise ValueError(f"holds a user or password ({safe_uri(v)}): give them in NEO4J_USER and "
                             "NEO4J_PASSWORD, never in the URI")
        if not sep or scheme not in NEO4J_SCHEMES or not authority:
            shown = f"{v!r} " if sep and "@" not in v else ""
            raise ValueError(f"{shown}is not a Neo4j URI (one of {', '.join(NEO4J_SCHEMES)}, then ://host[:port])")
        return v

    @classmethod
    def load(cls, **given) -> "Neo4jSettings":
        """The settings from the environment, `given` values (those not None) taking precedence.
        Raises `SettingsError` listing every problem (a missing or invalid `NEO4J_URI`, …)."""
        try:
            return cls(**{k: v for k, v in given.items() if v is not None})
        except ValidationError as e:      # its text quotes the values: only the messages go on
            problems = [f"NEO4J_{'.'.join(map(str, x['loc'])).upper()}: "
                        + ("not set (e.g. bolt://localhost:7687)" if x["type"] == "missing" else
                           x["msg"].removeprefix("Value error, ")) for x in e.errors()]
        raise SettingsError("the Neo4j settings", problems)

    @property
    def shown_uri(self) -> str:
        """The URI as messages and logs show it (without credentials)."""
        return safe_uri(self.uri)
