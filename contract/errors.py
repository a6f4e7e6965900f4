"""The error root, and the problems found in input data.

Every error fraudnet raises on purpose is a `FraudnetError`; each subclass carries its facts as
fields, and each face (the CLI, the HTTP API, the scheduler) words its own message from them.
`str(error)` is a default wording that names no server path, process or patient.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input file, pointing at file, line, column and value."""
    file: str
    message: str
    line: int | None = None
    column: str | None = None
    value: str | None = None
    unit: str = "line"          # "line" for CSV, "row" for Parquet

    def __str__(self) -> str:
        where = [self.file]
        if self.line is not None:
            where.append(f"{self.unit} {self.line}")
        if self.column is not None:
            where.append(f"column {self.column}")
        if self.value is not None:
            where.append(f"value {self.value!r}")
        return f"{', '.join(where)}: {self.message}"


class FraudnetError(Exception):
    """Root of the errors fraudnet raises on purpose (not bugs)."""


class DatasetError(FraudnetError):
    """The dataset cannot be scanned. `problems` lists them (up to a cap); `total` counts all."""

    def __init__(self, source: str, problems: list[Problem], total: int | None = None):
        self.source = source
        self.problems = problems
        self.total = total if total is not None else len(problems)
        lines = [f"{self.total} problem(s) in {source}:"]
        lines += [f"  - {p}" for p in problems]
        if self.total > len(problems):
            lines.append(f"  ... and {self.total - len(problems)} more")
        super().__init__("\n".join(lines))
