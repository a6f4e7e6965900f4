"""The `fraudnet` command line."""
from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import click
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from graph.settings import ScanSettings
from contract.vocab import PATTERNS
from contract.errors import DatasetError

from runs.store import Busy, Store, StoreError

STORE_HELP = "store folder (env FRAUDNET_STORE, default ./fraudnet-store)"


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


def _settings(path, start, end, seed) -> ScanSettings:
    data = json.loads(Path(path).read_text()) if path else {}
    for key, value in (("start", start), ("end", end), ("seed", seed)):
        if value is not None:
            data[key] = value.isoformat() if isinstance(value, date) else value
    return ScanSettings.model_validate(data)


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@store_option
@click.option("--export", "export_dir", type=click.Path(file_okay=False), help="also write the contract CSVs here")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False),
              help="JSON file of scan settings (see README)")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="first service date scanned")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="last service date scanned")
@click.option("--seed", type=int, help="seed of the randomised algorithms")
def scan(data, store, export_dir, settings_file, start, end, seed):
    """Scan the dataset folder DATA — or several, merged (a registry plus claims): load, build,
    detect, score, publish."""
    from runs.pipeline import export, scan as run_scan
    try:
        settings = _settings(settings_file, start and start.date(), end and end.date(), seed)
    except (ValidationError, json.JSONDecodeError) as e:
        _fail(f"invalid settings: {e}", 2)
    err = _console(stderr=True)

    def progress(stage, state, seconds):
        if state == "done":
            err.print(f"  {stage:<8} {seconds:7.2f} s")

    err.print(f"scanning {' + '.join(data)}")
    try:
        run = run_scan(list(data) if len(data) > 1 else data[0], Store(store), settings, progress)
    except DatasetError as e:
        _fail(f"{e}\nscan stopped; the published results are unchanged.", 2)
    except Busy as e:
        _fail(f"{e}; nothing was scanned.", 3)
    c = run["counts"]
    click.echo(f"run {run['run_id']} published: {c['claims']:,} claims, {c['nodes']:,} nodes, "
               f"{c['edges']:,} edges, {c['alerts']} alerts, {c['communities']} communities")
    _print_load_report(run.get("load_report", {}))
    if export_dir:
        for path in export(Store(store), export_dir, run["run_id"]):
            click.echo(f"exported {path}")


@main.command()
@store_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
def runs(store, limit):
    """List the scans of the store, newest first."""
    table = Table("run", "status", "published", "started", "claims", "alerts", "seconds", "stage/error")
    for r in Store(store).list_runs()[:limit]:
        table.add_row(r["run_id"], r["status"], "yes" if r["published"] else "",
                      r["started_at"][:19], f"{r['counts'].get('claims', ''):,}" if r["counts"] else "",
                      str(r["counts"].get("alerts", "")), f"{sum(r['timings'].values()):.1f}",
                      r.get("error") or r.get("stage") or "")
    _console().print(table)


@main.command()
@store_option
@click.option("--run", "run_id", help="a run id (default: the published run)")
@click.option("--pattern", type=click.Choice(PATTERNS))
@click.option("--min-score", type=float, default=None)
@click.option("--limit", default=20, show_default=True, type=click.IntRange(min=1))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line instead of a table")
def alerts(store, run_id, pattern, min_score, limit, as_json):
    """The top alerts of a run, highest score first within the strongest patterns."""
    try:
        con = Store(store).connect(run_id)
    except StoreError as e:
        _fail(str(e))
    rows = con.execute("""
        SELECT a.alert_id, a.pattern, a.score, a.summary, s.strength
        FROM alerts a JOIN (
            SELECT alert_id, 1 - (rank() OVER (PARTITION BY pattern ORDER BY score DESC) - 1)
                                 / count(*) OVER (PARTITION BY pattern) AS strength FROM alerts) s USING (alert_id)
        WHERE ($pattern IS NULL OR a.pattern = $pattern) AND ($min IS NULL OR a.score >= $min)
        ORDER BY s.strength DESC, a.score DESC, a.alert_id LIMIT $limit""",
                       {"pattern": pattern, "min": min_score, "limit": limit}).fetchall()
    con.close()
    if as_json:
        for r in rows:
            click.echo(json.dumps(dict(zip(("alert_id", "pattern", "score", "summary"), r[:4])), ensure_ascii=False))
        return
    table = Table("score", "pattern", "alert", "summary")
    for alert_id, pat, score, summary, _ in rows:
        table.add_row(f"{score:,.2f}", pat, alert_id, summary)
    _console().print(table)


@main.command()
@store_option
@click.option("--run", "run_id", help="a run id (default: the published run)")
@click.option("--json", "as_json", is_flag=True, help="print the whole report as JSON")
def changes(store, run_id, as_json):
    """What a run changed compared with the run published before it."""
    try:
        report = Store(store).changes(run_id)
    except StoreError as e:
        _fail(str(e))
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
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
@click.option("--run", "run_id", help="a run id (default: the published run)")
@click.option("--k-factor", default=2.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="K = this × the known cases of a pattern")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
def evaluate(truth_file, store, run_id, k_factor, as_json):
    """Score a run against known cases: recall and precision@K per pattern, and for entity risk."""
    import pyarrow.csv as pacsv

    from graph.evaluate import evaluate as run_eval
    try:
        con = Store(store).connect(run_id)
    except StoreError as e:
        _fail(str(e))
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

    from scheduler.schedule import ScheduleError, load_schedule
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        return load_schedule(config)
    except ScheduleError as e:
        _fail(str(e), 2)


@schedule.command("check")
@click.option("--config", required=True, type=click.Path(dir_okay=False), help="the schedule file")
def schedule_check(config):
    """Validate the schedule file and print its jobs."""
    sched = _schedule(config)
    for j in sched.jobs:
        click.echo(f"{j.name}: {j.cron or f'every {j.interval_seconds:g} s'}, source {j.source}, "
                   f"timeout {j.timeout_seconds:g} s, {j.retries} retr{'y' if j.retries == 1 else 'ies'}")
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
    from scheduler.schedule import ScheduleError, run_job
    sched = _schedule(config)
    try:
        outcome = run_job(sched, sched.job(name))
    except ScheduleError as e:
        _fail(str(e), 2)
    click.echo(json.dumps(outcome, indent=2))
    if outcome["status"] != "succeeded":
        sys.exit({"bad_input": 2, "refused": 3}.get(outcome["status"], 1))


@main.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@store_option
@click.option("--run", "run_id", help="a run id (default: the published run)")
def export_cmd(directory, store, run_id):
    """Write a run's contract CSVs (alerts, alert_entities, entity_risk, communities) to DIRECTORY."""
    from runs.pipeline import export
    try:
        for path in export(Store(store), directory, run_id):
            click.echo(f"exported {path}")
    except StoreError as e:
        _fail(str(e))


@main.group("neo4j")
def neo4j_group():
    """Publish runs to Neo4j for investigators (server from NEO4J_URI, NEO4J_USER, NEO4J_PASSWORD,
    NEO4J_DATABASE; the password only ever from the environment)."""


def neo4j_options(f):
    f = click.option("--database", help="database name (env NEO4J_DATABASE, default neo4j)")(f)
    f = click.option("--user", help="user (env NEO4J_USER, default neo4j)")(f)
    return click.option("--uri", help="Bolt URI (env NEO4J_URI), e.g. bolt://localhost:7687")(f)


def _neo4j_settings(uri, user, database):
    from publish.neo4j import Neo4jError, Neo4jSettings
    try:
        return Neo4jSettings.from_env(uri, user, database)
    except Neo4jError as e:
        _fail(str(e), 2)


@neo4j_group.command("sync")
@store_option
@click.option("--run", "run_id", help="a run id (default: the published run)")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(min=1),
              help="rows per transaction")
@neo4j_options
def neo4j_sync_cmd(store, run_id, batch_size, uri, user, database):
    """Write a run's graph and findings to Neo4j (idempotent; resumes an interrupted sync);
    prints the report as JSON."""
    from publish.neo4j import Neo4jError, sync
    settings = _neo4j_settings(uri, user, database)
    err = _console(stderr=True)
    try:
        report = sync(Store(store), settings, run_id, batch_size,
                      progress=lambda s, k, n: err.print(f"  batch {k}/{n} {s}") if k % 10 == 0 or k == n else None)
    except (Neo4jError, StoreError) as e:
        _fail(str(e))
    click.echo(json.dumps(report, indent=2))


@neo4j_group.command("schema")
@neo4j_options
def neo4j_schema_cmd(uri, user, database):
    """Create the constraints and indexes (after a bulk import; `sync` does it itself)."""
    from publish.neo4j import Neo4jError, schema
    try:
        for name in schema(_neo4j_settings(uri, user, database)):
            click.echo(f"ran {name}")
    except Neo4jError as e:
        _fail(str(e))


@neo4j_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False))
@store_option
@click.option("--run", "run_id", help="a run id (default: the published run)")
def neo4j_export_cmd(directory, store, run_id):
    """Write a run as CSV files for `neo4j-admin database import full`, with DIRECTORY/import.sh."""
    from publish.neo4j_bulk import export
    try:
        counts = export(Store(store), directory, run_id)
    except StoreError as e:
        _fail(str(e))
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
    try:
        values = dict(parse_param(p) for p in params)
        rows = run_saved(_neo4j_settings(uri, user, database), name, values)
    except (KeyError, ValueError) as e:
        _fail(str(e).strip("'\""), 2)
    except Exception as e:    # the server's own message: a missing parameter, a bad value
        _fail(f"{type(e).__name__}: {getattr(e, 'message', None) or e}")
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False, default=str))


@main.command()
@store_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--data-root", envvar="FRAUDNET_DATA_ROOT", type=click.Path(exists=True, file_okay=False),
              help="folder under which POST /runs may scan datasets (env FRAUDNET_DATA_ROOT; off if unset)")
def serve(store, host, port, data_root):
    """Serve the HTTP API over the store (API keys from FRAUDNET_API_KEYS or FRAUDNET_API_KEYS_FILE)."""
    import uvicorn

    from api.app import create_app
    from api.auth import KeyError_, load_keys
    from api.logs import log_config
    try:
        keys = load_keys()
    except KeyError_ as e:
        _fail(str(e), 2)
    uvicorn.run(create_app(Store(store), keys, data_root), host=host, port=port, log_level="info",
                log_config=log_config())


if __name__ == "__main__":
    main()
