"""Annuaire Santé (RPPS) FHIR → contract `providers`, `affiliations` and the `centres` they name.

Reads `Practitioner` and `PractitionerRole` resources as the national directory API serves them:
one resource, one bundle entry (`{"fullUrl", "resource"}`), a `Bundle`, or ndjson, in files or
folders. Mapping:

- `Practitioner` → a provider: `provider_id` = its RPPS number (identifier of type `RPPS`), else
  its ADELI number (type `ADELI`), else its IDNPS without the type digit the standard puts in
  front of the number (`8` + RPPS, `0` + ADELI; see `loaders.identifiers`); an IDNPS of another
  type is kept whole and counted in the report. `name` is left empty: the directory's names are
  personal data a fraud graph does not need.
- professional role (`PractitionerRole` with a profession code, system
  urn:oid:1.2.250.1.71.1.2.7) → the provider's `kind` through `PROFESSIONS` (10 physician,
  40 dentist, 50 midwife, 60 nurse, 70 physiotherapist; 21 pharmacist → `other`, specialty
  `pharmacist`: a pharmacist is a person, the pharmacy is a FINESS establishment).
- organisational role (`PractitionerRole` naming an `organization` by identifier, type IDNST)
  → an affiliation: `centre_id` = the FINESS number (IDNST `1` + FINESS; any other IDNST — a
  SIRET, a SIREN, a practice — is kept whole and counted in the report), `role`
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

from contract.errors import DatasetError, Problem

from .conversion import Conversion
from .fhir import _table
from .identifiers import national_id, structure_id

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
            yield Problem(str(path), f"is not valid JSON ({e.msg} at character {column} of the line): a truncated or "
                                     f"damaged file", line=first_line + line, value=at)
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


def _practitioner_id(practitioner: dict) -> tuple[str | None, str | None]:
    """(provider id, the register it comes from) of a Practitioner."""
    by_type = {}
    for ident in practitioner.get("identifier", []):
        codes = [c.get("code") for c in (ident.get("type") or {}).get("coding", [])]
        for code in codes:
            if ident.get("value"):
                by_type[code] = str(ident["value"]).strip()
    for register in ("RPPS", "ADELI"):
        if by_type.get(register):
            return by_type[register], register
    if by_type.get("IDNPS"):
        return national_id(by_type["IDNPS"])
    return None, None


def _centre_id(role: dict) -> tuple[str | None, str | None]:
    """(centre id, the register it comes from) of the organisation an organisational role names."""
    ident = (role.get("organization") or {}).get("identifier") or {}
    codes = [c.get("code") for c in (ident.get("type") or {}).get("coding", [])]
    value = str(ident["value"]).strip() if ident.get("value") else None
    if value and "IDNST" in codes:
        return structure_id(value)
    return (value, "FINESS" if "FINESS" in codes or "FINEG" in codes else "other") if value else (None, None)


def read_annuaire(paths: list[str | Path], max_problems: int = 50) -> Conversion:
    """Contract `providers`, `affiliations` and `centres` from Annuaire Santé FHIR files, with a
    report counting practitioners and centres by the register their id comes from.

    Raises `DatasetError` with every problem (file, line, column, value) if any file is not
    JSON or a role cannot be tied to a practitioner; then nothing is returned.
    """
    problems: list[Problem] = []
    practitioners: dict[str, str] = {}          # resource id -> provider id
    by_prefix: dict[str, str] = {}              # file prefix -> provider id
    registers: dict[str, str] = {}              # provider id -> RPPS, ADELI or IDNPS (kept whole)
    roles: list[tuple[Path, dict]] = []
    files = _files(paths)
    for path in files:
        for res in _resources(path):
            if isinstance(res, Problem):
                problems.append(res)
            elif res.get("resourceType") == "Practitioner":
                provider, register = _practitioner_id(res)
                if not provider:
                    problems.append(Problem(str(path), "Practitioner without an RPPS, ADELI or IDNPS identifier",
                                            column="identifier", value=res.get("id")))
                    continue
                practitioners[str(res.get("id"))] = provider
                registers[provider] = register
                by_prefix[path.name.split("-", 1)[0]] = provider
            elif res.get("resourceType") == "PractitionerRole":
                roles.append((path, res))
    providers: dict[str, dict] = {p: {"provider_id": p, "kind": "other"} for p in practitioners.values()}
    affiliations, centres, centre_registers = [], {}, {}
    professional = 0
    for path, role in roles:
        ref = ((role.get("practitioner") or {}).get("reference") or "").rsplit("/", 1)[-1]
        provider = practitioners.get(ref) if ref else by_prefix.get(path.name.split("-", 1)[0])
        if provider is None:
            problems.append(Problem(str(path), "PractitionerRole whose practitioner is not among the files read",
                                    column="practitioner", value=ref or path.name))
            continue
        professions = _codes(role, PROFESSION_SYSTEM)
        if professions:
            professional += 1
            kind, specialty = PROFESSIONS.get(professions[0], ("other", None))
            providers[provider].update(kind=kind, specialty=specialty)
        centre, register = _centre_id(role)
        if centre:
            modes = _codes(role, MODE_SYSTEM)
            period = role.get("period") or {}
            affiliations.append({"provider_id": provider, "centre_id": centre,
                                 "role": MODES.get(modes[0], "other") if modes else "other",
                                 "start_date": period.get("start"), "end_date": period.get("end")})
            centres.setdefault(centre, {"centre_id": centre, "kind": "other"})
            centre_registers[centre] = register
    if problems:
        raise DatasetError(", ".join(map(str, paths)), problems[:max_problems], len(problems))
    report = {
        "format": "Annuaire Santé FHIR", "source": ", ".join(map(str, paths)), "files": len(files),
        "practitioners": {"rows": len(providers), "by_register": _count(registers.values()),
                          "kept_whole": sorted(p for p, r in registers.items() if r == "IDNPS")[:20]},
        "roles": {"professional": professional, "organisational": len(affiliations)},
        "centres": {"rows": len(centres), "by_register": _count(centre_registers.values()),
                    "kept_whole": sorted(c for c, r in centre_registers.items() if r != "FINESS")[:20]},
    }
    return Conversion({"providers": _table("providers", sorted(providers.values(), key=lambda r: r["provider_id"])),
                       "affiliations": _table("affiliations", affiliations),
                       "centres": _table("centres", sorted(centres.values(), key=lambda r: r["centre_id"]))}, report)


def _count(values) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    return dict(sorted(counts.items()))


def report_lines(report: dict) -> list[str]:
    """The conversion report in a few human lines."""
    p, c = report["practitioners"], report["centres"]
    by = lambda d: ", ".join(f"{n:,} {r}" for r, n in d.items()) or "none"   # noqa: E731
    lines = [f"{report['files']} file(s): {p['rows']:,} practitioners ({by(p['by_register'])}), "
             f"{report['roles']['professional']:,} professional and {report['roles']['organisational']:,} "
             f"organisational roles, {c['rows']:,} centres ({by(c['by_register'])})"]
    if p["kept_whole"]:
        lines.append(f"  IDNPS of no national register, kept whole: {', '.join(p['kept_whole'])}")
    if c["kept_whole"]:
        lines.append(f"  structures that are no FINESS establishment, kept as their IDNST: {', '.join(c['kept_whole'])}")
    return lines
