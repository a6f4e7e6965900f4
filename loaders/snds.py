"""SNDS DCIR extracts → contract `claims` and `providers`.

`ER_PRS_F` holds one row per service (prestation); its pharmacy detail (`ER_PHA_F`, one row
per drug), CCAM act detail (`ER_CAM_F`) and executing establishment (`ER_ETE_F`) join on the
nine DCIR keys. Each drug or CCAM detail row becomes a claim line; a service without detail is
one line. Column names are matched without regard to case; files may be CSV (`,` or `;`),
`.csv.gz` or Parquet.

| contract | SNDS |
|---|---|
| claim_id | the nine keys joined by `|`, plus `|pha<PHA_ORD_NUM>` or `|cam<CAM_ORD_NUM>` for detail lines |
| patient_id | `BEN_NIR_PSA` |
| provider_id | `PFS_EXE_NUM` |
| prescriber_id | `PFS_PRE_NUM` (empty or all zeros: none) |
| centre_id | `ER_ETE_F.ETB_EXE_FIN` (the smallest, should an extract repeat a service) |
| service_code | `ER_PHA_F.PHA_PRS_C13` (CIP13), else `ER_CAM_F.CAM_PRS_IDE` (CCAM), else `PRS_NAT_REF` |
| service_date | `EXE_SOI_DTD` |
| amount | `PRS_PAI_MNT`, shared equally among the service's detail lines |
| quantity | `PHA_ACT_QSN` for a drug line, else `PRS_ACT_QTE` |
| snds_line | the `ER_PRS_F` line the claim came from (extra column, for tracing problems back) |

Providers: every executing provider and prescriber; kind from the nature of activity
`PSE_ACT_NAT` (`ACTIVITY_KINDS`), else `physician` for a medical specialty; specialty from
`PSE_SPE_COD` / `PSP_SPE_COD` through the shipped nomenclature, as a lower-case label. Values
are carried over as text: the contract loader then checks them with file, line, column and
value when the converted folder is scanned.
"""
from __future__ import annotations

import re
from pathlib import Path

import pyarrow as pa

from engine import query

from .dataset import _Collector, read_raw
from contract.errors import DatasetError, Problem

KEYS = ("flx_dis_dtd", "flx_trt_dtd", "flx_emt_typ", "flx_emt_num", "flx_emt_ord", "org_cle_num",
        "dct_ord_num", "prs_ord_num", "rem_typ_aff")
REQUIRED = {
    "er_prs_f": KEYS + ("ben_nir_psa", "pfs_exe_num", "pfs_pre_num", "prs_nat_ref", "exe_soi_dtd", "prs_pai_mnt",
                        "prs_act_qte", "pse_act_nat", "pse_spe_cod", "psp_spe_cod"),
    "er_pha_f": KEYS + ("pha_prs_c13", "pha_ord_num", "pha_act_qsn"),
    "er_cam_f": KEYS + ("cam_prs_ide", "cam_ord_num"),
    "er_ete_f": KEYS + ("etb_exe_fin",),
}
ACTIVITY_KINDS = {"19": "dentist", "21": "midwife", "24": "nurse", "26": "physiotherapist", "30": "laboratory",
                  "50": "pharmacy"}
NOMENCLATURE = Path(__file__).resolve().parent / "data"     # shipped copy of the SNDS nomenclature


def specialty_labels(folder: Path | None = None) -> dict[str, str]:
    """PSE_SPE_SNDS code → lower-case label (`1` → `medecine_generale`), from the nomenclature CSV."""
    path = (folder or NOMENCLATURE) / "PSE_SPE_SNDS.csv"
    if not path.is_file():
        return {}
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        code, _, label = line.partition(";")
        label = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
        if code.strip() not in ("0", "99") and label:
            labels[code.strip()] = label
    return labels


def _find(folder: Path, name: str) -> Path | None:
    for p in sorted(folder.iterdir()):
        low = p.name.lower()
        if low in (f"{name}.csv", f"{name}.csv.gz", f"{name}.parquet"):
            return p
    return None


def read_snds(folder: str | Path, nomenclature: str | Path | None = None, max_problems: int = 50) -> dict[str, pa.Table]:
    """Contract `claims` and `providers` (as text columns) from a DCIR extract folder."""
    folder = Path(folder)
    out = _Collector(max_problems)
    tables: dict[str, pa.Table] = {}
    for name, columns in REQUIRED.items():
        path = _find(folder, name)
        if path is None:
            if name == "er_prs_f":
                out.add(Problem(f"{name.upper()}.csv", f"required table is missing from {folder}"))
            continue
        raw = read_raw(path, out, delimiter=None)
        if raw is None:
            continue
        raw = raw.table
        missing = [c for c in columns if c not in raw.column_names]
        for c in missing:
            out.add(Problem(path.name, "missing required column", line=1, column=c.upper()))
        if not missing:
            tables[name] = raw
    if out.total:
        raise DatasetError(str(folder), out.problems, out.total)
    empty = {n: pa.table({c: pa.array([], pa.string()) for c in cols + ("_line",)})
             for n, cols in REQUIRED.items()}
    t = {n: tables.get(n, empty[n]) for n in REQUIRED}
    keys = ", ".join(KEYS)
    claims = query(f"""
        WITH d AS (
            SELECT {keys}, pha_prs_c13 AS code, 'pha' || pha_ord_num AS ord, pha_act_qsn AS qty FROM pha
            UNION ALL
            SELECT {keys}, cam_prs_ide, 'cam' || cam_ord_num, NULL FROM cam
        ), e AS (   -- one establishment per service (the smallest id, should an extract repeat it)
            SELECT {keys}, min(etb_exe_fin) AS etb_exe_fin FROM ete WHERE etb_exe_fin IS NOT NULL GROUP BY ALL
        )
        SELECT concat_ws('|', {', '.join('p.' + k for k in KEYS)}) || coalesce('|' || d.ord, '') AS claim_id,
               p.ben_nir_psa AS patient_id, p.pfs_exe_num AS provider_id,
               CASE WHEN regexp_full_match(coalesce(p.pfs_pre_num, ''), '0*') THEN NULL ELSE p.pfs_pre_num END
                   AS prescriber_id,
               e.etb_exe_fin AS centre_id,
               coalesce(d.code, p.prs_nat_ref) AS service_code,
               p.exe_soi_dtd AS service_date,
               CASE WHEN try_cast(p.prs_pai_mnt AS DOUBLE) IS NULL THEN p.prs_pai_mnt
                    ELSE CAST(round(CAST(p.prs_pai_mnt AS DOUBLE)
                                    / count(*) OVER (PARTITION BY p._line), 2) AS VARCHAR) END AS amount,
               coalesce(d.qty, p.prs_act_qte) AS quantity,
               CAST(p._line AS VARCHAR) AS snds_line
        FROM prs p LEFT JOIN d USING ({keys}) LEFT JOIN e USING ({keys})
        ORDER BY p._line, d.ord
    """, prs=t["er_prs_f"], pha=t["er_pha_f"], cam=t["er_cam_f"], ete=t["er_ete_f"])
    labels = specialty_labels(Path(nomenclature) if nomenclature else None)
    spec = pa.table({"code": list(labels), "label": list(labels.values())})
    act = pa.table({"code": list(ACTIVITY_KINDS), "kind": list(ACTIVITY_KINDS.values())})
    providers = query("""
        WITH x AS (
            SELECT pfs_exe_num AS provider_id, a.kind AS act_kind, s.label AS specialty, 0 AS pref, _line FROM prs
            LEFT JOIN act a ON a.code = prs.pse_act_nat LEFT JOIN spec s ON s.code = prs.pse_spe_cod
            UNION ALL
            SELECT pfs_pre_num, NULL, s.label, 1, _line FROM prs LEFT JOIN spec s ON s.code = prs.psp_spe_cod
            WHERE NOT regexp_full_match(coalesce(pfs_pre_num, ''), '0*')
        )
        SELECT provider_id,
               coalesce(arg_min(act_kind, (pref, _line)) FILTER (WHERE act_kind IS NOT NULL),
                        CASE WHEN arg_min(specialty, (pref, _line)) FILTER (WHERE specialty IS NOT NULL) IS NOT NULL
                             THEN 'physician' ELSE 'other' END) AS kind,
               arg_min(specialty, (pref, _line)) FILTER (WHERE specialty IS NOT NULL) AS specialty,
               NULL::VARCHAR AS name, NULL::VARCHAR AS postcode, NULL::VARCHAR AS legal_entity_id
        FROM x WHERE provider_id IS NOT NULL GROUP BY provider_id ORDER BY provider_id
    """, prs=t["er_prs_f"], act=act, spec=spec)
    return {"claims": claims, "providers": providers}
