"""Packaging: the code's packages and the data folders inside them are declared, so a build is
free of setuptools' "absent from the `packages` configuration" warnings and the wheel carries the
data the commands read (the FINESS specialty codes, the SNDS, mapping and Annuaire examples, the
Cypher catalog, the decision catalogue)."""
import fnmatch
import subprocess
import sys
import tomllib
import zipfile

import pytest
from setuptools import find_namespace_packages

from .conftest import REPO

DATA_ROOTS = ["loaders/data", "loaders/examples", "queries", "cases"]


def data_files() -> list[str]:
    """Every file the packages carry beside their code, relative to the repository."""
    files = []
    for root in DATA_ROOTS:
        for p in sorted((REPO / root).rglob("*")):
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts:
                files.append(p.relative_to(REPO).as_posix())
    return files


def test_every_data_file_is_in_a_declared_package_and_matched_by_its_package_data():
    config = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    find = config["packages"]["find"]
    packages = set(find_namespace_packages(str(REPO), include=find["include"]))
    assert {"loaders.data", "loaders.examples.snds", "loaders.examples.mappings", "queries"} <= packages
    assert not any(p.startswith(("tests", "benchmarks", "docs")) for p in packages)
    unmatched = []
    for f in data_files():
        folder, name = f.rsplit("/", 1)
        package = folder.replace("/", ".")
        patterns = config["package-data"].get(package, [])
        if package not in packages or not any(fnmatch.fnmatch(name, p) for p in patterns):
            unmatched.append(f)
    assert data_files() and unmatched == []


@pytest.mark.slow
def test_the_wheel_builds_without_warnings_and_carries_the_data(tmp_path):
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-v", "--no-deps", "-w", str(tmp_path), str(REPO)],
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr[-3000:]
    log = built.stdout + built.stderr
    assert "BuildBackendWarning" not in log and "absent from the `packages` configuration" not in log
    wheel, = tmp_path.glob("fraudnet-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert set(data_files()) <= names
    assert "cli/main.py" in names and not any(n.startswith(("tests/", "benchmarks/")) for n in names)
