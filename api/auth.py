"""API keys: read from the environment only, held hashed in memory, compared in constant time.

`FRAUDNET_API_KEYS="name:role:key,name:role:key"` or `FRAUDNET_API_KEYS_FILE=path` (one
`name:role:key` per line, `#` comments). Roles: `viewer` (reads), `analyst` (reads and works
cases) and `admin` (also starts and accepts scans and reads the audit log). Keys shorter than 16 characters or left at a placeholder are refused.
"""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from pathlib import Path

from contract.errors import SettingsError

ROLES = ("viewer", "analyst", "admin")
CASE_WORKERS = ("analyst", "admin")      # the roles that open and change cases
PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "key", "apikey", "api-key", "xxx"}
MIN_KEY_LENGTH = 16


class KeyConfigError(SettingsError):
    """The key configuration is unusable; `problems` says which entry and why."""

    def __init__(self, origin: str, problem: str):
        super().__init__(origin, [problem])
        self.args = (f"{origin}: {problem}",)


@dataclass(frozen=True)
class Principal:
    name: str
    role: str


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


class KeyRing:
    def __init__(self, entries: list[tuple[str, str, str]]):
        self._keys = [(_digest(key), Principal(name, role)) for name, role, key in entries]

    def __len__(self):
        return len(self._keys)

    def check(self, key: str | None) -> Principal | None:
        if not key:
            return None
        d = _digest(key)
        found = None
        for digest, principal in self._keys:   # no early exit: same time whichever key matches
            if hmac.compare_digest(digest, d):
                found = principal
        return found


def parse_keys(text: str, origin: str) -> KeyRing:
    entries = []
    for n, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
        item = raw.strip()
        if not item or item.startswith("#"):
            continue
        parts = item.split(":", 2)
        if len(parts) != 3:
            raise KeyConfigError(origin, f"entry {n} is not name:role:key")
        name, role, key = (p.strip() for p in parts)
        if role not in ROLES:
            raise KeyConfigError(origin, f"entry {n} ({name}) has role {role!r}, expected one of {', '.join(ROLES)}")
        if key.lower() in PLACEHOLDERS or len(key) < MIN_KEY_LENGTH:
            raise KeyConfigError(origin, f"entry {n} ({name}) has a placeholder or a key shorter than "
                                         f"{MIN_KEY_LENGTH} characters")
        if any(key == k for _, _, k in entries):
            raise KeyConfigError(origin, f"entry {n} ({name}) has the same key as another entry: every key must be unique")
        entries.append((name, role, key))
    if not entries:
        raise KeyConfigError(origin, "no API key configured")
    return KeyRing(entries)


def load_keys(env) -> KeyRing:
    """The keys of `env` (a `config.Environment`): its `api_keys_file`, else its `api_keys`.
    Raises `KeyConfigError`."""
    if env.api_keys_file:
        path = Path(env.api_keys_file)
        if not path.is_file():
            raise KeyConfigError("FRAUDNET_API_KEYS_FILE", "is not a file")
        return parse_keys(path.read_text(), "FRAUDNET_API_KEYS_FILE")
    if env.api_keys:
        return parse_keys(env.api_keys.get_secret_value(), "FRAUDNET_API_KEYS")
    raise KeyConfigError("the environment", "no API keys: set FRAUDNET_API_KEYS=name:role:key[,...] or "
                                            "FRAUDNET_API_KEYS_FILE")
