"""API keys: read from the environment only, held hashed in memory, compared in constant time.

`FRAUDNET_API_KEYS="name:role:key,name:role:key"` or `FRAUDNET_API_KEYS_FILE=path` (one
`name:role:key` per line, `#` comments). Roles: `analyst` (read) and `admin` (also starts scans
and reads the audit log). Keys shorter than 16 characters or left at a placeholder are refused.
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

ROLES = ("analyst", "admin")
PLACEHOLDERS = {"changeme", "change-me", "secret", "password", "key", "apikey", "api-key", "xxx"}
MIN_KEY_LENGTH = 16


class KeyError_(Exception):
    """The key configuration is unusable; the message says which entry and why."""


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
            raise KeyError_(f"{origin}: entry {n} is not name:role:key")
        name, role, key = (p.strip() for p in parts)
        if role not in ROLES:
            raise KeyError_(f"{origin}: entry {n} ({name}) has role {role!r}, expected one of {', '.join(ROLES)}")
        if key.lower() in PLACEHOLDERS or len(key) < MIN_KEY_LENGTH:
            raise KeyError_(f"{origin}: entry {n} ({name}) has a placeholder or a key shorter than "
                            f"{MIN_KEY_LENGTH} characters")
        entries.append((name, role, key))
    if not entries:
        raise KeyError_(f"{origin}: no API key configured")
    return KeyRing(entries)


def load_keys(env: dict | None = None) -> KeyRing:
    env = os.environ if env is None else env
    if env.get("FRAUDNET_API_KEYS_FILE"):
        path = Path(env["FRAUDNET_API_KEYS_FILE"])
        if not path.is_file():
            raise KeyError_(f"FRAUDNET_API_KEYS_FILE: {path} is not a file")
        return parse_keys(path.read_text(), str(path))
    if env.get("FRAUDNET_API_KEYS"):
        return parse_keys(env["FRAUDNET_API_KEYS"], "FRAUDNET_API_KEYS")
    raise KeyError_("no API keys: set FRAUDNET_API_KEYS=name:role:key[,...] or FRAUDNET_API_KEYS_FILE")
