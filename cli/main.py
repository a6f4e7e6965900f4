"""The `fraudnet` command line.

Errors are worded here, for a terminal, from the fields of the `FraudnetError` raised below;
exit codes: 1 a failure, 2 bad input or settings, 3 busy (another scan holds the store's lock),
4 a run held by its checks, 5 a scan stopped at its time limit.

Commands that read entity-level data from a store (`alerts`, `changes`, `export`, `runs show`,
`scan --export`, `neo4j sync`, `neo4j import-files`) write it to the store's audit log as the system
user with role `cli`, like the API's reads; one that cannot be audited is refused.
"""
from __future__ import annotations

import json
import math
import os
import sys
import tempfile
from pathlib import Path

import click
from rich.console import Console
from rich.table import Table

from contract.errors import (AuditUnavailable, Busy, DatasetError, FraudnetError, Invalid, NoPublishedRun,
                             NotFound, NotReady, Refused, SettingsError, Stale, StoreUnwritable, Unreadable)
from contract.tables import MAX_COUNT, MAX_DAYS
from contract.vocab import ENTITY_TYPES, PATTERNS, is_patient_node, is_word, node_id
from runs.store import Store

STORE_HELP = "store folder (env FRAUDNET_STORE, default ./fraudnet-store)"
EXIT_CODES = {"succeeded": 0, "failed": 1, "interrupted": 1, "bad_input": 2, "refused": 3, "held": 4, "timeout": 5}


class Whole(click.IntRange):
    """A whole number within bounds, refused in words ('ten' is not a whole number); at most
    `contract.tables.MAX_COUNT` unless a lower bound is given, so that no integer option takes a
    value that DuckDB, SQLite or numpy cannot hold (a traceback, or a false 'damaged' message)."""
    name = "whole number"

    def __init__(self, min: int | None = None, max: int = MAX_COUNT, **kwargs):
        super().__init__(min, max, **kwargs)

    def convert(self, value, param, ctx):
        _no_underscore(self, value, param, ctx)
        return super().convert(value, param, ctx)


def _no_underscore(kind: click.ParamType, value, param, ctx):
    """`1_000`, which Python's int() and float() read as 1000, is refused: no digit separator."""
    if isinstance(value, str) and "_" in value:
        kind.fail(f"{value!r} is not a {kind.name}: write it without '_'.", param, ctx)


class Number(click.FloatRange):
    """A finite number within bounds: `nan`, `inf`, `-inf` and `1_000`, which Python's float()
    reads, are refused naming the option and the value, before the bounds are checked."""
    name = "number"

    def convert(self, value, param, ctx):
        _no_underscore(self, value, param, ctx)
        rv = click.types.FloatParamType.convert(self, value, param, ctx)
        if not math.isfinite(rv):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return super().convert(rv, param, ctx)


class Seconds(Number):
    """A finite number of seconds, at most `MAX_COUNT` (some 31 years: a timer takes no more)."""
    name = "number (of seconds)"

    def __init__(self, min: float | None = None, max: float = MAX_COUNT, **kwargs):
        super().__init__(min, max, **kwargs)


class Year(click.IntRange):
    """A year, 1900 to 2200; anything else is refused naming the form expected."""
    name = "year"

    def __init__(self):
        super().__init__(1900, 2200)

    def convert(self, value, param, ctx):
        try:
            if isinstance(value, str) and "_" in value:      # int() reads 2_025 as 2025
                raise click.BadParameter(value)
            return super().convert(value, param, ctx)
        except click.BadParameter:
            self.fail(f"{value!r} is not a year (YYYY, {self.min} to {self.max}).", param, ctx)


def _console(stderr: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    return Console(file=stream, width=None if stream.isatty() else 160, highlight=False, emoji=False,
                   markup=False)


def _a_store(ctx, param, value):
    """Refuse a --store that is not a fraudnet store (a typo must not read as an empty store, nor
    leave a new folder behind)."""
    if not Store(value).is_store():
        why = "no such folder" if not Path(value).exists() else "no scan has written to it"
        raise click.BadParameter(f"{value} is not a fraudnet store ({why}): check the path, or make it with "
                                 "`fraudnet scan DATA --store ...`")
    return value


def store_option(f):
    """--store of a command that reads or changes an existing store: it must be one."""
    return click.option("--store", "store", envvar="FRAUDNET_STORE", default="fraudnet-store",
                        show_default=True, type=click.Path(file_okay=False), callback=_a_store, help=STORE_HELP)(f)


def new_store_option(f):
    """--store of a command that may make the store (scan; serve, whose API may scan into it)."""
    return click.option("--store", "store", envvar="FRAUDNET_STORE", default="fraudnet-store",
                        show_default=True, type=click.Path(file_okay=False), help=STORE_HELP)(f)


def _fail(message: str, code: int = 1):
    _console(stderr=True).print(f"error: {message}", soft_wrap=True)
    sys.exit(code)


def _worded(e: FraudnetError, store: str | None = None) -> tuple[str, int]:
    """A terminal's message and exit code for an error."""
    if isinstance(e, NoPublishedRun):
        return f"no current run in store {store}: run `fraudnet scan` first", 1
    if isinstance(e, Unreadable):
        return f"{e}: see `fraudnet runs show {e.run_id}`", 1
    if isinstance(e, NotReady):
        return f"run {e.run_id} has no {e.wanted} (status {e.status}; see `fraudnet runs show {e.run_id}`)", 1
    if isinstance(e, Busy):
        who = f" (run {e.holder}, since {e.since})" if e.holder else ""
        return f"a scan is already running in store {store}{who}; nothing was scanned", 3
    if isinstance(e, StoreUnwritable):
        return f"store {store}: {e}; nothing was scanned and the current results are unchanged", 1
    if isinstance(e, (DatasetError, SettingsError)):
        return str(e), 2
    if isinstance(e, Invalid):     # each problem names its field: said as the option a terminal user typed
        return "\n".join(["invalid:"] + [f"  - {_as_option(p)}" for p in e.problems]), 2
    if isinstance(e, Stale):
        return (f"{e.kind} {e.key} changed since version {e.expected} (it is at version {e.version}): "
                f"show it again and retry"), 1
    if isinstance(e, NotFound) and e.kind == "run":     # a run id typed wrong: bad input, as scan's exit codes say
        return str(e), 2
    if isinstance(e, (NotFound, Refused)):
        return str(e), 1
    return str(e), 1


# the fields that `Invalid` problems name (the API's JSON names), as the `cases` commands take them
CLI_NAMES = {"decided_on": "--date", "estimated_harm": "--harm", "overpayment_notified": "--notified",
             "recovered": "--recovered", "deadline": "--deadline", "note": "--note", "title": "--title",
             "assignee": "--assignee", "opened_on": "--opened-on", "qualification": "--qualification",
             "entities": "--entity", "region": "--region", "profession": "--profession", "action": "ACTION", "status": "STATUS", "text": "TEXT"}


def _as_option(problem: str) -> str:
    field, sep, rest = problem.partition(": ")
    return f"{CLI_NAMES[field]}: {rest}" if sep and field in CLI_NAMES else problem


def _failed(e: FraudnetError, store: str | None = None):
    _fail(*_worded(e, store))


def _write_private(path, data: bytes):
    """Write a file of case or claim data readable by its owner only (0600), as exports are,
    whatever the umask; an existing file is truncated and made owner-only too."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _audit(store: str, action: str, target: str, run_id: str | None, rows: int | None = None):
    """Write a read to the store's audit log as the system user (role `cli`); exit 1 if it
    cannot be written: nothing is read unaudited."""
    import getpass

    from runs.audit import audit
    try:
        user = getpass.getuser()
    except (KeyError, OSError):          # no name for this uid (a container without a passwd entry)
        user = f"uid {os.getuid()}"
    try:
        audit(Store(store), user, "cli", action, target, run_id, rows)
    except AuditUnavailable as e:
        _fail(f"{e}: reads of entity-level data are refused until it can")


class _Commands(click.Group):
    """The command group: a file or folder a command cannot read or write (a missing parent
    folder, a file where a folder is expected, no permission) is an error naming the path and
    the reason (exit 2), never a traceback. A command line click refuses (an argument missing, a
    path that does not exist, a value out of range) is worded as every other error, `error: …`
    (click's own form is `Error: …`), after the usage line, with click's exit code (2)."""

    def make_context(self, *args, **kwargs):
        try:
            return super().make_context(*args, **kwargs)
        except click.UsageError as e:
            _usage_error(e)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except click.UsageError as e:
            _usage_error(e)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError, FileExistsError) as e:
            if e.filename is None:
                raise
            _fail(f"{e.filename}: {e.strerror or type(e).__name__}", 2)


def _usage_error(e: click.UsageError):
    """A refused command line: click's usage and help hint, then `error: …` (exit code 2)."""
    if isinstance(e, getattr(click.exceptions, "NoArgsIsHelpError", ())):    # a bare group: its help
        raise e
    if e.ctx is not None:
        hint = f"\nTry '{e.ctx.command_path} --help' for help.\n" if e.ctx.command.get_help_option(e.ctx) else ""
        click.echo(f"{e.ctx.get_usage()}{hint}", err=True)
    _fail(e.format_message(), e.exit_code)


def failed_check(r: dict) -> str:
    """The line `scan` prints for a check a held run failed (a row of `runs.checks.check_run`):
    the whole counts allowed, so that a count is never shown failing inside the range it is said
    to be allowed (it said 5 against 27 before, allowed 5 to 135, for bounds 5.4 to 135)."""
    lo, hi = r["allowed"]
    return f"  check failed: {r['check']}: {r['now']:,} against {r['previous']:,} before (allowed {lo:,} to {hi:,})"


def _writable_folder(path: str | None, option: str):
    """Refuse, before any work, an output folder that cannot be made or written: its parent is
    missing or is not a folder, the path is a file, or a file cannot be created in it (tried:
    permissions, a read-only or pseudo file system — root passes every permission check). Leaves
    nothing behind."""
    if path is None:
        return
    p = Path(path)
    if p.exists() and not p.is_dir():
        _fail(f"{option} {path}: is a file, not a folder", 2)
    if not p.exists() and not p.parent.is_dir():
        _fail(f"{option} {path}: " + (f"{p.parent} is a file, not a folder" if p.parent.exists()
                                      else f"its parent folder {p.parent} does not exist"), 2)
    made = not p.exists()
    try:
        if made:
            p.mkdir()
        try:
            with tempfile.NamedTemporaryFile(dir=p, prefix=".fraudnet-probe-"):
                pass
        finally:
            if made:
                p.rmdir()
    except OSError as e:
        _fail(f"{option} {path}: cannot write there ({e.strerror or e})", 2)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """fraudnet: find fraud networks in health-insurance billing."""


@main.command()
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--patients", default=20000, show_default=True, type=Whole(min=5000),
              help="patients of the region (about 17 claims each)")
@click.option("--seed", default=7, show_default=True, type=Whole(min=0), help="same seed, byte-identical output")
@click.option("--truth", type=click.Path(dir_okay=False), default=None,
              help="where to write truth.csv (default: beside OUT, never inside)")
@click.option("--registry", type=click.Path(exists=True, file_okay=False), default=None,
              help="a contract folder of real establishments (fraudnet convert finess) to build the region on")
@click.option("--force", is_flag=True, help="write into OUT even though it holds files the generator did not write there (they may be overwritten)")
def generate(out, patients, seed, truth, registry, force):
    """Write a synthetic region-year with planted fraud to the dataset folder OUT (new, empty, or
    a region generated before, unchanged since)."""
    from loaders.synthetic import generate as run
    try:
        counts = run(out, patients, seed, truth, registry, force)
    except ValueError as e:
        _fail(str(e), 2)
    click.echo(f"wrote {out}: {counts['claims']:,} claims, {counts['patients']:,} patients, "
               f"{counts['providers']:,} providers, {counts['centres']} centres, "
               f"{counts['legal_entities']} legal entities; {counts['planted']} planted cases in {counts['truth']}, "
               f"look-alikes in {counts['lookalikes']}")


@main.command()
@click.argument("source_format", metavar="FORMAT", type=click.Choice(["finess", "annuaire", "snds", "mapped", "parquet"]))
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--categories", type=click.Path(exists=True, dir_okay=False),
              help="CSV of code,kind mapping FINESS categories (CAT_ETAB) to contract kinds")
@click.option("--encoding", default=None,
              help="snds: the extract's CSV encoding (default UTF-8; cp1252 or latin-1 for a SAS export in WLATIN1)")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), help="snds: where the SQL runs (default: duckdb)")
@click.option("--spark-master", help="snds: Spark master URL with --engine spark (default: local[*])")
def convert(source_format, sources, out, categories, encoding, engine, spark_master):
    """Convert SOURCES into contract tables in the folder OUT, with OUT/conversion_report.json.

    finess: FHIR ndjson files, .tar.gz archives of them, bundles or folders → centres,
    legal_entities, providers (pharmacies, laboratories), identifiers. annuaire: Annuaire Santé
    (RPPS) FHIR Practitioner and PractitionerRole files or folders → providers, affiliations and
    the centres they name. snds: one DCIR extract folder (ER_PRS_F with ER_PHA_F, ER_BIO_F,
    ER_CAM_F, ER_ETE_F) → claims and providers, joined one flow month at a time.
    mapped: MAPPING SOURCE, a mapping file (TOML) and the claims or provider extract it describes
    → the contract tables it names. parquet: a contract dataset folder → its tables, validated,
    as Parquet files with the contract's types."""
    from loaders.conversion import check_out, write_conversion
    from loaders.fhir import categories_from_csv, finess_conversion, finess_report_lines
    try:
        check_out(out)          # before reading anything
    except Refused as e:
        _fail(e.reason, 2)
    if categories and source_format != "finess":
        _fail(f"--categories maps FINESS categories: it applies to `convert finess` only, not {source_format}", 2)
    if encoding and source_format != "snds":
        _fail(f"--encoding applies to `convert snds` only (a mapping file names its own), not {source_format}", 2)
    if encoding:
        import codecs
        try:
            codecs.lookup(encoding)
        except LookupError:
            _fail(f"--encoding {encoding!r}: no such encoding (e.g. utf-8, cp1252, latin-1)", 2)
    if (engine or spark_master) and source_format != "snds":
        _fail(f"--engine and --spark-master apply to `convert snds` only, not {source_format}", 2)
    if spark_master and engine != "spark":
        _fail("--spark-master needs --engine spark", 2)
    from engine import ComputeError, missing
    if why := missing(engine or "duckdb"):
        _fail(why, 2)
    lines = []
    try:
        if source_format == "finess":
            conversion = finess_conversion(list(sources), categories_from_csv(categories) if categories else None)
            lines = finess_report_lines(conversion.report)
        elif source_format == "annuaire":
            from loaders.annuaire import read_annuaire, report_lines
            conversion = read_annuaire(list(sources))
            lines = report_lines(conversion.report)
        elif source_format == "snds":
            from loaders.snds import read_snds, report_lines
            if len(sources) != 1:
                _fail("snds takes one extract folder", 2)
            conversion = read_snds(sources[0], encoding=encoding or "utf-8", engine=engine or "duckdb",
                                   spark_master=spark_master)
            lines = report_lines(conversion.report)
        elif source_format == "parquet":
            from loaders.parquet import convert_parquet, report_lines, write_parquet
            if len(sources) != 1:
                _fail("parquet takes one dataset folder: convert parquet DATA OUT", 2)
            conversion = convert_parquet(sources[0])
            _print_written(conversion, write_parquet(conversion, out), report_lines(conversion.report))
            return
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
    except ComputeError as e:          # the engine failed (Spark): its first line, not the SQL
        _fail(f"the conversion failed on {engine or 'duckdb'}: {str(e).splitlines()[0]}", 1)
    _print_written(conversion, write_conversion(conversion, out), lines)


def _as_given(message: str, data) -> str:
    """A scan's message names its dataset folders resolved (the scan runs in a child process, its
    record keeps them absolute): the command names them as given, as `validate` does."""
    for d in sorted(data, key=lambda d: -len(str(Path(d).resolve()))):
        message = message.replace(str(Path(d).resolve()), d)
    return message


def _print_written(conversion, written: list[Path], lines: list[str]):
    """What `convert` wrote: each table with its rows, then the report file and its lines."""
    for path in written[:-1]:
        click.echo(f"wrote {path}: {conversion.tables[path.stem].num_rows:,} rows")
    click.echo(f"wrote {written[-1]}" + (":" if lines else ""))
    for line in lines:
        click.echo(f"  {line}")


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--max-problems", default=50, show_default=True, type=Whole(min=1))
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


def _run_settings(path, start, end, seed, window_days, campaigns=None, engine=None, spark_master=None):
    from runs.campaigns import read_campaigns
    from runs.settings import RunSettings, parse_settings, read_settings
    settings = read_settings(path) if path else RunSettings()
    campaigns = [c.model_dump(mode="json") for c in read_campaigns(campaigns)] if campaigns else None
    given = {k: v for k, v in (("start", start and start.date().isoformat()), ("end", end and end.date().isoformat()),
                               ("seed", seed), ("window_days", window_days), ("campaigns", campaigns),
                               ("engine", engine), ("spark_master", spark_master)) if v is not None}
    return parse_settings({**settings.model_dump(mode="json", exclude_unset=True), **given},
                          path or "the command line") if given else settings


@main.command()
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@new_store_option
@click.option("--export", "export_dir", type=click.Path(file_okay=False), help="also write the contract CSVs here")
@click.option("--settings", "settings_file", type=click.Path(exists=True, dir_okay=False),
              help="JSON file of run settings (see README)")
@click.option("--start", type=click.DateTime(["%Y-%m-%d"]), help="first service date scanned")
@click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="last service date scanned")
@click.option("--window-days", type=Whole(min=1, max=MAX_DAYS), help="scan only the last N days of the data")
@click.option("--seed", type=Whole(min=0), help="seed of the randomised algorithms")
@click.option("--timeout", type=Seconds(min=0, min_open=True), help="stop the scan after this many seconds")
@click.option("--campaigns", "campaigns_dir", type=click.Path(file_okay=False),
              help="folder of control campaigns (*.toml) judged in the scan (indicator_outlier)")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), help="where the SQL runs (default: duckdb)")
@click.option("--spark-master", help="Spark master URL with --engine spark (default: local[*])")
def scan(data, store, export_dir, settings_file, start, end, window_days, seed, timeout, campaigns_dir, engine,
         spark_master):
    """Scan the dataset folder DATA — or several, merged (a registry plus claims): load, build,
    detect, score, write, check, promote. The scan runs in a child process."""
    from runs.launch import outcome, run as run_scan
    if start and end and start > end:
        raise click.BadParameter(f"{start.date()} is after --end {end.date()}: no service date would be scanned.",
                                 param_hint="'--start'")
    _writable_folder(export_dir, "--export")     # before the scan: a run made current, then an error, misleads
    try:
        settings = _run_settings(settings_file, start, end, seed, window_days, campaigns_dir, engine, spark_master)
    except SettingsError as e:
        _failed(e)
    from engine import missing
    if why := missing(settings.engine):
        _fail(why, 2)
    err = _console(stderr=True)
    err.print(f"scanning {' + '.join(data)}")
    try:
        record = run_scan(Store(store), [str(Path(d).resolve()) for d in data], settings, timeout,
                          progress=lambda stage, seconds: err.print(f"  {stage:<8} {seconds:7.2f} s"))
    except (Busy, StoreUnwritable) as e:
        _failed(e, store)
    result = outcome(record)
    if result in ("succeeded", "held"):
        c = record["counts"]
        click.echo(f"run {record['run_id']} {'is current' if result == 'succeeded' else 'HELD by its checks'}: "
                   f"{c['claims']:,} claims, {c['nodes']:,} nodes, {c['edges']:,} edges, {c['alerts']} alerts, "
                   f"{c['communities']} communities")
    _print_load_report(record.get("load_report", {}))
    said = {w["message"] for w in record.get("load_report", {}).get("warnings", [])}
    for w in record.get("warnings", []):
        if w not in said:          # a critical load warning is also a run warning: said once
            click.echo(f"warning: {w}")
    if result == "held":
        for r in record["checks"]["results"]:
            if not r["passed"]:
                click.echo(failed_check(r))
        click.echo(f"the current results are unchanged; an admin may accept it: fraudnet runs accept {record['run_id']}")
    elif result != "succeeded":
        error = record.get("error") or {}
        _fail(f"{_as_given(error.get('message', result), data)}\nscan {record['run_id']} {result.replace('_', ' ')}; "
              "the current results are unchanged.", EXIT_CODES.get(result, 1))
    if export_dir and result == "succeeded":
        from publish.export import export
        _audit(store, "export", f"export:{export_dir}", record["run_id"])
        for path in export(Store(store), export_dir, record["run_id"]):
            click.echo(f"exported {path}")
    sys.exit(EXIT_CODES[result])


@main.group()
def campaign():
    """Control campaigns: an indicator defined in a TOML file, every provider against its peers."""


@campaign.command("run")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--limit", default=10, show_default=True, type=Whole(min=1), help="units listed, highest rate first")
@click.option("--json", "as_json", is_flag=True, help="every unit and the peers' distribution as JSON")
def campaign_run(file, data, limit, as_json):
    """Run the campaign FILE on the dataset folder(s) DATA: every unit's rate with its 95%
    confidence interval, the peers' distribution, and the outliers (indicator_outlier)."""
    from graph.campaigns import campaign_warnings, indicator
    from loaders.dataset import load_dataset
    from runs.campaigns import read_campaign
    try:
        cp = read_campaign(file)
        tables = load_dataset(list(data) if len(data) > 1 else data[0]).tables
    except FraudnetError as e:
        _failed(e)
    units, peers = indicator(tables, cp)
    warnings = campaign_warnings(tables, cp)
    if as_json:
        click.echo(json.dumps({"campaign": cp.model_dump(mode="json"), "peers": peers, "units": units.to_pylist(),
                               "warnings": warnings}, ensure_ascii=False, default=str))
        return
    share = cp.measure == "share_of_patients"
    shown = (lambda x: f"{x:.1%}") if share else (lambda x: f"{x:.2f}")
    q = peers["quantiles"]
    click.echo(f"{cp.name}: {cp.label}")
    click.echo(f"{peers['units']} {cp.unit}s ({cp.peers.kind}{', ' + cp.peers.specialty if cp.peers.specialty else ''})"
               f"; usual rate {shown(peers['null_rate'])}; quantiles 10% {shown(q['10%'])}, 50% {shown(q['50%'])}, "
               f"90% {shown(q['90%'])}" + ("" if peers["judged"] else f"; too few to judge (min_peers {cp.min_peers})"))
    for w in warnings:
        click.echo(f"warning: {w}")
    table = Table(cp.unit, {"share_of_patients": "patients", "acts_per_patient": "patients",
                            "sessions_per_course": "courses"}[cp.measure],
                  "given" if share else ("acts" if cp.measure == "acts_per_patient" else "sessions"),
                  "rate", "95% CI", "expected", "log10 p", "outlier")
    for u in units.to_pylist()[:limit]:
        table.add_row(u["unit_id"], str(u["denominator"]), str(u["numerator"]), shown(u["rate"]),
                      f"{shown(u['low'])}-{shown(u['high'])}", f"{u['expected']:.1f}", f"{u['log10_p']:.1f}",
                      "yes" if u["outlier"] else "")
    _console().print(table)
    click.echo(f"{sum(units['outlier'].to_pylist())} outlier(s) of {units.num_rows}")


@main.group(invoke_without_command=True)
@new_store_option       # checked below: `runs show X --store S` must not check the group's default
@click.option("--limit", default=20, show_default=True, type=Whole(min=1))
@click.pass_context
def runs(ctx, store, limit):
    """List the scans of the store, newest first (`runs show`, `runs accept`)."""
    if ctx.invoked_subcommand:
        return
    _a_store(ctx, None, store)
    table = Table("run", "status", "current", "started", "claims", "alerts", "seconds", "stage/error")
    for r in Store(store).list_runs()[:limit]:
        error = (r.get("error") or {}).get("message", "").splitlines()
        held = ", ".join(r["checks"]["failed"]) if r["status"] == "held" and r.get("checks") else ""
        unreadable = r.get("results", "").startswith("unreadable")
        table.add_row(r["run_id"], r["status"] + (", results unreadable" if unreadable else ""),
                      "yes" if r["current"] else "",
                      (r["started_at"] or "unknown")[:19], f"{r['counts'].get('claims', ''):,}" if r["counts"] else "",
                      str(r["counts"].get("alerts", "")), _elapsed(r),
                      (r["results"] if unreadable else "") or (error[0] if error else "") or held or r.get("stage")
                      or (f"{len(r['warnings'])} warning(s)" if r.get("warnings") else ""))
    _console().print(table)


def _elapsed(record: dict) -> str:
    """A run's wall-clock seconds, from its start to its end (to now while it runs), whatever
    stopped it; "" when unknown (a damaged record, or a run that died without its end recorded)."""
    from datetime import datetime, timezone
    start, end = record.get("started_at"), record.get("finished_at")
    if not start or (not end and record["status"] != "running"):
        return ""
    stop = datetime.fromisoformat(end) if end else datetime.now(timezone.utc)
    return f"{(stop - datetime.fromisoformat(start)).total_seconds():.1f}"


@runs.command("show")
@click.argument("run_id")
@store_option
def runs_show(run_id, store):
    """One run's record as JSON: status, stages, counts, checks, warnings, error."""
    try:
        record = Store(store).get_run(run_id)
    except FraudnetError as e:
        _failed(e, store)
    _audit(store, "runs.get", f"run:{record['run_id']}", record["run_id"])
    click.echo(json.dumps(record, indent=2, ensure_ascii=False, default=str))


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
@click.option("--min-score", type=Number(), default=None)
@click.option("--limit", default=20, show_default=True, type=Whole(min=1))
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line instead of a table")
def alerts(store, run_id, pattern, min_score, limit, as_json):
    """The top alerts of a run, by rank within their pattern (each pattern's best first)."""
    from runs import results
    try:
        with Store(store).reading(run_id) as (run_id, con):
            rows, _ = results.alerts(con, pattern, min_score, limit=limit)
    except FraudnetError as e:
        _failed(e, store)
    _audit(store, "alerts.list", f"alerts?pattern={pattern or ''}&min_score={min_score or ''}&limit={limit}",
           run_id, len(rows))
    if as_json:
        for r in rows:
            click.echo(json.dumps({k: r[k] for k in ("alert_id", "pattern", "score", "rank", "summary")},
                                  ensure_ascii=False))
        return
    # alert ids are kept whole, to be copied into `fraudnet alert` (an id begins with its pattern): a
    # table when they fit beside rank, score and 20 characters of summary, else one alert a paragraph
    console = _console()
    cells = [(str(r["rank"]), f"{r['score']:,.2f}", r["alert_id"], r["summary"]) for r in rows]
    widths = [max((len(c[i]) for c in cells), default=0) for i in range(3)]
    if sum(widths) + 20 + 13 <= console.size.width:
        table = Table()
        table.add_column("rank", no_wrap=True)
        table.add_column("score", no_wrap=True, justify="right")
        table.add_column("alert", no_wrap=True, min_width=widths[2])
        table.add_column("summary")
        for c in cells:
            table.add_row(*c)
        console.print(table)
        return
    import textwrap
    for rank, score, alert_id, summary in cells:
        console.print(f"{rank:>{widths[0]}}  {score:>{widths[1]}}  {alert_id}", soft_wrap=True)
        console.print(textwrap.fill(summary, max(console.size.width - 4, 20), initial_indent="    ",
                                    subsequent_indent="    "), soft_wrap=True)


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
    _audit(store, "runs.changes", f"changes:{report['run_id']}", report["run_id"],
           sum(len(report.get(k, [])) for k in ("new", "escalated", "realerted", "suppressed", "resolved", "risk_risers")))
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False, default=str))
        return
    for line in change_lines(report):
        click.echo(line)


def change_lines(report: dict) -> list[str]:
    """`fraudnet changes` in text: the summary, then one line per new, escalated, re-alerted,
    suppressed and resolved alert (re-alerted and suppressed ones followed by their why), returning
    alerts counted on one line (`--json` lists them), communities and risk risers."""
    out = [f"run {report['run_id']} against {report['previous_run'] or 'nothing (first run)'}: {report['summary']}"]
    width = max(map(len, PATTERNS))       # every pattern fits its column
    row = lambda label, a, extra="": f"  {label:<11} {a['pattern']:<{width}} {a['score']:>12,.2f}{extra}  {a['alert_id']}"
    for a in report["new"]:
        out.append(row("new", a))
    for a in report["escalated"]:
        out.append(row("escalated", a, f" (was {a['previous_score']:,.2f})"))
    for key, label in (("realerted", "re-alerted"), ("suppressed", "suppressed")):
        for a in report.get(key, []):
            out.append(row(label, a))
            out.append(f"    why: {a['why']}" + (f" (would be {a['would_be']})" if key == "suppressed" else ""))
    for a in report["resolved"]:
        out.append(row("resolved", a))
    if report.get("returning"):
        out.append(f"  returning: {len(report['returning'])} alert(s) current in an earlier run, absent from the "
                   "previous one, back now (listed by --json)")
    out += [f"  new community {c}" for c in report["new_communities"]]
    out += [f"  dissolved community {c}" for c in report["dissolved_communities"]]
    out += [f"  risk up {r['rise']:+.1f} to {r['after']:.1f}: {r['entity_type']} {r['entity_id']}"
            for r in report["risk_risers"]]
    if report.get("patients_risen"):
        out.append(f"  risk up for {report['patients_risen']} patient(s), counted, not named")
    return out


@main.command()
@click.option("--truth", "truth_file", required=True, type=click.Path(exists=True, dir_okay=False),
              help="CSV of known cases: pattern, [group_id,] entity_type, entity_id")
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
@click.option("--k-factor", default=2.0, show_default=True, type=Number(min=0, min_open=True, max=MAX_COUNT),
              help="K = max(5, this × the known cases of a pattern)")
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of tables")
def evaluate(truth_file, store, run_id, k_factor, as_json):
    """Score a run against known cases: recall and precision@K per pattern, and for entity risk."""
    from graph.detect import DETECTORS
    from graph.evaluate import evaluate as run_eval
    from loaders.truth import read_truth
    try:
        truth = read_truth(truth_file, tuple(DETECTORS))
    except ValueError as e:
        _fail(str(e), 2)
    try:
        with Store(store).reading(run_id) as (run_id, con):
            tables = [con.sql(f"SELECT * FROM {t}").to_arrow_table()
                      for t in ("alerts", "alert_entities", "entity_risk")]
    except FraudnetError as e:
        _failed(e, store)
    record = Store(store).get_run(run_id)
    skipped = frozenset() if (record.get("settings") or {}).get("campaigns") else frozenset({"indicator_outlier"})
    result = run_eval(*tables, truth, k_factor, not_judged=skipped)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    table = Table("pattern", "cases", "K", "alerts in top K", "found", "recall", "precision@K",
                  "accused precision@K")
    for r in result["patterns"]:
        if not r["judged"]:
            table.add_row(r["pattern"], str(r["cases"]), "-", "-", "-", "not judged", "-", "-")
            continue
        table.add_row(r["pattern"], str(r["cases"]), str(r["k"]), str(r["alerts"]), str(r["found"]),
                      f"{r['recall']:.2f}", f"{r['precision_at_k']:.2f}", f"{r['accused_precision_at_k']:.2f}")
    _console().print(table)
    for r in result["patterns"]:
        if not r["judged"]:
            click.echo(f"{r['pattern']}: not judged — the run had no control campaigns (scan --campaigns DIR)")
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
@click.option("--stop-after", type=Seconds(min=0), default=None, help="stop after this many seconds (for tests)")
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
    for w in result.get("warnings", []):      # said where a person reads it too, as `fraudnet scan` says them
        click.echo(f"warning: {w}", err=True)
    sys.exit(EXIT_CODES.get(result["status"], 1))


# --- cases, and one alert or entity across runs -----------------------------------------------

def _cases(store):
    from cases.store import CaseStore
    return CaseStore(Store(store))


def _me():
    import getpass

    from cases.store import Actor
    return Actor(getpass.getuser(), "cli")


def _euros(x, missing: str = "") -> str:
    return missing if x is None else f"€{x:,.2f}"


def _print_case(case: dict):
    """A case for a terminal: what it is, its alerts and entities, notes, decisions, impact, history."""
    echo = click.echo
    echo(f"{case['case_id']}  {case['title']}")
    qual = f" ({case['qualification']})" if case["qualification"] else ""
    echo(f"status {case['status']}{qual}, assigned to {case['assignee'] or 'nobody'}, version {case['version']}; "
         f"opened {case['opened_at'][:16].replace('T', ' ')} by {case['opened_by']} on run {case['run_id']}"
         + (f", the control having begun on {case['opened_on']}" if case["opened_on"] != case["opened_at"][:10] else ""))
    blind = False
    for u in case.get("unreadable", []):
        blind = blind or u["current"]
        echo(f"{'the current run' if u['current'] else 'run'} {u['run_id']} cannot be read ({u['why']}): "
             + ("its scores and impact are not shown" if u["current"] else "its impact is not shown")
             + f"; see `fraudnet runs show {u['run_id']}`")
    if case["alerts"]:
        echo("alerts:")
    for a in case["alerts"]:
        now = "score now unknown" if blind else \
            "gone from the current run" if a.get("current_score") is None else f"now {a['current_score']:,.2f}"
        echo(f"  {a['alert_id']}  {a['pattern']}  score {a['score']:,.2f} ({now}); first seen in run "
             f"{a.get('first_seen_run') or '-'}, last seen in run {a.get('last_seen_run') or '-'}")
    ents = "; ".join(f"{e['entity_type']} {e['entity_id']}" + (f" ({', '.join(x for x in (e['kind'], e['specialty'], e['postcode']) if x)})"
                                                             if e["kind"] or e["postcode"] else "") + f" {e['roles']}" + (f" ({e['standing']})" if e.get('standing') else "")
                     for e in case["entities"])
    echo(f"entities: {ents or 'none'}; {_patients(case)}")
    for n in case["notes"]:
        echo(f"note {n['at'][:16].replace('T', ' ')} {n['who']}: {n['text']}")
    for d in case["decisions"]:
        amounts = ", ".join(f"{k.replace('_', ' ')} {_euros(d[k])}" for k in ("estimated_harm", "overpayment_notified",
                                                                             "recovered") if d[k] is not None)
        echo(f"decision {d['decision_id']}: {d['decided_on']} {d['action']}"
             + (f", deadline {d['deadline']}" if d["deadline"] else "") + (f"; {amounts}" if amounts else ""))
    from cases.views import event_said, run_label
    for run in case.get("impact", []):
        for m in run["measures"]:
            echo(f"impact in run {run_label(run)}: {m['pattern']} "
                 f"{m['verdict']}: {m['why']}")
    for h in case["history"]:
        echo(f"  v{h['version']} {h['at'][:19].replace('T', ' ')} {h['who']} ({h['role']}) {event_said(h)}")


def _patients(case: dict) -> str:
    """A case's patient counts, told apart (`cases.views.patients_said`)."""
    from cases.views import patients_said
    return patients_said(case)


def _done(case: dict, as_json: bool, said: str):
    if as_json:
        click.echo(json.dumps(case, indent=2, ensure_ascii=False, default=str))
    else:
        click.echo(f"{case['case_id']} {said} (version {case['version']})")


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="print the whole case as JSON")(f)


def version_option(f):
    return click.option("--if-version", "version", type=Whole(min=1), default=None,
                        help="refuse the change if the case is no longer at this version (as read with show)")(f)


@main.group("cases")
def cases_group():
    """Cases: open them on alerts or entities, assign, note, qualify, decide, measure and report
    (see README, Cases). The changes are made as the current OS user, role `cli`."""


@cases_group.command("open")
@click.argument("alert_ids", nargs=-1, metavar="[ALERT_ID]...")
@click.option("--entity", "entities", multiple=True, metavar="TYPE:ID", help="an entity the case is about (repeatable)")
@click.option("--title", help="default: its patterns and main entities")
@click.option("--assignee")
@click.option("--note", help="a first note")
@click.option("--run", "run_id", help="the run whose alerts these are (default: the current run)")
@click.option("--opened-on", help="YYYY-MM-DD: the day the control began, if before today (a case taken over); "
                                  "decisions may not predate it")
@store_option
@json_option
def cases_open(alert_ids, entities, title, assignee, note, run_id, opened_on, store, as_json):
    """Open a case on ALERT_ID… (their entities come with them) and/or --entity TYPE:ID."""
    try:
        case = _cases(store).open(_me(), list(alert_ids), list(entities), title, assignee, note, run_id, opened_on)
    except FraudnetError as e:
        _failed(e, store)
    from runs.audit import case_target
    _audit(store, "cases.open", case_target(Store(store), case), case["run_id"])
    if as_json:
        _done(case, True, "")
    else:
        click.echo(f"opened {case['case_id']}: {case['title']} ({len(case['alerts'])} alert(s), "
                   f"{len(case['entities'])} entities, {_patients(case)})")


@cases_group.command("list")
@click.option("--status", type=click.Choice(["open", "in_review", "confirmed", "dismissed", "closed"]))
@click.option("--assignee")
@click.option("--pattern", type=click.Choice(PATTERNS))
@click.option("--region", help="a postcode prefix of one of its providers or centres, e.g. 69")
@click.option("--profession", help="a provider kind or specialty of one of its providers, e.g. dentist")
@click.option("--limit", default=50, show_default=True, type=Whole(min=1))
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="write the whole filtered list as CSV here")
@click.option("--sep", type=click.Choice([",", ";"]), default=",", show_default=True,
              help="CSV separator (; also writes decimal commas)")
@store_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def cases_list(status, assignee, pattern, region, profession, limit, csv_file, sep, store, as_json):
    """The cases, newest first, with filters."""
    from cases.export import csv_bytes
    from cases.store import LIST_COLUMNS
    cs = _cases(store)
    try:
        rows, total = cs.list(status, assignee, pattern, region, profession, MAX_COUNT if csv_file else limit)
    except FraudnetError as e:
        _failed(e, store)
    _audit(store, "cases.export" if csv_file else "cases.list", "cases", None, len(rows))
    if csv_file:
        _write_private(csv_file, csv_bytes(LIST_COLUMNS, rows, sep))
        click.echo(f"wrote {csv_file}: {total} case(s)")
        return
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, ensure_ascii=False))
        return
    table = Table("case", "status", "assignee", "patterns", "alerts", "providers", "patients", "decisions", "title")
    for r in rows:
        table.add_row(r["case_id"], r["status"] + (f" ({r['qualification']})" if r["qualification"] else ""),
                      r["assignee"] or "", ", ".join(r["patterns"]), str(r["alerts"]), str(r["providers"]),
                      str(r["patients"]), str(r["decisions"]), r["title"])
    _console().print(table)
    click.echo(f"{total} case(s)")


@cases_group.command("show")
@click.argument("case_id")
@store_option
@json_option
def cases_show(case_id, store, as_json):
    """One case: alerts, entities, notes, decisions, impact across runs and history."""
    from cases.views import case_view
    try:
        case = case_view(Store(store), case_id)
    except FraudnetError as e:
        _failed(e, store)
    from runs.audit import case_target
    _audit(store, "cases.get", case_target(Store(store), case), None)
    if as_json:
        click.echo(json.dumps(case, indent=2, ensure_ascii=False, default=str))
    else:
        _print_case(case)


@cases_group.command("assign")
@click.argument("case_id")
@click.argument("assignee", metavar="NAME")
@version_option
@store_option
@json_option
def cases_assign(case_id, assignee, version, store, as_json):
    """Assign CASE_ID to NAME ('' unassigns)."""
    try:
        case = _cases(store).update(case_id, _me(), version, assignee=assignee)
    except FraudnetError as e:
        _failed(e, store)
    _done(case, as_json, f"assigned to {case['assignee'] or 'nobody'}")


@cases_group.command("note")
@click.argument("case_id")
@click.argument("text")
@version_option
@store_option
@json_option
def cases_note(case_id, text, version, store, as_json):
    """Append the note TEXT to CASE_ID."""
    try:
        case = _cases(store).note(case_id, _me(), text, version)
    except FraudnetError as e:
        _failed(e, store)
    _done(case, as_json, f"noted ({len(case['notes'])} note(s))")


@cases_group.command("status")
@click.argument("case_id")
@click.argument("status", type=click.Choice(["open", "in_review", "confirmed", "dismissed", "closed"]))
@click.option("--qualification", type=click.Choice(["administrative_error", "abuse", "fraud"]),
              help="needed to confirm")
@version_option
@store_option
@json_option
def cases_status(case_id, status, qualification, version, store, as_json):
    """Move CASE_ID to STATUS (open → in_review → confirmed or dismissed → closed; see README)."""
    try:
        case = _cases(store).update(case_id, _me(), version, status=status, qualification=qualification)
    except FraudnetError as e:
        _failed(e, store)
    _done(case, as_json, f"is {case['status']}" + (f" ({case['qualification']})" if case["qualification"] else ""))


@cases_group.command("decide")
@click.argument("case_id")
@click.argument("action", required=False)
@click.option("--date", "decided_on", help="the decision's date, YYYY-MM-DD (needed for a new decision)")
@click.option("--deadline", help="YYYY-MM-DD (needed by a request for compliance)")
@click.option("--harm", "estimated_harm", type=Number(), help="estimated harm, euros")
@click.option("--notified", "overpayment_notified", type=Number(), help="overpayment notified, euros")
@click.option("--recovered", type=Number(), help="recovered, euros")
@click.option("--note", help="what was decided, in words")
@click.option("--update", "decision_id", type=Whole(min=1),
              help="change the deadline or amounts of this decision instead")
@version_option
@store_option
@json_option
def cases_decide(case_id, action, decided_on, deadline, estimated_harm, overpayment_notified, recovered, note,
                 decision_id, version, store, as_json):
    """Record a decision on CASE_ID: ACTION (see `fraudnet cases actions`) with --date, --deadline and
    amounts; or, with --update N, change decision N's deadline or amounts."""
    try:
        if decision_id:
            if action or decided_on or note:
                _fail("--update changes a decision's deadline and amounts only", 2)
            case = _cases(store).update_decision(case_id, decision_id, _me(), version, deadline, estimated_harm,
                                                 overpayment_notified, recovered)
            said = f"decision {decision_id} updated"
        else:
            if not action:
                _fail("give the ACTION decided (see `fraudnet cases actions`), or --update N", 2)
            case = _cases(store).decide(case_id, _me(), action, decided_on, deadline, estimated_harm,
                                        overpayment_notified, recovered, note, version)
            said = f"decided {action} on {case['decisions'][-1]['decided_on'] if case['decisions'] else decided_on}"
    except FraudnetError as e:
        _failed(e, store)
    _done(case, as_json, said)


@cases_group.command("report")
@click.argument("case_id")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="the HTML file to write")
@store_option
def cases_report(case_id, out, store):
    """Write the case file of CASE_ID: one self-contained HTML page to read, print or save as PDF."""
    from cases.report import render
    try:
        html = render(Store(store), case_id)
    except FraudnetError as e:
        _failed(e, store)
    from runs.audit import case_target
    _audit(store, "cases.report", case_target(Store(store), _cases(store).get(case_id)), None)
    _write_private(out, html.encode("utf-8"))
    click.echo(f"wrote {out}")


@cases_group.command("actions")
@store_option
@click.option("--json", "as_json", is_flag=True, help="one JSON object per line")
def cases_actions(store, as_json):
    """The actions a decision may record (the store's actions.toml, or the shipped catalogue)."""
    from dataclasses import asdict

    from cases.actions import catalogue
    try:
        actions = catalogue(Store(store))
    except FraudnetError as e:
        _failed(e, store)
    for a in actions:
        click.echo(json.dumps(asdict(a), ensure_ascii=False) if as_json else
                   f"{a.id:<36} {a.insurer:<18} level {a.level}{'  (needs a deadline)' if a.deadline else ''}  {a.label}")


@cases_group.command("kpis")
@click.option("--year", type=Year(), help="one year only")
@click.option("--csv", "csv_file", type=click.Path(dir_okay=False), help="write the indicators as one CSV table here")
@click.option("--sep", type=click.Choice([",", ";"]), default=",", show_default=True,
              help="CSV separator (; also writes decimal commas)")
@store_option
@click.option("--json", "as_json", is_flag=True, help="print them as JSON")
def cases_kpis(year, csv_file, sep, store, as_json):
    """Indicators: cases by status and assignee, time to decision, amounts by action and profession, per year."""
    from cases.export import csv_bytes
    from cases.kpis import KPI_COLUMNS, kpis, rows
    report = kpis(Store(store), year)
    if csv_file:
        _write_private(csv_file, csv_bytes(KPI_COLUMNS, rows(report), sep))
        click.echo(f"wrote {csv_file}")
        return
    if as_json:
        click.echo(json.dumps(report, indent=2, ensure_ascii=False))
        return
    click.echo("cases by status: " + (", ".join(f"{r['status']} {r['cases']}" for r in report["cases_by_status"]) or "none"))
    for r in report["cases_by_assignee"]:
        click.echo(f"  {r['assignee'] or '(unassigned)'}: {r['status']} {r['cases']}")
    for r in report["cases_opened"]:
        click.echo(f"{r['year']}: {r['cases']} case(s) opened")
    for r in report["time_to_decision"]:
        click.echo(f"{r['year']}: {r['cases']} case(s) decided, median {r['median_days']:.1f} days, "
                   f"mean {r['mean_days']:.1f} days to decision")
    for r in report["amounts"]:
        click.echo(f"{r['year']} {r['action']} ({r['profession']}): {r['decisions']} decision(s), harm "
                   f"{_euros(r['estimated_harm'], 'not given')}, notified "
                   f"{_euros(r['overpayment_notified'], 'not given')}, recovered {_euros(r['recovered'], 'not given')}")


@main.command("alert")
@click.argument("alert_id")
@click.option("--run", "run_id", help="a run id (default: the current run)")
@click.option("--evidence", "evidence_file", type=click.Path(dir_okay=False),
              help="also write every claim line behind it as CSV here (patients numbered, not named)")
@click.option("--sep", type=click.Choice([",", ";"]), default=",", show_default=True, help="CSV separator")
@store_option
@click.option("--json", "as_json", is_flag=True, help="print it as JSON")
def alert_cmd(alert_id, run_id, evidence_file, sep, store, as_json):
    """One alert: summary, entities, its statistic against peers, its evidence lines, its first and
    last current runs and its case."""
    from cases.views import EVIDENCE_COLUMNS, alert_view, evidence, figure, unit_after
    from cases.export import csv_bytes
    st = Store(store)
    try:
        a = alert_view(st, alert_id, run_id)
        _audit(store, "alerts.get", f"alert:{alert_id}", a["run_id"])
        if evidence_file:
            with st.reading(a["run_id"]) as (_, con):
                lines = evidence(con, alert_id)
            _write_private(evidence_file, csv_bytes(EVIDENCE_COLUMNS, lines, sep))
    except FraudnetError as e:
        _failed(e, store)
    if as_json:
        click.echo(json.dumps(a, indent=2, ensure_ascii=False, default=str))
    else:
        echo = click.echo
        echo(f"{a['alert_id']}: {a['pattern']}, rank {a['rank']}, score {a['score']:,.2f} in run {a['run_id']}")
        echo(a["summary"])
        echo(f"first seen in run {a['first_seen_run'] or '-'}, last seen in run {a['last_seen_run'] or '-'}; "
             + (f"case {a['case_id']} ({a['case_status']})" if a["case_id"] else "no case"))
        for e in a["entities"]:
            echo(f"  {e['entity_type']} {e['entity_id']}: {e['role']}")
        echo(f"  and {a['patients']} patient(s) in its evidence lines ({a['patients_sampled']} named by the alert)")
        p = a["peers"]
        if p:
            u = p["unit"]
            echo(f"{p['statistic']}" + (f" ({p['detail']})" if p["detail"] else "")
                 + f": {figure(p['subject_value'], u)} "
                 f"{unit_after(u)}; {p['peers']} peers: median {figure(p['peer_median'], u)}, 90th percentile "
                 f"{figure(p['peer_p90'], u)}; above {p['share_below']:.0%} of peers")
        echo(f"evidence: {a['evidence_lines']:,} claim line(s)")
    if evidence_file:
        click.echo(f"wrote {evidence_file}", err=as_json)


class EntityType(click.Choice):
    """An entity type (`contract.vocab.ENTITY_TYPES`); a node id given whole (`provider:1000`, as
    `cases open --entity` and the API take it) is refused saying to give TYPE and ID apart. A
    patient's id is never echoed (`patient:…`), nor a value that is no type and may be an id (one
    holding a character no type name has, a digit: `fraudnet entity P0009018` without its type)."""

    def __init__(self):
        super().__init__(ENTITY_TYPES)

    def convert(self, value, param, ctx):
        kind, sep, rest = str(value).partition(":")
        if sep and kind == "patient":
            self.fail("'patient:…' is TYPE:ID: give them apart, `fraudnet entity patient ID` "
                      "(a patient's id is never shown).", param, ctx)
        if sep and kind in ENTITY_TYPES:
            shown = "ID" if is_patient_node(rest) else rest     # never a patient's
            said = repr(value) if shown == rest else f"'{kind}:…'"
            self.fail(f"{said} is TYPE:ID: give them apart, `fraudnet entity {kind} {shown}`.", param, ctx)
        if value not in ENTITY_TYPES and not is_word(str(value)):
            self.fail(f"the value given is not one of {', '.join(map(repr, ENTITY_TYPES))} (it is not shown: "
                      "it may be an id; give TYPE, then ID).", param, ctx)
        return super().convert(value, param, ctx)


def _doubled_type(entity_id: str) -> str:
    """What to add to a "no such entity" error when the id starts with a type (`provider
    provider:1000`: the type given twice), naming the id only if not a patient's; else ''."""
    kind, sep, rest = entity_id.partition(":")
    if not (sep and kind in ENTITY_TYPES):
        return ""
    return (f": the ID starts with a type, '{kind}:' (the type given twice?): give the id alone, "
            f"`fraudnet entity {kind} {'ID' if kind == 'patient' else rest}`")


def _an_id(ctx, param, value: str) -> str:
    """An entity id: not blank (no entity has one; it was a usage error said as `no provider ''`)."""
    if not value.strip():
        raise click.BadParameter(f"{value!r} is blank: give the entity's id as the data names it, "
                                 "e.g. `fraudnet entity provider 10000000063`.")
    return value


@main.command("entity")
@click.argument("entity_type", metavar="TYPE", type=EntityType())
@click.argument("entity_id", metavar="ID", callback=_an_id)
@click.option("--run", "run_id", help="a run id (default: the current run)")
@store_option
@click.option("--json", "as_json", is_flag=True, help="print it as JSON")
def entity_cmd(entity_type, entity_id, run_id, store, as_json):
    """One entity: attributes, risk, its billing profile against peer medians, its alerts, its
    cases and its risk across runs. TYPE is one of provider, centre, legal_entity, person,
    patient; ID its id as the data names it (`fraudnet entity provider 10000000063`)."""
    from cases.views import entity_view
    from runs.audit import node_target
    try:
        e = entity_view(Store(store), entity_type, entity_id, run_id)
    except NotFound as err:
        message, code = _worded(err, store)
        said_already = entity_type != "patient" and err.unsaid     # a patient's node id: worded by NotFound
        _fail(message + (_doubled_type(entity_id) if err.kind == entity_type and not said_already else ""), code)
    except FraudnetError as err:
        _failed(err, store)
    _audit(store, "entities.get", node_target(Store(store), node_id(entity_type, entity_id)), e["run_id"])
    if as_json:
        click.echo(json.dumps(e, indent=2, ensure_ascii=False, default=str))
        return
    echo = click.echo
    name = f" {e['name']}" if e["name"] and entity_type != "patient" else ""
    roles = "" if e.get("roles") is None else "; in the claims scanned: " + ROLES_SAID.get(e["roles"], e["roles"])
    echo(f"{entity_type} {entity_id}{name}: " + ", ".join(x for x in (e["kind"], e["specialty"], e["postcode"]) if x)
         + roles)
    risk = e["risk"]
    echo(f"risk {risk['score']:.1f} in run {e['run_id']}: {risk['reasons']}" if risk else f"no risk in run {e['run_id']}")
    p = e["profile"]
    if p:
        m = p["peer_medians"]
        echo(f"billing against {m['peers']} peers of its kind and specialty (median):")
        for k, label in (("patients", "patients"), ("lines", "lines"), ("patient_days", "patient-days"),
                         ("amount", "euros"), ("lines_per_patient", "lines per patient"),
                         ("days_per_patient", "days per patient"), ("amount_per_patient", "euros per patient")):
            peer = "-" if m[k] is None else f"{m[k]:,.2f}"
            echo(f"  {label:<20} {p[k]:>14,.2f}   peers {peer:>12}")
    for a in e["alerts"]:
        echo(f"alert {a['alert_id']} ({a['role']}): {a['pattern']} rank {a['rank']}, score {a['score']:,.2f}")
    for c in e["cases"]:
        echo(f"case {c['case_id']} ({c['status']}{', as ' + c['standing'] if c.get('standing') else ''}): {c['title']}")
    for r in e["risk_history"]:
        score = "-" if r["score"] is None else f"{r['score']:.1f}"
        echo(f"run {r['run_id']}{' (current)' if r['current'] else ''}: " + (
            f"cannot be read ({r['unreadable']})" if r.get("unreadable") else f"risk {score}, {r['alerts']} alert(s)"))


# A provider's `roles` (`graph.model`: its parts in the claims scanned, joined by '|'), in words.
ROLES_SAID = {"biller": "biller", "prescriber": "prescriber", "biller|prescriber": "biller and prescriber",
              "": "neither biller nor prescriber"}


@main.command("export")
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
def export_cmd(directory, store, run_id):
    """Write a run's contract CSVs (alerts, alert_entities, entity_risk, communities) to DIR."""
    from publish.export import export
    _writable_folder(directory, "DIR")      # as scan --export: a missing parent is a typo, not made
    asked = run_id
    try:
        run_id, _ = Store(store).readable(run_id)       # a cut results file refused before the audit line
        _audit(store, "export", f"export:{directory}", run_id)
        for path in export(Store(store), directory, run_id):
            click.echo(f"exported {path}")
    except FraudnetError as e:
        if isinstance(e, Unreadable) and asked is None:     # worded as the current run, as `alerts` words it
            e = Unreadable(e.run_id, e.status, e.why, current=True)
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
@click.option("--batch-size", default=5000, show_default=True, type=Whole(min=1),
              help="rows per transaction")
@neo4j_options
def neo4j_sync_cmd(store, run_id, batch_size, uri, user, database):
    """Write a run's graph and findings to Neo4j (idempotent; resumes an interrupted sync);
    prints the report as JSON."""
    from publish.neo4j import sync
    settings = _neo4j_settings(uri, user, database)
    err = _console(stderr=True)
    try:
        run_id = Store(store).resolve(run_id)
    except FraudnetError as e:
        _failed(e, store)
    _audit(store, "neo4j.sync", "neo4j", run_id)
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
@click.argument("directory", metavar="DIR", type=click.Path(file_okay=False))
@store_option
@click.option("--run", "run_id", help="a run id (default: the current run)")
def neo4j_import_files_cmd(directory, store, run_id):
    """Write a run as the files of `neo4j-admin database import full` (a bulk import of a
    national graph), with DIR/import.sh."""
    from publish.neo4j_bulk import import_files
    try:
        run_id = Store(store).resolve(run_id)
    except FraudnetError as e:
        _failed(e, store)
    _audit(store, "neo4j.import_files", f"import-files:{directory}", run_id)
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
@new_store_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=Whole(min=0, max=65535))
@click.option("--data-root", envvar="FRAUDNET_DATA_ROOT", type=click.Path(exists=True, file_okay=False),
              help="folder under which POST /runs may scan datasets (env FRAUDNET_DATA_ROOT; off if unset)")
def serve(store, host, port, data_root):
    """Serve the HTTP API over the store (API keys from FRAUDNET_API_KEYS or FRAUDNET_API_KEYS_FILE;
    the other settings from the environment: see README, HTTP API)."""
    from pydantic import ValidationError

    from api.app import create_app
    from api.auth import load_keys
    from api.server import serve as run_server
    from config import Environment, environment_problems
    try:
        env = Environment()
        keys = load_keys(env)
    except ValidationError as e:
        _failed(SettingsError("the environment", environment_problems(e)))
    except SettingsError as e:
        _failed(e)
    app = create_app(Store(store), keys, data_root, env.scan_timeout, max_body_bytes=env.max_body_bytes,
                     client_timeout=env.client_timeout, heavy_calls_per_key=env.heavy_calls_per_key,
                     heavy_workers=env.heavy_workers)
    run_server(app, host, port, env.client_timeout)


if __name__ == "__main__":
    main()
