"""The `spark` tier, SNDS side: the DCIR conversion (`loaders/snds.py`) run on Spark (local
master) on every extract the tests have — the tests' small extract, the shipped example, the
shared synthetic tables (`../shared/data/synthetic-snds`) and each SNDS field case of
`../shared/cases` — every statement it ran replayed on DuckDB with the same inputs and compared
row for row, value for value; the converted tables and the conversion report equal to the
default (DuckDB) conversion's; and `fraudnet convert snds --engine spark` writing the same files
as the default.

One local Spark session serves the module (driver capped, as tests/test_spark.py's): the
conversion's engine finds it running and leaves it running.
"""
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from engine import DUCKDB, capture, use
from engine.spark import SparkEngine
from engine.statements import statements
from loaders.snds import DETAILS, read_snds

from .conftest import CASES, REPO
from .test_snds import DATES, DCIR, NUMBERS, fixture, normalised
from .test_spark import SPARK_CONF, _differs

pytestmark = pytest.mark.spark
EXAMPLE = REPO / "loaders" / "examples" / "snds"


@pytest.fixture(scope="module")
def spark():
    """The module's one Spark session (local master, driver capped)."""
    engine = SparkEngine("local[*]", SPARK_CONF)
    yield engine
    engine.close()


def extracts(tmp_path: Path) -> dict[str, Path]:
    """Every SNDS extract of the tests: the ones beside the repository when they are there."""
    fixture(tmp_path / "dcir")
    found = {"tests": tmp_path / "dcir", "example": EXAMPLE}
    if DCIR.is_dir():
        found["synthetic-snds"] = DCIR
    for case in sorted(CASES.glob("snds-*")) if CASES.is_dir() else []:
        if (case / "ER_PRS_F.csv").is_file():
            found[case.name] = case
        for sub in sorted(p for p in case.iterdir() if p.is_dir()):
            found[f"{case.name}/{sub.name}"] = sub
    return found


def test_the_normalisers_give_duckdbs_values_on_spark(spark):
    """Dates in every form and numbers written every way (tests/test_snds.py's tables)."""
    with use(spark):
        dates, numbers = normalised()
    assert dict(zip(dates["v"].to_pylist(), dates["d"].to_pylist())) == DATES
    assert dict(zip(numbers["v"].to_pylist(), numbers["n"].to_pylist())) == NUMBERS


def test_every_extract_converts_on_spark_to_the_same_tables_and_report_statement_for_statement(spark, tmp_path):
    folders = extracts(tmp_path)
    assert {"tests", "example"} <= set(folders)
    ran, differ, rows = set(), [], 0
    for name, folder in folders.items():
        with capture() as calls:
            on_spark = read_snds(folder, engine="spark", spark_conf=SPARK_CONF)
        on_duckdb = read_snds(folder)
        for table in ("claims", "providers"):
            assert on_spark.tables[table].equals(on_duckdb.tables[table]), (name, table)
        assert on_spark.report == on_duckdb.report, name
        for s in calls:
            problem = _differs(s.sql, DUCKDB.run(s.sql, s.params, s.tables), s.result)
            if problem:
                differ.append((name, problem, s.sql.strip()[:300]))
            rows += s.result.num_rows
        ran |= {s.sql for s in calls}
        assert on_duckdb.tables["claims"].num_rows > 0, name
    assert differ == []
    # every statement of the conversion ran on Spark (each call site once, the detail tables' three times)
    assert len(ran) == len(statements([REPO / "loaders" / "snds.py"], REPO)) + len(DETAILS) - 1 == 21
    assert rows > 1000


def test_convert_snds_on_spark_writes_the_files_the_default_writes(spark, tmp_path):
    for engine in ("duckdb", "spark"):
        out = CliRunner().invoke(main, ["convert", "snds", str(EXAMPLE), str(tmp_path / engine), "--engine", engine])
        assert out.exit_code == 0, out.output
    written = sorted(p.name for p in (tmp_path / "duckdb").iterdir())
    assert written == ["claims.csv", "conversion_report.json", "providers.csv"]
    assert sorted(p.name for p in (tmp_path / "spark").iterdir()) == written
    for name in written:
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "duckdb" / name).read_bytes(), name
