"""FHIR R4 directory resources (FINESS extract, Annuaire Santé) → contract registry tables.

`read_finess(paths)` streams `Organization` resources from FHIR ndjson files, `.tar.gz` archives
of them, or JSON bundles, one record at a time (the national file never sits in memory as
JSON), and returns contract `centres`, `legal_entities`, `providers` (pharmacies and
laboratories, which bill) and `identifiers` (address, phone) as Arrow tables.

- The legal entity is `partOf`, or the `<FINESS EJ>-<FINESS ET>` id convention of the FINESS
  FHIR extract; the establishment id is the ET number.
- Establishment categories (`CAT_ETAB` codings) map to contract kinds through `CATEGORIES`,
  which `categories_from_csv` can override (a CSV of `code,kind`); pharmacies (620) become
  providers of kind `pharmacy`, laboratories (611) both providers of kind `laboratory` and
  centres of kind `laboratory`; everything unmapped is a centre of kind `other`.
- Malformed records are reported (file, line, field) all at once, as for contract files.
"""
from __future__ import annotations

import csv
import json
import tarfile
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from contract.tables import CENTRE_KINDS, TABLES
from contract.errors import DatasetError, Problem

CAT_ETAB = "CAT_ETAB"
CATEGORIES: dict[str, str] = {
    # hospitals
    "101": "hospital", "106": "hospital", "114": "hospital", "292": "hospital", "355": "hospital",
    "362": "hospital",
    # clinics and other establishments providing care
    "109": "clinic", "122": "clinic", "128": "clinic", "129": "clinic", "131": "clinic", "161": "clinic",
    "365": "clinic",
    # health centres and multi-professional practices
    "124": "health_centre", "603": "health_centre",
    # billing providers
    "611": "laboratory", "620": "pharmacy",
}


def categories_from_csv(path: str | Path) -> dict[str, str]:
    """`code,kind` rows (header optional) added to, or replacing, the default mapping. Raises
    `DatasetError` with every problem (a row without two fields, an unknown kind, a file that
    is not UTF-8 text or has no row), each with its line and value."""
    mapping = dict(CATEGORIES)
    kinds = CENTRE_KINDS + ("pharmacy",)
    name, problems, rows = Path(path).name, [], 0
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.reader(f), start=1):
                if not row or row[0].strip().lower() == "code":
                    continue
                rows += 1
                if len(row) != 2:
                    problems.append(Problem(name, f"expected 2 fields (code,kind), found {len(row)}", line=n,
                                            value=",".join(row)))
                    continue
                code, kind = (x.strip() for x in row)
                if kind not in kinds:
                    problems.append(Problem(name, f"kind is not one of: {', '.join(kinds)}", line=n, column="kind",
                                            value=kind))
                    continue
                mapping[code] = kind
    except UnicodeDecodeError:
        problems.append(Problem(name, "is not UTF-8 text: save it as UTF-8 (code,kind a line)"))
    if not problems and not rows:
        problems.append(Problem(name, "has no code,kind row: it would change nothing"))
    if problems:
        raise DatasetError(str(path), problems)
    return mapping


def iter_resources(path: Path) -> Iterator[tuple[str, int, dict | Exception]]:
    """(where, line, resource or the parse error) for every resource in a file or folder."""
    if path.is_dir():
        for p in sorted(path.iterdir()):
            if p.name.endswith((".ndjson", ".json", ".tar.gz", ".tgz")):
                yield from iter_resources(p)
        return
    if path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path, mode="r|gz") as tar:        # streamed: one member at a time
            for member in tar:
                if member.isfile():
                    f = tar.extractfile(member)
                    yield from _lines(f"{path.name}:{member.name}", iter(f.readline, b""))
        return
    if path.name.endswith(".ndjson"):
        with open(path, "rb") as stream:
            yield from _lines(path.name, stream)
        return
    try:
        doc = json.loads(path.read_bytes().decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        yield path.name, getattr(e, "lineno", 1), e
        return
    if doc.get("resourceType") == "Bundle":
        for i, entry in enumerate(doc.get("entry", []), start=1):
            yield f"{path.name} (entry {i})", 1, entry.get("resource", {})
    else:
        yield path.name, 1, doc


def _lines(where: str, lines) -> Iterator[tuple[str, int, dict | Exception]]:
    """Parse binary ndjson lines one by one; a bad line is reported, the next ones still read."""
    for n, raw in enumerate(lines, start=1):
        if raw.strip():
            try:
                yield where, n, json.loads(raw.decode("utf-8"))
            except (json.JSONDecodeError, UnicodeDecodeError) as e:
                yield where, n, e


def _category(org: dict) -> str | None:
    for t in org.get("type", []):
        for coding in t.get("coding", []):
            if coding.get("system", "").endswith(CAT_ETAB):
                return coding.get("code")
    return None


def _period(org: dict) -> tuple[str | None, str | None]:
    for ext in org.get("extension", []):
        if ext.get("url", "").endswith("organization-period"):
            p = ext.get("valuePeriod", {})
            return p.get("start"), p.get("end")
    return None, None


def read_finess(paths: list[str | Path], categories: dict[str, str] | None = None,
                max_problems: int = 50) -> dict[str, pa.Table]:
    """Contract tables from FINESS FHIR Organization resources (Location resources are skipped).
    Raises `DatasetError` with every problem (file, line, field, value)."""
    return finess_conversion(paths, categories, max_problems).tables


def finess_conversion(paths: list[str | Path], categories: dict[str, str] | None = None,
                      max_problems: int = 50):
    """`read_finess`'s tables with their conversion report (`loaders.conversion.Conversion`): the
    files and resources read, the resources left aside by type (Location, …: not registry
    entries), the Organizations by contract kind, the categories no kind is known for (kept as
    centres of kind `other`, counted by code) and the identifiers by kind. Raises `DatasetError`."""
    from collections import Counter

    from .conversion import Conversion
    categories = CATEGORIES if categories is None else categories
    rows: dict[str, list[dict]] = {"centres": [], "providers": [], "legal_entities": [], "identifiers": []}
    entities: set[str] = set()
    problems: list[Problem] = []
    total = 0
    resources, skipped, kinds, unknown = 0, Counter(), Counter(), Counter()

    def problem(where, line, message, field=None, value=None):
        nonlocal total
        total += 1
        if len(problems) < max_problems:
            problems.append(Problem(where, message, line=line, column=field, value=value))

    for path in paths:
        for where, line, res in iter_resources(Path(path)):
            if isinstance(res, Exception):
                problem(where, line, f"is not valid JSON: {res}")
                continue
            resources += 1
            if not isinstance(res, dict) or res.get("resourceType") != "Organization":
                skipped[(res.get("resourceType") if isinstance(res, dict) else None) or "(no resourceType)"] += 1
                continue
            rid = res.get("id")
            if not isinstance(rid, str) or not rid:
                problem(where, line, "Organization without an id", field="id")
                continue
            part_of = (res.get("partOf") or {}).get("reference", "")
            if part_of:
                ej, et = part_of.rsplit("/", 1)[-1], rid
            elif "-" in rid:
                ej, et = rid.split("-", 1)
            else:
                problem(where, line, "no legal entity: neither partOf nor an EJ-ET id", field="id", value=rid)
                continue
            code = _category(res) or ""
            kind = categories.get(code, "other")
            kinds[kind] += 1
            if code not in categories:
                unknown[code or "(none)"] += 1
            address = (res.get("address") or [{}])[0]
            postcode = address.get("postalCode")
            opened, closed = _period(res)
            if kind in ("pharmacy", "laboratory"):
                rows["providers"].append({"provider_id": et, "kind": kind, "specialty": None, "name": res.get("name"),
                                          "postcode": postcode, "legal_entity_id": ej})
            if kind != "pharmacy":
                rows["centres"].append({"centre_id": et, "kind": kind, "name": res.get("name"),
                                        "legal_entity_id": ej, "postcode": postcode,
                                        "opened_on": opened, "closed_on": closed})
            entity_type = "provider" if kind == "pharmacy" else "centre"
            text = ", ".join(x for x in [" ".join(address.get("line", [])), postcode, address.get("city")] if x)
            if text:
                rows["identifiers"].append({"entity_type": entity_type, "entity_id": et, "kind": "address", "value": text})
            for telecom in res.get("telecom", []):
                if telecom.get("system") == "phone" and telecom.get("value"):
                    rows["identifiers"].append({"entity_type": entity_type, "entity_id": et, "kind": "phone",
                                                "value": telecom["value"]})
            if ej not in entities:
                entities.add(ej)
                rows["legal_entities"].append({"legal_entity_id": ej, "kind": "other", "name": None,
                                               "created_on": None, "dissolved_on": None})
    if total:
        raise DatasetError(", ".join(str(p) for p in paths), problems, total)
    tables = {name: _table(name, r) for name, r in rows.items()}
    return Conversion(tables, {
        "format": "FINESS FHIR", "source": ", ".join(str(p) for p in paths), "resources": resources,
        "skipped": dict(sorted(skipped.items())),
        "organizations": dict(sorted(kinds.items())), "unknown_categories": dict(sorted(unknown.items())),
        "identifiers": dict(sorted(Counter(r["kind"] for r in rows["identifiers"]).items())),
        "tables": {n: t.num_rows for n, t in tables.items()}})


def finess_report_lines(report: dict) -> list[str]:
    """The FINESS conversion report in a few human lines."""
    by = lambda d: ", ".join(f"{n:,} {k}" for k, n in d.items()) or "none"   # noqa: E731
    lines = [f"{report['resources']:,} resources read: {sum(report['organizations'].values()):,} Organizations "
             f"({by(report['organizations'])}); left aside, not establishments: {by(report['skipped'])}"]
    unknown = report["unknown_categories"]
    if unknown:
        largest = sorted(unknown.items(), key=lambda x: (-x[1], x[0]))[:8]
        lines.append(f"kind other for {sum(unknown.values()):,} Organizations of {len(unknown)} categories (CAT_ETAB) "
                     f"no kind is mapped for, the largest {', '.join(f'{c} ({n:,})' for c, n in largest)}"
                     f"{', …' if len(unknown) > len(largest) else ''} (all in the report; map them with --categories)")
    lines.append(f"identifiers: {by(report['identifiers'])}")
    return lines


def _table(name: str, rows: list[dict]) -> pa.Table:
    schema = TABLES[name].schema
    cols = {}
    for field in schema:
        values = [r.get(field.name) for r in rows]
        if field.type == pa.date32():
            values = pa.array(values, pa.string()).cast(pa.date32()) if values else pa.array([], pa.date32())
            cols[field.name] = values
        else:
            cols[field.name] = pa.array(values, field.type)
    return pa.table(cols)


def write_tables(tables: dict[str, pa.Table], out: str | Path) -> list[Path]:
    """Write contract tables as `<table>.csv` in `out`."""
    import pyarrow.csv as pacsv
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in tables.items():
        pacsv.write_csv(table, out / f"{name}.csv", pacsv.WriteOptions(quoting_style="needed"))
        written.append(out / f"{name}.csv")
    return written
