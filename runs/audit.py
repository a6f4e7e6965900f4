"""The audit log of reads: who read which entity-level data, when, from which run. Kept in the store.

One JSON object per line in `STORE/audit/<YYYY-MM-DD>.jsonl` (UTC days), fields `at`, `who`,
`role`, `action` (`entities.get`, `alerts.list`, `export`, …), `target` (what was read: an
entity, an alert, a file, a list's filters), `run` and, for lists and files, `rows`. It names the
providers, companies and alerts read; a **patient** is named by a keyed pseudonym
(`patient:~` + 24 hex digits of HMAC-SHA256 under the store's key, `node_target`), never by its
id, so the log holds no patient identifier and still answers "who read this patient?" for whoever
holds the id and the store (`read_audit(..., target=node_target(store, "patient:<id>"))`, the
API's `GET /api/v1/audit?target=`). Its folder is 0700 and its files 0600, and only admins read it.

**Writing** (`audit`): the whole line is appended with one `write` under an exclusive `flock` on
the day's file, so writers in several processes (the API, the CLI) never interleave. A write
that cannot complete — a full disk gives a short write or `ENOSPC` — is undone (the file is cut
back to where it was) and raises `AuditUnavailable`: the caller then refuses the read instead of
serving it unaudited. A line cut by a crash in the middle of a write (a power loss) is followed
by a line break before the next line, so it never swallows it.

**Reading** (`read_audit`) skips a line that is not a JSON object and counts it (`damaged`), so
a cut line never stops the log from being read.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import hmac
import json
import os
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from contract.errors import AuditUnavailable
from contract.vocab import split_node_id

from .store import Store


def node_target(store: Store, node: str) -> str:
    """How the audit log names the entity `node` (`type:id`): as it is, except a patient, named
    `patient:~` + the first 24 hex digits of HMAC-SHA256(the store's key, the patient id) — a
    keyed pseudonym (RFC 2104; the CNIL's traceability of access to health data without writing
    the identifier). The same patient gets the same pseudonym in every line of one store. A value
    that is not `type:id` is returned as it is."""
    try:
        entity_type, entity_id = split_node_id(node)
    except ValueError:
        return node
    if entity_type != "patient":
        return node
    digest = hmac.new(store.secret(), b"audit\0" + entity_id.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"patient:~{digest[:24]}"


def case_target(store: Store, case: dict) -> str:
    """How the audit log names a read or change of a case (`CaseStore.get`, `case_view`):
    `case:<id>`, then each patient the case shows (those it is about), by `node_target`'s
    pseudonym, so a patient's reads include the cases that show it."""
    shown = sorted(node_target(store, f"patient:{e['entity_id']}") for e in case.get("entities", [])
                   if e["entity_type"] == "patient")
    return " ".join([f"case:{case['case_id']}", *shown])


def audit(store: Store, who: str, role: str, action: str, target: str, run_id: str | None = None,
          rows: int | None = None):
    """Append one entry to today's audit log (see the module docstring). `who`, `role`: the
    reader (an API key's name and role, or the CLI's user and `cli`); `rows`: how many rows a
    list or a file returned. Raises `AuditUnavailable` when the entry cannot be written whole."""
    now = datetime.now(timezone.utc)
    entry = {"at": now.isoformat(timespec="milliseconds"), "who": who, "role": role, "action": action,
             "target": target, "run": run_id}
    if rows is not None:
        entry["rows"] = rows
    data = (json.dumps(entry, sort_keys=True, ensure_ascii=False) + "\n").encode()
    folder = store.root / "audit"
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(folder / f"{now:%Y-%m-%d}.jsonl", os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as e:
        raise AuditUnavailable(e.strerror or type(e).__name__) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        end = os.lseek(fd, 0, os.SEEK_END)
        if end and os.pread(fd, 1, end - 1) != b"\n":      # a line cut by a crash: start a new one
            data = b"\n" + data
        try:
            written = os.write(fd, data)
            if written != len(data):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError:
            os.ftruncate(fd, end)            # undo the part written: no cut line is left behind
            raise
    except OSError as e:
        raise AuditUnavailable(e.strerror or type(e).__name__) from None
    finally:
        os.close(fd)                         # releases the flock


def read_audit(store: Store, day: str | None = None, limit: int = 100, offset: int = 0,
               target: str | None = None) -> tuple[list[dict], int, int]:
    """(entries, total, damaged): entries newest first, of one day (YYYY-MM-DD) or of all days,
    only those whose `target` names `target` (as written: a patient by `node_target`) when it is
    given, `limit` from `offset`; `total` entries; `damaged` lines that could not be read (cut
    by a crash), skipped."""
    folder = store.root / "audit"
    if not folder.is_dir():
        return [], 0, 0
    entries, damaged = [], 0
    for f in sorted(folder.glob(f"{day or '*'}.jsonl"), reverse=True):
        for line in reversed(f.read_bytes().splitlines()):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except (json.JSONDecodeError, UnicodeDecodeError):
                entry = None
            if isinstance(entry, dict):
                if target is None or _names(entry.get("target"), target):
                    entries.append(entry)
            else:
                damaged += 1
    return entries[offset:offset + limit], len(entries), damaged


def _names(written, target: str) -> bool:
    """Whether an entry's target names `target`: the target itself, one end of a path
    (`a -> b`), a patient a case shows (`case_target`), or a list's `entity` filter."""
    if not isinstance(written, str):
        return False
    if written == target or target in written.split(" -> ") or target in written.split(" "):
        return True
    return target in parse_qs(urlsplit(written).query).get("entity", [])
