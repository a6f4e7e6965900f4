"""The README states every bound the API enforces: each bounded query or path parameter and each
bounded field of a request body (cases, decisions, run settings), read from the OpenAPI schema the
server validates with, must appear in the README's Limits table with its bounds."""
import re
from pathlib import Path

from api.app import create_app
from api.auth import parse_keys
from runs.store import Store

from .conftest import REPO


def number(x) -> str:
    """1000 as `1000`, 1000000000 as `1,000,000,000`, 0.5 as `0.5`."""
    if not float(x).is_integer():
        return f"{x:g}"
    return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))


def bounds(s: dict) -> str | None:
    """A schema's bounds as the README writes them: `1–500`, `≥ 1`, `(0, 0.5)`, `≤ 100 characters`."""
    for a in s.get("anyOf", []):
        s = {**a, **s}
    lo, hi = s.get("minimum", s.get("exclusiveMinimum")), s.get("maximum", s.get("exclusiveMaximum"))
    if lo is not None or hi is not None:
        if "exclusiveMinimum" in s or "exclusiveMaximum" in s:
            if lo is not None and hi is not None:
                return f"{'(' if 'exclusiveMinimum' in s else '['}{number(lo)}, {number(hi)}{')' if 'exclusiveMaximum' in s else ']'}"
            return f"> {number(lo)}" if lo is not None else f"< {number(hi)}"
        if lo is not None and hi is not None:
            return f"{number(lo)}–{number(hi)}"
        return f"≥ {number(lo)}" if lo is not None else f"≤ {number(hi)}"
    if "maxLength" in s:
        return (f"{s['minLength']}–{s['maxLength']:,} characters" if s.get("minLength")
                else f"≤ {s['maxLength']:,} characters")
    if "maxItems" in s:
        return f"≤ {s['maxItems']:,} items"
    return None


def enforced(spec: dict) -> set[tuple[str, str]]:
    """(name, bounds) of every bounded parameter and request-body field (nested models included)."""
    found, bodies = set(), []
    for ops in spec["paths"].values():
        for op in ops.values():
            for p in op.get("parameters", []):
                if p["in"] in ("query", "path") and (b := bounds(p["schema"])):
                    found.add((p["name"], b))
            for media in op.get("requestBody", {}).get("content", {}).values():
                bodies.append(media["schema"]["$ref"].rsplit("/", 1)[1])
    seen, schemas = set(), spec["components"]["schemas"]
    while bodies:
        name = bodies.pop()
        if name in seen:
            continue
        seen.add(name)
        for field, s in schemas[name].get("properties", {}).items():
            refs = re.findall(r"#/components/schemas/(\w+)", str(s))
            bodies += refs
            if not refs and (b := bounds(s)):
                found.add((field, b))
            if (b := bounds(s.get("items", {}))):
                found.add((field + "[]", b))
    return found


def readme_limits() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("### Limits", 1)[1].split("\n#", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_every_bound_the_api_enforces_is_in_the_readme(tmp_path):
    app = create_app(Store(tmp_path / "store"), parse_keys("t:admin:" + "k" * 24, "test"))
    expected = enforced(app.openapi())
    assert ("max_nodes", "2–2000") in expected and ("k", "1–10") in expected and ("max_hops", "1–6") in expected
    rows = readme_limits()
    missing = sorted((name, b) for name, b in expected
                     if not any(re.search(rf"`([a-z_*]+\.)*{re.escape(name)}`", row.split(" | ")[0])
                                and b in row for row in rows))
    assert missing == []


def test_a_server_told_to_stop_does_not_wait_for_a_running_heavy_read():
    """Closing the heavy-read workers waited for the reads they were running (`shutdown(wait=True)`):
    a server told to stop while a 2,000-node neighbourhood was being read (tens of seconds under
    load) outlived the 10 s a supervisor gives it. Now the running reads are ended."""
    import time

    from api.workers import HeavyReads, _ended
    heavy = HeavyReads(1)
    busy = heavy.pool().submit(time.sleep, 120)
    deadline = time.monotonic() + 60
    while not busy.running() and time.monotonic() < deadline:     # the worker started and took it
        time.sleep(0.1)
    processes = list(heavy.pool()._processes.values())
    assert busy.running() and processes and not any(map(_ended, processes))
    started = time.monotonic()
    heavy.close()
    assert time.monotonic() - started < 9.5         # `docker stop` waits 10 s
    left = {p.pid: _proc_status(p.pid) for p in processes if not _ended(p)}
    assert left == {}


def _proc_status(pid: int) -> str:
    """What the kernel says of a process that should have ended (its state and signal masks), so
    a failure explains itself."""
    try:
        return " ".join(line for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                        if line.startswith(("State", "SigIgn", "SigBlk", "SigPnd", "ShdPnd")))
    except OSError as e:
        return f"no /proc entry ({e})"


def _numeric_parameters(spec: dict, kind: str) -> list[tuple[str, str, str]]:
    """(method, path, name) of every query or path parameter of type `kind` (integer, number)."""
    out = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                s = p["schema"]
                if p["in"] in ("query", "path") and kind in [s.get("type")] + [a.get("type") for a in s.get("anyOf", [])]:
                    out.append((method, path, p["name"]))
    return out


def _asking(tmp_path):
    from fastapi.testclient import TestClient
    app = create_app(Store(tmp_path / "store"), parse_keys("t:admin:" + "k" * 24, "test"))
    return app.openapi(), TestClient(app, raise_server_exceptions=False)


PATH_VALUES = {"entity_type": "provider", "entity_id": "1", "case_id": "C-00001", "decision_id": "1", "run_id": "x",
               "alert_id": "x", "community_id": "x"}


def _call(client, method, path, name, value):
    """The call with `name` set to `value` (the other parameters valid or left out)."""
    url = path.format(**{**PATH_VALUES, **({name: value} if "{" + name + "}" in path else {})})
    query = {} if "{" + name + "}" in path else {name: value}
    if path.endswith("/paths"):
        query = {"from": "provider:1", "to": "provider:2", **query}
    return client.request(method.upper(), url, params=query, json={"deadline": "2025-01-01"},
                          headers={"X-API-Key": "k" * 24, "If-Match": "1"})


def test_every_whole_number_parameter_is_bounded_and_refused_past_its_bound(tmp_path):
    """`hub_degree` had no upper bound; every integer query or path parameter has one, at most
    `MAX_COUNT` (one bound for the API and the CLI), and 10²³ is a 422 naming it, never a 500."""
    from contract.tables import MAX_COUNT
    spec, client = _asking(tmp_path)
    found = _numeric_parameters(spec, "integer")
    assert {("get", "/api/v1/alerts", "offset"), ("get", "/api/v1/paths", "hub_degree"),
            ("patch", "/api/v1/cases/{case_id}/decisions/{decision_id}", "decision_id")} <= set(found)
    for method, path, name in found:
        op = spec["paths"][path][method]
        [s] = [p["schema"] for p in op["parameters"] if p["name"] == name]
        s = {**s, **next((a for a in s.get("anyOf", []) if a.get("type") == "integer"), {})}
        assert s.get("maximum", MAX_COUNT + 1) <= MAX_COUNT, (path, name)
        r = _call(client, method, path, name, "99999999999999999999999")
        assert r.status_code == 422 and f"parameter '{name}': Input should be less than or equal to " in r.json()["detail"], \
            (path, name, r.text)


def test_every_float_parameter_refuses_a_number_that_is_not_finite(tmp_path):
    """`GET /alerts?min_score=nan` answered 200 (an empty list; `-inf` every alert): a float query
    parameter takes finite numbers only, 422 naming it."""
    spec, client = _asking(tmp_path)
    found = _numeric_parameters(spec, "number")
    assert ("get", "/api/v1/alerts", "min_score") in found
    for method, path, name in found:
        for value in ("nan", "inf", "-inf", "1e400"):
            r = _call(client, method, path, name, value)
            assert (r.status_code, r.json()) == (422, {"detail": f"query parameter '{name}': Input should be a finite number"}), \
                (path, name, value, r.text)


def test_a_decision_s_amount_that_is_not_finite_is_refused_by_name(tmp_path):
    """A JSON body may carry NaN or Infinity (Python's json reads them): an amount must be finite,
    said as such, not as `less than or equal to 1000000000000`."""
    _, client = _asking(tmp_path)
    for value in ("NaN", "Infinity", "-Infinity"):
        r = client.patch("/api/v1/cases/C-00001/decisions/1", content='{"recovered": %s}' % value,
                         headers={"X-API-Key": "k" * 24, "If-Match": "1", "Content-Type": "application/json"})
        assert (r.status_code, r.json()) == (422, {"detail": "body parameter 'recovered': Input should be a finite number"})


def test_run_settings_take_finite_numbers_and_a_bounded_seed():
    """A `--settings` file, a schedule's job or `POST /runs` gave `resolution: Infinity` or a seed
    of 10²³ to the scan, which then failed inside Leiden (a seed past 2⁶³): refused up front, by name."""
    import pytest

    from contract.errors import SettingsError
    from runs.settings import parse_settings
    for given, said in (({"network": {"resolution": float("inf")}}, "network.resolution: Input should be a finite number"),
                        ({"changes": {"escalation": float("nan")}}, "changes.escalation: Input should be a finite number"),
                        ({"impact": {"min_reduction": float("nan")}}, "impact.min_reduction: Input should be a finite number"),
                        ({"seed": 10**23}, "seed: Input should be less than or equal to 1000000000"),
                        ({"seed": -1}, "seed: Input should be greater than or equal to 0")):
        with pytest.raises(SettingsError) as e:
            parse_settings(given, "settings.json")
        assert e.value.problems == [said]
    assert parse_settings({"seed": 1_000_000_000}, "settings.json").seed == 1_000_000_000


def test_every_whole_number_of_the_run_settings_is_bounded():
    """`doctor_shopping.supply_days: 1000000000` in a `--settings` file ended the scan in an
    internal error (a date past year 9999), `max_blocks: 1e20` was taken: every whole number of
    the settings (walked, so a new one is covered) has an upper bound, days at most MAX_DAYS."""
    import annotated_types
    import pytest
    from pydantic import BaseModel

    from contract.errors import SettingsError
    from contract.tables import MAX_COUNT, MAX_DAYS
    from runs.settings import RunSettings, parse_settings

    def walk(model: type[BaseModel], path: str):
        for name, field in model.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from walk(kind, f"{path}{name}.")
            elif kind in (int, int | None):
                le = [m.le for m in field.metadata if isinstance(m, annotated_types.Le)]
                yield f"{path}{name}", le[0] if le else None
    bounds = dict(walk(RunSettings, ""))
    assert "doctor_shopping.supply_days" in bounds and "max_problems" in bounds
    assert {n: b for n, b in bounds.items() if b is None or b > MAX_COUNT} == {}
    assert {n: b for n, b in bounds.items() if n.endswith("days") and b > MAX_DAYS} == {}
    for name, bound in bounds.items():
        *parents, leaf = name.split(".")
        given = {leaf: bound + 1}
        for parent in reversed(parents):
            given = {parent: given}
        with pytest.raises(SettingsError) as e:
            parse_settings(given, "settings.json")
        assert e.value.problems == [f"{name}: Input should be less than or equal to {bound}"]


def test_not_blank_is_blank_to_the_server_the_schema_and_the_store_alike():
    """A note of one U+001C passed the body's pattern (Unicode White_Space leaves it out) and was
    then refused by the case store as empty (Python's `str.strip` removes it): a schema-valid
    request answered 422. Every character the store strips is refused by the pattern, and every
    other one (U+FEFF aside: ECMAScript's \\s, the schema's readers) passes."""
    from pydantic import BaseModel, Field, ValidationError

    from api.models import NOT_BLANK

    class Text(BaseModel):
        text: str = Field(pattern=NOT_BLANK)

    def passes(c: str) -> bool:
        try:
            Text(text=c)
            return True
        except ValidationError:
            return False
    wrong = [hex(i) for i in range(0x3001) if passes(chr(i)) != (chr(i).strip() != "")]
    assert wrong == [] and not passes("\ufeff") and passes("a\x1c")


def test_a_boolean_is_refused_wherever_a_number_is_expected(tmp_path):
    """`max_problems: true` in a `--settings` file was taken as 1 (pydantic's lax mode reads a
    boolean as 1 or 0, and 1.0 for a float: `bulk_share: true` was the whole excess): every int and
    float field of the run settings (walked, so a new one is covered), a campaign's, a schedule
    job's and a decision body's refuses `true` and `false`, naming the field; a number given as
    text (`"5"`, which these inputs have always been allowed) and a boolean field still read."""
    import pytest
    from pydantic import BaseModel

    from contract.errors import SettingsError
    from contract.numbers import numeric_kind
    from runs.campaigns import read_campaign
    from runs.settings import RunSettings, parse_settings
    from scheduler.schedule import load_schedule

    def walk(model: type[BaseModel], path: str):
        for name, field in model.model_fields.items():
            kind = field.annotation
            if isinstance(kind, type) and issubclass(kind, BaseModel):
                yield from walk(kind, f"{path}{name}.")
            elif numeric_kind(kind):
                yield f"{path}{name}", numeric_kind(kind)
    numbers = dict(walk(RunSettings, ""))
    assert numbers["max_problems"] == "a whole number" and numbers["mega_consumer.bulk_share"] == "a number"
    assert numbers["impact.min_days"] == "a whole number" and numbers["checks.claims.min_count"] == "a whole number"
    for name, kind in numbers.items():
        for value, said in ((True, f"{kind}, not a boolean (true)"), (False, f"{kind}, not a boolean (false)"),
                            ("1_0", f"{kind} written without '_' ('1_0')")):   # Python reads 1_0 as 10
            *parents, leaf = name.split(".")
            given = {leaf: value}
            for parent in reversed(parents):
                given = {parent: given}
            with pytest.raises(SettingsError) as e:
                parse_settings(given, "settings.json")
            assert e.value.problems == [f"{name}: Input should be {said}"]
    kept = parse_settings({"max_problems": "5", "peer_outlier": {"acts_only": False}}, "settings.json")
    assert (kept.max_problems, kept.peer_outlier.acts_only) == (5, False)

    campaign = tmp_path / "c.toml"
    campaign.write_text('name = "c"\ntitle = "t"\nstatistic = "share_of_patients"\nfdr = true\n'
                        '[numerator]\ncodes = ["A"]\n[denominator]\nall_patients = true\n')
    with pytest.raises(SettingsError) as e:
        read_campaign(campaign)
    assert any("fdr: Input should be a number, not a boolean (true)" in p for p in e.value.problems), e.value.problems
    schedule = tmp_path / "s.toml"
    schedule.write_text(f'store = "{tmp_path / "store"}"\n[[jobs]]\nname = "j"\nsource = "{tmp_path}"\n'
                        'interval_seconds = 60\nretries = true\n')
    with pytest.raises(SettingsError) as e:
        load_schedule(schedule)
    assert any("key retries, value True: Input should be a whole number, not a boolean (true)" in p
               for p in e.value.problems), \
        e.value.problems
    _, client = _asking(tmp_path)
    r = client.patch("/api/v1/cases/C-00001/decisions/1", json={"recovered": True},
                     headers={"X-API-Key": "k" * 24, "If-Match": "1"})
    assert (r.status_code, r.json()) == (422, {"detail": "body parameter 'recovered': Input should be a number, "
                                                         "not a boolean (true)"})


def test_a_number_written_with_a_digit_separator_is_refused_in_a_body_and_the_environment(monkeypatch):
    """`"estimated_harm": "1_000"` was recorded as €1,000 and `FRAUDNET_HEAVY_WORKERS=1_6` started
    16 workers: pydantic reads a text as Python's float() and int() do, '_' between digits included."""
    import pytest
    from pydantic import ValidationError

    from api.models import DecisionCreate
    from config import Environment, environment_problems
    with pytest.raises(ValidationError) as e:
        DecisionCreate.model_validate({"action": "secm_warning", "decided_on": "2026-12-02", "estimated_harm": "1_000"})
    assert "Input should be a number written without '_' ('1_000')" in str(e.value)
    assert DecisionCreate.model_validate({"action": "secm_warning", "decided_on": "2026-12-02",
                                          "estimated_harm": "1000"}).estimated_harm == 1000.0
    monkeypatch.setenv("FRAUDNET_HEAVY_WORKERS", "1_6")
    with pytest.raises(ValidationError) as e:
        Environment()
    assert environment_problems(e.value) == ["FRAUDNET_HEAVY_WORKERS: Input should be a whole number written "
                                             "without '_' ('1_6')"]
