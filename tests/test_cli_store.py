"""Every command that reads or changes a store refuses a --store that is not one (a typo), naming
the path and leaving nothing behind; only a scan (and serve, whose API may scan) makes a store."""
import json
import re

import click
import pytest
from click.testing import CliRunner

from cli.main import _a_store, main

MAKERS = {("scan",), ("serve",)}
CHECKED_INSIDE = {("runs",)}      # a group: its own --store is checked when no subcommand is given


def commands(group=main, path=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from commands(cmd, path + (name,))
            if any(p.name == "store" for p in cmd.params):
                yield path + (name,), cmd
        else:
            yield path + (name,), cmd


def test_every_command_with_a_store_but_scan_and_serve_needs_an_existing_one():
    with_store = {path: cmd for path, cmd in commands() if any(p.name == "store" for p in cmd.params)}
    assert MAKERS <= set(with_store) and len(with_store) > 20
    for path, cmd in with_store.items():
        [store] = [p for p in cmd.params if p.name == "store"]
        assert (store.callback is _a_store) == (path not in MAKERS | CHECKED_INSIDE), path


@pytest.mark.parametrize("args", [
    ["cases", "list"], ["cases", "show", "C-00001"], ["cases", "open", "some-alert"], ["cases", "note", "C-00001", "x"],
    ["cases", "assign", "C-00001", "bob"], ["cases", "status", "C-00001", "in_review"],
    ["cases", "decide", "C-00001", "secm_warning", "--date", "2025-07-01"], ["cases", "kpis"], ["cases", "actions"],
    ["cases", "report", "C-00001", "--out", "c.html"], ["alerts"], ["alert", "some-alert"],
    ["entity", "provider", "1"], ["runs"], ["runs", "show", "x"], ["changes"], ["export", "out"]])
def test_a_mistyped_store_is_refused_by_name_and_not_made(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FRAUDNET_STORE", raising=False)
    done = CliRunner().invoke(main, args + ["--store", "TYPO"])
    assert done.exit_code == 2, done.output
    assert "TYPO is not a fraudnet store (no such folder)" in done.output
    assert sorted(p.name for p in tmp_path.iterdir()) == []          # nothing made, not even an audit log
    (tmp_path / "TYPO").mkdir()
    done = CliRunner().invoke(main, args + ["--store", "TYPO"])
    assert done.exit_code == 2 and "TYPO is not a fraudnet store (no scan has written to it)" in done.output
    assert [p.name for p in (tmp_path / "TYPO").iterdir()] == []


def test_a_damaged_run_record_is_listed_with_its_start_unknown(tmp_path):
    """A run whose run.json cannot be read: status `damaged`, started unknown (not its id), on both faces."""
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.auth import parse_keys
    from runs.store import Store
    store = Store(tmp_path / "store")
    broken = store.new_run(["x"], {})
    (broken.dir / "run.json").write_text("{")
    listed = CliRunner().invoke(main, ["runs", "--store", str(store.root)])
    assert listed.exit_code == 0, listed.output
    [row] = [line for line in listed.output.splitlines() if broken.id in line]
    cells = [c.strip() for c in row.split("│")]
    assert cells[1:8] == [broken.id, "damaged", "", "unknown", "", "", ""] and row.count(broken.id) == 1
    shown = CliRunner().invoke(main, ["runs", "show", broken.id, "--store", str(store.root)])
    assert '"status": "damaged"' in shown.output and '"started_at": null' in shown.output
    with TestClient(create_app(store, parse_keys("a:viewer:viewer-key-0123456789abcdef", "t"))) as client:
        [run] = client.get("/api/v1/runs", headers={"X-API-Key": "viewer-key-0123456789abcdef"}).json()["data"]
    assert (run["run_id"], run["status"], run["started_at"]) == (broken.id, "damaged", None)


def test_export_refuses_a_folder_whose_parent_is_missing_and_makes_nothing(region, tmp_path):
    """As `scan --export`: a missing parent is a typo, refused by name (exit 2), not made."""
    target = tmp_path / "m1" / "m2" / "out"
    done = CliRunner().invoke(main, ["export", str(target), "--store", str(region["store"].root)])
    assert done.exit_code == 2, done.output
    assert f"its parent folder {target.parent} does not exist" in done.output and not (tmp_path / "m1").exists()
    (tmp_path / "ro").write_text("a file")          # `export ro/x` where ro is a file: said so, not "missing"
    done = CliRunner().invoke(main, ["export", str(tmp_path / "ro" / "x"), "--store", str(region["store"].root)])
    assert done.exit_code == 2 and f"{tmp_path / 'ro'} is a file, not a folder" in done.output, done.output


def test_scan_refuses_an_export_folder_it_cannot_write_before_scanning(region, tmp_path):
    """`/proc` passes every permission check as root but takes no file: found before the scan, so
    no run is made current and then reported as failed (README: another exit code than 0 leaves
    the current results unchanged); a folder that can be written is left as it was found."""
    store = region["store"]
    current = store.current()
    done = CliRunner().invoke(main, ["scan", str(region["data"]), "--store", str(store.root), "--export", "/proc/nope"])
    assert done.exit_code == 2 and "--export /proc/nope: cannot write there" in done.output, done.output
    assert store.current() == current
    fresh = tmp_path / "out"
    from cli.main import _writable_folder
    _writable_folder(str(fresh), "--export")
    assert not fresh.exists()                     # probed, then removed: nothing made before the scan
    fresh.mkdir()
    _writable_folder(str(fresh), "--export")
    assert list(fresh.iterdir()) == []


def test_the_alert_table_keeps_alert_ids_whole_on_an_80_column_terminal(region, monkeypatch):
    """Ids are copied from the table into `fraudnet alert`: other columns wrap, ids are never cut."""
    import sys

    from rich.console import Console

    import cli.main
    def narrow(stderr=False):           # made when called: CliRunner swaps sys.stdout for each command
        return Console(file=sys.stdout, width=80, highlight=False, emoji=False, markup=False)
    monkeypatch.setattr(cli.main, "_console", narrow)
    done = CliRunner().invoke(main, ["alerts", "--store", str(region["store"].root), "--limit", "100", "--json"])
    ids = [json.loads(line)["alert_id"] for line in done.output.splitlines()]
    done = CliRunner().invoke(main, ["alerts", "--store", str(region["store"].root), "--limit", "100"])
    assert done.exit_code == 0 and ids and max(map(len, done.output.splitlines())) <= 80
    cut = [i for i in ids if not re.search(rf"(^|\s){re.escape(i)}(\s|$)", done.output, re.M)]
    assert not cut, cut


def test_the_seconds_of_a_run_are_its_wall_clock_time_however_it_ended(tmp_path):
    """A run stopped by its time limit of 6 s after a 2.8 s load shows 6 seconds, not 2.8."""
    from datetime import datetime, timedelta, timezone

    from runs.settings import RunSettings
    from runs.store import Store
    store = Store(tmp_path / "store")
    run = store.new_run(["data"], RunSettings().model_dump(mode="json"))
    run.stage("load")
    run.stage("load", 2.8)
    run.stage("build")
    run.record["started_at"] = (datetime.now(timezone.utc) - timedelta(seconds=6)).isoformat(timespec="milliseconds")
    run.finish("failed", error={"type": "TimedOut", "message": "stopped after its time limit of 6 s"})
    done = CliRunner().invoke(main, ["runs", "--store", str(store.root)])
    row = next(line for line in done.output.splitlines() if run.id in line)
    assert re.search(r"│ +6\.[0-4] +│", row) and "2.8" not in row, row


@pytest.mark.parametrize("args", [["export", "OUT", "--run", "doesnotexist"], ["runs", "show", "doesnotexist"],
                                  ["alerts", "--run", "doesnotexist"]])
def test_a_run_id_that_names_no_run_is_bad_input_exit_code_2(tmp_path, args):
    """README, scan's exit codes: 2 is bad input — a run id typed wrong is one (it exited 1)."""
    from runs.store import Store
    store = Store(tmp_path / "store")
    store.new_run(["x"], {})
    done = CliRunner().invoke(main, [a.replace("OUT", str(tmp_path / "out")) for a in args] +
                              ["--store", str(store.root)])
    assert (done.exit_code, done.output) == (2, "error: no run 'doesnotexist'\n")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args, said", [
    (["convert", "annuaire", "nothere", "OUT"], "error: Invalid value for 'SOURCES...': Path 'nothere' does not exist."),
    (["convert", "mapped", "m.toml", "nothere", "OUT"],
     "error: Invalid value for 'SOURCES...': Path 'm.toml' does not exist."),
    (["neo4j", "sync", "--batch-size", "0"], "error: Invalid value for '--batch-size': 0 is not in the range 1<=x<=1000000000."),
    (["--bogus"], "error: No such option '--bogus'."), (["nocommand"], "error: No such command 'nocommand'."),
    (["cases", "kpis", "--year", "abc"], "error: Invalid value for '--year': 'abc' is not a year (YYYY, 1900 to 2200)."),
    (["cases", "kpis", "--year", "1800"], "error: Invalid value for '--year': '1800' is not a year (YYYY, 1900 to 2200)."),
    (["alerts", "--limit", "ten"], "error: Invalid value for '--limit': 'ten' is not a valid whole number."),
    (["scan", ".", "--timeout", "1m"], "error: Invalid value for '--timeout': '1m' is not a valid number (of seconds)."),
    (["scan", ".", "--start", "2025-06-01", "--end", "2025-01-01"],
     "error: Invalid value for '--start': 2025-06-01 is after --end 2025-01-01: no service date would be scanned.")])
def test_a_command_line_click_refuses_is_worded_as_every_other_error(tmp_path, monkeypatch, args, said):
    """`error: …` as the rest of the CLI says it (click's own form is `Error: …`), after the usage, exit code 2."""
    monkeypatch.chdir(tmp_path)
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2 and done.output.rstrip("\n").endswith("\n" + said), done.output
    assert done.output.startswith("Usage: ") and "Error:" not in done.output
    bare = CliRunner().invoke(main, [])           # a bare group still shows its help
    assert "Commands:" in bare.output and "error:" not in bare.output


def test_scan_names_a_bad_dataset_as_given_as_validate_does(tmp_path, monkeypatch):
    from .conftest import claim, write_dataset
    monkeypatch.chdir(tmp_path)
    write_dataset(tmp_path / "bad", claims=[claim("K1", "P1", "D1", "C", "2025-01-32")],
                  providers=[{"provider_id": "D1", "kind": "physician"}])
    said = "1 problem(s) in bad:\n  - claims.csv, line 2, column service_date, value '2025-01-32': is not a date"
    validate = CliRunner().invoke(main, ["validate", "bad"])
    scan = CliRunner().invoke(main, ["scan", "bad", "--store", "store"])
    assert (validate.exit_code, scan.exit_code) == (2, 2)
    assert said in validate.output and said in scan.output and str(tmp_path) not in scan.output


def numeric_options(kind):
    """(command path, option) of every option of the CLI whose type is `kind` (int or float
    types, ranges included): a new option is walked too."""
    return [(path, p.opts[0]) for path, cmd in commands() for p in cmd.params
            if isinstance(p, click.Option) and isinstance(p.type, kind)]


INT_OPTIONS = numeric_options(click.types.IntParamType)
FLOAT_OPTIONS = numeric_options(click.types.FloatParamType)


def test_the_walk_finds_the_numeric_options():
    assert {(("alerts",), "--limit"), (("cases", "list"), "--limit"), (("scan",), "--seed"), (("serve",), "--port"),
            (("cases", "decide"), "--update")} <= set(INT_OPTIONS)
    assert {(("alerts",), "--min-score"), (("scan",), "--timeout"), (("cases", "decide"), "--harm"),
            (("evaluate",), "--k-factor"), (("schedule", "run"), "--stop-after")} <= set(FLOAT_OPTIONS)


@pytest.mark.parametrize("path, option", INT_OPTIONS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else x)
@pytest.mark.parametrize("value", ["9223372036854775808", "99999999999999999999999"])
def test_every_whole_number_option_is_bounded_and_refused_by_name_past_its_bound(tmp_path, monkeypatch, path, option,
                                                                                  value):
    """`alerts --limit 9223372036854775808` said the results file was damaged (exit 1); `cases list
    --limit 1e23` ended in an OverflowError traceback; `scan --seed 1e23` failed the scan in
    Leiden. Every integer option has an upper bound, `MAX_COUNT` unless its own is lower: past it,
    a usage error naming the option, the value and the range (exit 2), before the command runs."""
    from contract.tables import MAX_COUNT
    from runs.store import Store
    monkeypatch.chdir(tmp_path)
    Store(tmp_path / "store").new_run(["x"], {})
    monkeypatch.setenv("FRAUDNET_STORE", str(tmp_path / "store"))
    param = next(p for p in dict(commands())[path].params if option in p.opts)
    assert param.type.max is not None and param.type.max <= MAX_COUNT
    done = CliRunner().invoke(main, [*path, option, value])
    assert done.exit_code == 2 and isinstance(done.exception, SystemExit), done.output
    [said] = [line for line in done.output.splitlines() if line.startswith("error: ")]
    assert said.startswith(f"error: Invalid value for '{option}': "), said
    assert value in said and str(param.type.max) in said and "Traceback" not in done.output, said


@pytest.mark.parametrize("path, option", FLOAT_OPTIONS, ids=lambda x: " ".join(x) if isinstance(x, tuple) else x)
@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "1e400"])
def test_every_float_option_refuses_a_number_that_is_not_finite(tmp_path, monkeypatch, path, option, value):
    """`alerts --min-score nan` listed nothing, `scan --timeout inf` failed the scan's timer: a
    float option takes finite numbers only (exit 2, naming it)."""
    from runs.store import Store
    monkeypatch.chdir(tmp_path)
    Store(tmp_path / "store").new_run(["x"], {})
    monkeypatch.setenv("FRAUDNET_STORE", str(tmp_path / "store"))
    done = CliRunner().invoke(main, [*path, option, value])
    assert done.exit_code == 2, done.output
    assert f"error: Invalid value for '{option}': '{value}' is not a finite number." in done.output, done.output
    param = next(p for p in dict(commands())[path].params if option in p.opts)
    if param.type.max is not None:          # `evaluate --k-factor 1e300`: K was int(inf), a traceback
        done = CliRunner().invoke(main, [*path, option, "1e300"])
        assert done.exit_code == 2 and "1e+300 is not in the range" in done.output, done.output


@pytest.mark.parametrize("path, option", INT_OPTIONS + FLOAT_OPTIONS,
                         ids=lambda x: " ".join(x) if isinstance(x, tuple) else x)
def test_every_numeric_option_refuses_a_digit_separator(tmp_path, monkeypatch, path, option):
    """`cases decide --harm 1_000` recorded €1,000 and `alerts --limit 1_0` listed ten: Python's
    int() and float() read '_' between digits. A number on the command line is written without."""
    from runs.store import Store
    monkeypatch.chdir(tmp_path)
    Store(tmp_path / "store").new_run(["x"], {})
    monkeypatch.setenv("FRAUDNET_STORE", str(tmp_path / "store"))
    value = "2_025" if option == "--year" else "1_0"
    done = CliRunner().invoke(main, [*path, option, value])
    assert done.exit_code == 2, done.output
    assert f"error: Invalid value for '{option}': '{value}' is not a " in done.output, done.output
    assert "without '_'" in done.output or "is not a year (YYYY" in done.output, done.output


def test_a_negative_zero_is_zero():
    """`--harm -0` was recorded as -0.0 (shown as -0.00); an API body's -0.0 alike: the one place
    amounts are checked, `cases.store`, makes it 0."""
    from cases.store import _euros
    assert str(_euros([], "recovered", -0.0)) == "0.0"
    problems = []
    assert _euros(problems, "recovered", "1_000") is None and problems == ["recovered: '1_000' is not an amount in euros ≥ 0"]


def test_a_float_option_that_multiplies_or_times_is_bounded():
    bounded = {(path, opt) for path, opt in FLOAT_OPTIONS
               if next(p for p in dict(commands())[path].params if opt in p.opts).type.max is not None}
    assert {(("evaluate",), "--k-factor"), (("scan",), "--timeout"), (("schedule", "run"), "--stop-after")} <= bounded


@pytest.mark.parametrize("args, said", [
    (["provider:10000000063"], "Invalid value for 'TYPE': 'provider:10000000063' is TYPE:ID: give them apart, "
                               "`fraudnet entity provider 10000000063`."),
    (["provider", ""], "Invalid value for 'ID': '' is blank"),
    (["centre", "  "], "Invalid value for 'ID': '  ' is blank"),
    (["NOPE", "1"], "Invalid value for 'TYPE': 'NOPE' is not one of 'provider', 'centre', 'legal_entity', 'person', "
                    "'patient'."),
    # a patient's id, given whole or without its type, is never echoed
    (["patient:B2265012585"], "Invalid value for 'TYPE': 'patient:…' is TYPE:ID: give them apart, "
                              "`fraudnet entity patient ID` (a patient's id is never shown)."),
    (["B2265012585", "x"], "Invalid value for 'TYPE': the value given is not one of 'provider', 'centre', "
                           "'legal_entity', 'person', 'patient' (it is not shown: it may be an id; give TYPE, then ID).")])
def test_entity_refuses_a_type_or_an_id_it_cannot_take_as_a_usage_error(tmp_path, monkeypatch, args, said):
    """`fraudnet entity provider ''` said `no provider ''` with exit code 1, and a node id given
    whole (as `cases open --entity` takes it) was refused without saying how to give it: both are
    usage errors (exit 2) saying what is allowed; the help lists the types."""
    from runs.store import Store
    Store(tmp_path / "store").new_run(["x"], {})
    done = CliRunner().invoke(main, ["entity", *args, "--store", str(tmp_path / "store")])
    assert done.exit_code == 2 and "error: " + said in done.output, done.output
    assert "2265" not in done.output, done.output
    helped = CliRunner().invoke(main, ["entity", "--help"]).output
    assert "TYPE is one of provider, centre, legal_entity, person, patient" in " ".join(helped.split())


@pytest.mark.parametrize("value", ["99999999999999999999", "nan", "1e400", "-inf"])
def test_a_saved_query_s_number_parameter_is_finite_and_bounded_as_every_option(monkeypatch, value):
    """`neo4j query -p limit=1e23` reached the driver (an integer past 2⁶³ it cannot pack) and
    `-p limit=nan` the server: a number parameter is bounded as every whole-number option
    (`MAX_COUNT`), refused before any connection, exit 2."""
    monkeypatch.delenv("NEO4J_PASSWORD", raising=False)
    done = CliRunner().invoke(main, ["neo4j", "query", "saved_top_alerts", "-p", f"limit={value}",
                                     "--uri", "bolt://127.0.0.1:1"])
    assert (done.exit_code, done.output) == (
        2, f"error: parameter limit: '{value}' is not a finite number within -1,000,000,000 to 1,000,000,000\n")


def test_entity_with_its_type_given_twice_says_so_naming_no_patient(region_store):
    """`fraudnet entity provider provider:X` said `no provider 'provider:X'`, no hint that the
    type was given twice: the error says so and how to ask (a patient's id never shown); an id
    the run has is shown whatever it holds, so nothing is refused before the run is read."""
    import duckdb
    with duckdb.connect(str(region_store.results_path(region_store.current())), read_only=True) as con:
        provider, patient = (con.execute(f"SELECT entity_id FROM entity_risk WHERE entity_type = '{t}' "
                                         "ORDER BY entity_id LIMIT 1").fetchall()[0][0] for t in ("provider", "patient"))
    store = str(region_store.root)
    done = CliRunner().invoke(main, ["entity", "provider", f"provider:{provider}", "--store", store])
    assert (done.exit_code, done.output) == (1, f"error: no provider 'provider:{provider}': the ID starts with a "
                                                f"type, 'provider:' (the type given twice?): give the id alone, "
                                                f"`fraudnet entity provider {provider}`\n")
    done = CliRunner().invoke(main, ["entity", "patient", f"patient:{patient}", "--store", store])
    assert (done.exit_code, done.output) == (1, "error: no such patient in the current run: the ID starts with a "
                                                "type, 'patient:' (the type given twice?): give the id alone, "
                                                "`fraudnet entity patient ID`\n")
    done = CliRunner().invoke(main, ["entity", "provider", provider, "--store", store])
    assert done.exit_code == 0 and done.output.startswith(f"provider {provider}"), done.output
    # a patient's node id under another type, as ID or given whole as TYPE: never repeated
    # (and behind a type given twice: `provider:patient:…`, the fresh user's review of 2026-12-02)
    for args in (["provider", f"patient:{patient}"], [f"provider:patient:{patient}", "x"],
                 ["provider", f"provider:patient:{patient}"], ["centre", f"centre:patient:{patient}"]):
        done = CliRunner().invoke(main, ["entity", *args, "--store", store])
        assert done.exit_code in (1, 2) and patient not in done.output and "error: " in done.output, done.output
    for entity in (f"provider:patient:{patient}", f"provider:provider:patient:{patient}"):
        done = CliRunner().invoke(main, ["cases", "open", "--entity", entity, "--store", store])
        assert done.exit_code == 1 and patient not in done.output and "error: " in done.output, done.output
