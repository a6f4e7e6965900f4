"""Reading a truth file of known cases (planted by a generator, or an analyst's confirmed frauds)
for `fraudnet evaluate`: a UTF-8 CSV with a header naming `pattern`, `entity_type`, `entity_id`
and optionally `group_id` (README, "Evaluating a run"; the format the generators write).
"""
from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pyarrow as pa

from contract.vocab import ENTITY_TYPES, is_word

TRUTH_COLUMNS = ("pattern", "group_id", "entity_type", "entity_id")


def read_truth(path: str | Path, patterns: tuple[str, ...]) -> pa.Table:
    """The truth file at `path` as a table of strings: pattern, [group_id,] entity_type,
    entity_id, one row a known entity, in file order.

    Raises ValueError naming the file (and its line, column and value where one is at fault) for:
    a file that is not UTF-8 text, is empty, or lacks a required column; a line with more or fewer
    fields than the header; a field whose quoting is broken — a quote not closed on its line (no
    truth field holds a line break: the csv module would read the lines after it into the field)
    or text after a closing quote (`"PR1"x`, which the csv module reads as `PR1x`); a field with
    spaces around it (`'PR1 '`: ids are matched exactly, as the data's are, so it would match no
    alert, silently); a field holding a NUL character (which Python's csv module reads as text
    since 3.11: an id holding one would match no alert, silently); an empty required field; a
    pattern not in `patterns` (the detectors' names, `graph.detect.DETECTORS`) or an entity type
    not in `contract.vocab.ENTITY_TYPES`, listing the known ones; and a file with no case (header
    only), which has nothing to score. A value is shown only on a line whose entity type is known
    and not `patient`: a line that names, or may name, a patient has its line and column named,
    the value withheld (README, "Patients are never named"). Every problem of the file is listed
    (up to 10, then counted) before raising.
    """
    path = Path(path)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = raw[:e.start].count(b"\n") + 1
        raise ValueError(f"{path}: line {line}: not UTF-8 text (byte 0x{raw[e.start]:02x}); "
                         "save the truth file as UTF-8") from None
    lines = re.split("\r\n|\r|\n", text)      # the csv module's line ends
    if lines[-1] == "":
        lines.pop()
    return _read_rows(path, lines, patterns)


# The entity types whose ids a message may show: every type but `patient`.
SHOWN_TYPES = frozenset(ENTITY_TYPES) - {"patient"}
WITHHELD = "value withheld: the line may name a patient"


def _quoting(line: str) -> list[tuple[int, str, str]]:
    """The fields of the CSV line `line` (`,`-separated, `"`-quoted with `""` inside, as
    Python's csv module reads them) whose quoting is broken, as (field index, the field's text as
    written, what is wrong): a quote not closed on the line (the text to the line's end), or text
    after a closing quote (the text to the next comma). A quote inside an unquoted field is text,
    as the csv module reads it."""
    def next_comma(i: int) -> int:
        j = line.find(",", i)
        return len(line) if j < 0 else j

    found, i, k = [], 0, 0
    while True:
        start = i
        if line[i:i + 1] == '"':
            j = i + 1
            while (j := line.find('"', j)) >= 0 and line[j + 1:j + 2] == '"':
                j += 2                                 # a doubled quote: one quote of the value
            if j < 0:
                found.append((k, line[start:], "a quote not closed on its line"))
                return found
            i = j + 1
            if i < len(line) and line[i] != ",":
                i = next_comma(i)
                found.append((k, line[start:i], "text after its closing quote"))
        else:
            i = next_comma(i)
        if i >= len(line):
            return found
        i, k = i + 1, k + 1


def _spaces(value: str) -> str | None:
    """Where `value` has spaces around it (`at its start`, `at its end`, `at both ends`), or None."""
    start, end = value[:1].isspace(), value[-1:].isspace()
    return "at both ends" if start and end else "at its start" if start else "at its end" if end else None


def _invisible(v: str) -> str | None:
    """The first character of `v` that shows nothing — a format character (Unicode category Cf: a
    zero-width space U+200B, a byte order mark U+FEFF inside a file) or a control character other
    than NUL — as `U+200B ZERO WIDTH SPACE`, or None."""
    for ch in v:
        if ch != "\0" and unicodedata.category(ch) in ("Cf", "Cc"):
            return f"U+{ord(ch):04X} {unicodedata.name(ch, 'control character')}"
    return None


def _word(v: str, shown: bool) -> str:
    """An unknown pattern or entity type as the message shows it: the value on a line that surely
    names no patient, or when it is a word (a misspelt `provder`); withheld otherwise (columns in
    another order put an id there, maybe a patient's)."""
    return repr(v) if shown or is_word(v) else f"({WITHHELD})"


def _read_rows(path: Path, lines: list[str], patterns) -> pa.Table:
    """`read_truth`'s work on the file's lines (without their line ends)."""
    def fields(line: str, number: int) -> list[str]:
        try:
            return next(csv.reader([line]), [])
        except csv.Error as e:       # a field beyond the csv module's limit
            raise ValueError(f"{path}: line {number}: not a CSV line a truth file can hold ({e})") from None

    if broken := _quoting(lines[0]) if lines else []:     # no header, maybe a case naming a patient: words only
        raise ValueError(f"{path}: line 1: " + "; ".join(f"field {k + 1}: {why} in {_word(text, False)}"
                                                          for k, text, why in broken))
    header = fields(lines[0], 1) if lines else []
    if not header or header == [""]:
        raise ValueError(f"{path}: empty file; a truth file starts with a header line: "
                         "pattern,group_id,entity_type,entity_id (group_id optional)")
    missing = [c for c in ("pattern", "entity_type", "entity_id") if c not in header]
    if missing:
        raise ValueError(f"{path}: line 1: missing column(s) {', '.join(missing)} "
                         f"(the header names {', '.join(h if is_word(h) else '…' for h in header)}"
                         + ("; … a name not shown: it may be an id, a case's line read as the header"
                            if not all(map(is_word, header)) else "") + ")")
    kept = [c for c in TRUTH_COLUMNS if c in header]
    where = {c: header.index(c) for c in kept}
    columns: dict[str, list] = {c: [] for c in kept}
    problems: list[str] = []

    def column(k: int) -> str:
        return f"column {header[k]}" if k < len(header) else f"field {k + 1}"

    for line, text in enumerate(lines[1:], start=2):
        if not text:
            continue
        broken = _quoting(text)
        row = fields(text, line)
        # a value is shown only on a line that surely names no patient
        shown = (len(row) == len(header) and row[where["entity_type"]] in SHOWN_TYPES
                 and all(k != where["entity_type"] for k, _, _ in broken))

        def value(v: str) -> str:
            return repr(v) if shown else f"({WITHHELD})"
        if broken:
            problems += [f"line {line}: {column(k)}: {why} in {value(v)}"
                         + ("; a truth field holds no line break" if why.startswith("a quote") else "")
                         for k, v, why in broken]
            continue
        if len(row) != len(header):
            problems.append(f"line {line}: {len(row)} field(s), the header has {len(header)}")
            continue
        values = {c: row[i] for c, i in where.items()}
        bad = [f"{column(i)}: holds a NUL character (byte 0x00) in {value(v)}: no alert's id or name holds one "
               "(a file written by a C program or a database dump?); remove it" for i, v in enumerate(row) if "\0" in v]
        bad += [f"{column(i)}: holds an invisible character ({_invisible(v)}) in {value(v)}: ids are matched "
                "exactly, so it would match no alert; remove it" for i, v in enumerate(row)
                if "\0" not in v and _invisible(v)]
        bad += [f"{column(i)}: {value(v)} " + (f"has spaces {_spaces(v)}: ids are matched exactly, spaces included, "
                                               "so it would match no alert; remove them" if v.strip() else
                                               "holds only spaces")
                for i, v in enumerate(row) if _spaces(v)]
        if bad:
            problems += [f"line {line}: {b}" for b in bad]
            continue
        bad = [f"column {c}: empty" for c in ("pattern", "entity_type", "entity_id") if not values[c]]
        if values["pattern"] and values["pattern"] not in patterns:
            bad.append(f"column pattern: unknown pattern {_word(values['pattern'], shown)} "
                       f"(known: {', '.join(patterns)})")
        if values["entity_type"] and values["entity_type"] not in ENTITY_TYPES:
            bad.append(f"column entity_type: unknown entity type {_word(values['entity_type'], shown)} "
                       f"(known: {', '.join(ENTITY_TYPES)})")
        problems += [f"line {line}: {b}" for b in bad]
        for c in kept:
            columns[c].append(values[c])
    if problems:
        more = f"; and {len(problems) - 10} more problem(s)" if len(problems) > 10 else ""
        raise ValueError(f"{path}: " + "; ".join(problems[:10]) + more)
    if not columns["pattern"]:
        raise ValueError(f"{path}: no case, only a header: a truth file with no known case has nothing to score")
    return pa.table({c: pa.array(v, pa.string()) for c, v in columns.items()})
