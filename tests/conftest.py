import csv
import os
import shutil
from pathlib import Path

import pytest

from contract.tables import TABLES, empty_table

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
CASES = REPO.parent / "shared" / "cases"        # field cases: inputs as users really have them


# The everyday tier (`make test-fast` sets FRAUDNET_TEST_TIER=fast) runs each property test on a
# tenth of its examples, at least 5: the same properties, asserted the same way, a shorter search.
# `make test` runs every example.
FAST_TIER = os.environ.get("FRAUDNET_TEST_TIER") == "fast"


def examples(n: int) -> int:
    """A property test's number of Hypothesis examples in this tier: `n`, or n/10 in the fast one."""
    return max(5, n // 10) if FAST_TIER else n


def write_table(folder: Path, name: str, rows: list[dict], header: list[str] | None = None):
    """Write `rows` as `<name>.csv`; the header is the given one or every contract column."""
    folder.mkdir(parents=True, exist_ok=True)
    header = header or [c.name for c in TABLES[name].columns]
    with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header, extrasaction="ignore")
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return folder / f"{name}.csv"


def write_dataset(folder: Path, **tables: list[dict]) -> Path:
    for name, rows in tables.items():
        write_table(folder, name, rows)
    return folder


def claim(cid, patient, provider, code, day, amount=10.0, prescriber="", centre="", quantity=1):
    return {"claim_id": cid, "patient_id": patient, "provider_id": provider, "prescriber_id": prescriber,
            "centre_id": centre, "service_code": code, "service_date": day, "amount": amount,
            "quantity": quantity}


def tables_of(**given) -> dict:
    """Contract tables for pure-function tests: the given Arrow tables, the rest empty."""
    return {name: given.get(name, empty_table(name)) for name in TABLES}


@pytest.fixture(scope="session")
def region(tmp_path_factory):
    """A generated region (6,000 patients), scanned once into a store with the example campaigns."""
    from runs.campaigns import read_campaigns
    from runs.pipeline import scan
    from runs.settings import RunSettings
    from runs.store import Store
    from loaders.synthetic import generate
    root = tmp_path_factory.mktemp("region")
    generate(root / "data", patients=6000, seed=11)
    store = Store(root / "store")
    run = scan(root / "data", store, RunSettings(campaigns=read_campaigns(REPO / "campaigns")))
    return {"root": root, "data": root / "data", "store": store, "run": run,
            "truth": root / "truth.csv", "lookalikes": root / "lookalikes.csv"}


@pytest.fixture
def region_store(region, tmp_path):
    """A copy of the region's store, its scan the current run: for tests that need a good run
    before theirs (the same run a scan of `region["data"]` makes, without scanning it again)."""
    from runs.store import Store
    shutil.copytree(region["store"].root, tmp_path / "store")
    return Store(tmp_path / "store")


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="session")
def neo4j_server():
    """One real Neo4j 5 server for the whole session (tests/neo4j_server.py: started on free
    loopback ports, stopped by its pid at the end, also when tests fail), or the one
    NEO4J_TEST_URI names. Its Browser loads, on connecting, the fraudnet style and guide from
    `fraudnet serve` at `guide_url` (which the Browser tests start there)."""
    from queries.browser import browser_settings
    from tests.neo4j_server import free_port, neo4j_server as start
    guide_url = f"http://127.0.0.1:{free_port()}"
    with start(browser_settings(guide_url)) as server:
        server.guide_url = guide_url
        yield server


def empty_neo4j(settings):
    """Delete everything in the (scratch) database, in batches (Community Edition has one user
    database: nothing to drop and recreate)."""
    from publish.neo4j import driver
    with driver(settings) as d, d.session(database=settings.database) as s:
        s.run("MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS").consume()
