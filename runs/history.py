"""What a store remembers across runs, in one SQLite database, `STORE/history.sqlite`.

- `alert_history`: every alert ever made current, with its first and last current runs (and
  when), its last score and how many current runs had it. Recorded when a run becomes current
  (`record_run`, called by `runs.pipeline` after `Store.promote`; a held run only once accepted).
- `alert_reviews`: alerts an analyst closed the question on (their case is dismissed or closed),
  with the score and the patterns of their entities at that moment: later scans do not report
  them again unless the risk materially rose (`runs.changes`).
- `impact_watches`: behaviours to measure after a decision (a case's pattern, its entities, the
  decision date): every later scan measures them (`graph.impact`).

The case store (`cases.store`) keeps its tables in the same database and writes reviews and
watches in the same transaction as the case change they follow from, so they never disagree.

Why SQLite: several processes write (the API's workers, the CLI, the scheduler) and history must
be append-only and never lost. SQLite serialises writers with a file lock (`BEGIN IMMEDIATE`
takes it up front, so a transaction never fails half-way on a lock), WAL mode lets readers read
while one writes, and a committed transaction survives a crash (`synchronous=FULL`). It is in the
standard library and lives in the store folder, with nothing to run. WAL needs every writer on
one host (the scan lock works across hosts; this does not): the API, the CLI and the scheduler of
docker-compose share one. The file is readable by its owner only.

The pipeline reads everything once, up front (`read`), as Arrow tables, and never writes but
through `record_run`.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

import pyarrow as pa

from .store import Store

FILE = "history.sqlite"
BUSY_SECONDS = 30.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS alert_history (
    alert_id      TEXT PRIMARY KEY,
    pattern       TEXT NOT NULL,
    first_run     TEXT NOT NULL,
    first_seen_at TEXT NOT NULL,
    last_run      TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL,
    last_score    REAL NOT NULL,
    runs          INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alert_reviews (
    alert_id      TEXT PRIMARY KEY,
    case_id       TEXT NOT NULL,
    status        TEXT NOT NULL,
    score         REAL NOT NULL,       -- the score the question was closed at (or last re-alerted at)
    patterns      TEXT NOT NULL,       -- JSON list: patterns naming the alert's entities then
    reviewed_at   TEXT NOT NULL,
    realerted_run TEXT                 -- the last run that re-alerted it
);
CREATE TABLE IF NOT EXISTS impact_watches (
    case_id       TEXT NOT NULL,
    pattern       TEXT NOT NULL,
    entities      TEXT NOT NULL,       -- JSON list of [entity_type, entity_id]
    decided_on    TEXT NOT NULL,       -- YYYY-MM-DD
    PRIMARY KEY (case_id, pattern)
);
"""

TABLES = {
    "alert_history": pa.schema([("alert_id", pa.string()), ("pattern", pa.string()), ("first_run", pa.string()),
                                ("first_seen_at", pa.string()), ("last_run", pa.string()),
                                ("last_seen_at", pa.string()), ("last_score", pa.float64()), ("runs", pa.int64())]),
    "alert_reviews": pa.schema([("alert_id", pa.string()), ("case_id", pa.string()), ("status", pa.string()),
                                ("score", pa.float64()), ("patterns", pa.list_(pa.string())),
                                ("reviewed_at", pa.string()), ("realerted_run", pa.string())]),
    "impact_watches": pa.schema([("case_id", pa.string()), ("pattern", pa.string()),
                                 ("entities", pa.list_(pa.struct([("entity_type", pa.string()),
                                                                  ("entity_id", pa.string())]))),
                                 ("decided_on", pa.date32())]),
}


_made: set[tuple[str, str]] = set()     # databases whose tables this process has made sure of


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


FULL_BYTES = 1 << 20      # less free space than this: SQLite's I/O error is a full disk


def connect(store: Store, schema: str = "") -> sqlite3.Connection:
    """A connection to the store's history database (made, owner-only, on first use), in
    autocommit mode: write through `transaction()`. `schema`: more `CREATE … IF NOT EXISTS`
    statements (the case store's tables)."""
    store.root.mkdir(parents=True, exist_ok=True)
    path = store.root / FILE
    if not path.exists():
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    con = sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False)
    con.row_factory = sqlite3.Row
    try:
        con.execute("PRAGMA synchronous=FULL")
        con.execute("PRAGMA foreign_keys=ON")
        key = (str(path.resolve()), schema)
        if key not in _made:     # once per process and database: the tables, and WAL (a property of the file)
            con.execute("PRAGMA journal_mode=WAL")
            con.executescript(f"BEGIN IMMEDIATE;\n{SCHEMA}\n{schema}\nCOMMIT;")
            _made.add(key)
    except sqlite3.OperationalError as e:
        con.close()
        if shutil.disk_usage(store.root).free < FULL_BYTES:   # SQLite says "disk I/O error" for a full disk
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)) from e
        raise
    return con


@contextmanager
def transaction(con: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: `BEGIN IMMEDIATE` takes the write lock at once (waiting up to
    `BUSY_SECONDS` for another writer), so what is read inside is what is written against."""
    con.execute("BEGIN IMMEDIATE")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def read(store: Store) -> dict[str, pa.Table]:
    """The history as Arrow tables (`TABLES`): empty ones for a store without history yet."""
    if not (store.root / FILE).exists():
        return {name: schema.empty_table() for name, schema in TABLES.items()}
    con = connect(store)
    try:
        rows = {name: [dict(r) for r in con.execute(f"SELECT * FROM {name} ORDER BY 1, 2")]
                for name in TABLES}
    finally:
        con.close()
    for r in rows["alert_reviews"]:
        r["patterns"] = json.loads(r["patterns"])
    for r in rows["impact_watches"]:
        r["entities"] = [{"entity_type": t, "entity_id": i} for t, i in json.loads(r["entities"])]
        r["decided_on"] = datetime.strptime(r["decided_on"], "%Y-%m-%d").date()
    return {name: pa.Table.from_pylist(rows[name], TABLES[name]) for name in TABLES}


def record_run(store: Store, run_id: str, alerts: pa.Table, realerted: list[dict] = ()) -> None:
    """Record that run `run_id` became current with `alerts` (alert_id, pattern, score): each
    alert's last run (and its first, if new). `realerted`: the change report's re-alerted alerts
    (alert_id, score, patterns): their review now refers to this run's score and patterns, so
    they are re-alerted again only if the risk rises further."""
    at = now()
    rows = [(a, p, run_id, at, run_id, at, s) for a, p, s in
            zip(alerts["alert_id"].to_pylist(), alerts["pattern"].to_pylist(), alerts["score"].to_pylist())]
    con = connect(store)
    try:
        with transaction(con):
            con.executemany("""
                INSERT INTO alert_history VALUES (?, ?, ?, ?, ?, ?, ?, 1)
                ON CONFLICT (alert_id) DO UPDATE SET pattern = excluded.pattern,
                    last_run = excluded.last_run, last_seen_at = excluded.last_seen_at,
                    last_score = excluded.last_score, runs = runs + 1
                WHERE last_run <> excluded.last_run""", rows)
            con.executemany("UPDATE alert_reviews SET score = ?, patterns = ?, realerted_run = ? WHERE alert_id = ?",
                            [(r["score"], json.dumps(sorted(r["patterns"])), run_id, r["alert_id"]) for r in realerted])
    finally:
        con.close()


def seen(store: Store, alert_ids: list[str]) -> dict[str, dict]:
    """{alert_id: its alert_history row} for these alerts (those never current are left out)."""
    if not alert_ids or not (store.root / FILE).exists():
        return {}
    con = connect(store)
    try:
        marks = ",".join("?" * len(alert_ids))
        return {r["alert_id"]: dict(r) for r in
                con.execute(f"SELECT * FROM alert_history WHERE alert_id IN ({marks})", list(alert_ids))}
    finally:
        con.close()
