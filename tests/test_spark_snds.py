"""The `spark` tier, SNDS side: the DCIR conversion (`loaders/snds.py`) run on Spark (local
master) on the tests' SNDS extracts — the tests' small extract, the shipped example, the shared
synthetic tables (`../shared/data/synthetic-snds`), the SNDS field cases of `../shared/cases`
whose SQL paths the example does not take, an unknown specialty and a refused extract — every
statement it ran replayed on DuckDB with the same inputs and compared row for row, value for
value; the converted tables and the conversion report (or the problems) equal to the default
(DuckDB) conversion's; and `fraudnet convert snds --engine spark` writing the same files as the
default.

One local Spark session serves the module (driver capped, as tests/test_spark.py's): the
conversion's engine finds it running and leaves it running.
"""
from pathlib import Path

import pytest
from click.testing import CliRunner

from cli.main import main
from contract.errors import DatasetError
from engine import DUCKDB, capture, use
from engine.spark import SparkEngine
from engine.statements import statements
from loaders.snds import DETAILS, read_snds

from .conftest import CASES, REPO
from .test_snds import DATES, DCIR, NUMBERS, fixture, k, line, normalised, priced_copy, write_dcir
from .test_spark import SPARK_CONF, _differs

pytestmark = pytest.mark.spark
EXAMPLE = REPO / "loaders" / "examples" / "snds"


@pytest.fixture(scope="module")
def spark():
    """The module's one Spark session (local master, driver capped)."""
    engine = SparkEngine("local[*]", SPARK_CONF)
    yield engine
    engine.close()


# The field cases whose SQL paths the example does not take (keys of other types, details
# matching no line, a number seen with two kinds); the others differ from it in how the files are
# read (separators, encodings), which is the driver's work on either engine.
FIELD_CASES = ("snds-detail-key-types/extract", "snds-detail-key-types/extract-consistent", "snds-provider-two-kinds")


def extracts(tmp_path: Path) -> dict[str, Path]:
    """The SNDS extracts of the tests: the ones beside the repository when they are there."""
    fixture(tmp_path / "dcir")
    found = {"tests": tmp_path / "dcir", "example": EXAMPLE}
    if DCIR.is_dir():
        found["synthetic-snds"] = DCIR
    found |= {case: CASES / case for case in FIELD_CASES if (CASES / case).is_dir()}
    if (CASES / "snds-detail-key-types" / "extract-consistent").is_dir():   # shared by unit price × quantity
        found["priced"] = priced_copy(tmp_path / "priced", ["10.00", "85.00"])
    # a specialty code the nomenclature does not know (77), beside known ones
    found["unknown-specialty"] = write_dcir(tmp_path / "odd", [line(1, "A", "75123456", spe="77"),
                                                               line(2, "B", "75123457", spe="1", pre="75123456")])
    # an amount that is not a number, a missing one, a quantity that is not a number, keys given twice
    found["refused"] = write_dcir(tmp_path / "bad", [
        k(1) + ["BEN1", "75123456", "", "1111", "2025-01-10", "26,50", "1", "0", "1", "0"],
        k(2) + ["BEN1", "75123456", "", "1111", "2025-01-10", "26.5O", "1", "0", "1", "0"],
        k(3) + ["BEN1", "75123456", "", "1111", "2025-01-10", "", "x", "0", "1", "0"],
        k(1) + ["BEN2", "75123456", "", "1111", "2025-01-11", "26.50", "1", "0", "1", "0"]])
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
    ran, differ, filled = set(), [], set()
    for name, folder in folders.items():
        with capture() as calls:
            try:
                on_spark = read_snds(folder, engine="spark", spark_conf=SPARK_CONF)
            except DatasetError as e:
                on_spark = e
        try:
            on_duckdb = read_snds(folder)
        except DatasetError as e:              # the refused extract: the same problems on both
            assert isinstance(on_spark, DatasetError) and on_spark.problems == e.problems, name
        else:
            for table in ("claims", "providers"):
                assert on_spark.tables[table].equals(on_duckdb.tables[table]), (name, table)
            assert on_spark.report == on_duckdb.report, name
        for s in calls:
            problem = _differs(s.sql, DUCKDB.run(s.sql, s.params, s.tables), s.result)
            if problem:
                differ.append((name, problem, s.sql.strip()[:300]))
            if s.result.num_rows:
                filled.add(s.sql)
        ran |= {s.sql for s in calls}
    assert differ == []
    # every statement of the conversion ran on Spark (each call site once, the detail tables' three times)
    assert len(ran) == len(statements([REPO / "loaders" / "snds.py"], REPO)) + len(DETAILS) - 1 == 22
    assert ran == filled            # each statement compared on rows, not only on an empty result


def test_convert_snds_on_spark_writes_the_files_the_default_writes(spark, tmp_path):
    for engine in ("duckdb", "spark"):
        out = CliRunner().invoke(main, ["convert", "snds", str(EXAMPLE), str(tmp_path / engine), "--engine", engine])
        assert out.exit_code == 0, out.output
    written = sorted(p.name for p in (tmp_path / "duckdb").iterdir())
    assert written == ["claims.csv", "conversion_report.json", "providers.csv"]
    assert sorted(p.name for p in (tmp_path / "spark").iterdir()) == written
    for name in written:
        assert (tmp_path / "spark" / name).read_bytes() == (tmp_path / "duckdb" / name).read_bytes(), name
