"""The audit log of reads: who read which entity or alert, when. Kept in the store.

One JSON object per line in `STORE/audit/<YYYY-MM-DD>.jsonl`, appended under a lock with
O_APPEND, so concurrent requests never interleave and a crash loses at most the line being
written. It names the entities read (patients included: that is its purpose) and is readable only
by admins; the application log never names them.
"""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime, timezone

from .store import Store

_lock = threading.Lock()


def audit(store: Store, who, action: str, target: str):
    now = datetime.now(timezone.utc)
    line = json.dumps({"at": now.isoformat(timespec="milliseconds"), "who": who.name, "role": who.role,
                       "action": action, "target": target}, sort_keys=True) + "\n"
    folder = store.root / "audit"
    with _lock:
        folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(folder / f"{now:%Y-%m-%d}.jsonl", os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line.encode())
        finally:
            os.close(fd)


def read_audit(store: Store, day: str | None = None, limit: int = 100, offset: int = 0) -> tuple[list[dict], int]:
    """Entries, newest first, of one day (YYYY-MM-DD) or of all days."""
    folder = store.root / "audit"
    if not folder.is_dir():
        return [], 0
    files = sorted(folder.glob(f"{day or '*'}.jsonl"), reverse=True)
    entries = []
    for f in files:
        entries += [json.loads(x) for x in reversed(f.read_text().splitlines()) if x.strip()]
    return entries[offset:offset + limit], len(entries)
