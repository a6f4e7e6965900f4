"""Annuaire Santé (RPPS) FHIR → contract `providers`, `affiliations` and the `centres` they name.

Reads `Practitioner` and `PractitionerRole` resources as the national directory API serves them:
one resource, one bundle entry (`{"fullUrl", "resource"}`), a `Bundle`, or ndjson, in files or
folders. Mapping:

- `Practitioner` → a provider: `provider_id` = its RPPS number (identifier of type `RPPS`, else
  its IDNPS without the leading type digit); `name` is left empty: the directory's names are
  personal data a fraud graph does not need.
- professional role (`PractitionerRole` with a profession code, system
  urn:oid:1.2.250.1.71.1.2.7) → the provider's `kind` through `PROFESSIONS` (10 physician,
  40 dentist, 50 midwife, 60 nurse, 70 physiotherapist; 21 pharmacist → `other`, specialty
  `pharmacist`: a pharmacist is a person, the pharmacy is a FINESS establishment).
- organisational role (`PractitionerRole` naming an `organization` by identifier, type IDNST)
  → an affiliation: `centre_id` = the FINESS number (IDNST without its leading `1`), `role`
  from the exercise mode (urn:oid:1.2.250.1.213.1.6.1.18: `L` liberal, `S` salaried, else
  `other`), `start_date`/`end_date` from its period. The centre is written as a bare row
  (`kind` other): give the FINESS conversion first to `fraudnet scan`, so its full rows win.

Which practitioner a role belongs to: `practitioner.reference` (`Practitioner/<id>`, the
resource id) when present; the ANS samples carry none, so, as a documented fallback, a file
named `<prefix>-…` belongs to the practitioner of the file `<prefix>-Practitioner.json`.

The samples end objects with trailing commas (`{"a": 1,}`), which the directory's examples do
throughout: those are accepted. Anything else that is not JSON (a truncated file, a stray `]`)
is a problem naming file, line and column, and nothing is written.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Iterator

import pyarrow as pa

from contract.errors import DatasetError, Problem
from .fhir import _table

PROFESSION_SYSTEM = "urn:oid:1.2.250.1.71.1.2.7"
MODE_SYSTEM = "urn:oid:1.2.250.1.213.1.6.1.18"
PROFESSIONS = {"10": ("physician", None), "21": ("other", "pharmacist"), "40": ("dentist", None),
               "50": ("midwife", None), "60": ("nurse", None), "70": ("physiotherapist", None)}
MODES = {"L": "liberal", "S": "salaried"}
_TRAILING_COMMA = re.compile(r",(\s*[}\]])")


def _files(paths) -> list[Path]:
    out = []
    for p in map(Path, paths):
        out += sorted(x for x in p.rglob("*") if x.suffix in (".json", ".ndjson")) if p.is_dir() else [p]
    return out


def _resources(path: Path) -> Iterator[dict | Problem]:
    text = path.read_text(encoding="utf-8")
    docs = [(1, text)] if path.suffix == ".json" else [(i, line) for i, line in enumerate(text.splitlines(), 1)
                                                         if line.strip()]
    for first_line, doc in docs:
        try:
            data = json.loads(_TRAILING_COMMA.sub(r"\1", doc))
        except json.JSONDecodeError as e:
            # the position in the original text (the substitution only removed commas)
            pos = _original_offset(doc, e.pos)
            line, column = doc.count("\n", 0, pos), pos - doc.rfind("\n", 0, pos)
            lines = doc.splitlines()
            at = lines[line].strip()[:60] if line < len(lines) and lines[line].strip() else "<end of file>"
            yield Problem(str(path), f"is not valid JSON ({e.msg}): a truncated or damaged file",
                          line=first_line + line, column=f"char {column}", value=at)
            continue
        entries = data.get("entry", []) if data.get("resourceType") == "Bundle" else [data]
        for entry in entries:
            yield entry.get("resource", entry) if isinstance(entry, dict) else entry


def _original_offset(doc: str, pos: int) -> int:
    """The offset in `doc` of position `pos` of `doc` with its trailing commas removed."""
    removed = 0
    for m in _TRAILING_COMMA.finditer(doc):
        if m.start() - removed >= pos:
            break
        removed += 1
    return pos + removed


def _codes(resource: dict, system: str) -> list[str]:
    return [c.get("code") for cc in resource.get("code", []) for c in cc.get("coding", [])
            if c.get("system") == system and c.get("code")]


def _rpps(practitioner: dict) -> str | None:
    by_type = {}
    for ident in practitioner.get("identifier", []):
        codes = [c.get("code") for c in (ident.get("type") or {}).get("coding", [])]
        for code in codes:
            by_type[code] = ident.get("value")
    if by_type.get("RPPS"):
        return by_type["RPPS"]
    idnps = by_type.get("IDNPS")
    return idnps[1:] if idnps and idnps[0] == "8" else idnps


def _finess(role: dict) -> str | None:
    ident = (role.get("organization") or {}).get("identifier") or {}
    codes = [c.get("code") for c in (ident.get("type") or {}).get("coding", [])]
    value = ident.get("value")
    if value and "IDNST" in codes and value.startswith("1"):
        return value[1:]
    return value


def read_annuaire(paths: list[str | Path], max_problems: int = 50) -> dict[str, pa.Table]:
    """Contract `providers`, `affiliations` and `centres` from Annuaire Santé FHIR files.

    Raises `DatasetError` with every problem (file, line, column, value) if any file is not
    JSON or a role cannot be tied to a practitioner; then nothing is returned.
    """
    problems: list[Problem] = []
    practitioners: dict[str, str] = {}          # resource id -> provider id
    by_prefix: dict[str, str] = {}              # file prefix -> provider id
    roles: list[tuple[Path, dict]] = []
    for path in _files(paths):
        for res in _resources(path):
            if isinstance(res, Problem):
                problems.append(res)
            elif res.get("resourceType") == "Practitioner":
                rpps = _rpps(res)
                if not rpps:
                    problems.append(Problem(str(path), "Practitioner without an RPPS or IDNPS identifier",
                                            column="identifier", value=res.get("id")))
                    continue
                practitioners[str(res.get("id"))] = rpps
                by_prefix[path.name.split("-", 1)[0]] = rpps
            elif res.get("resourceType") == "PractitionerRole":
                roles.append((path, res))
    providers: dict[str, dict] = {p: {"provider_id": p, "kind": "other"} for p in practitioners.values()}
    affiliations, centres = [], {}
    for path, role in roles:
        ref = ((role.get("practitioner") or {}).get("reference") or "").rsplit("/", 1)[-1]
        provider = practitioners.get(ref) if ref else by_prefix.get(path.name.split("-", 1)[0])
        if provider is None:
            problems.append(Problem(str(path), "PractitionerRole whose practitioner is not among the files read",
                                    column="practitioner", value=ref or path.name))
            continue
        professions = _codes(role, PROFESSION_SYSTEM)
        if professions:
            kind, specialty = PROFESSIONS.get(professions[0], ("other", None))
            providers[provider].update(kind=kind, specialty=specialty)
        centre = _finess(role)
        if centre:
            modes = _codes(role, MODE_SYSTEM)
            period = role.get("period") or {}
            affiliations.append({"provider_id": provider, "centre_id": centre,
                                 "role": MODES.get(modes[0], "other") if modes else "other",
                                 "start_date": period.get("start"), "end_date": period.get("end")})
            centres.setdefault(centre, {"centre_id": centre, "kind": "other"})
    if problems:
        raise DatasetError(", ".join(map(str, paths)), problems[:max_problems], len(problems))
    return {"providers": _table("providers", sorted(providers.values(), key=lambda r: r["provider_id"])),
            "affiliations": _table("affiliations", affiliations),
            "centres": _table("centres", sorted(centres.values(), key=lambda r: r["centre_id"]))}
