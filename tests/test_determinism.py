"""A scan's results do not depend on how many threads run it, nor on the order in which an engine
adds numbers: the same input gives the same results, row by row, bit for bit.

At 5M claims, two scans of the same region once differed in one double_billing alert's euros by a
cent (a sum of fractions of euros, added in another order by DuckDB's parallel aggregation, then
rounded at a half cent) and in every provider's PageRank in the last digits (igraph's PRPACK
solver runs on OpenMP threads, whose partial sums meet in any order). A small region shows
neither on its own: DuckDB scans an Arrow table in parallel only across its batches, and a small
region's tables are one batch each. So the scans below cut every input table of every statement
into small batches (`Parallel`), as a large region's are (DuckDB hands results back in batches of
about a million rows), and the region gets a re-biller whose per-act euros sum to a half cent.
"""
import csv
import json
import random
import shutil

import pyarrow as pa
import pytest

import engine
from engine import use
from graph.double_billing import detect_double_billing
from graph.model import build_graph
from graph.network import centrality
from graph.settings import DoubleBillingSettings
from graph.shared import build_shared
from runs import pipeline, results
from runs.settings import RunSettings
from runs.store import Store, open_results

from .test_double_billing import claims, line
from .conftest import tables_of


class Parallel(engine.DuckDBEngine):
    """A scan's DuckDB engine (one connection, `threads` threads) that hands DuckDB every input
    table cut into batches of `rows` rows, so that its aggregations run on several threads and
    their partial results meet in whatever order the threads finish."""

    def __init__(self, threads: int, rows: int = 200, conf: dict | None = None):
        super().__init__(shared=True, conf={**(conf or {}), "threads": str(threads)})
        self.rows = rows

    def run(self, sql, params, tables, keep=False):
        cut = {name: t if isinstance(t, engine.Kept) else      # a kept table: DuckDB's own, scanned by its threads
               pa.Table.from_batches(t.to_batches(max_chunksize=self.rows), t.schema)
               for name, t in tables.items()}
        return super().run(sql, params, cut, keep)


def half_cent_rebiller(n: int = 1001):
    """Claims of a GP billing act G twice on each of `n` patient-days, €10.00 and €10.01: each
    re-billed day is €10.005 of extra euros, and `n` odd puts their sum on a half cent."""
    rows = []
    for g in range(6):            # honest GPs: a patient seen twice the same day now and then
        rows += [line(f"G{g}-{k}", f"GP{g}", "G", k % 300, 26.5) for k in range(400)]
        rows += [line(f"G{g}-{k}", f"GP{g}", "G", k % 300, 26.5) for k in range(0, 2 * g + 1)]
    for k in range(n):
        rows += [line(f"X-{k}", "GPX", "G", k % 300, 10.0), line(f"X-{k}", "GPX", "G", k % 300, 10.01)]
    return claims(rows)


def test_a_rebillers_euros_are_the_same_whatever_order_they_are_added_in():
    t = tables_of(claims=half_cent_rebiller())
    s = DoubleBillingSettings()
    seen = []
    for threads in (1, 4, 4, 4, 4, 4, 4, 4, 4, 4):
        with use(Parallel(threads, rows=8)) as e:
            found = detect_double_billing(t, build_shared(t, build_graph(t)), s)
            e.close()
        alerts = {a["alert_id"]: a for a in found.alerts.to_pylist()}
        assert set(alerts) == {"double_billing:rebilled:GPX"}       # the honest GPs left alone
        [act] = json.loads(alerts["double_billing:rebilled:GPX"]["evidence"])["acts"]
        seen.append((act["extra_amount"], alerts["double_billing:rebilled:GPX"]["excess_euros"]))
    # 1,001 × €10.005 = €10,015.005, rounded the same way on every run
    assert seen[0][0] in (10015.0, 10015.01) and seen == [seen[0]] * len(seen)


def test_pagerank_and_betweenness_are_the_same_on_every_call():
    # large enough for igraph's PageRank to run on several OpenMP threads (from ~2,000 vertices)
    rng = random.Random(3)
    n = 3000
    pairs = sorted({(min(a, b), max(a, b)) for a, b in ((rng.randrange(n), rng.randrange(n)) for _ in range(15000))
                    if a != b})
    edges = pa.table({"src": [f"provider:{a:05d}" for a, _ in pairs], "dst": [f"provider:{b:05d}" for _, b in pairs],
                      "weight": [float(rng.randint(1, 9)) for _ in pairs]})
    first = centrality(edges, {}, seed=1, sample=100)
    for _ in range(5):
        assert centrality(edges, {}, seed=1, sample=100).equals(first)


def _results(store: Store, run_id: str) -> dict[str, pa.Table]:
    con = open_results(store.results_path(run_id))
    try:
        return {name: results.table(con, name) for name in results.RESULTS}
    finally:
        con.close()


@pytest.mark.slow       # two scans of the region (about a minute): in `make test`, not the everyday tier
def test_a_scan_on_one_thread_and_on_four_gives_the_same_results(region, tmp_path, monkeypatch):
    data = tmp_path / "data"
    shutil.copytree(region["data"], data)
    with open(data / "providers.csv", "a", newline="") as f:
        csv.writer(f).writerow(["19999999999", "physician", "general_practice", "", "69100", ""])
    with open(data / "claims.csv", "a", newline="") as f:       # 1,001 patient-days billed €10.00 and €10.01
        w = csv.writer(f)
        for k in range(1001):
            for i, amount in enumerate(("10.00", "10.01")):
                w.writerow([f"CX{k:05d}{i}", f"P{k + 1:07d}", "19999999999", "", "", "G",
                            f"2025-03-{k % 28 + 1:02d}", amount, "1"])
    scanned = {}
    for threads in (1, 4):
        store = Store(tmp_path / f"store-{threads}")
        store.root.mkdir()
        shutil.copy(region["store"].root / "secret.key", store.root / "secret.key")   # the same opaque alert ids
        monkeypatch.setattr(pipeline, "open_engine", lambda *a, threads=threads, **k: Parallel(threads, rows=16, conf=a[3]))
        run = pipeline.scan(data, store, RunSettings.model_validate(region["run"]["settings"]))
        assert run["status"] == "succeeded"
        scanned[threads] = _results(store, run["run_id"])
    one, four = scanned[1], scanned[4]
    billed = one["alert_entities"].filter(pa.compute.equal(one["alert_entities"]["entity_id"], "19999999999"))
    assert billed.num_rows >= 1          # the half-cent re-biller is found
    for name in results.RESULTS:
        assert one[name].equals(four[name]), name
