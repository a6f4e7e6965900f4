"""The `fraudnet` command line.

Errors are worded here, for a terminal, from the fields of the `FraudnetError` raised below;
exit codes: 1 a failure, 2 bad input or settings, 3 busy (another scan holds the store's lock),
4 a run held by its checks, 5 a scan stopped at its time limit.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from contract.errors import (Busy, DatasetError, FraudnetError, NoPublishedRun, NotFound, NotReady,
                             Refused, SettingsError)
from contract.vocab import PATTERNS
from runs.store import Store

STORE_HELP = "store folder (env FRAUDNET_STORE, default ./fraudnet-store)"
EXIT_CODES = {"succeeded": 0, "failed": 1, "interrupted": 1, "bad_input": 2, "refused": 3, "held": 4, "timeout": 5}


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 160, highlight=False, emoji=False,
                   markup=False)


def store_option(f):
    return click.option("--store", "store", envvar="FRAUDNET_STORE", default="fraudnet-store",
                        show_default=True, type=click.Path(file_okay=False), help=STORE_HELP)(f)


def _fail(message: str, code: int = 1):
    _console(stderr=True).print(f"error: {message}", soft_wrap=True)
    sys.exit(code)


def _worded(e: FraudnetError, store: str | None = None) -> tuple[str, int]:
    """A terminal's message and exit code for an error."""
    if isinstance(e, NoPublishedRun):
        return f"no current run in store {store}: run `fraudnet scan` first", 1
    if isinstance(e, NotReady):
        return f"run {e.run_id} has no {e.wanted} (status {e.status}; see `fraudnet runs show {e.run_id}`)", 1
    if isinstance(e, Busy):
        who = f" (run {e.holder}, since {e.since})" if e.holder else ""
        return f"a scan is already running in store {store}{who}; nothing was scanned", 3
    if isinstance(e, (DatasetError, SettingsError)):
        return str(e), 2
    if isinstance(e, (NotFound, Refused)):
        return str(e), 1
    return str(e), 1


def _failed(e: FraudnetError, store: str | None = None):
    _fail(*_worded(e, store))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """fraudnet: find fraud networks in health-insurance billing."""


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--patients", default=20000, show_default=True, type=click.IntRange(min=5000),
              help="patients of the region (about 17 claims each)")
@click.option("--seed", default=7, show_default=True, type=int, help="same seed, byte-identical output")
@click.option("--truth", type=click.Path(dir_okay=False), default=None,
              help="where to write truth.csv (default: beside OUT, never inside)")
@click.option("--registry", type=click.Path(exists=True, file_okay=False), default=None,
              help="a contract folder of real establishments (fraudnet convert finess) to build the region on")
def generate(out, patients, seed, truth, registry):
    """Write a synthetic region-year with planted fraud to the dataset folder OUT."""
    from loaders.synthetic import generate as run
    try:
        counts = run(out, patients, seed, truth, registry)
    except ValueError as e:
        _fail(str(e), 2)
    click.echo(f"wrote {out}: {counts['claims']:,} claims, {counts['patients']:,} patients, "
               f"{counts['providers']:,} providers, {counts['centres']} centres, "
               f"{counts['legal_entities']} legal entities; {counts['planted']} planted cases in {counts['truth']}")


@main.command()
@click.argument("source_format", metavar="FORMAT", type=click.Choice(["finess", "annuaire", "snds", "mapped"]))
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--categories", type=click.Path(exists=True, dir_okay=False),
              help="CSV of code,kind mapping FINESS categories (CAT_ETAB) to contract kinds")
def convert(source_format, sources, out, categories):
    """Convert SOURCES into contract tables in the folder OUT, with OUT/conversion_report.json.

    finess: FHIR ndjson files, .tar.gz archives of them, bundles or folders → centres,
    legal_entities, providers (pharmacies, laboratories), identifiers. annuaire: Annuaire Santé
    (RPPS) FHIR Practitioner and PractitionerRole files or folders → providers, affiliations and
    the centres they name. snds: one DCIR extract folder (ER_PRS_F with ER_PHA_F, ER_BIO_F,
    ER_CAM_F, ER_ETE_F) → claims and providers. mapped: MAPPING SOURCE, a mapping file (TOML)
    and the claims or provider extract it describes → the contract tables it names."""
    from loaders.conversion import Conversion, REPORT_FILE, write_conversion
    from loaders.fhir import categories_from_csv, read_finess
    lines = []
    try:
        if source_format == "finess":
            tables = read_finess(list(sources), categories_from_csv(categories) if categories else None)
            conversion = Conversion(tables, {"format": "FINESS FHIR", "source": ", ".join(sources),
                                             "tables": {n: t.num_rows for n, t in tables.items()}})
        elif source_format == "annuaire":
            from loaders.annuaire import read_annuaire, report_lines
            conversion = read_annuaire(list(sources))
            lines = report_lines(conversion.report)
        elif source_format == "snds":
            from loaders.snds import read_snds, report_lines
            if len(sources) != 1:
                _fail("snds takes one extract folder", 2)
            conversion = read_snds(sources[0])
            lines = report_lines(conversion.report)
        else:
            from loaders.mapping import MappingError, convert_mapped, report_lines
            if len(sources) != 2:
                _fail("mapped takes a mapping file and one source file: convert mapped MAPPING SOURCE OUT", 2)
            try:
                conversion = convert_mapped(sources[0], sources[1])
            except MappingError as e:
                _fail(str(e), 2)
            lines = report_lines(conversion.report)
    except DatasetError as e:
        _fail(str(e), 2)
    for path in write_conversion(conversion, out):
        if path.name != REPORT_FILE:
            click.echo(f"wrote {path}: {conversion.tables[path.stem].num_rows:,} rows")
    click.echo(f"wrote {Path(out) / REPORT_FILE}" + (":" if lines else ""))
    for line in lines:
        click.echo(f"  {line}")


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--max-problems", default=50, show_default=True, type=click.IntRange(min=1))
def validate(data, max_problems):
    """Check the dataset folder DATA (or several, merged) against the contract without scanning."""
    from loaders.dataset import load_dataset
    try:
        ds = load_dataset(list(data), max_problems)
    except DatasetError as e:
        _fail(str(e), 2)
    for name, t in ds.report.tables.items():
        click.echo(f"{t['file']}: {t['rows']:,} rows")
    _print_load_report(ds.report.to_dict())
    click.echo("valid")


SEVERITY_PREFIX = {"info": "note", "warning": "warning", "critical": "CRITICAL WARNING"}


def _print_load_report(report: dict):
    """The load report's links and warnings, one line each; critical ones stand out."""
    for link in report.get("links", []):
        if link["severity"] != "critical":      # a critical link is also among the warnings
            click.echo(f"link: {link['message']}")
    for w in report.get("warnings", []):
        click.echo(f"{SEVERITY_PREFIX.get(w.get('severity'), 'warning')}: {w['message']}")


def _run_settings(path, start, end, seed, window_days, engine=None, spark_master=None):
    from runs.settings import RunSettings, parse_settings, read_settings
    settings = read_settings(path) if path else RunSettings()
    given = {k: v for k, v in (("start", start and start.date().isoformat()), ("end", end and end.date().isoformat()),
                               ("seed", seed), ("window_days", window_days), ("engine", engine),
                               ("spark_master", spark_master)) if v is not None}
    return parse_settings({**settings.model_dump(mode="json", exclude_unset=True), **given},
                          path or "the command line") if given else settings


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@store_option
@click.option("--export", "export_dir", type=click.Path(file_okay=False), help="also write the contract CSVs here")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False),
              help="JSON file of run settings (see README)")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="first service date scanned")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="last service date scanned")
@click.option("--window-days", type=click.IntRange(min=1), help="scan only the last N days of the data")
@click.option("--seed", type=int, help="seed of the randomised algorithms")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), help="stop the scan after this many seconds")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), help="where the SQL runs (default: duckdb)")
@click.option("--spark-master", help="Spark master URL with --engine spark (default: local[*])")
def scan(data, store, export_dir, settings_file, start, end, window_days, seed, timeout, engine, spark_master):
    """Scan the dataset folder DATA — or several, merged (a registry plus claims): load, build,
    detect, score, write, check, promote. The scan runs in a child process."""
    from runs.launch import outcome, run as run_scan
    try:
        settings = _run_settings(settings_file, start, end, seed, window_days, engine, spark_master)
    except SettingsError as e:
        _failed(e)
    err = _console(stderr=True)
    err.print(f"scanning {' + '.join(data)}")
    try:
        record = run_scan(Store(store), [str(Path(d).resolve()) for d in data], settings, timeout,
                          progress=lambda stage, seconds: err.print(f"  {stage:<8} {seconds:7.2f} s"))
    except Busy as e:
        _failed(e, store)
    result = outcome(record)
    if result in ("succeeded", "held"):
        c = record["counts"]
        click.echo(f"run {record['run_id']} {'is current' if result == 'succeeded' else 'HELD by its checks'}: "
                   f"{c['claims']:,} claims, {c['nodes']:,} nodes, {c['edges']:,} edges, {c['alerts']} alerts, "
                   f"{c['communities']} communities")
    _print_load_report(record.get("load_report", {}))
    for w in record.get("warnings", []):
        click.echo(f"warning: {w}")
    if result == "held":
        for r in record["checks"]["results"]:
            if not r["passed"]:
                click.echo(f"  check failed: {r['check']}: {r['now']:,} against {r['previous']:,} before "
                           f"(allowed {r['bounds'][0]:,.0f} to {r['bounds'][1]:,.0f})")
        click.echo(f"the current results are unchanged; an admin may accept it: fraudnet runs accept {record['run_id']}")
    elif result != "succeeded":
        error = record.get("error") or {}
        _fail(f"{error.get('message', result)}\nscan {record['run_id']} {result.replace('_', ' ')}; "
              "the current results are unchanged.", EXIT_CODES.get(result, 1))
    if export_dir and result == "succeeded":
        from publish.export import export
        for path in export(Store(store), export_dir, record["run_id"]):
            click.echo(f"exported {path}")
    sys.exit(EXIT_CODES[result])


@main.group(invoke_without_command=True)
@store_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.pass_context
def runs(ctx, store, limit):
    """List the scans of the store, newest first (`runs show`, `runs accept`)."""
    if ctx.invoked_subcommand:
        return
    table = Table("run", "status", "current", "started", "claims", "alerts", "seconds", "stage/error")
    for r in Store(store).list_runs()[:limit]:
        error = (r.get("error") or {}).get("message", "").splitlines()
        held = ", ".join(r["checks"]["failed"]) if r["status"] == "held" and r.get("checks") else ""
        table.add_row(r["run_id"], r["status"], "yes" if r["current"] else "",
                      r["started_at"][:19], f"{r['counts'].get('claims', ''):,}" if r["counts"] else "",
                      str(r["counts"].get("alerts", "")), f"{sum(r['timings'].values()):.1f}",
                      (error[0] if error else "") or held or r.get("stage")
                      or (f"{len(r['warnings'])} warning(s)" if r.get("warnings") else ""))
    _console().print(table)


@runs.command("show")
@click.argument("run_id")
@store_option
def runs_show(run_id, store):
    """One run's record as JSON: status, stages, counts, checks, warnings, error."""
    try:
        click.echo(json.dumps(Store(store).get_run(run_id), indent=2, ensure_ascii=False, default=str))
    except FraudnetError as e:
        _failed(e, store)


@runs.command("accept")
@click.argument("run_id")
@store_option
def runs_accept(run_id, store):
    """Make current a run held by its checks (an admin's decision, recorded in the run)."""
    import getpass

    from runs.pipeline import accept
    try:
        record = accept(Store(store), run_id, by=f"{getpass.getuser()} (cli)")
    except FraudnetError as e:
        _failed(e, store)
    click.echo(f"run {record['run_id']} accepted by {record['accepted_by']} and made current: {record['changes']}")


@main.command()
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
@click.option("--pattern", type=click.Choice(PATTERNS))
@click.option("--min-score", type=float, default=None)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line instead of a table")
def alerts(store, run_id, pattern, min_score, limit, as_json):
    """The top alerts of a run, by rank within their pattern (each pattern's best first)."""
    from runs import results
    try:
        con = Store(store).connect(run_id)
    except FraudnetError as e:
        _failed(e, store)
    try:
        rows, _ = results.alerts(con, pattern, min_score, limit=limit)
    finally:
        con.close()
    if as_json:
        for r in rows:
            click.echo(json.dumps({k: r[k] for k in ("alert_id", "pattern", "score", "rank", "summary")},
                                  ensure_ascii=False))
        return
    table = Table("rank", "score", "pattern", "alert", "summary")
    for r in rows:
        table.add_row(str(r["rank"]), f"{r['score']:,.2f}", r["pattern"], r["alert_id"], r["summary"])
    _console().print(table)


@main.command()
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
@click.option("--json", "as_json", is_flag=True, help="print the whole report as JSON")
def changes(store, run_id, as_json):
    """What a run changed compared with the run current before it."""
    try:
        report = Store(store).changes(run_id)
    except FraudnetError as e:
        _failed(e, store)
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return
    click.echo(f"run {report['run_id']} against {report['previous_run'] or 'nothing (first run)'}: {report['summary']}")
    for key, label in (("new", "new"), ("escalated", "escalated"), ("resolved", "resolved")):
        for a in report[key]:
            before = f" (was {a['previous_score']:,.2f})" if key == "escalated" else ""
            click.echo(f"  {label:<9} {a['pattern']:<18} {a['score']:>12,.2f}{before}  {a['alert_id']}")
    for c in report["new_communities"]:
        click.echo(f"  new community {c}")
    for c in report["dissolved_communities"]:
        click.echo(f"  dissolved community {c}")
    for r in report["risk_risers"]:
        click.echo(f"  risk up {r['rise']:+.1f} to {r['after']:.1f}: {r['entity_type']} {r['entity_id']}")


@main.command()
@click.option("--truth", "truth_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV of known cases: pattern, [group_id,] entity_type, entity_id")
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
@click.option("--k-factor", default=2.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="K = this × the known cases of a pattern")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
def evaluate(truth_file, store, run_id, k_factor, as_json):
    """Score a run against known cases: recall and precision@K per pattern, and for entity risk."""
    import pyarrow.csv as pacsv

    from graph.evaluate import evaluate as run_eval
    try:
        con = Store(store).connect(run_id)
    except FraudnetError as e:
        _failed(e, store)
    try:
        truth = pacsv.read_csv(truth_file, convert_options=pacsv.ConvertOptions(
            column_types={c: "string" for c in ("pattern", "group_id", "entity_type", "entity_id")}))
        missing = {"pattern", "entity_type", "entity_id"} - set(truth.column_names)
        if missing:
            _fail(f"{truth_file}: missing column(s) {', '.join(sorted(missing))}", 2)
        result = run_eval(*(con.sql(f"SELECT * FROM {t}").to_arrow_table()
                            for t in ("alerts", "alert_entities", "entity_risk")), truth, k_factor)
    finally:
        con.close()
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table("pattern", "cases", "K", "alerts in top K", "found", "recall", "precision@K")
    for r in result["patterns"]:
        table.add_row(r["pattern"], str(r["cases"]), str(r["k"]), str(r["alerts"]), str(r["found"]),
                      f"{r['recall']:.2f}", f"{r['precision_at_k']:.2f}")
    _console().print(table)
    er = result["entity_risk"]
    click.echo(f"entity risk: {er['known']} known entities, precision@K {er['precision_at_k']:.2f}, "
               f"average precision {er['average_precision']:.2f}")


@main.group()
def schedule():
    """Scheduled scans from a schedule file (TOML; see README)."""


def _schedule(config):
    import logging

    from scheduler.schedule import load_schedule
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return load_schedule(config)
    except SettingsError as e:
        _failed(e)


@schedule.command("check")
@click.option("--config", required=True, type=click.Path(dir_okay=False), help="the schedule file")
def schedule_check(config):
    """Validate the schedule file and print its jobs."""
    sched = _schedule(config)
    for j in sched.jobs:
        click.echo(j.describe())
    click.echo(f"store {sched.store}, keeping {sched.keep_runs} runs: valid")


@schedule.command("run")
@click.option("--config", required=True, type=click.Path(dir_okay=False), help="the schedule file")
@click.option("--stop-after", type=float, default=None, help="stop after this many seconds (for tests)")
def schedule_run(config, stop_after):
    """Run the scheduler in the foreground (Ctrl-C stops it)."""
    from scheduler.schedule import run_scheduler
    run_scheduler(_schedule(config), stop_after)


@schedule.command("once")
@click.argument("name")
@click.option("--config", required=True, type=click.Path(dir_okay=False), help="the schedule file")
def schedule_once(name, config):
    """Run the job NAME now, once, and print its outcome as JSON."""
    from scheduler.schedule import run_job
    sched = _schedule(config)
    try:
        result = run_job(sched, sched.job(name))
    except FraudnetError as e:
        _failed(e)
    click.echo(json.dumps(result, indent=2, default=str))
    sys.exit(EXIT_CODES.get(result["status"], 1))


@main.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
def export_cmd(directory, store, run_id):
    """Write a run's contract CSVs (alerts, alert_entities, entity_risk, communities) to DIRECTORY."""
    from publish.export import export
    try:
        for path in export(Store(store), directory, run_id):
            click.echo(f"exported {path}")
    except FraudnetError as e:
        _failed(e, store)


@main.group("neo4j")
def neo4j_group():
    """Publish runs to Neo4j for investigators (server from NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD,
    NEO4J_DATABASE; the password only ever from the environment)."""


def neo4j_options(f):
    f = click.option("--database", help="database name (env NEO4J_DATABASE, default neo4j)")(f)
    f = click.option("--user", help="user (env NEO4J_USER, default neo4j)")(f)
    return click.option("--uri", help="Bolt URI (env NEO4J_URI), e.g. bolt://localhost:7687")(f)


def _neo4j_settings(uri, user, database):
    """The Neo4j settings, validated once (exit code 2, every problem listed, never a password)."""
    from config import Neo4jSettings
    try:
        return Neo4jSettings.load(uri=uri, user=user, database=database)
    except SettingsError as e:
        _failed(e)


def _neo4j_failed(settings, e: Exception):
    """A failure of the server or the driver, named by the server's URI without credentials."""
    _fail(f"Neo4j at {settings.shown_uri}: {type(e).__name__}: {getattr(e, 'message', None) or e}")


@neo4j_group.command("sync")
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(min=1),
              help="rows per transaction")
@neo4j_options
def neo4j_sync_cmd(store, run_id, batch_size, uri, user, database):
    """Write a run's graph and findings to Neo4j (idempotent; resumes an interrupted sync);
    prints the report as JSON."""
    from publish.neo4j import sync
    settings = _neo4j_settings(uri, user, database)
    err = _console(stderr=True)
    try:
        report = sync(Store(store), settings, run_id, batch_size,
                      progress=lambda s, k, n: err.print(f"  batch {k}/{n} {s}") if k % 10 == 0 or k == n else None)
    except FraudnetError as e:
        _failed(e, store)
    click.echo(json.dumps(report, indent=2))


@neo4j_group.command("schema")
@neo4j_options
def neo4j_schema_cmd(uri, user, database):
    """Create the constraints and indexes (after a bulk import; `sync` does it itself)."""
    from publish.neo4j import schema
    settings = _neo4j_settings(uri, user, database)
    try:
        for name in schema(settings):
            click.echo(f"ran {name}")
    except FraudnetError as e:
        _failed(e)
    except Exception as e:    # the server's or the driver's own message
        _neo4j_failed(settings, e)


@neo4j_group.command("import-files")
@click.argument("directory", type=click.Path(file_okay=False))
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
def neo4j_import_files_cmd(directory, store, run_id):
    """Write a run as the files of `neo4j-admin database import full` (a bulk import of a
    national graph), with DIRECTORY/import.sh."""
    from publish.neo4j_bulk import import_files
    try:
        counts = import_files(Store(store), directory, run_id)
    except FraudnetError as e:
        _failed(e, store)
    for stem, n in counts.items():
        click.echo(f"{stem}: {n:,} rows")
    click.echo(f"then: sh {Path(directory) / 'import.sh'} (see README, Bulk import)")


@neo4j_group.command("query")
@click.argument("name", required=False)
@click.option("-p", "--param", "params", multiple=True, metavar="NAME=VALUE",
              help="a parameter (text if NAME ends in _id, else a number when it reads as one)")
@neo4j_options
def neo4j_query_cmd(name, params, uri, user, database):
    """Run the saved query NAME (without NAME: list them) and print one JSON object per row."""
    from publish.neo4j import parse_param, run_saved, saved_queries
    from queries import cypher
    if not name:
        for q in saved_queries():
            click.echo(f"{q}: {cypher(q).splitlines()[0].lstrip('/ ')}")
        return
    settings = _neo4j_settings(uri, user, database)
    try:
        values = dict(parse_param(p) for p in params)
        rows = run_saved(settings, name, values)
    except (KeyError, ValueError) as e:
        _fail(str(e).strip("'\""), 2)
    except FraudnetError as e:
        _failed(e)
    except Exception as e:    # the server's own message: a missing parameter, a bad value
        _neo4j_failed(settings, e)
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


@main.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-root", envvar="FRAUDNET_DATA_ROOT", type=click.Path(exists=True, file_okay=False),
              help="folder under which POST /runs may scan datasets (env FRAUDNET_DATA_ROOT; off if unset)")
def serve(store, host, port, data_root):
    """Serve the HTTP API over the store (API keys from FRAUDNET_API_KEYS or FRAUDNET_API_KEYS_FILE;
    the other settings from the environment: see README, HTTP API)."""
    import uvicorn
    from pydantic import ValidationError

    from api.app import create_app
    from api.auth import load_keys
    from api.logs import log_config
    from config import Environment
    from runs.settings import settings_problems
    try:
        env = Environment()
        keys = load_keys(env)
    except ValidationError as e:
        _failed(SettingsError("the environment", settings_problems(e)))
    except SettingsError as e:
        _failed(e)
    uvicorn.run(create_app(Store(store), keys, data_root, env.scan_timeout), host=host, port=port,
                log_level="info", log_config=log_config())


if __name__ == "__main__":
    main()
