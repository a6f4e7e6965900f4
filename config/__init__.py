"""The runtime settings of fraudnet's faces, from the environment only (one object).

| variable | meaning (default) |
|---|---|
| `FRAUDNET_STORE` | the store folder (`fraudnet-store`) |
| `FRAUDNET_DATA_ROOT` | the folder under which `POST /runs` may scan datasets (unset: scans over the API are off) |
| `FRAUDNET_API_KEYS` | `name:role:key,…` (a secret) |
| `FRAUDNET_API_KEYS_FILE` | a file of `name:role:key` lines, instead |
| `FRAUDNET_SCAN_TIMEOUT` | seconds a scan started over the API may run (3600) |
| `FRAUDNET_MAX_BODY_BYTES` | the largest request body the API reads (1 MB) |
| `FRAUDNET_CLIENT_TIMEOUT` | seconds a client has to send a request's headers, and then its body (10) |
| `FRAUDNET_HEAVY_CALLS_PER_KEY` | neighbourhood, path and report calls one key may run at once (2) |

Secrets are `SecretStr`: never printed, never in a repr.
"""
from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FRAUDNET_", extra="ignore", frozen=True)

    store: Path = Path("fraudnet-store")
    data_root: Path | None = None
    api_keys: SecretStr | None = None
    api_keys_file: Path | None = None
    scan_timeout: float = Field(3600.0, gt=0, description="seconds")
    max_body_bytes: int = Field(1_000_000, ge=1024)
    client_timeout: float = Field(10.0, gt=0, description="seconds")
    heavy_calls_per_key: int = Field(2, ge=1)
