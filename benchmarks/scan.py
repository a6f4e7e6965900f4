"""Full-scan benchmark (issue #18): each stage's seconds and peak memory against the floor.

    python benchmarks/scan.py [--regions generator second] [--claims 5000000] [--x4 generator]
                              [--parquet] [--digest] [--repeat N] [--dir .bench] [--worlds ../shared/worlds]
                              [--duckdb memory_limit=1GB]

Regions, generated once and cached under --dir (git-ignored):

- `generator`: the project's generator (`loaders.synthetic.generate`, as `fraudnet generate`), with
  as many patients as `load_build.py` reckons give --claims claims (at 16.8 claims a patient,
  what the generator drew before #13; it now draws about 23, so 5M asks give 6.7M claims);
- `second`: `../shared/worlds/second_region.py` (written independently of the project) at
  --second-patients patients (160,000: about 4.9M claims);
- `--x4 NAME`: four regions NAME of seeds S..S+3 merged into one dataset of four times the claims
  (the 20M line): every identifier but service codes gets its region's prefix (`r1.`…`r4.`), and
  so do identifier values; postcodes move to other départements (the two leading digits + 25 × the
  region's index, modulo 100), so the four regions are four disjoint départements' worth of
  patients, providers and centres sharing one code catalogue (`services` of the first region).

`--parquet` also measures each dataset converted once to Parquet (`fraudnet convert parquet`,
cached beside it as `data-parquet`): the loader's fast path, against a floor reading that Parquet.

Each dataset is measured `--repeat` times; each time, in fresh processes one after the other:

1. **the floor**: DuckDB reads the same claims file with the contract's types and computes the
   patient–provider edges (`GROUP BY patient_id, provider_id`: claims, euros) and the
   per-provider-and-act aggregates (`GROUP BY provider_id, service_code`: claims, patients, euros,
   units), held in DuckDB tables; its seconds and its process's peak memory;
2. **the scan**: a run is created in a fresh store and `runs.worker` runs it (the very code every
   face starts as a child process: `python -m runs.worker STORE RUN_ID`, here called by a wrapper
   that then reads the process's own peak resident memory, VmHWM); the stages' seconds are the
   run record's `timings`.

`--profile N` also prints the scan's N slowest DuckDB statements, the statement by whose end the
peak rose most, and the N steps in which the process's resident memory was highest (`Steps`: the
pipeline's functions, each detector, each statement and the Python after it), the first of them
the one that set the peak, each with the resident memory at its start and, at its highest sample,
DuckDB's buffer memory (`duckdb_memory()`), Arrow's pool and malloc's own (in use, and freed but
kept). The rest of the resident memory is the interpreter and its libraries (about 280 MB),
what DuckDB allocates outside its buffer manager (the Arrow results it hands to Python), and
what DuckDB's allocator (jemalloc) freed but keeps.

The ratio is the scan's seconds over the floor's. `--digest` also prints a digest of the results
(alerts with their scores and ranks, entity risk, communities; after a slash, every results table)
to compare two versions of the code on the same regions. Timings are wall-clock seconds on
whatever else the machine runs (the load
average is printed before and after each dataset): compare lines measured side by side.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from load_build import region as generator_region  # noqa: E402

STAGES = ("load", "build", "detect", "score", "write", "check", "promote")
CLAIM_TYPES = {"claim_id": "VARCHAR", "patient_id": "VARCHAR", "provider_id": "VARCHAR",
               "prescriber_id": "VARCHAR", "centre_id": "VARCHAR", "service_code": "VARCHAR",
               "service_date": "DATE", "amount": "DOUBLE", "quantity": "INTEGER"}


def peak_mb() -> int:
    """This process's peak resident memory (VmHWM), in MB."""
    kb = int(re.search(r"VmHWM:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))
    return round(kb / 1024)


# --- the regions ---------------------------------------------------------------------------------

def second_region(folder: Path, patients: int, seed: int, worlds: Path) -> Path:
    """The folder of `second_region.py`'s region of `patients` patients, generated once."""
    data = folder / f"second-{patients}-{seed}" / "data"
    if not (data / "claims.csv").exists():
        script = worlds / "second_region.py"
        if not script.is_file():
            sys.exit(f"{script} is not there: give --worlds, or leave out the region 'second'")
        t = time.perf_counter()
        subprocess.run([sys.executable, str(script), str(data), str(data.parent / "truth.csv"),
                        "--patients", str(patients), "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)
        print(f"(generated {data} in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    return data


def x4(folder: Path, parts: list[Path], name: str) -> Path:
    """Four regions merged into one dataset with disjoint identifiers (see the module's doc)."""
    sys.path.insert(0, str(ROOT))
    import duckdb

    from contract.tables import ID, TABLES
    data = folder / f"x4-{name}" / "data"
    if (data / "claims.csv").exists():
        return data
    data.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    con = duckdb.connect()
    for table, spec in TABLES.items():
        sources = [p / f"{table}.csv" for p in parts if (p / f"{table}.csv").exists()]
        if not sources:
            continue
        if table == "services":      # one national catalogue, the same in every region
            sources = sources[:1]
        header = [d[0] for d in con.execute("SELECT * FROM read_csv($p, all_varchar=true) LIMIT 0",
                                             {"p": str(sources[0])}).description]
        selects = []
        for k, src in enumerate(sources):
            exprs = []
            for col in header:
                c = f'"{col}"'
                typed = spec.column(col).type if col in {x.name for x in spec.columns} else None
                if col == "postcode":
                    exprs.append(f"CASE WHEN regexp_full_match({c}, '[0-9]{{5}}') THEN lpad(((CAST(substr({c}, 1, 2) "
                                 f"AS INTEGER) + {25 * k}) % 100)::VARCHAR, 2, '0') || substr({c}, 3) ELSE {c} END")
                elif (typed == ID and col != "service_code") or (table, col) == ("identifiers", "value"):
                    exprs.append(f"'r{k + 1}.' || {c}")
                else:
                    exprs.append(c)
            named = ", ".join(f'{e} AS "{h}"' for e, h in zip(exprs, header))
            selects.append(f"SELECT {named} FROM read_csv('{src}', all_varchar=true)")
        con.execute(f"COPY ({' UNION ALL '.join(selects)}) TO '{data / (table + '.csv')}' (HEADER)")
    depts = [con.execute(f"SELECT count(DISTINCT substr(postcode, 1, 2)) FROM read_csv('{p / 'patients.csv'}', "
                         f"all_varchar=true)").fetchone()[0] for p in parts]
    merged = con.execute(f"SELECT count(DISTINCT substr(postcode, 1, 2)) FROM read_csv('{data / 'patients.csv'}', "
                         f"all_varchar=true)").fetchone()[0]
    if merged != sum(depts):
        sys.exit(f"the départements of the four regions collide ({depts} → {merged}): choose other seeds")
    print(f"(merged {len(parts)} regions into {data} in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    return data


def as_parquet(data: Path) -> Path:
    """`data` converted to Parquet by `fraudnet convert parquet` (in a fresh process), once."""
    out = data.parent / f"{data.name}-parquet"
    if not (out / "claims.parquet").exists():
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", "from cli.main import main; main()", "convert", "parquet", str(data),
                        str(out)], check=True, stdout=subprocess.DEVNULL, cwd=ROOT)
        print(f"(converted {data} to Parquet in {time.perf_counter() - t:.0f} s)", file=sys.stderr)
    return out


def dataset(name: str, args) -> Path:
    if name == "generator":
        return generator_region(args.claims, args.dir, args.seed)
    if name == "second":
        return second_region(Path(args.dir), args.second_patients, args.second_seed, Path(args.worlds))
    raise SystemExit(f"unknown region {name!r} (generator, second)")


def dataset_x4(name: str, args) -> Path:
    if name == "generator":
        parts = [generator_region(args.claims, args.dir, args.seed + k) for k in range(4)]
    elif name == "second":
        parts = [second_region(Path(args.dir), args.second_patients, args.second_seed + k, Path(args.worlds))
                 for k in range(4)]
    else:
        raise SystemExit(f"unknown region {name!r} (generator, second)")
    return x4(Path(args.dir), parts, f"{name}-{parts[0].parent.name}")


# --- what runs in the fresh processes ------------------------------------------------------------

def floor(data: str) -> dict:
    """Read the claims with DuckDB (contract types) and compute the edges and aggregates."""
    import duckdb
    claims = next(p for p in (Path(data) / f"claims{e}" for e in (".csv", ".csv.gz", ".parquet")) if p.exists())
    t = time.perf_counter()
    con = duckdb.connect()
    read = (f"read_parquet('{claims}')" if claims.suffix == ".parquet" else
            f"read_csv('{claims}', header=true, columns={CLAIM_TYPES})")
    con.execute(f"CREATE TABLE claims AS SELECT * FROM {read}")
    con.execute("CREATE TABLE edges AS SELECT patient_id, provider_id, count(*) AS n, sum(amount) AS amount "
                "FROM claims GROUP BY patient_id, provider_id")
    con.execute("CREATE TABLE acts AS SELECT provider_id, service_code, count(*) AS n, count(DISTINCT patient_id) "
                "AS patients, sum(amount) AS amount, sum(coalesce(quantity, 1)) AS units FROM claims "
                "GROUP BY provider_id, service_code")
    n, edges, acts = con.execute("SELECT (SELECT count(*) FROM claims), (SELECT count(*) FROM edges), "
                                 "(SELECT count(*) FROM acts)").fetchone()
    return {"seconds": round(time.perf_counter() - t, 2), "peak_mb": peak_mb(), "claims": n, "edges": edges,
            "acts": acts}


def rss_mb() -> int:
    """This process's resident memory now (VmRSS), in MB."""
    kb = int(re.search(r"VmRSS:\s+(\d+)", Path("/proc/self/status").read_text()).group(1))
    return round(kb / 1024)


def worker(store: str, run_id: str, profile: int = 0) -> int:
    """`runs.worker` in this process, then this process's peak memory on stderr; with `profile`,
    first the `profile` slowest DuckDB statements (`profiled`), the statement by whose end the
    peak rose most, and the steps the resident memory was highest in (`Steps`)."""
    sys.path.insert(0, str(ROOT))
    from runs.worker import main as run_worker
    steps = Steps() if profile else None
    seen, before = (profiled(steps) if profile else []), peak_mb()
    code = run_worker([store, run_id])
    for line in sorted(seen, reverse=True)[:profile]:
        print("statement " + json.dumps(line[:4]), file=sys.stderr, flush=True)
    if seen:
        print("statement " + json.dumps([round(sum(x[0] for x in seen), 2), len(seen), 0, "(all statements)"]),
              file=sys.stderr, flush=True)
        peaks = [before] + [x[4] for x in seen]
        rise = max(range(len(seen)), key=lambda i: peaks[i + 1] - peaks[i])
        print("statement " + json.dumps(seen[rise][:3] + [f"{seen[rise][3]} (the peak rose most by its end: "
                                                           f"{peaks[rise]:,} → {peaks[rise + 1]:,} MB)"]),
              file=sys.stderr, flush=True)
    if steps:
        steps.stop()
        for line in steps.report(profile):
            print("memory " + json.dumps(line), file=sys.stderr, flush=True)
    print("peak_mb " + json.dumps(peak_mb()), file=sys.stderr, flush=True)
    return code


class Steps:
    """Where the resident memory was highest: a thread samples VmRSS every 10 ms and charges each
    sample to the step running then — the innermost of the pipeline's functions and detectors
    (`watch`) and DuckDB statements (`profiled`); between two statements of a step, its Python
    (`… (python)`); anything else to `(elsewhere)`. Every 100 ms it also reads DuckDB's buffer
    memory (`duckdb_memory()`, through a cursor of the scan's connection), Arrow's pool and
    malloc's (`mallinfo2`: in use, and freed but kept). `report` lists the steps by the highest
    RSS seen in them, each with the RSS at its start (what was held before it) and those figures
    at its highest sample."""

    def __init__(self):
        import ctypes
        import threading

        import pyarrow

        class MallInfo2(ctypes.Structure):
            _fields_ = [(n, ctypes.c_size_t) for n in "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks "
                                                       "fordblks keepcost".split()]
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = MallInfo2
        self.mallinfo, self.pa = libc.mallinfo2, pyarrow
        self.stack: list[str] = ["(elsewhere)"]
        self.top: dict[str, list] = {}          # step -> [max RSS MB, RSS at its start MB, {figures then}, order]
        self.con = None                          # a cursor of the scan's DuckDB connection, once opened
        self.duck, self.others = 0, {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()

    def enter(self, name: str):
        if self.stack[-1].endswith(" (python)"):     # the Python after a statement ends with the next step
            self.stack.pop()
        self.stack.append(name)
        self.top.setdefault(name, [0, rss_mb(), {}, len(self.top)])

    def leave(self, name: str):
        while self.stack.pop() != name:              # with the Python after its last statement
            pass

    def _sample(self):
        n = 0
        while not self.done.wait(0.01):
            if n % 10 == 0:
                if self.con is not None:
                    try:
                        self.duck = round((self.con.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()")
                                           .fetchone()[0] or 0) / 2 ** 20)
                    except Exception:        # the connection closed: keep the last figure
                        pass
                m = self.mallinfo()
                self.others = {"duckdb": self.duck, "arrow": round(self.pa.total_allocated_bytes() / 2 ** 20),
                               "malloc": round((m.uordblks + m.hblkhd) / 2 ** 20), "malloc free": round(m.fordblks / 2 ** 20)}
            n += 1
            rss, name = rss_mb(), self.stack[-1]
            top = self.top.setdefault(name, [0, rss, {}, len(self.top)])
            if rss > top[0]:
                top[0], top[2] = rss, self.others

    def stop(self):
        self.done.set()
        self.thread.join()

    def report(self, n: int) -> list:
        ranked = sorted(self.top.items(), key=lambda x: -x[1][0])[:n]
        return [[mx, start, held, name] for name, (mx, start, held, _) in ranked]


# the pipeline's steps whose memory `Steps` tells apart (functions runs.pipeline calls by name)
WATCHED = ("build_graph", "build_shared", "detect", "leiden", "stable_ids", "flow_edges", "centrality",
           "risk_network", "entity_risk", "community_summary", "patient_days", "provider_days",
           "peer_distribution", "evidence_lines", "measure", "billing_profile", "load_dataset", "in_window",
           "compare")


def watch(steps: Steps):
    """Charge the time inside each of `WATCHED` (and each detector) to it."""
    import functools

    import graph.detect
    import runs.pipeline

    def wrap(name, f):
        @functools.wraps(f)
        def inner(*a, **k):
            steps.enter(name)
            try:
                return f(*a, **k)
            finally:
                steps.leave(name)
        return inner
    for name in WATCHED:
        setattr(runs.pipeline, name, wrap(name, getattr(runs.pipeline, name)))
    for name, f in list(graph.detect.DETECTORS.items()):
        graph.detect.DETECTORS[name] = wrap(f"detect {name}", f)


def profiled(steps: Steps | None = None) -> list:
    """Time every statement the scan's DuckDB engine runs: a list that fills with [seconds,
    rows in, rows out, the calling function outside `engine/` and its line, the process's peak
    memory in MB after it]. With `steps`, each statement (and the Python of its caller after
    it) is also a step of `steps`."""
    import traceback

    import engine
    seen, run = [], engine.DuckDBEngine.run
    if steps:
        watch(steps)

    def timed(self, sql, params, tables, keep=False):
        caller = next(f for f in reversed(traceback.extract_stack()[:-1]) if "/engine/" not in f.filename)
        where = f"{Path(caller.filename).parent.name}/{Path(caller.filename).name}:{caller.lineno} {caller.name}"
        if steps:
            if steps.stack[-1].endswith(" (python)"):
                steps.stack.pop()
            parent = steps.stack[-1]
            steps.enter(f"{parent} > {where}")
        t = time.perf_counter()
        try:
            out = run(self, sql, params, tables, keep)
        finally:
            if steps:
                if steps.con is None and self._con is not None:
                    steps.con = self._con.cursor()
                steps.leave(f"{parent} > {where}")
                steps.enter(f"{parent} > after {where} (python)")
        seen.append([round(time.perf_counter() - t, 3), sum(x.num_rows for x in tables.values()), out.num_rows,
                     where, peak_mb()])
        return out
    engine.DuckDBEngine.run = timed
    return seen


def digest(store_root: Path, run_id: str) -> str:
    """A digest of a run's alerts (id, pattern, score, rank), entity risk and communities, then
    (after a slash) one of every results table, row by row in a fixed order."""
    sys.path.insert(0, str(ROOT))
    from runs import results
    from runs.store import Store
    con = Store(store_root).connect(run_id)
    h, every = hashlib.sha256(), hashlib.sha256()
    for sql in ("SELECT alert_id, pattern, score, rank FROM alerts ORDER BY alert_id",
                "SELECT entity_type, entity_id, score, reasons FROM entity_risk ORDER BY entity_type, entity_id",
                "SELECT community_id, node_id FROM communities ORDER BY community_id, node_id"):
        for row in con.execute(sql).fetchall():
            h.update(repr(row).encode())
    for name in results.RESULTS:
        every.update(name.encode())
        for row in con.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall():
            every.update(repr(row).encode())
    con.close()
    return h.hexdigest()[:16] + "/" + every.hexdigest()[:16]


def scan(data: Path, with_digest: bool, profile: int = 0, duckdb_conf: dict | None = None) -> dict:
    sys.path.insert(0, str(ROOT))
    from runs.settings import RunSettings
    from runs.store import Store
    with tempfile.TemporaryDirectory(dir=data.parent, prefix="store-") as tmp:
        # one fixed key for the opaque alert ids of every benchmark store, so that the digests
        # of two scans compare (a real store makes its own random key)
        key = Path(tmp) / "secret.key"
        key.write_text(hashlib.sha256(b"benchmarks/scan.py").hexdigest())
        key.chmod(0o600)
        store = Store(tmp)
        run = store.new_run([str(data.resolve())], RunSettings(duckdb_conf=duckdb_conf or {}).model_dump(mode="json"))
        t = time.perf_counter()
        p = subprocess.run([sys.executable, __file__, "--worker", tmp, run.id, *(["--profile", str(profile)] if profile else [])],
                           stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, cwd=ROOT)
        seconds = time.perf_counter() - t
        record = store.get_run(run.id)
        peak = re.findall(r"^peak_mb (\d+)$", p.stderr, re.M)
        if record["status"] != "succeeded" or not peak:
            sys.exit(f"the scan of {data} ended {record['status']}: {record.get('error')}\n{p.stderr[-3000:]}")
        return {"timings": record["timings"], "seconds": round(seconds, 2), "peak_mb": int(peak[-1]),
                "claims": record["counts"]["claims"], "alerts": record["counts"]["alerts"],
                "digest": digest(Path(tmp), run.id) if with_digest else None,
                "statements": [json.loads(x) for x in re.findall(r"^statement (.*)$", p.stderr, re.M)],
                "memory": [json.loads(x) for x in re.findall(r"^memory (.*)$", p.stderr, re.M)]}


def fresh(*args: str) -> dict:
    p = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, cwd=ROOT)
    if p.returncode:
        sys.exit(p.stderr)
    return json.loads(p.stdout)


def load_average() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regions", nargs="*", default=["generator", "second"], help="generator, second")
    ap.add_argument("--x4", nargs="*", default=[], help="regions to measure four times over too (the 20M line)")
    ap.add_argument("--claims", type=int, default=5_000_000, help="about this many claims in a generator region")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--second-patients", type=int, default=160_000)
    ap.add_argument("--second-seed", type=int, default=1101)
    ap.add_argument("--worlds", default=str(ROOT.parent / "shared" / "worlds"))
    ap.add_argument("--dir", default=str(ROOT / ".bench"))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--parquet", action="store_true", help="each dataset converted to Parquet too")
    ap.add_argument("--digest", action="store_true", help="print a digest of each scan's results")
    ap.add_argument("--profile", type=int, default=0, metavar="N",
                    help="also print the scan's N slowest DuckDB statements (seconds, rows in, rows out, caller)")
    ap.add_argument("--duckdb", action="append", default=[], metavar="SETTING=VALUE",
                    help="a DuckDB setting of the scans (the run's duckdb_conf), e.g. memory_limit=1GB; repeatable")
    ap.add_argument("--floor", help=argparse.SUPPRESS)
    ap.add_argument("--scan", help=argparse.SUPPRESS)
    ap.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.floor:
        print(json.dumps(floor(args.floor)))
        return
    if args.scan:
        print(json.dumps(scan(Path(args.scan), args.digest, args.profile, dict(x.split("=", 1) for x in args.duckdb))))
        return
    if args.worker:
        sys.exit(worker(*args.worker, profile=args.profile))
    Path(args.dir).mkdir(parents=True, exist_ok=True)
    todo = [(name, dataset(name, args)) for name in args.regions] + \
           [(f"{name} x4", dataset_x4(name, args)) for name in args.x4]
    if args.parquet:
        todo += [(f"{name} parquet", as_parquet(data)) for name, data in todo]
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.node()}: {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2 ** 30:.0f} GB; python "
          f"{sys.version.split()[0]}")
    print(f"{'region':<18} {'claims':>10} " + " ".join(f"{s:>7}" for s in STAGES) +
          f" {'scan s':>7} {'wall s':>7} {'peak MB':>8} {'floor s':>8} {'floor MB':>9} {'ratio':>6}  "
          f"load avg before / after")
    for name, data in todo:
        for _ in range(args.repeat):
            before = load_average()
            f = fresh("--floor", str(data))
            s = fresh("--scan", str(data), *(["--digest"] if args.digest else []),
                      *[f"--duckdb={x}" for x in args.duckdb],
                      *(["--profile", str(args.profile)] if args.profile else []))
            total = sum(s["timings"].get(k, 0) for k in STAGES)
            print(f"{name:<18} {s['claims']:>10,} " + " ".join(f"{s['timings'].get(k, 0):>7.2f}" for k in STAGES) +
                  f" {total:>7.2f} {s['seconds']:>7.2f} {s['peak_mb']:>8,} {f['seconds']:>8.2f} {f['peak_mb']:>9,} "
                  f"{total / f['seconds']:>6.1f}  {before} / {load_average()}"
                  + (f"  results {s['digest']}" if s["digest"] else ""), flush=True)
            for seconds, rows_in, rows_out, caller in s["statements"]:
                print(f"    {seconds:>8.2f} s {rows_in:>12,} rows in {rows_out:>12,} out  {caller}", flush=True)
            for i, (top, start, held, step) in enumerate(s["memory"]):
                print(f"    {'the peak' if i == 0 else 'then':>8}: {top:>6,} MB resident ({start:,} at the step's "
                      f"start; then MB: " + ", ".join(f"{k} {v:,}" for k, v in held.items()) + f") in {step}", flush=True)


if __name__ == "__main__":
    main()
