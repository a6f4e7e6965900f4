"""National identifiers of French health professionals and structures, as the standards define them.

The Annuaire Santé (and every system of the ANS's CI-SIS) names a professional by an IDNPS and
a structure by an IDNST: the national number preceded by one *type digit* saying which register
the number comes from. Source: ANS, CI-SIS "Modèle des Objets de Santé" (MOS), `idNat_PS` and
`idNat_Struct`, as published in the ANS FHIR guides (e.g. ansforge/IG-FHIR-PDSM4DMP-EEDS,
`PSIdNat`, `StructIdNat`):

| IDNPS (a professional) | | IDNST (a structure) | |
|---|---|---|---|
| `0` + ADELI number (9 characters) | ADELI | `0` + ADELI practice id | |
| `8` + RPPS number (11 digits) | RPPS | `1` + FINESS number (9 characters) | FINESS |
| `1`, `3`, `4`, `5`, `6` + a structure's id `/` an internal id | a structure's own staff id | `2` + SIREN, `3` + SIRET, `4` + RPPS-rang | |

Claims name providers by their RPPS or ADELI number and establishments by their FINESS number,
never with the type digit: `national_id` and `structure_id` take it off where the standard
defines the number behind it, and keep anything else whole (it then names nothing in the
claims, which the link report of a scan shows).

    >>> national_id("0691234567")
    ('691234567', 'ADELI')
    >>> national_id("810003461033")
    ('10003461033', 'RPPS')
    >>> national_id("3750100000/12345")
    ('3750100000/12345', 'IDNPS')
    >>> structure_id("1580008803")
    ('580008803', 'FINESS')
    >>> structure_id("312345678900012")
    ('312345678900012', 'IDNST')
"""
from __future__ import annotations

import re

_ADELI = re.compile(r"0([0-9]{2}|2[AB])[0-9]{7}")    # 0 + 9 characters, the first two the département
_RPPS = re.compile(r"8[0-9]{11}")
_FINESS = re.compile(r"1([0-9]{2}|2[AB])[0-9]{7}")


def national_id(idnps: str) -> tuple[str, str]:
    """(number, register) of a professional's IDNPS: `('…', 'RPPS')`, `('…', 'ADELI')`, or the
    value kept whole with `'IDNPS'` when its type digit names no national number."""
    value = idnps.strip()
    if _RPPS.fullmatch(value):
        return value[1:], "RPPS"
    if _ADELI.fullmatch(value):
        return value[1:], "ADELI"
    return value, "IDNPS"


def structure_id(idnst: str) -> tuple[str, str]:
    """(number, register) of a structure's IDNST: `('…', 'FINESS')`, or the value kept whole
    with `'IDNST'` (a SIREN, SIRET, practice or technical id: no FINESS establishment)."""
    value = idnst.strip()
    if _FINESS.fullmatch(value):
        return value[1:], "FINESS"
    return value, "IDNST"
