"""The case store: cases kept across runs, with an append-only history.

A **case** is opened on one or more alerts (the entities they name come with them) or entities
of a run (the current one by default). It has a title, a **status**, an assignee, a
**qualification** (`administrative_error`, `abuse`, `fraud`), notes, **decisions** (an action
of the catalogue, `cases.actions`, with its date, deadline and amounts in euros: estimated
harm, overpayment notified, recovered) and a **history**: one event per change (who, with which
role, when, what), never updated nor deleted (SQLite triggers refuse it). An alert belongs to one
case at most.

Statuses and the moves between them (`TRANSITIONS`):

    open ──→ in_review ──→ confirmed ──→ closed
      │  ╲        │    ╲                   ↑
      │   ╲       │     ╲→ dismissed ──────┘
      └────┴──────┴──────→ (any of them) ; closed and dismissed reopen to open

Confirming needs a qualification, and only a confirmed case (or one being confirmed) takes one.
Decisions are recorded on cases in review or confirmed.

What a case change means for the scans is written in the same transaction (`runs.history`):
dismissing or closing a case **reviews** its alerts (their score and the patterns on their
entities now; later scans re-alert them only on new material risk), reopening it withdraws the
reviews; a decision **watches** the behaviour behind each pattern of the case from the latest
decision date (every later scan measures its impact).

Every change takes the case's **version** and raises `Stale` when the case changed since the
caller read it (`expected_version`), so two clients editing one case never overwrite each other:
the second reloads and retries. Notes and decisions are appended, so they may skip the check.
All writes run in one SQLite transaction begun with `BEGIN IMMEDIATE` (`runs.history`), safe
across the API's workers, the CLI and the scheduler.

Raises `NotFound("case", id)`, `Stale`, `Invalid` (bad values, each named) and `Refused` (a move
the status does not allow, an alert already in a case).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timezone

from contract.errors import FraudnetError, Invalid, NotFound, Refused, Stale
from contract.tables import MAX_AMOUNT
from contract.vocab import ENTITY_TYPES, PATIENT_PATTERNS, STANDINGS, split_node_id
from graph.impact import IMPACT
from runs import history, results
from runs.history import now, transaction
from runs.store import Store

from .actions import action, catalogue

STATUSES = ("open", "in_review", "confirmed", "dismissed", "closed")
IN_USE = ("open", "in_review", "confirmed")        # statuses whose opening run retention keeps
IMPACT_DATES = [f.name for f in IMPACT if f.type == "date32[day]"]
TRANSITIONS = {
    "open": ("in_review", "confirmed", "dismissed", "closed"),
    "in_review": ("open", "confirmed", "dismissed", "closed"),
    "confirmed": ("in_review", "closed"),
    "dismissed": ("open", "closed"),
    "closed": ("open",),
}
QUALIFICATIONS = ("administrative_error", "abuse", "fraud")
REVIEWED = ("dismissed", "closed")          # the question is closed: the case's alerts are reviewed
DECIDABLE = ("in_review", "confirmed")      # decisions are recorded on these
AMOUNTS = ("estimated_harm", "overpayment_notified", "recovered")
MAX_TEXT = 10_000
LIST_COLUMNS = ("case_id", "title", "status", "outcome", "assignee", "qualification", "patterns", "alerts",
                "providers", "patients", "decisions", "last_action", "last_decided_on", "overpayment_notified",
                "recovered", "opened_at", "opened_by", "updated_at", "version")   # a case list's row

REGION_PATTERN, REGION_MAX = r"^[0-9A-Za-z]+$", 10   # a case list's region: a postcode prefix (every face)
FILTER_MAX = 100                                      # a case list's assignee or profession, in characters


def filter_problems(region: str | None, assignee: str | None, profession: str | None) -> list[str]:
    """What is wrong with a case list's text filters, each named with its value: the one rule the
    API's parameters (`api/routes/cases.py`) and the command line both apply."""
    problems = []
    if region is not None and (len(region) > REGION_MAX or not re.match(REGION_PATTERN, region)):
        problems.append(f"region: {region!r} is not a postcode prefix (1 to {REGION_MAX} letters and digits, e.g. 69)")
    for field, value in (("assignee", assignee), ("profession", profession)):
        if value is not None and len(value) > FILTER_MAX:
            problems.append(f"{field}: {len(value):,} characters, at most {FILTER_MAX}")
    return problems


ADDED = (("opened_on", "TEXT"), ("patients", "INTEGER"))   # columns stores made before them lack

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS cases (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id       TEXT NOT NULL UNIQUE,
    title         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ({", ".join(repr(s) for s in STATUSES)})),
    outcome       TEXT,                -- confirmed or dismissed: the last of the two it reached
    assignee      TEXT,
    qualification TEXT CHECK (qualification IS NULL OR qualification IN ({", ".join(repr(q) for q in QUALIFICATIONS)})),
    version       INTEGER NOT NULL,
    run_id        TEXT,                -- the run it was opened on
    opened_on     TEXT,                -- YYYY-MM-DD: when the control began (default: the day of opened_at)
    patients      INTEGER,             -- distinct patients in its alerts' evidence lines and named, at opening
    opened_at     TEXT NOT NULL,
    opened_by     TEXT NOT NULL,
    updated_at    TEXT NOT NULL,
    updated_by    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_alerts (
    case_id  TEXT NOT NULL REFERENCES cases (case_id),
    alert_id TEXT NOT NULL UNIQUE,     -- an alert belongs to one case at most
    pattern  TEXT NOT NULL,
    score    REAL NOT NULL,            -- when the case was opened
    rank     INTEGER,
    summary  TEXT NOT NULL,
    PRIMARY KEY (case_id, alert_id)
);
CREATE TABLE IF NOT EXISTS case_entities (
    case_id     TEXT NOT NULL REFERENCES cases (case_id),
    entity_type TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    roles       TEXT NOT NULL,         -- its roles in the case's alerts, or 'named'
    patterns    TEXT NOT NULL,         -- JSON list: the patterns of the case's alerts naming it
    kind        TEXT,
    specialty   TEXT,
    postcode    TEXT,
    name        TEXT,
    standing    TEXT,                  -- its strongest standing in the case's alerts (accused >
                                       -- participant > victim); NULL when only named
    PRIMARY KEY (case_id, entity_type, entity_id)
);
CREATE TABLE IF NOT EXISTS case_notes (
    note_id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL REFERENCES cases (case_id),
    at      TEXT NOT NULL,
    who     TEXT NOT NULL,
    text    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_decisions (
    decision_id          INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id              TEXT NOT NULL REFERENCES cases (case_id),
    action               TEXT NOT NULL,
    label                TEXT NOT NULL,
    insurer              TEXT NOT NULL,
    level                INTEGER NOT NULL,
    decided_on           TEXT NOT NULL,
    deadline             TEXT,
    estimated_harm       REAL,
    overpayment_notified REAL,
    recovered            REAL,
    note                 TEXT,
    at                   TEXT NOT NULL,
    who                  TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    updated_by           TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS case_events (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id  TEXT NOT NULL REFERENCES cases (case_id),
    version  INTEGER NOT NULL,
    at       TEXT NOT NULL,
    who      TEXT NOT NULL,
    role     TEXT NOT NULL,
    action   TEXT NOT NULL,
    detail   TEXT NOT NULL              -- JSON: what changed (never a patient id)
);
CREATE TABLE IF NOT EXISTS impact_kept (
    run_id     TEXT NOT NULL,              -- a run retention removed (`keep_impact`)
    started_at TEXT NOT NULL,
    status     TEXT NOT NULL,              -- succeeded or held
    case_id    TEXT NOT NULL,
    pattern    TEXT NOT NULL,
    measure    TEXT NOT NULL,              -- JSON: the run's `impact` row (`graph.impact.IMPACT`)
    PRIMARY KEY (run_id, case_id, pattern)
);
CREATE INDEX IF NOT EXISTS case_events_case ON case_events (case_id, event_id);
CREATE INDEX IF NOT EXISTS case_entities_entity ON case_entities (entity_type, entity_id);
CREATE TRIGGER IF NOT EXISTS case_events_no_update BEFORE UPDATE ON case_events
    BEGIN SELECT RAISE(ABORT, 'the case history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_events_no_delete BEFORE DELETE ON case_events
    BEGIN SELECT RAISE(ABORT, 'the case history is append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_notes_no_update BEFORE UPDATE ON case_notes
    BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_notes_no_delete BEFORE DELETE ON case_notes
    BEGIN SELECT RAISE(ABORT, 'notes are append-only'); END;
CREATE TRIGGER IF NOT EXISTS case_decisions_no_delete BEFORE DELETE ON case_decisions
    BEGIN SELECT RAISE(ABORT, 'decisions are never deleted'); END;
"""


@dataclass(frozen=True)
class Actor:
    """Who changes a case: a name and a role (an API key's, or `cli` for the command line)."""
    name: str
    role: str


def _text(problems: list, field: str, value, required: bool = False, limit: int = MAX_TEXT) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            problems.append(f"{field}: must not be empty")
        return None
    if not isinstance(value, str) or len(value) > limit:
        problems.append(f"{field}: must be a text of at most {limit:,} characters")
        return None
    return value.strip()


def _day(problems: list, field: str, value) -> str | None:
    if value is None or value == "":
        return None
    try:
        return (value if isinstance(value, date) else date.fromisoformat(str(value))).isoformat()
    except ValueError:
        problems.append(f"{field}: {value!r} is not a date (expected YYYY-MM-DD)")
        return None


def _today() -> str:
    """Today, UTC, as YYYY-MM-DD: no case date may be later."""
    return datetime.now(timezone.utc).date().isoformat()


MAX_EUROS = MAX_AMOUNT    # the largest amount a decision may carry: a claim's bound (api/models.py too)


def _euros(problems: list, field: str, value) -> float | None:
    if value is None or value == "":
        return None
    try:
        x = float(value) if not (isinstance(value, str) and "_" in value) else float("nan")   # 1_000
    except (TypeError, ValueError):
        x = float("nan")
    if not x >= 0 or x == float("inf"):
        problems.append(f"{field}: {value!r} is not an amount in euros ≥ 0")
        return None
    if x > MAX_EUROS:
        problems.append(f"{field}: {value!r} is more than {MAX_EUROS:,.0f} euros")
        return None
    return round(x, 2) + 0.0        # -0.0 is 0.0


def _recovered(problems: list, notified: float | None, recovered: float | None):
    """What is recovered of a decision's notified overpayment cannot exceed it. A decision that
    notifies none may still record money recovered (a repayment after a warning or an invitation
    to repay, whose amount no notification fixed)."""
    if notified is not None and recovered is not None and recovered > notified:
        problems.append(f"recovered: {recovered:.2f} is more than the overpayment notified ({notified:.2f} euros)")


def _subject(e: dict) -> bool:
    """Is this case entity a patient the case is about — the accused of a patient's pattern
    (doctor shopping) or a patient named when the case was opened —, shown by id to readers, rather
    than one of the patients a provider billed, only counted?"""
    return e["entity_type"] == "patient" and (bool(set(e["patterns"]) & set(PATIENT_PATTERNS))
                                              or "named" in e["roles"].split(", "))


# a patient id of at least this many letters and digits is refused anywhere inside a title; a
# shorter one only as a word of its own (a short id is found by chance inside other numbers)
PATIENT_ID_INSIDE = 8


def _names_a_patient(con, text: str | None) -> bool:
    """Does `text` hold the id of a patient of the run open on `con` (its `nodes`)? Compared
    without case and without what is neither a letter nor a digit (`p0001241`, `P 0001241`,
    `xP0001241_abc` all hold `P0001241`): anywhere for an id of `PATIENT_ID_INSIDE` letters and
    digits or more, as a word for a shorter one. A case's title is listed, exported and logged
    where patients' ids never go; a title refused by chance asks only for other words."""
    if not text:
        return False
    words = sorted({w.lower() for w in re.findall(r"[\w.\-]+", text)})
    squeezed = re.sub(r"[\W_]+", "", text).lower()
    return con.execute("""
        SELECT count(*) FROM (SELECT lower(regexp_replace(entity_id, '[^0-9A-Za-z]', '', 'g')) AS k, entity_id
                              FROM nodes WHERE entity_type = 'patient')
        WHERE lower(entity_id) IN (SELECT unnest($w)) OR (length(k) >= $n AND contains($s, k))""",
                       {"w": words, "s": squeezed, "n": PATIENT_ID_INSIDE}).fetchone()[0] > 0


TITLE_NAMES_A_PATIENT = ("title: names a patient by their id, which never goes into a case's title (the case lists "
                         "the patient it is about among its entities, each read audited: open it with "
                         "--entity patient:ID, or entities [\"patient:ID\"] over the API)")


def strongest(standings: set) -> str | None:
    """An entity's standing in a case: the strongest of its alerts' (accused > participant >
    victim, `contract.vocab.STANDINGS`), None for an entity only named by the analyst."""
    return next((s for s in STANDINGS if s in standings), None)


# a decision's number within its case (1 for the first recorded): what every face shows and
# takes as `decision_id` (the table's own key runs across cases, so a case's first decision was
# "decision 2" when another case had one)
DECISION_NUMBER = "row_number() OVER (ORDER BY case_decisions.decision_id)"

# a case's victims (deceived or used: the doctors a shopper visited) are neither labelled, nor
# counted among its providers, nor a profession it is filed under
NOT_VICTIM = "coalesce(e.standing, '') <> 'victim'"


class CaseStore:
    """The cases of a store (see the module docstring). Each call opens its own connection, so
    one object may serve threads and every process sees the others' commits."""

    def __init__(self, store: Store):
        self.store = store

    def _connect(self):
        con = history.connect(self.store, SCHEMA)
        if not {c for c, _ in ADDED} <= {r[1] for r in con.execute("PRAGMA table_info(cases)")}:
            with transaction(con):      # a store made before these columns: add them, once
                have = {r[1] for r in con.execute("PRAGMA table_info(cases)")}
                for column, kind in ADDED:
                    if column not in have:
                        con.execute(f"ALTER TABLE cases ADD COLUMN {column} {kind}")
                con.execute("UPDATE cases SET opened_on = substr(opened_at, 1, 10) WHERE opened_on IS NULL")
        if "standing" not in {r[1] for r in con.execute("PRAGMA table_info(case_entities)")}:
            with transaction(con):      # a store made before it: its entities' standing is unknown (NULL),
                if "standing" not in {r[1] for r in con.execute("PRAGMA table_info(case_entities)")}:
                    con.execute("ALTER TABLE case_entities ADD COLUMN standing TEXT")   # read as before
        return con

    def _empty(self) -> bool:
        """No history database yet: nothing to read (and reads do not make one)."""
        return not (self.store.root / history.FILE).exists()

    # --- what retention keeps ---------------------------------------------------------------

    def runs_in_use(self) -> set[str]:
        """The runs that cases still worked on (open, in review or confirmed: `IN_USE`) were
        opened on. A case file reads each alert's complete evidence from that run when the
        current run no longer has the alert, so retention keeps them
        (`scheduler.schedule.apply_retention`)."""
        if self._empty():
            return set()
        con = self._connect()
        try:
            return {r[0] for r in con.execute(
                f"SELECT DISTINCT run_id FROM cases WHERE run_id IS NOT NULL AND status IN ({', '.join('?' * len(IN_USE))})",
                IN_USE)}
        finally:
            con.close()

    def keep_impact(self, run: dict) -> int:
        """Copy the impact a run measured (`run`: its record, `Store.get_run`) into the history
        (`impact_kept`) before retention removes the run, so that cases go on showing it
        (`kept_impact`). Returns the rows kept; a run whose results cannot be read keeps none."""
        if self._empty():
            return 0
        try:
            con = self.store.connect(run["run_id"])
        except FraudnetError:
            return 0
        try:
            rows = results.impacts(con)
        finally:
            con.close()
        if not rows:
            return 0
        con = self._connect()
        try:
            with transaction(con):
                con.executemany("INSERT OR REPLACE INTO impact_kept VALUES (?, ?, ?, ?, ?, ?)", [
                    (run["run_id"], run["started_at"], run["status"], r["case_id"], r["pattern"],
                     json.dumps(r, default=str)) for r in rows])
        finally:
            con.close()
        return len(rows)

    def kept_impact(self, case_id: str) -> list[dict]:
        """The impact measured for a case by runs retention removed (`keep_impact`), newest first:
        run_id, started_at, current (False), status, removed (True), measures (`graph.impact.IMPACT`
        fields, dates as dates)."""
        if self._empty():
            return []
        con = self._connect()
        try:
            rows = con.execute("SELECT run_id, started_at, status, measure FROM impact_kept WHERE case_id = ? "
                               "ORDER BY started_at DESC, run_id, pattern", (case_id,)).fetchall()
        finally:
            con.close()
        out: dict[str, dict] = {}
        for run_id, started_at, status, measure in rows:
            m = json.loads(measure)
            for f in IMPACT_DATES:
                m[f] = m[f] and date.fromisoformat(m[f])
            out.setdefault(run_id, {"run_id": run_id, "started_at": started_at, "current": False,
                                    "status": status, "removed": True, "measures": []})["measures"].append(m)
        return list(out.values())

    # --- reading --------------------------------------------------------------------------------

    def list(self, status: str | None = None, assignee: str | None = None, pattern: str | None = None,
             region: str | None = None, profession: str | None = None, limit: int = 50,
             offset: int = 0) -> tuple[list[dict], int]:
        """Cases, newest first, with filters: `status`, `assignee`, `pattern` (of one of its
        alerts), `region` (a postcode prefix of one of its providers or centres), `profession`
        (the kind or specialty of one of its providers); and how many match. Each row: case_id,
        title, status, outcome, assignee, qualification, version, opened_at, opened_by,
        updated_at, patterns, alerts, providers, patients (distinct patients of its alerts' evidence
        lines, counted at opening), decisions, last_action, last_decided_on,
        overpayment_notified, recovered. Raises `Invalid` for a filter `filter_problems` refuses."""
        if problems := filter_problems(region, assignee, profession):
            raise Invalid(problems)
        where = f"""($status IS NULL OR c.status = $status) AND ($assignee IS NULL OR c.assignee = $assignee)
            AND ($pattern IS NULL OR EXISTS (SELECT 1 FROM case_alerts a WHERE a.case_id = c.case_id
                                                                          AND a.pattern = $pattern))
            AND ($region IS NULL OR EXISTS (SELECT 1 FROM case_entities e WHERE e.case_id = c.case_id
                 AND e.entity_type IN ('provider', 'centre') AND e.postcode LIKE $region || '%' AND {NOT_VICTIM}))
            AND ($profession IS NULL OR EXISTS (SELECT 1 FROM case_entities e WHERE e.case_id = c.case_id
                 AND e.entity_type = 'provider' AND (e.kind = $profession OR e.specialty = $profession)
                 AND {NOT_VICTIM}))"""
        params = {"status": status, "assignee": assignee, "pattern": pattern, "region": region,
                  "profession": profession}
        if self._empty():
            return [], 0
        con = self._connect()
        try:
            total = con.execute(f"SELECT count(*) FROM cases c WHERE {where}", params).fetchone()[0]
            rows = [dict(r) for r in con.execute(f"""
                SELECT c.case_id, c.title, c.status, c.outcome, c.assignee, c.qualification, c.version,
                       c.opened_at, c.opened_by, c.updated_at,
                       (SELECT json_group_array(DISTINCT pattern) FROM (SELECT pattern FROM case_alerts a
                         WHERE a.case_id = c.case_id ORDER BY pattern)) AS patterns,
                       (SELECT count(*) FROM case_alerts a WHERE a.case_id = c.case_id) AS alerts,
                       (SELECT count(*) FROM case_entities e WHERE e.case_id = c.case_id
                         AND e.entity_type = 'provider' AND {NOT_VICTIM}) AS providers,
                       c.patients,
                       (SELECT count(*) FROM case_decisions d WHERE d.case_id = c.case_id) AS decisions,
                       (SELECT action FROM case_decisions d WHERE d.case_id = c.case_id
                         ORDER BY decided_on DESC, decision_id DESC LIMIT 1) AS last_action,
                       (SELECT max(decided_on) FROM case_decisions d WHERE d.case_id = c.case_id) AS last_decided_on,
                       (SELECT round(sum(overpayment_notified), 2) FROM case_decisions d
                         WHERE d.case_id = c.case_id) AS overpayment_notified,
                       (SELECT round(sum(recovered), 2) FROM case_decisions d WHERE d.case_id = c.case_id) AS recovered
                FROM cases c WHERE {where} ORDER BY c.seq DESC LIMIT $limit OFFSET $offset""",
                {**params, "limit": limit, "offset": offset})]
        finally:
            con.close()
        for r in rows:
            r["patterns"] = json.loads(r["patterns"])
        return rows, total

    def get(self, case_id: str) -> dict:
        """One case: its fields (`patients`: the distinct patients of its alerts' evidence lines
        and the patients named, counted when it was opened; None for a case opened before fraudnet
        counted them), alerts (as opened), entities (the patients it is about — `_subject` — with
        their pseudonymous ids as the input carries them; the other patients only counted:
        `patients_sampled`, those its alerts name, at most 5–10 per alert), notes, decisions and
        history. Raises `NotFound`."""
        con = self._connect()
        try:
            return self._get(con, case_id)
        finally:
            con.close()

    def _get(self, con, case_id: str) -> dict:
        row = con.execute("SELECT * FROM cases WHERE case_id = ?", (case_id,)).fetchone()
        if row is None:
            raise NotFound("case", case_id)
        case = dict(row)
        case.pop("seq")
        case["alerts"] = [dict(r) for r in con.execute(
            "SELECT alert_id, pattern, score, rank, summary FROM case_alerts WHERE case_id = ? "
            "ORDER BY rank, pattern, alert_id", (case_id,))]
        ents = [dict(r) for r in con.execute(
            "SELECT entity_type, entity_id, roles, standing, patterns, kind, specialty, postcode, name FROM case_entities "
            "WHERE case_id = ? ORDER BY entity_type, entity_id", (case_id,))]
        for e in ents:
            e["patterns"] = json.loads(e["patterns"])
        case["entities"] = [e for e in ents if e["entity_type"] != "patient" or _subject(e)]
        case["patients_sampled"] = sum(e["entity_type"] == "patient" for e in ents)
        case["patterns"] = sorted({a["pattern"] for a in case["alerts"]})
        case["notes"] = [dict(r) for r in con.execute(
            "SELECT note_id, at, who, text FROM case_notes WHERE case_id = ? ORDER BY note_id", (case_id,))]
        case["decisions"] = [dict(r) for r in con.execute(   # numbered within the case, in the order recorded
            f"SELECT {DECISION_NUMBER} AS decision_id, action, label, insurer, level, decided_on, deadline, "
            "estimated_harm, overpayment_notified, recovered, note, at, who, updated_at, updated_by FROM case_decisions "
            "WHERE case_id = ? ORDER BY decided_on, case_decisions.decision_id", (case_id,))]
        case["history"] = self._history(con, case_id)
        return case

    def _history(self, con, case_id: str) -> list[dict]:
        out = []
        for r in con.execute("SELECT event_id, version, at, who, role, action, detail FROM case_events "
                             "WHERE case_id = ? ORDER BY event_id", (case_id,)):
            out.append({**dict(r), "detail": json.loads(r["detail"])})
        return out

    def history(self, case_id: str) -> list[dict]:
        """The case's events, oldest first: event_id, version, at, who, role, action, detail."""
        con = self._connect()
        try:
            if con.execute("SELECT 1 FROM cases WHERE case_id = ?", (case_id,)).fetchone() is None:
                raise NotFound("case", case_id)
            return self._history(con, case_id)
        finally:
            con.close()

    def cases_of(self, entity_type: str, entity_id: str) -> list[dict]:
        """The cases naming an entity (case_id, title, status, outcome, qualification, roles,
        standing: its standing in the case, None when only named or in a case opened before
        standings were kept), newest first."""
        if self._empty():
            return []
        con = self._connect()
        try:
            return [dict(r) for r in con.execute(
                "SELECT c.case_id, c.title, c.status, c.outcome, c.qualification, e.roles, e.standing FROM case_entities e "
                "JOIN cases c USING (case_id) WHERE e.entity_type = ? AND e.entity_id = ? ORDER BY c.seq DESC",
                (entity_type, entity_id))]
        finally:
            con.close()

    def case_of_alert(self, alert_id: str) -> dict | None:
        """The case an alert belongs to (case_id, status, outcome), or None."""
        if self._empty():
            return None
        con = self._connect()
        try:
            row = con.execute("SELECT c.case_id, c.status, c.outcome FROM case_alerts a JOIN cases c USING (case_id) "
                              "WHERE a.alert_id = ?", (alert_id,)).fetchone()
            return dict(row) if row else None
        finally:
            con.close()

    def labelled_entities(self) -> list[dict]:
        """Per entity a case is about — its providers, centres, legal entities and people, and the
        patient of a patient's pattern (doctor shopping), not the patients billed by a provider,
        nor its victims (the doctors and pharmacies a shopper deceived) —:
        its node key, the cases' ids, statuses and decisions'
        actions, and the labels `Confirmed` (one of its cases was confirmed, and not reopened since)
        or else `Dismissed` (one was dismissed): what Neo4j shows investigators."""
        if self._empty():
            return []
        con = self._connect()
        patient_patterns = ", ".join(f"'{p}'" for p in PATIENT_PATTERNS)
        try:
            rows = con.execute(f"""
                SELECT e.entity_type, e.entity_id,
                       json_group_array(c.case_id) AS case_ids, json_group_array(c.status) AS statuses,
                       max(c.outcome = 'confirmed') AS confirmed, max(c.outcome = 'dismissed') AS dismissed,
                       (SELECT json_group_array(DISTINCT d.action) FROM case_decisions d
                        WHERE d.case_id IN (SELECT case_id FROM case_entities x
                                            WHERE x.entity_type = e.entity_type AND x.entity_id = e.entity_id)) AS actions
                FROM case_entities e JOIN cases c USING (case_id)
                WHERE (e.entity_type <> 'patient' OR EXISTS (SELECT 1 FROM json_each(e.patterns) p
                                                              WHERE p.value IN ({patient_patterns})))
                  AND {NOT_VICTIM}
                GROUP BY e.entity_type, e.entity_id ORDER BY e.entity_type, e.entity_id""").fetchall()
        finally:
            con.close()
        out = []
        for r in rows:
            labels = ["Confirmed"] if r["confirmed"] else ["Dismissed"] if r["dismissed"] else []
            out.append({"key": f"{r['entity_type']}:{r['entity_id']}", "case_ids": json.loads(r["case_ids"]),
                        "case_statuses": json.loads(r["statuses"]), "decisions": sorted(json.loads(r["actions"])),
                        "labels": labels})
        return out

    # --- writing --------------------------------------------------------------------------------

    def open(self, who: Actor, alerts: list[str] = (), entities: list[str] = (), title: str | None = None,
             assignee: str | None = None, note: str | None = None, run_id: str | None = None,
             opened_on=None) -> dict:
        """Open a case on `alerts` (ids) and `entities` (`type:id`) of run `run_id` (the current
        one by default): the alerts' entities come with them, with their roles. `opened_on`
        (YYYY-MM-DD, default today, UTC): the day the control began, earlier for a case taken over
        from before fraudnet; decisions may not predate it. The case keeps how many distinct
        patients its alerts' evidence lines (and the patients named) hold. Returns the case.
        Raises `Invalid` (nothing to open on, a bad entity or date), `NotFound` (an unknown alert
        or entity, no current run) and `Refused` (an alert already in a case)."""
        problems = []
        opened_on = _day(problems, "opened_on", opened_on) or _today()
        if opened_on and opened_on > _today():
            problems.append(f"opened_on: {opened_on} is in the future (today is {_today()})")
        title = _text(problems, "title", title, limit=300)
        assignee = _text(problems, "assignee", assignee, limit=100)
        note = _text(problems, "note", note)
        alerts, entities = list(dict.fromkeys(alerts)), list(dict.fromkeys(entities))
        if not alerts and not entities:
            problems.append("alerts, entities: a case is opened on at least one alert or entity")
        named = []
        for e in entities:
            try:
                named.append(split_node_id(e))
            except ValueError:      # its id unsaid: it may be a patient's, under a mistyped type
                said = repr(e.partition(":")[0] + ":…") if ":" in e else "a value without ':'"
                problems.append(f"entities: {said} is not type:id (type one of {', '.join(ENTITY_TYPES)})")
        if problems:
            raise Invalid(problems)
        asked, run_id = run_id, self.store.resolve(run_id)
        found, members, accused = [], {}, []
        con = self.store.connect(run_id)
        try:
            if _names_a_patient(con, title):
                raise Invalid([TITLE_NAMES_A_PATIENT])
            for alert_id in alerts:
                try:
                    a = results.alert(con, alert_id)
                except NotFound as e:                    # the run asked for, if any (a patient alert's id unsaid)
                    raise NotFound(e.kind, e.key, e.detail, run_id=asked) from None
                found.append(a)
                for e in a["entities"]:
                    m = members.setdefault((e["entity_type"], e["entity_id"]),
                                           {"roles": set(), "patterns": set(), "standings": set()})
                    m["roles"].add(e["role"])
                    m["standings"].add(e.get("standing"))
                    m["patterns"].add(a["pattern"])
                    if e.get("standing") == "accused":
                        accused.append((e["entity_type"], e["entity_id"]))
            for etype, eid in named:
                try:
                    results.entity(con, etype, eid)
                except NotFound as e:                    # the run asked for, if any (a patient's id unsaid)
                    raise NotFound(e.kind, e.key, e.detail, run_id=asked) from None
                members.setdefault((etype, eid), {"roles": set(), "patterns": set(), "standings": set()})["roles"].add("named")
            patients = results.evidence_patients(con, [a["alert_id"] for a in found],
                                                 [i for t, i in named if t == "patient"])
            keys = ("entity_type", "entity_id", "kind", "specialty", "postcode", "name")
            attrs = {(r[0], r[1]): dict(zip(keys, r)) for r in con.execute(
                f"SELECT {', '.join(keys)} FROM nodes WHERE node_id IN (SELECT unnest($ids))",
                {"ids": [f"{t}:{i}" for t, i in members]}).fetchall()}
        finally:
            con.close()
        if title is None:   # after whom its alerts accuse (patients counted, never named), else its entities
            pool = list(dict.fromkeys(accused)) or [k for k, m in members.items()
                                                    if k[0] != "patient" or "named" in m["roles"]]
            names = [i for t, i in pool if t != "patient"][:3]
            n = sum(t == "patient" for t, _ in pool)
            names += ["a patient"] if n == 1 else [f"{n} patients"] if n else []
            title = (", ".join(sorted({a["pattern"] for a in found})) or "entities") + \
                (": " + ", ".join(names) if names else "")
        at = now()
        con = self._connect()
        try:
            with transaction(con):
                taken = [r["alert_id"] for r in con.execute(
                    f"SELECT alert_id FROM case_alerts WHERE alert_id IN ({','.join('?' * len(alerts))})", alerts)] \
                    if alerts else []
                if taken:
                    owner = con.execute("SELECT case_id FROM case_alerts WHERE alert_id = ?", (taken[0],)).fetchone()[0]
                    raise Refused(f"alert {taken[0]} is already in case {owner}: work it there (reopen it if it is "
                                  "closed)")
                seq = con.execute("SELECT coalesce(max(seq), 0) + 1 FROM cases").fetchone()[0]
                case_id = f"C-{seq:05d}"
                con.execute("INSERT INTO cases (seq, case_id, title, status, assignee, version, run_id, opened_on, "
                            "patients, opened_at, opened_by, updated_at, updated_by) "
                            "VALUES (?, ?, ?, 'open', ?, 1, ?, ?, ?, ?, ?, ?, ?)",
                            (seq, case_id, title, assignee, run_id, opened_on, patients, at, who.name, at, who.name))
                con.executemany("INSERT INTO case_alerts VALUES (?, ?, ?, ?, ?, ?)",
                                [(case_id, a["alert_id"], a["pattern"], a["score"], a["rank"], a["summary"])
                                 for a in found])
                con.executemany("INSERT INTO case_entities (case_id, entity_type, entity_id, roles, patterns, kind, "
                                "specialty, postcode, name, standing) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [
                    (case_id, t, i, ", ".join(sorted(m["roles"])), json.dumps(sorted(m["patterns"])),
                     attrs.get((t, i), {}).get("kind"), attrs.get((t, i), {}).get("specialty"),
                     attrs.get((t, i), {}).get("postcode"), attrs.get((t, i), {}).get("name") if t != "patient" else None,
                     strongest(m["standings"]))
                    for (t, i), m in sorted(members.items())])
                detail = {"run_id": run_id, "alerts": [a["alert_id"] for a in found],
                          "entities": sorted(f"{t}:{i}" for t, i in members if t != "patient"),
                          "patients": patients, "opened_on": opened_on, "title": title}
                if assignee:
                    detail["assignee"] = assignee
                self._event(con, case_id, 1, at, who, "opened", detail)
                if note:
                    con.execute("INSERT INTO case_notes (case_id, at, who, text) VALUES (?, ?, ?, ?)",
                                (case_id, at, who.name, note))
                    self._event(con, case_id, 1, at, who, "noted", {"note_id": con.execute(
                        "SELECT last_insert_rowid()").fetchone()[0]})
            return self._get(con, case_id)
        finally:
            con.close()

    def update(self, case_id: str, who: Actor, expected_version: int | None, status: str | None = None,
               assignee: str | None = None, qualification: str | None = None, title: str | None = None) -> dict:
        """Change a case's status, assignee (`""` unassigns), qualification or title, if it is still
        at `expected_version` (None: whatever it is). Returns the case. Raises `NotFound`,
        `Stale`, `Invalid` and `Refused` (a move the status does not allow; confirming without a
        qualification; a qualification given to a case that is not, or does not become, confirmed)."""
        problems = []
        if status is not None and status not in STATUSES:
            problems.append(f"status: {status!r} is not one of {', '.join(STATUSES)}")
        if qualification is not None and qualification not in QUALIFICATIONS:
            problems.append(f"qualification: {qualification!r} is not one of {', '.join(QUALIFICATIONS)}")
        if assignee is not None and assignee != "":
            assignee = _text(problems, "assignee", assignee, limit=100)
        if title is not None:
            title = _text(problems, "title", title, required=True, limit=300)
        if all(v is None for v in (status, assignee, qualification, title)):
            problems.append("nothing to change: give a status, assignee, qualification or title")
        if title and self.store.current() is not None:
            with self.store.reading() as (_, run):
                if _names_a_patient(run, title):
                    problems.append(TITLE_NAMES_A_PATIENT)
        if problems:
            raise Invalid(problems)
        con = self._connect()
        try:
            with transaction(con):
                case = self._current(con, case_id, expected_version)
                changes = {}
                for field, value in (("title", title), ("assignee", assignee if assignee != "" else None),
                                     ("qualification", qualification), ("status", status)):
                    given = value is not None or (field == "assignee" and assignee == "")
                    if given and value != case[field]:
                        changes[field] = [case[field], value]
                new = {**case, **{k: v[1] for k, v in changes.items()}}
                if "status" in changes:
                    if status not in TRANSITIONS[case["status"]]:
                        raise Refused(f"case {case_id} is {case['status']}: it can move to "
                                      f"{', '.join(TRANSITIONS[case['status']])}, not to {status}")
                    if status == "confirmed" and not new["qualification"]:
                        raise Refused(f"confirming case {case_id} needs a qualification "
                                      f"({', '.join(QUALIFICATIONS)})")
                if "qualification" in changes and new["status"] != "confirmed":
                    moving = f", moving to {status}" if "status" in changes else ""
                    raise Refused(f"case {case_id} is {case['status']}{moving}: a qualification is given to a "
                                  f"confirmed case (confirm it with its qualification: {', '.join(QUALIFICATIONS)})")
                if not changes:
                    return self._get(con, case_id)
                version, at = case["version"] + 1, now()
                outcome = (status if status in ("confirmed", "dismissed")
                           else None if status in ("open", "in_review") else case["outcome"])
                con.execute("UPDATE cases SET title = ?, status = ?, outcome = ?, assignee = ?, qualification = ?, "
                            "version = ?, updated_at = ?, updated_by = ? WHERE case_id = ?",
                            (new["title"], new["status"], outcome, new["assignee"], new["qualification"], version, at,
                             who.name, case_id))
                for field, (old, value) in changes.items():
                    self._event(con, case_id, version, at, who, {"status": "status", "assignee": "assigned",
                                                                 "qualification": "qualified", "title": "titled"}[field],
                                {"from": old, "to": value})
                if "status" in changes:
                    self._review(con, case_id, case["status"], status, at)
            return self._get(con, case_id)
        finally:
            con.close()

    def note(self, case_id: str, who: Actor, text: str, expected_version: int | None = None) -> dict:
        """Append a note. Returns the case. Raises `NotFound`, `Stale`, `Invalid`."""
        problems = []
        text = _text(problems, "text", text, required=True)
        if problems:
            raise Invalid(problems)
        con = self._connect()
        try:
            with transaction(con):
                case = self._current(con, case_id, expected_version)
                version, at = case["version"] + 1, now()
                con.execute("INSERT INTO case_notes (case_id, at, who, text) VALUES (?, ?, ?, ?)",
                            (case_id, at, who.name, text))
                note_id = con.execute("SELECT last_insert_rowid()").fetchone()[0]
                self._bump(con, case_id, version, at, who)
                self._event(con, case_id, version, at, who, "noted", {"note_id": note_id})
            return self._get(con, case_id)
        finally:
            con.close()

    def decide(self, case_id: str, who: Actor, action_id: str, decided_on, deadline=None, estimated_harm=None,
               overpayment_notified=None, recovered=None, note: str | None = None,
               expected_version: int | None = None) -> dict:
        """Record a decision: an action of the catalogue, its date (YYYY-MM-DD), a deadline (needed
        by actions that say so, not before the date) and amounts in euros ≥ 0. The behaviour
        behind each pattern of the case is then watched from the latest decision date. Returns
        the case. Raises `NotFound`, `Stale`, `Invalid` and `Refused` (a case not in review nor
        confirmed)."""
        problems = []
        known = catalogue(self.store)
        act = action(known, action_id) if isinstance(action_id, str) else None
        if act is None:
            problems.append(f"action: {action_id!r} is not in the catalogue ({', '.join(a.id for a in known)})")
        day = _day(problems, "decided_on", decided_on)
        if day is None and not any(p.startswith("decided_on") for p in problems):
            problems.append("decided_on: the decision's date is needed (YYYY-MM-DD)")
        if day and day > _today():
            problems.append(f"decided_on: {day} is in the future (today is {_today()})")
        due = _day(problems, "deadline", deadline)
        if act is not None and act.deadline and due is None and not any(p.startswith("deadline") for p in problems):
            problems.append(f"deadline: action {act.id} needs a deadline (YYYY-MM-DD)")
        if day and due and due < day:
            problems.append(f"deadline: {due} is before the decision's date {day}")
        amounts = {k: _euros(problems, k, v) for k, v in
                   (("estimated_harm", estimated_harm), ("overpayment_notified", overpayment_notified),
                    ("recovered", recovered))}
        _recovered(problems, amounts["overpayment_notified"], amounts["recovered"])
        note = _text(problems, "note", note)
        if problems:
            raise Invalid(problems)
        con = self._connect()
        try:
            with transaction(con):
                case = self._current(con, case_id, expected_version)
                if case["status"] not in DECIDABLE:
                    raise Refused(f"case {case_id} is {case['status']}: decisions are recorded on cases "
                                  f"{' or '.join(DECIDABLE)}")
                if day < case["opened_on"]:
                    raise Invalid([f"decided_on: {day} is before case {case_id} was opened ({case['opened_on']})"])
                version, at = case["version"] + 1, now()
                con.execute("INSERT INTO case_decisions (case_id, action, label, insurer, level, decided_on, deadline, "
                            "estimated_harm, overpayment_notified, recovered, note, at, who, updated_at, updated_by) "
                            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (case_id, act.id, act.label, act.insurer, act.level, day, due, amounts["estimated_harm"],
                             amounts["overpayment_notified"], amounts["recovered"], note, at, who.name, at, who.name))
                decision_id = con.execute("SELECT count(*) FROM case_decisions WHERE case_id = ?", (case_id,)).fetchone()[0]
                self._bump(con, case_id, version, at, who)
                self._event(con, case_id, version, at, who, "decided",
                            {"decision_id": decision_id, "action": act.id, "decided_on": day, "deadline": due,
                             **{k: v for k, v in amounts.items() if v is not None}})
                self._watch(con, case_id)
            return self._get(con, case_id)
        finally:
            con.close()

    def update_decision(self, case_id: str, decision_id: int, who: Actor, expected_version: int | None,
                        deadline=None, estimated_harm=None, overpayment_notified=None, recovered=None) -> dict:
        """Change decision `decision_id` of the case (its number within the case: 1 for the first
        recorded) — its deadline or amounts (what is recovered comes later). Its action and date
        stay. Returns the case. Raises `NotFound`, `Stale`, `Invalid`."""
        problems = []
        due = _day(problems, "deadline", deadline)
        amounts = {k: _euros(problems, k, v) for k, v in
                   (("estimated_harm", estimated_harm), ("overpayment_notified", overpayment_notified),
                    ("recovered", recovered))}
        given = {k: v for k, v in {"deadline": due, **amounts}.items() if v is not None}
        if not given and not problems:
            problems.append("nothing to change: give a deadline or an amount")
        if problems:
            raise Invalid(problems)
        con = self._connect()
        try:
            with transaction(con):
                case = self._current(con, case_id, expected_version)
                old = con.execute("SELECT * FROM case_decisions WHERE case_id = ? ORDER BY decision_id "
                                  "LIMIT 1 OFFSET ?", (case_id, decision_id - 1)).fetchone()
                if old is None:
                    raise NotFound("decision", f"{case_id}/{decision_id}")
                if "deadline" in given and given["deadline"] < old["decided_on"]:
                    raise Invalid([f"deadline: {given['deadline']} is before the decision's date {old['decided_on']}"])
                bad = []
                _recovered(bad, given.get("overpayment_notified", old["overpayment_notified"]),
                           given.get("recovered", old["recovered"]))
                if bad:
                    raise Invalid(bad)
                version, at = case["version"] + 1, now()
                con.execute(f"UPDATE case_decisions SET {', '.join(f'{k} = ?' for k in given)}, updated_at = ?, "
                            "updated_by = ? WHERE decision_id = ?", (*given.values(), at, who.name, old["decision_id"]))
                self._bump(con, case_id, version, at, who)
                self._event(con, case_id, version, at, who, "decision_updated",
                            {"decision_id": decision_id, **{k: {"from": old[k], "to": v} for k, v in given.items()}})
            return self._get(con, case_id)
        finally:
            con.close()

    # --- inside a transaction -------------------------------------------------------------------

    def _current(self, con, case_id: str, expected_version: int | None) -> dict:
        row = con.execute("SELECT * FROM cases WHERE case_id = ?", (case_id,)).fetchone()
        if row is None:
            raise NotFound("case", case_id)
        if expected_version is not None and row["version"] != expected_version:
            raise Stale("case", case_id, expected_version, row["version"])
        return dict(row)

    def _bump(self, con, case_id: str, version: int, at: str, who: Actor):
        con.execute("UPDATE cases SET version = ?, updated_at = ?, updated_by = ? WHERE case_id = ?",
                    (version, at, who.name, case_id))

    def _event(self, con, case_id: str, version: int, at: str, who: Actor, what: str, detail: dict):
        con.execute("INSERT INTO case_events (case_id, version, at, who, role, action, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (case_id, version, at, who.name, who.role, what, json.dumps(detail, sort_keys=True, default=str)))

    def _review(self, con, case_id: str, before: str, after: str, at: str):
        """Keep the reviews of the case's alerts in step with its status (`runs.history`)."""
        if after not in REVIEWED:
            con.execute("DELETE FROM alert_reviews WHERE case_id = ?", (case_id,))
            return
        if before in REVIEWED:
            con.execute("UPDATE alert_reviews SET status = ? WHERE case_id = ?", (after, case_id))
            return
        alerts = [dict(r) for r in con.execute("SELECT alert_id, pattern, score FROM case_alerts WHERE case_id = ?",
                                               (case_id,))]
        if not alerts:
            return
        now_seen = self._now_seen([a["alert_id"] for a in alerts])
        last = {r["alert_id"]: r["last_score"] for r in con.execute(
            f"SELECT alert_id, last_score FROM alert_history WHERE alert_id IN ({','.join('?' * len(alerts))})",
            [a["alert_id"] for a in alerts])}
        con.executemany("INSERT OR REPLACE INTO alert_reviews VALUES (?, ?, ?, ?, ?, ?, NULL)", [
            (a["alert_id"], case_id, after,
             now_seen.get(a["alert_id"], {}).get("score", last.get(a["alert_id"], a["score"])),
             json.dumps(now_seen.get(a["alert_id"], {}).get("patterns", [a["pattern"]])), at) for a in alerts])

    def _now_seen(self, alert_ids: list[str]) -> dict[str, dict]:
        """{alert_id: {score, patterns}} for the alerts in the current run: their score and the
        patterns naming their entities (patients aside)."""
        run_id = self.store.current()
        if run_id is None:
            return {}
        con = self.store.connect(run_id)
        try:
            rows = con.execute("""
                SELECT a.alert_id, any_value(a.score) AS score, list(DISTINCT o.pattern ORDER BY o.pattern) AS patterns
                FROM alerts a LEFT JOIN alert_entities e ON e.alert_id = a.alert_id AND e.entity_type <> 'patient'
                LEFT JOIN alert_entities e2 ON e2.entity_type = e.entity_type AND e2.entity_id = e.entity_id
                LEFT JOIN alerts o ON o.alert_id = e2.alert_id
                WHERE a.alert_id IN (SELECT unnest($ids)) GROUP BY a.alert_id""", {"ids": alert_ids}).fetchall()
        finally:
            con.close()
        return {a: {"score": s, "patterns": [p for p in pats if p]} for a, s, pats in rows}

    def _watch(self, con, case_id: str):
        """Watch each pattern of the case from its latest decision date (`runs.history`)."""
        decided_on = con.execute("SELECT max(decided_on) FROM case_decisions WHERE case_id = ?", (case_id,)).fetchone()[0]
        ents = [dict(r) for r in con.execute("SELECT entity_type, entity_id, patterns FROM case_entities WHERE case_id = ?",
                                             (case_id,))]
        patterns = sorted({p for e in ents for p in json.loads(e["patterns"])})
        con.executemany("INSERT OR REPLACE INTO impact_watches VALUES (?, ?, ?, ?)", [
            (case_id, p, json.dumps([[e["entity_type"], e["entity_id"]] for e in ents if p in json.loads(e["patterns"])]),
             decided_on) for p in patterns])
