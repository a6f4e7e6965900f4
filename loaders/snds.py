"""SNDS DCIR extracts → contract `claims` and `providers`, with a conversion report.

`ER_PRS_F` holds one row per service line (prestation); its pharmacy detail (`ER_PHA_F`, one row
per drug), biology detail (`ER_BIO_F`, one row per NABM act), CCAM act detail (`ER_CAM_F`) and
executing establishment (`ER_ETE_F`) join it on the nine DCIR keys. Column names are matched
without regard to case; files may be CSV (separated by `,`, `;`, tab or `|`, detected from the
header; a decimal comma is accepted in amounts and quantities), `.csv.gz` or Parquet.

| contract | SNDS |
|---|---|
| claim_id | the nine keys joined by `|`, plus `|pha<PHA_ORD_NUM>`, `|bio<BIO_ORD_NUM>` or `|cam<CAM_ORD_NUM>` for detail lines |
| patient_id | `BEN_NIR_PSA` |
| provider_id | `PFS_EXE_NUM`; no practitioner known: the executing establishment |
| prescriber_id | `PFS_PRE_NUM` (a sentinel number: none) |
| centre_id | `ER_ETE_F.ETB_EXE_FIN` (a sentinel number: none, private practice) |
| service_code | `PHA_PRS_C13` (CIP13), `BIO_PRS_IDE` (NABM), `CAM_PRS_IDE` (CCAM), else `PRS_NAT_REF` |
| service_date | `EXE_SOI_DTD` |
| amount | `PRS_PAI_MNT`, shared among the service's detail lines to the cent (rule 6) |
| quantity | `PHA_ACT_QSN` / `BIO_ACT_QSN` for a detail line, else `PRS_ACT_QTE` |
| snds_line | the `ER_PRS_F` line the claim came from (extra column, for tracing problems back) |

The rules, each counted in the conversion report (`Conversion.report`), with their sources —
the SNDS documentation of the Health Data Hub (documentation-snds, "Requête type dans la table
prestations du DCIR", "ER_PRS_F", "Numéro du Professionnel de Santé", "Notions autour du
Professionnel de santé"):

1. **Information-only lines** (`DPN_QLF = 71` or `PRS_DPN_QLP = 71`: public hospitals' outpatient
   activity "remontée pour information", paid elsewhere) are left out.
2. **Join keys** are normalised to one type before joining: the two flow dates to `YYYY-MM-DD`
   (from ISO dates, timestamps, `DD/MM/YYYY`, `YYYYMMDD`, SAS `DDMONYYYY[:hh:mm:ss]`), the six
   numbers to plain integers (`001`, `1.0` → `1`), `ORG_CLE_NUM` trimmed. A detail or
   establishment row matching no service line is counted (`details`), never silently lost.
   Nine keys repeated on two `ER_PRS_F` lines are an error (the extract was given twice).
3. **Sentinel numbers mean "none"**: a `PFS_EXE_NUM`, `PFS_PRE_NUM` or `ETB_EXE_FIN` that is
   blank, only zeros (`0`, `00000000`, `000000000`) or only nines (`99999999`) — read as a number
   is read from a numeric export: trimmed, a `.0…` after the digits dropped (`0.0`, ` 0 `,
   `99999999.0` are sentinels; `690780009.0` is the number `690780009`, its leading zeros kept
   as written, since they belong to a FINESS or practitioner number) — and a
   practitioner whose exercise mode (`PSE_STJ_COD` / `PSP_STJ_COD`) is 99 ("praticiens
   fictifs": numbers the local funds use for a practitioner they do not know, e.g. care
   abroad). No establishment: private practice, `centre_id` empty. No executing practitioner:
   the line is attributed to its establishment (`provider_id` = the FINESS number, a provider of
   kind `other`, as FINESS pharmacies and laboratories are providers by their number); with no
   establishment either, it is left out.
4. **Regularisation lines** — a cancellation or correction is a line "identical in every
   point to the initial line but with a negative quantity" (and amount): claim lines with the
   same patient, executing provider, prescriber, establishment, nature, code and date of care
   are netted when one of them is negative (quantities and amounts summed): a positive result
   is one claim (the id of the first positive line); a service netted to zero disappears;
   anything else (a cancellation whose original is in an earlier extract) is left out. Lines
   without a negative one are never summed: two identical positive lines stay two claims (a
   re-billing is what double_billing looks for). A missing quantity counts as 1 (−1 on a
   negative line).
5. **Providers**: every executing provider and prescriber of the claims. The kind a line gives:
   the nature of activity (`PSE_ACT_NAT`, `PSP_ACT_NAT`; `ACTIVITY_KINDS`), else the specialty
   (`PSE_SPE_COD`, `PSP_SPE_COD`): a medical specialty is `physician`, 36 (dental surgery,
   ODF) `dentist`, and codes naming no profession — 0 not given, 90 salaried prescribers, 98
   "prescribers other than physicians", 99 unknown — give `other`, as do professions the
   contract has no kind for (podiatrists, speech therapists, transporters…). `other` yields to
   a precise kind. When the lines of one number give several kinds (a laboratory's number
   billing a salaried nurse's acts), the conflict is reported with the kinds and their line
   counts, and decided by the number's category (its third character: 1 physician, 3
   laboratory, 4 dentist, 5 midwife, 6 nurse, 7 physiotherapist — the category of whoever
   holds the number), else by the kind on most lines, a tie by the earliest line (then by the
   kind's name: one line can name a number as executant and as prescriber with two kinds). The
   specialty is the label (`medecine_generale`) most lines of that kind give, ties alike.
6. **A service's amount among its detail lines**: in proportion to unit price × quantity when
   every detail line of the service has a unit price (`PHA_ACT_PRU` × `PHA_ACT_QSN`;
   `CAM_ACT_PRU`, one act a line; ER_BIO_F has none — the SNDS dictionary), else equally; to the
   cent, the cents left over one each to the first lines (in detail order). Counted per rule.
7. **A quantity whose sign contradicts its service's amount** (a negative `PHA_ACT_QSN` under a
   positive `PRS_PAI_MNT`, or the reverse) is no regularisation: the line is left out and counted
   with its euros and lines; the service's other lines are kept.
8. **Several establishments** for one service line: the smallest `ETB_EXE_FIN` (text order),
   sentinels aside; counted and listed with the rule.

Values are carried over as text (amounts with two decimals): the contract loader then checks
them with file, line, column and value when the converted folder is scanned. The patient
pseudonym `BEN_NIR_PSA` is never printed.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from contract.errors import DatasetError, Problem
from contract.tables import MAX_AMOUNT, MAX_QUANTITY
from engine import open_engine, query as engine_query, use
from .conversion import Conversion, Query
from .dataset import _Collector, read_raw, shown

KEYS = ("flx_dis_dtd", "flx_trt_dtd", "flx_emt_typ", "flx_emt_num", "flx_emt_ord", "org_cle_num",
        "dct_ord_num", "prs_ord_num", "rem_typ_aff")
DATE_KEYS = ("flx_dis_dtd", "flx_trt_dtd")
TEXT_KEYS = ("org_cle_num",)
REQUIRED = {
    "er_prs_f": KEYS + ("ben_nir_psa", "pfs_exe_num", "pfs_pre_num", "prs_nat_ref", "exe_soi_dtd", "prs_pai_mnt",
                        "prs_act_qte", "pse_act_nat", "pse_spe_cod", "psp_spe_cod"),
    "er_pha_f": KEYS + ("pha_prs_c13", "pha_ord_num", "pha_act_qsn"),
    "er_bio_f": KEYS + ("bio_prs_ide", "bio_ord_num", "bio_act_qsn"),
    "er_cam_f": KEYS + ("cam_prs_ide", "cam_ord_num"),
    "er_ete_f": KEYS + ("etb_exe_fin",),
}
OPTIONAL = {"er_prs_f": ("dpn_qlf", "prs_dpn_qlp", "pse_stj_cod", "psp_stj_cod", "psp_act_nat"),
            "er_pha_f": ("pha_act_pru",), "er_cam_f": ("cam_act_pru",)}
# (tag, code, order number, quantity, unit price) of each detail table. CCAM lines have no quantity
# of their own (PRS_ACT_QTE, documentation-snds); ER_BIO_F has no unit price in the SNDS dictionary
# (PHA_ACT_PRU "prix unitaire du médicament codé en CIP", CAM_ACT_PRU "prix unitaire CCAM de l'acte").
DETAILS = {"er_pha_f": ("pha", "pha_prs_c13", "pha_ord_num", "pha_act_qsn", "pha_act_pru"),
           "er_bio_f": ("bio", "bio_prs_ide", "bio_ord_num", "bio_act_qsn", None),
           "er_cam_f": ("cam", "cam_prs_ide", "cam_ord_num", None, "cam_act_pru")}
SENSITIVE = frozenset({"ben_nir_psa"})

INFORMATION_ONLY = "71"       # DPN_QLF / PRS_DPN_QLP: "prestation remontée pour information" (IR_DEP_V)
FICTITIOUS = "99"             # PSE_STJ_COD / PSP_STJ_COD: "praticiens fictifs" (IR_SJP_V)
SENTINEL = "([0 ]*|9+)"       # a number (`_number_id`) that is blank, zeros only or nines only

# PSE_ACT_NAT / PSP_ACT_NAT (nomenclature IR_ACT_V) → contract kind; None: not given.
ACTIVITY_KINDS = {"19": "dentist", "53": "dentist", "54": "dentist", "21": "midwife", "24": "nurse",
                  "26": "physiotherapist", "30": "laboratory", "50": "pharmacy",
                  "27": "other", "28": "other", "29": "other", "55": "other", "60": "other", "90": "other",
                  "0": None, "99": None}
# PSE_SPE_COD / PSP_SPE_COD (IR_SPE_V): every other code of the nomenclature is a medical specialty.
SPECIALTY_KINDS = {"36": "dentist", "0": "other", "90": "other", "98": "other", "99": "other"}
# The third character of a provider number in clear (8 characters, or 9 with its key), IR_CAT_V.
CATEGORY_KINDS = {"1": "physician", "3": "laboratory", "4": "dentist", "5": "midwife", "6": "nurse",
                  "7": "physiotherapist"}
NOMENCLATURE = Path(__file__).resolve().parent / "data"     # shipped copy of the SNDS nomenclature
LISTED = 20                   # line numbers and conflicts listed in the report (all are counted)
SEVERAL_ESTABLISHMENTS = ("several ER_ETE_F rows of one service line give different ETB_EXE_FIN: the smallest "
                          "(in text order) is its centre_id; a sentinel number (blank, zeros, nines) is none of them")
MAX_DETAILS = 100_000         # detail lines of one service line, at most (PHA_ORD_NUM has 2 digits)


def specialty_labels(folder: Path | None = None) -> dict[str, str]:
    """PSE_SPE_SNDS code → lower-case label (`1` → `medecine_generale`), from the nomenclature CSV."""
    path = (folder or NOMENCLATURE) / "PSE_SPE_SNDS.csv"
    if not path.is_file():
        return {}
    labels = {}
    for line in path.read_text(encoding="utf-8").splitlines()[1:]:
        code, _, label = line.partition(";")
        plain = unicodedata.normalize("NFKD", label.strip().lower()).encode("ascii", "ignore").decode()
        label = re.sub(r"[^a-z0-9]+", "_", plain).strip("_")
        if code.strip() not in ("0", "99") and label:
            labels[code.strip()] = label
    return labels


def _find(folder: Path, name: str) -> Path | None:
    for p in sorted(folder.iterdir()):
        low = p.name.lower()
        if low in (f"{name}.csv", f"{name}.csv.gz", f"{name}.parquet"):
            return p
    return None


def _int(c: str) -> str:
    """A number written `001`, `1.0`, ` 1` as the text `1`; anything else (a number of more than 38
    digits too) trimmed as it is. Portable SQL: the same on DuckDB and Spark."""
    return (f"CASE WHEN regexp_full_match({c}, '[1-9][0-9]{{0,17}}') THEN {c} "      # the usual case, as it is
            f"WHEN regexp_full_match(trim({c}), '[+-]?[0-9]{{1,38}}(\\.0*)?') "
            f"THEN CAST(CAST(regexp_replace(trim({c}), '\\.0*$', '') AS DECIMAL(38, 0)) AS VARCHAR) ELSE trim({c}) END")


# The forms of the flow and care dates: ISO `YYYY-MM-DD` with an optional time (after a space, with
# optional fractions of a second, or after a `T`), `DD/MM/YYYY` with an optional time, `YYYYMMDD`,
# SAS `DDMONYYYY[:hh:mm:ss]` (English month abbreviations, any case); day, month and time fields
# of one or two digits, years of four.
_TIME = "([01]?[0-9]|2[0-3]):[0-5]?[0-9]:[0-5]?[0-9]"
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# (the whole form, the pattern of its start capturing year, month, day, and their group numbers)
_DATE_FORMS = (
    (f"[0-9]{{4}}-[0-9]{{1,2}}-[0-9]{{1,2}}(( {_TIME}(\\.[0-9]{{1,6}})?)|(T{_TIME}))?",
     "^([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})", (1, 2, 3)),
    (f"[0-9]{{1,2}}/[0-9]{{1,2}}/[0-9]{{4}}( {_TIME})?", "^([0-9]{1,2})/([0-9]{1,2})/([0-9]{4})", (3, 2, 1)),
    ("[0-9]{8}", "^([0-9]{4})([0-9]{2})([0-9]{2})", (1, 2, 3)),
    (f"[0-9]{{1,2}}(?i:{'|'.join(_MONTHS)})[0-9]{{4}}(:{_TIME})?", "^([0-9]{1,2})([A-Za-z]{3})([0-9]{4})", (3, 2, 1)),
)


def _number_id(c: str) -> str:
    """A practitioner or establishment number (`PFS_EXE_NUM`, `PFS_PRE_NUM`, `ETB_EXE_FIN`) trimmed,
    and the `.0…` (or `,0…`) a numeric export puts after its digits dropped: `690780009.0` is
    `690780009`, `0.0` is `0`; its digits are kept as written (`010000024.0` → `010000024`: a
    FINESS number's leading zero is part of it, unlike a key's `001`). Portable SQL."""
    t = f"trim({c})"
    return f"CASE WHEN regexp_full_match({t}, '[0-9]+[.,]0*') THEN regexp_replace({t}, '[.,]0*$', '') ELSE {t} END"


def _date(c: str) -> str:
    """A date written in one of `_DATE_FORMS` as `YYYY-MM-DD`; anything else (a day that is not
    in the calendar too) trimmed as it is. Portable SQL (regular expressions, `lpad`, a `try_cast`
    to DATE that checks the calendar): the same on DuckDB and Spark, whose `strptime` and
    `to_timestamp` read one-digit fields and month names differently."""
    t = f"trim({c})"
    months = " ".join(f"WHEN '{m}' THEN '{i:02d}'" for i, m in enumerate(_MONTHS, 1))
    forms = []
    for whole, start, (y, m, d) in _DATE_FORMS:
        part = [f"regexp_extract({t}, '{start}', {g})" for g in (y, m, d)]
        month = f"CASE upper({part[1]}) {months} END" if "A-Za-z" in start else f"lpad({part[1]}, 2, '0')"
        forms.append(f"WHEN regexp_full_match({t}, '{whole}') "
                     f"THEN {part[0]} || '-' || {month} || '-' || lpad({part[2]}, 2, '0')")
    return (f"CASE WHEN regexp_full_match({c}, '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN {c} "   # already ISO
            f"ELSE coalesce(CAST(try_cast(CASE {' '.join(forms)} END AS DATE) AS VARCHAR), {t}) END")


def _number(c: str, scale: int = 2) -> str:
    return f"try_cast(replace(trim({c}), ',', '.') AS DECIMAL(18, {scale}))"


def _keys(alias: str = "") -> str:
    a = f"{alias}." if alias else ""
    return ", ".join(f"{_date(a + k) if k in DATE_KEYS else 'trim(' + a + k + ')' if k in TEXT_KEYS else _int(a + k)}"
                     f" AS {k}" for k in KEYS)


def _read(folder: Path, out: _Collector, encoding: str = "utf-8") -> tuple[dict[str, pa.Table], dict[str, dict], dict[str, str]]:
    tables, files, names = {}, {}, {}
    for name, columns in REQUIRED.items():
        path = _find(folder, name)
        if path is None:
            if name == "er_prs_f":
                out.add(Problem(f"{name.upper()}.csv", f"required table is missing from {folder}"))
            continue
        raw = read_raw(path, out, delimiter=None, encoding=encoding, sensitive=SENSITIVE,
                       used=frozenset(columns) | frozenset(OPTIONAL.get(name, ())))
        if raw is None:
            continue
        table = raw.table
        missing = [c for c in columns if c not in table.column_names]
        for c in missing:
            out.add(Problem(path.name, "missing required column", line=1 if raw.unit == "line" else None,
                            column=c.upper()))
        if missing:
            continue
        for c in OPTIONAL.get(name, ()):
            if c not in table.column_names:
                table = table.append_column(c, pa.nulls(table.num_rows, pa.string()))
        tables[name] = table.select(list(columns) + list(OPTIONAL.get(name, ())) + ["_line"])
        files[path.name] = {"table": name.upper(), "rows": table.num_rows,
                            **({"separator": raw.delimiter} if raw.delimiter else {}),
                            **({"ignored_bytes": {raw.header.get(c, c): n for c, n in raw.ignored_bytes.items()}}
                               if raw.ignored_bytes else {})}
        names[name] = path.name
    return tables, files, names


def _empty(name: str) -> pa.Table:
    return pa.table({c: pa.array([], pa.string()) for c in REQUIRED[name] + OPTIONAL.get(name, ())} |
                    {"_line": pa.array([], pa.int64())})


def read_snds(folder: str | Path, nomenclature: str | Path | None = None, max_problems: int = 50,
              encoding: str = "utf-8", by_month: bool = True, engine: str = "duckdb",
              spark_master: str | None = None, spark_conf: dict[str, str] | None = None,
              today: date | None = None) -> Conversion:
    """Contract `claims` and `providers` (text columns) from a DCIR extract folder, and the
    conversion report (see the module docstring for the rules it counts). `encoding`: the CSV
    files' (any Python codec name: `cp1252` or `latin-1` for a SAS export in WLATIN1).

    The SQL runs through the engine's `query()`, on an engine of its own for the conversion:
    `engine` `duckdb` (one connection) or `spark` (a Spark session on `spark_master`, `local[*]` by
    default, with the Spark settings `spark_conf`; a session already running in the process is
    used and left running), the same tables and report on both (the `spark` test tier). `by_month`: the
    service lines are joined to their detail and establishment tables one flow month
    (`FLX_DIS_DTD`) at a time, as SCALPEL flattens the DCIR (the nine keys include it, so no join
    crosses months): the join's memory is bounded by a month; the result is the same as one join
    of everything (`by_month=False`).

    The report's `service_dates_after_today` counts the claims written with a service date after
    `today` (UTC by default), with the first (its ER_PRS_F line, date and `claims.csv` line): the
    contract loader refuses them (`fraudnet validate`, `scan`), so the conversion warns first.

    Raises `DatasetError` (file, line, column, value; never a patient pseudonym) when a table
    or column is missing, a file cannot be read, an amount or quantity is not a number or beyond the
    contract's bounds (quoting the cell as the extract writes it), or two
    service lines share their nine keys; then nothing is returned. Raises `engine.ComputeError`
    when the Spark engine cannot start (pyspark missing) or a statement fails on it, `ValueError`
    for another engine name.
    """
    folder = Path(folder)
    out = _Collector(max_problems)
    tables, files, names = _read(folder, out, encoding)
    if out.total:
        if "er_prs_f" in tables and out.room:   # the service lines' own problems too, in the same report
            _lines(engine_query, tables["er_prs_f"], names["er_prs_f"], out)
        raise DatasetError(str(folder), out.problems, out.total)
    compute = open_engine(engine, spark_master, spark_conf)
    try:
        with use(compute):
            conversion = _convert(engine_query, folder, {n: tables.get(n, _empty(n)) for n in REQUIRED}, files, names,
                                  Path(nomenclature) if nomenclature else None, out, by_month)
    finally:
        compute.close()
    conversion.report["service_dates_after_today"] = _after_today(
        conversion.tables["claims"], names["er_prs_f"], today or datetime.now(timezone.utc).date())
    conversion.report["warnings"] = _no_claims(conversion.report)
    return conversion


def _no_claims(report: dict) -> list[dict]:
    """A warning when no claim is written (the converted folder is then refused by `validate` and
    `scan`, whose claims cannot be empty), saying where every service line went, rule by rule
    with its counts and first lines; none otherwise."""
    if report["claims"]["rows"]:
        return []
    s, n, x = report["service_lines"], report["netting"], report["quantity_sign_contradicts_amount"]
    unit = _unit(s["file"])

    def at(lines: list[int]) -> str:
        more = ", …" if len(lines) > FIRST else ""
        return f" ({unit}{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:FIRST]))}{more})" if lines else ""
    info, orphan = s["left_out"]["information_only"], s["left_out"]["no_practitioner_no_establishment"]
    why = [f"{r['lines']:,} information-only (DPN_QLF/PRS_DPN_QLP 71){at(r['first_lines'])}" for r in [info] if r["lines"]]
    why += [f"{r['lines']:,} with no practitioner and no establishment (sentinel PFS_EXE_NUM, no ETB_EXE_FIN)"
            f"{at(r['first_lines'])}" for r in [orphan] if r["lines"]]
    why += [f"{r['services']:,} service(s) {words}{at(r['first_lines'])}"
            for r, words in ((n["netted_to_zero"], "cancelled by their regularisation lines"),
                             (n["unmatched"], "negative once netted (a cancellation without its original)"))
            if r["services"]]
    if x["claim_lines"]:
        why.append(f"{x['claim_lines']:,} claim line(s) whose quantity's sign contradicts their service's amount"
                   f"{at(x['first_lines'])}")
    if not s["read"]:
        message = f"no claims written: {s['file']} has no service line (a header only)"
    else:
        message = (f"no claims written: every one of the {s['read']:,} service line(s) of {s['file']} was left out — "
                   f"{'; '.join(why)}")
    return [{"severity": "warning", "rule": "no_claims",
             "message": f"{message}: validate and scan refuse a folder without claims"}]


def _convert(query: Query, folder: Path, t: dict[str, pa.Table], files: dict, names: dict, nomenclature: Path | None,
             out: _Collector, by_month: bool = True) -> Conversion:
    prs_file = names["er_prs_f"]
    lines = _lines(query, t["er_prs_f"], prs_file, out)
    if out.total:
        raise DatasetError(str(folder), out.problems, out.total)

    details = [query(f"""SELECT _line AS dline, '{tag}' AS tag, {_keys()}, trim({code}) AS code,
                                 {_int(order)} AS ord, {_number(qty) if qty else 'NULL::DECIMAL(18, 2)'} AS dqty,
                                 {_number(price, 5) if price else 'NULL::DECIMAL(18, 5)'} AS dprice
                          FROM d""", d=t[name])
               for name, (tag, code, order, qty, price) in DETAILS.items()]
    detail = pa.concat_tables(details)
    ete = query(f"SELECT _line AS eline, {_keys()}, {_number_id('etb_exe_fin')} AS etb, "
                f"coalesce(regexp_full_match({_number_id('etb_exe_fin')}, '{SENTINEL}'), true) AS sentinel FROM e", e=t["er_ete_f"])
    keys = ", ".join(KEYS)
    join = f"""
        WITH e AS (SELECT {keys}, min(etb) FILTER (WHERE NOT sentinel) AS centre_id,
                          count(DISTINCT etb) FILTER (WHERE NOT sentinel) AS centres FROM ete GROUP BY ALL),
        w AS (   -- unit price × quantity in 1/100,000 euro (PHA_ACT_PRU's scale): a whole number, as a double
            SELECT *, round(abs(CAST(dprice AS DOUBLE) * CAST(coalesce(dqty, 1) AS DOUBLE)) * 100000) AS weight
            FROM detail),
        d AS (SELECT *, count(*) OVER (PARTITION BY {keys}) AS n_lines,
                     count(weight) OVER (PARTITION BY {keys}) AS priced, sum(weight) OVER (PARTITION BY {keys}) AS weights,
                     row_number() OVER (PARTITION BY {keys} ORDER BY tag,
                         CASE WHEN regexp_full_match(ord, '-?[0-9]{{1,18}}') THEN CAST(ord AS BIGINT) END, ord) - 1 AS k
              FROM w),
        p AS (SELECT l.*, e.centre_id, coalesce(e.centres, 0) AS centres,
                     coalesce(regexp_full_match(exe, '{SENTINEL}') OR stj = '{FICTITIOUS}', exe IS NULL) AS no_exe,
                     coalesce(regexp_full_match(pre, '{SENTINEL}') OR pstj = '{FICTITIOUS}', pre IS NULL) AS no_pre
              FROM l LEFT JOIN e USING ({keys}))
        SELECT p.*, d.tag, d.code, d.ord, d.dqty, d.dline, coalesce(d.n_lines, 1) AS n_lines, coalesce(d.k, 0) AS k,
               d.weight, coalesce(d.priced = d.n_lines AND d.weights > 0, false) AS by_price, d.weights,
               p._line * {MAX_DETAILS} + coalesce(d.k, 0) AS seq
        FROM p LEFT JOIN d USING ({keys})"""
    built = pa.concat_tables([query(join, l=l, ete=e, detail=d)
                              for l, e, d in _months(lines, ete, detail, by_month) or [(lines, ete, detail)]])

    columns = ("patient_id", "provider_id", "prescriber_id", "centre_id", "nat", "service_code", "service_date")
    service = ", ".join(columns)                # what makes one service: its lines are netted together
    same = " AND ".join(f"neg.{c} IS NOT DISTINCT FROM s.{c}" for c in columns)    # NULL is a value here
    claims_all = query(f"""
        WITH c AS (
            SELECT *, CAST(round(amount * 100) AS BIGINT) AS cents,
                   CASE WHEN no_exe THEN centre_id ELSE exe END AS provider_id,
                   CASE WHEN no_pre THEN NULL ELSE pre END AS prescriber_id,
                   coalesce(code, nat) AS service_code,
                   concat_ws('|', {keys}) || coalesce('|' || tag || ord, '') AS claim_id
            FROM b WHERE NOT info),
        f AS (   -- each detail line's whole cents: in proportion to unit price × quantity, else equal
            SELECT *, CASE WHEN by_price THEN CAST(floor(CAST(abs(cents) AS DOUBLE) * weight / weights) AS BIGINT)
                           ELSE abs(cents) // n_lines END AS base
            FROM c WHERE provider_id IS NOT NULL),
        r AS (   -- the service's amount shared among its detail lines to the cent: the cents left over
                 -- by the shares go one each to its first lines
            SELECT *, CAST(CAST(sign(cents) * (base + CASE WHEN k < abs(cents) - sum(base) OVER (PARTITION BY _line)
                                                           THEN 1 ELSE 0 END)
                                AS DOUBLE) / 100 AS DECIMAL(18, 2)) AS line_amount,
                   coalesce(dqty, qty, CAST(sign(amount) AS DECIMAL(18, 2))) AS line_qty
            FROM f),
        s AS (   -- a line whose quantity's sign contradicts its service's amount is no regularisation
            SELECT *, coalesce((line_qty < 0 AND amount > 0) OR (line_qty > 0 AND amount < 0), false) AS contradicts
            FROM r),
        neg AS (   -- the services with a negative line
            SELECT DISTINCT {service} FROM s WHERE NOT contradicts AND (line_amount < 0 OR line_qty < 0)),
        n AS (   -- only the services with a negative line are netted: the others keep every line
            SELECT seq, bool_or(line_amount < 0 OR line_qty < 0) OVER w AS netted,
                   sum(line_amount) OVER w AS net_amount, sum(line_qty) OVER w AS net_qty,
                   coalesce(min(CASE WHEN line_amount >= 0 AND line_qty > 0 THEN seq END) OVER w, min(seq) OVER w) AS keeper,
                   min(seq) OVER w AS group_id
            FROM s WHERE NOT contradicts AND EXISTS (SELECT 1 FROM neg WHERE {same})
            WINDOW w AS (PARTITION BY {service}))
        SELECT s.*, coalesce(n.netted, false) AS netted, n.net_amount, n.net_qty, n.keeper, n.group_id
        FROM s LEFT JOIN n USING (seq)
        ORDER BY seq""", b=built)
    claims = query("""
        SELECT claim_id, patient_id, provider_id, prescriber_id, centre_id, service_code, service_date,
               CAST(CASE WHEN netted THEN net_amount ELSE line_amount END AS VARCHAR) AS amount,
               CASE WHEN q <> floor(q) THEN '1' ELSE regexp_replace(CAST(q AS VARCHAR), '\\.00$', '') END AS quantity,
               q <> floor(q) AS fractional,
               CAST(_line AS VARCHAR) AS snds_line,
               no_exe, exe, act, spe, pact, pspe, seq
        FROM (SELECT *, CASE WHEN netted THEN net_qty ELSE line_qty END AS q FROM c)
        WHERE NOT contradicts AND (NOT netted OR (seq = keeper AND net_qty > 0 AND net_amount >= 0))
        ORDER BY seq""", c=claims_all)
    providers, kinds_report = _providers(query, claims, nomenclature)
    report = _report(query, folder, files, names, lines, built, claims_all, claims, detail, ete, kinds_report)
    contract = ("claim_id", "patient_id", "provider_id", "prescriber_id", "centre_id", "service_code", "service_date",
                "amount", "quantity", "snds_line")
    return Conversion({"claims": claims.select(list(contract)), "providers": providers}, report)


def _lines(query: Query, prs: pa.Table, prs_file: str, out: _Collector) -> pa.Table:
    """The service lines of ER_PRS_F (`prs`, text columns and `_line`) with their typed columns;
    problems added to `out`: an amount or quantity that is not a number, two lines with the same
    nine keys."""
    lines = query(f"""
        SELECT _line, {_keys()}, trim(ben_nir_psa) AS patient_id, {_number_id('pfs_exe_num')} AS exe,
               {_number_id('pfs_pre_num')} AS pre,
               {_int('prs_nat_ref')} AS nat, {_date('exe_soi_dtd')} AS service_date,
               prs_pai_mnt, {_number('prs_pai_mnt')} AS amount, prs_act_qte, {_number('prs_act_qte')} AS qty,
               {_int('pse_act_nat')} AS act, {_int('pse_spe_cod')} AS spe, {_int('psp_act_nat')} AS pact,
               {_int('psp_spe_cod')} AS pspe, {_int('pse_stj_cod')} AS stj, {_int('psp_stj_cod')} AS pstj,
               coalesce({_int('dpn_qlf')} = '{INFORMATION_ONLY}' OR {_int('prs_dpn_qlp')} = '{INFORMATION_ONLY}', false)
                   AS info
        FROM prs ORDER BY _line""", prs=prs)
    _check_numbers(query, lines, prs_file, out)
    dupes = query(f"""SELECT _line, first FROM (SELECT _line, min(_line) OVER (PARTITION BY {', '.join(KEYS)}) AS first
                      FROM l) WHERE _line > first ORDER BY _line""", l=lines)
    room = out.room or 1
    unit = _unit(prs_file)
    for r in dupes.slice(0, room).to_pylist():
        out.add(Problem(prs_file, f"repeats the nine DCIR keys of {unit} {r['first']}: the same service line twice (an "
                                  f"extract given twice?)", line=r["_line"], unit=unit))
    if dupes.num_rows > room:
        out.add(Problem(prs_file, "repeats the nine DCIR keys of an earlier line"), count=dupes.num_rows - room)
    return lines


def _months(lines: pa.Table, ete: pa.Table, detail: pa.Table, by_month: bool) -> list[tuple[pa.Table, ...]]:
    """(lines, establishments, details) of each flow month (`FLX_DIS_DTD`'s first seven
    characters, normalised; lines without one in a slice of their own), in month order (none
    for no lines); the three whole tables as one slice when not `by_month`. Source: SCALPEL's DCIR flattening, which
    joins the detail tables month by month (github.com/X-DataInitiative/SCALPEL-Flattening)."""
    if not by_month:
        return [(lines, ete, detail)]
    month = [pc.utf8_slice_codeunits(t["flx_dis_dtd"], 0, 7) for t in (lines, ete, detail)]
    slices = [tuple(t.filter(pc.equal(m, value)) for t, m in zip((lines, ete, detail), month))
              for value in sorted(set(month[0].drop_null().to_pylist()))]
    if month[0].null_count:      # no flow date: no detail can join it (a NULL key matches nothing)
        slices.append((lines.filter(pc.is_null(month[0])), ete.slice(0, 0), detail.slice(0, 0)))
    return slices


def _unit(file: str) -> str:
    """What a file's `_line` counts: lines of a CSV file, rows of a Parquet file (as the contract loader says)."""
    return "row" if file.lower().endswith(".parquet") else "line"


TOO_MUCH = f"is more than {MAX_AMOUNT:,.0f} euros (10¹²) in absolute value: not a service's amount"
TOO_MANY = f"is too large: a quantity is at most {MAX_QUANTITY:,} in absolute value"


def _check_numbers(query: Query, lines: pa.Table, file: str, out: _Collector):
    """An amount missing or not a number, a quantity not a number, and either beyond the contract's
    bounds (`contract.tables.MAX_AMOUNT`, `MAX_QUANTITY`, in absolute value: regularisation lines
    are negative): problems quoting the cell as ER_PRS_F writes it (`1e13`, not the number the
    converter would write), since a bound left to the contract loader would quote claims.csv's
    rewritten number instead."""
    bad = query(f"""SELECT _line, 1 AS k, 'PRS_PAI_MNT' AS col, prs_pai_mnt AS value,
                           CASE WHEN prs_pai_mnt IS NULL THEN 'missing' WHEN amount IS NULL THEN 'nan' ELSE 'big' END AS why
                    FROM l WHERE amount IS NULL OR abs(amount) > {MAX_AMOUNT}
                    UNION ALL
                    SELECT _line, 2, 'PRS_ACT_QTE', prs_act_qte, CASE WHEN qty IS NULL THEN 'nan' ELSE 'big' END FROM l
                    WHERE (qty IS NULL AND prs_act_qte IS NOT NULL) OR abs(qty) > {MAX_QUANTITY}
                    ORDER BY _line, k""", l=lines).to_pylist()
    words = {"missing": "missing value: a service line needs its amount", "nan": "is not a number",
             "big": {"PRS_PAI_MNT": TOO_MUCH, "PRS_ACT_QTE": TOO_MANY}}
    for r in bad[:out.room or 1]:
        message = words[r["why"]] if r["why"] != "big" else words["big"][r["col"]]
        out.add(Problem(file, message, line=r["_line"], column=r["col"], value=shown(r["value"]), unit=_unit(file)))
    if len(bad) > (out.room or 1):
        out.add(Problem(file, "is not a number, or beyond the contract's bounds"), count=len(bad) - (out.room or 1))


def _line_kind(act: str, spe: str) -> str:
    """SQL: the kind a line gives from its activity nature and specialty columns."""
    acts = " ".join(f"WHEN '{c}' THEN {repr(k) if k else 'NULL'}" for c, k in ACTIVITY_KINDS.items())
    spes = " ".join(f"WHEN '{c}' THEN '{k}'" for c, k in SPECIALTY_KINDS.items())
    return (f"coalesce(CASE {act} {acts} END, "
            f"CASE {spe} {spes} ELSE CASE WHEN {spe} IN (SELECT code FROM spec) THEN 'physician' END END, 'other')")


def _providers(query: Query, claims: pa.Table, nomenclature: Path | None) -> tuple[pa.Table, dict]:
    labels = specialty_labels(nomenclature)
    spec = pa.table({"code": pa.array(list(labels), pa.string()), "label": pa.array(list(labels.values()), pa.string())})
    categories = " ".join(f"WHEN '{c}' THEN '{k}'" for c, k in CATEGORY_KINDS.items())
    category = (f"CASE WHEN regexp_full_match(provider_id, '([0-9]{{2}}|2[AB])[0-9]{{6,7}}') "
                f"THEN CASE substr(provider_id, 3, 1) {categories} END END")
    decided = query(f"""
        WITH ev AS (   -- one row of evidence per line and role: who, which kind, which specialty label
            SELECT provider_id, CASE WHEN no_exe THEN 'other' ELSE {_line_kind('act', 'spe')} END AS kind,
                   CASE WHEN no_exe THEN NULL ELSE spe END AS code, seq FROM c
            UNION ALL
            SELECT prescriber_id, {_line_kind('pact', 'pspe')}, pspe, seq FROM c WHERE prescriber_id IS NOT NULL),
        k AS (SELECT provider_id, kind, count(*) AS n, min(seq) AS first FROM ev WHERE kind <> 'other' GROUP BY ALL),
        t AS (SELECT *, max(n) OVER (PARTITION BY provider_id) AS top FROM k),
        d AS (SELECT provider_id, count(*) AS kinds, map(list(kind ORDER BY kind), list(n ORDER BY kind)) AS seen,
                     sum(CASE WHEN n = top THEN 1 ELSE 0 END) AS tied,
                     arg_min(kind, (-n, first, kind)) AS majority, any_value({category}) AS category
              FROM t GROUP BY provider_id),
        chosen AS (   -- one row a number (a DISTINCT over the map `seen` is refused by Spark)
            SELECT ev.provider_id,
                   CASE WHEN d.kinds IS NULL THEN 'other' WHEN d.kinds = 1 OR d.category IS NULL THEN d.majority
                        ELSE d.category END AS kind,
                   d.kinds, d.seen, d.category,
                   CASE WHEN d.kinds > 1 AND d.category IS NOT NULL THEN 'the number''s category digit'
                        WHEN d.kinds > 1 AND d.tied > 1 THEN 'a tie on most lines: the kind of the earliest line'
                        WHEN d.kinds > 1 THEN 'the kind on most lines' END AS rule
            FROM (SELECT DISTINCT provider_id FROM ev) ev LEFT JOIN d USING (provider_id)),
        lab AS (SELECT ev.provider_id, s.label, count(*) AS n, min(ev.seq) AS first
                FROM ev JOIN chosen USING (provider_id) JOIN spec s ON s.code = ev.code
                WHERE ev.kind = chosen.kind GROUP BY ALL)
        SELECT chosen.provider_id, chosen.kind,
               (SELECT arg_min(label, (-n, first, label)) FROM lab WHERE lab.provider_id = chosen.provider_id) AS specialty,
               NULL::VARCHAR AS name, NULL::VARCHAR AS postcode, NULL::VARCHAR AS legal_entity_id,
               chosen.kinds, chosen.seen, chosen.rule
        FROM chosen ORDER BY chosen.provider_id""", c=claims, spec=spec)
    conflicts = query("SELECT provider_id, seen, kind, rule FROM d WHERE kinds > 1 ORDER BY provider_id", d=decided)
    listed = [{"provider_id": r["provider_id"], "kinds": dict(r["seen"]), "kind": r["kind"], "rule": r["rule"]}
              for r in conflicts.slice(0, LISTED).to_pylist()]
    unknown = query(f"""   -- specialty codes a line's kind was read from, unknown to the nomenclature
        SELECT code, count(*) AS n FROM (
            SELECT spe AS code FROM c WHERE NOT no_exe AND coalesce(act, '0') IN ('0', '99')
            UNION ALL SELECT pspe FROM c WHERE prescriber_id IS NOT NULL AND coalesce(pact, '0') IN ('0', '99'))
        WHERE code IS NOT NULL AND code NOT IN (SELECT code FROM spec)
              AND code NOT IN ({', '.join(repr(k) for k in SPECIALTY_KINDS)})
        GROUP BY code ORDER BY code""", c=claims, spec=spec)
    by_kind = query("SELECT kind, count(*) AS n FROM d GROUP BY kind ORDER BY kind", d=decided).to_pylist()
    kinds_report = {"rows": decided.num_rows, "kinds": {r["kind"]: r["n"] for r in by_kind},
                    "kind_conflicts": {"providers": conflicts.num_rows, "listed": listed,
                                       "rule": "the number's category digit (3rd character), else the kind on most "
                                               "lines, a tie by the earliest line"},
                    "specialty_codes_not_in_nomenclature": dict(zip(unknown["code"].to_pylist(),
                                                                    unknown["n"].to_pylist()))}
    return decided.select(["provider_id", "kind", "specialty", "name", "postcode", "legal_entity_id"]), kinds_report


def _report(query: Query, folder: Path, files: dict, names: dict, lines: pa.Table, built: pa.Table, claims_all: pa.Table,
            claims: pa.Table, detail: pa.Table, ete: pa.Table, kinds: dict) -> dict:
    """The conversion report: every ER_PRS_F line, detail row and euro accounted for."""
    prs = names["er_prs_f"]
    counts = query(f"""
        WITH one AS (SELECT * FROM b WHERE k = 0)   -- one row per ER_PRS_F line
        SELECT count(*) AS read, sum(amount) AS amount_read,
               count(*) FILTER (WHERE info) AS info, sum(amount) FILTER (WHERE info) AS info_amount,
               list(_line ORDER BY _line) FILTER (WHERE info)[1:{LISTED}] AS info_lines,
               count(*) FILTER (WHERE NOT info AND no_exe AND centre_id IS NULL) AS orphan,
               sum(amount) FILTER (WHERE NOT info AND no_exe AND centre_id IS NULL) AS orphan_amount,
               list(_line ORDER BY _line) FILTER (WHERE NOT info AND no_exe AND centre_id IS NULL)[1:{LISTED}] AS orphan_lines,
               count(*) FILTER (WHERE NOT info AND no_exe AND centre_id IS NOT NULL) AS to_centre,
               count(*) FILTER (WHERE NOT info AND no_exe) AS no_exe,
               count(*) FILTER (WHERE NOT info AND no_pre AND pre IS NOT NULL) AS pre_sentinel,
               count(*) FILTER (WHERE centres > 1) AS several_centres,
               list(_line ORDER BY _line) FILTER (WHERE centres > 1)[1:{LISTED}] AS several_centres_lines
        FROM one""", b=built).to_pylist()[0]
    net = query("""
        WITH g AS (SELECT group_id, any_value(net_amount) AS amount, any_value(net_qty) AS qty, count(*) AS lines,
                          count(*) FILTER (WHERE line_amount < 0 OR line_qty < 0) AS negative,
                          list(DISTINCT _line ORDER BY _line) AS prs_lines
                   FROM c WHERE netted GROUP BY group_id),
        o AS (SELECT *, CASE WHEN qty > 0 AND amount >= 0 THEN 'kept' WHEN qty = 0 AND amount = 0 THEN 'zero'
                             ELSE 'unmatched' END AS outcome FROM g)
        SELECT outcome, count(*) AS claims, count(DISTINCT prs_lines) AS services, sum(lines) AS lines,
               sum(negative) AS negative, sum(amount) AS amount,
               flatten(list(prs_lines ORDER BY group_id))[1:20] AS prs_lines
        FROM o GROUP BY outcome""", c=claims_all).to_pylist()
    by = {r["outcome"]: r for r in net}
    # a service is its ER_PRS_F lines (the original and its regularisations), netted drug by drug
    services = query("""SELECT count(DISTINCT prs_lines) AS n FROM (
                            SELECT group_id, list(DISTINCT _line ORDER BY _line) AS prs_lines FROM c WHERE netted
                            GROUP BY group_id)""", c=claims_all).to_pylist()[0]["n"]

    def outcome(name):
        r = by.get(name) or {"claims": 0, "services": 0, "lines": 0, "amount": 0, "prs_lines": [], "negative": 0}
        return {"services": r["services"], "claims": r["claims"], "claim_lines": int(r["lines"]),
                "amount": _euros(r["amount"]), "first_lines": r["prs_lines"] or []}

    unmatched = query(f"""
        SELECT tag, count(*) AS n, list(dline ORDER BY dline)[1:{LISTED}] AS lines
        FROM d ANTI JOIN l USING ({', '.join(KEYS)}) GROUP BY tag""", d=detail, l=lines).to_pylist()
    ete_unmatched = query(f"""
        SELECT count(*) AS n, list(eline ORDER BY eline)[1:{LISTED}] AS lines
        FROM e ANTI JOIN l USING ({', '.join(KEYS)})""", e=ete, l=lines).to_pylist()[0]
    details = {}
    for name, (tag, *_rest) in DETAILS.items():
        if name in names:
            u = next((r for r in unmatched if r["tag"] == tag), {"n": 0, "lines": []})
            total = detail.filter(pc.equal(detail["tag"], tag)).num_rows
            details[names[name]] = {"rows": total, "matched": total - u["n"], "unmatched": u["n"],
                                    "unmatched_lines": u["lines"] or []}
    if "er_ete_f" in names:
        sentinel = ete.filter(ete["sentinel"]).num_rows
        details[names["er_ete_f"]] = {"rows": ete.num_rows, "matched": ete.num_rows - ete_unmatched["n"],
                                      "unmatched": ete_unmatched["n"], "unmatched_lines": ete_unmatched["lines"] or [],
                                      "no_establishment": sentinel,
                                      "services_with_several_establishments": counts["several_centres"],
                                      "several_establishments": {
                                          "rule": SEVERAL_ESTABLISHMENTS, "lines": counts["several_centres"],
                                          "first_lines": counts["several_centres_lines"] or []}}
    written = query("SELECT count(*) AS n, sum(CAST(amount AS DECIMAL(18, 2))) AS amount FROM c", c=claims).to_pylist()[0]
    fractional = query(f"""SELECT count(*) AS n, sum(CAST(amount AS DECIMAL(18, 2))) AS amount,
                                  list(CAST(snds_line AS BIGINT) ORDER BY seq)[1:{LISTED}] AS lines
                           FROM c WHERE fractional""", c=claims).to_pylist()[0]
    kept_plain = claims_all.filter(pc.invert(pc.or_(claims_all["netted"], claims_all["contradicts"]))).num_rows
    lines_by = query(f"""
        SELECT count(DISTINCT CASE WHEN NOT contradicts AND (line_amount < 0 OR line_qty < 0) THEN _line END)
                   AS regularisation,
               count(*) FILTER (WHERE contradicts) AS contradicting,
               sum(line_amount) FILTER (WHERE contradicts) AS contradicting_amount,
               list(_line ORDER BY seq) FILTER (WHERE contradicts)[1:{LISTED}] AS contradicting_lines,
               list(tag || ':' || CAST(dline AS VARCHAR) || ':' || CAST(_line AS VARCHAR) ORDER BY seq) FILTER (WHERE contradicts AND tag IS NOT NULL)[1:{LISTED}]
                   AS contradicting_details,
               count(*) FILTER (WHERE tag IS NOT NULL AND by_price) AS by_price,
               count(*) FILTER (WHERE tag IS NOT NULL AND NOT by_price) AS equal
        FROM c""", c=claims_all).to_pylist()[0]
    files_of = {tag: names[name] for name, (tag, *_rest) in DETAILS.items() if name in names}
    contradicting_details = []
    for d in lines_by["contradicting_details"] or []:
        tag, line, service = d.split(":")
        contradicting_details.append({"file": files_of[tag], "line": int(line), "service_line": int(service)})
    return {
        "format": "snds DCIR",
        "source": str(folder),
        "files": files,
        "service_lines": {
            "file": prs, "read": counts["read"], "amount": _euros(counts["amount_read"]),
            "left_out": {
                "information_only": {"rule": "DPN_QLF or PRS_DPN_QLP = 71", "lines": counts["info"],
                                     "amount": _euros(counts["info_amount"]), "first_lines": counts["info_lines"] or []},
                "no_practitioner_no_establishment": {
                    "rule": "sentinel PFS_EXE_NUM and no ETB_EXE_FIN", "lines": counts["orphan"],
                    "amount": _euros(counts["orphan_amount"]), "first_lines": counts["orphan_lines"] or []},
            },
            "claim_lines_built": claims_all.num_rows,
        },
        "amount_shares": {
            "rule": "a service's PRS_PAI_MNT shared among its detail lines to the cent: in proportion to unit price × "
                    "quantity when every line has a unit price (PHA_ACT_PRU, CAM_ACT_PRU), else equally; the cents "
                    "left over go one each to its first lines",
            "by_unit_price": lines_by["by_price"], "equal": lines_by["equal"]},
        "quantity_sign_contradicts_amount": {
            "rule": "a claim line whose quantity's sign contradicts its service's amount (a negative quantity under "
                    "a positive PRS_PAI_MNT, or the reverse) is neither a claim nor a regularisation: left out",
            "claim_lines": lines_by["contradicting"], "amount": _euros(lines_by["contradicting_amount"]),
            "first_lines": lines_by["contradicting_lines"] or [], "first_detail_lines": contradicting_details},
        "netting": {
            "rule": "services (an ER_PRS_F line with its regularisations) counted once, their drugs or acts "
                    "(`claims`, `claim_lines`) netted one by one",
            "regularisation_lines": lines_by["regularisation"], "services": services,
            "kept": {**outcome("kept"), "rule": "netted to a positive service: one claim"},
            "netted_to_zero": {**outcome("zero"), "rule": "cancelled: removed"},
            "unmatched": {**outcome("unmatched"), "rule": "negative or inconsistent once netted (original not in the "
                                                          "extract?): left out"},
        },
        "sentinels": {
            "executing_provider_none": counts["no_exe"], "attributed_to_establishment": counts["to_centre"],
            "prescriber_none": counts["pre_sentinel"],
        },
        "details": details,
        "claims": {"rows": written["n"], "amount": _euros(written["amount"]), "plain_lines": kept_plain},
        "fractional_quantity": {
            "rule": "a quantity that is not whole (PRS_ACT_QTE is a decimal: kilometres, coefficients) is written as "
                    "one service, its amount kept", "claims": fractional["n"], "amount": _euros(fractional["amount"]),
            "first_lines": fractional["lines"] or []},
        "providers": kinds,
    }


def _after_today(claims: pa.Table, prs: str, today: date) -> dict:
    """The written claims (in `claims.csv` order) whose `service_date` (YYYY-MM-DD text) is after
    `today`: their count and the first, by its ER_PRS_F line and its `claims.csv` line (the header
    is line 1)."""
    dates = claims["service_date"]
    later = pc.fill_null(pc.and_(pc.match_substring_regex(dates, r"^\d{4}-\d{2}-\d{2}$"),
                                 pc.greater(dates, today.isoformat())), False)
    n = pc.sum(later).as_py() or 0
    out = {"rule": "a service dated after the day of the conversion: validate and scan refuse it",
           "today": today.isoformat(), "claims": n}
    if n:
        i = pc.index(later, True).as_py()
        out["first"] = {"file": prs, "line": int(claims["snds_line"][i].as_py()), "service_date": dates[i].as_py(),
                        "claims_line": i + 2}
    return out


def _euros(x) -> float:
    return float(x) if x is not None else 0.0


def _eur(x: float) -> str:
    return f"-€{-x:,.2f}" if x < 0 else f"€{x:,.2f}"


FIRST = 5                     # line numbers printed (the JSON report lists LISTED)


def report_lines(report: dict) -> list[str]:
    """The conversion report in a few human lines (the JSON file has every figure)."""
    s, n, sen = report["service_lines"], report["netting"], report["sentinels"]
    info, orphan = s["left_out"]["information_only"], s["left_out"]["no_practitioner_no_establishment"]
    out = [f"{s['file']}: {s['read']:,} service lines, {_eur(s['amount'])}"]
    out.append(f"  left out: {info['lines']:,} information-only (DPN_QLF/PRS_DPN_QLP 71, {_eur(info['amount'])}); "
               f"{orphan['lines']:,} with no practitioner and no establishment ({_eur(orphan['amount'])})")
    x = report["quantity_sign_contradicts_amount"]
    if x["claim_lines"]:
        where = ", ".join(f"{d['file']} {_unit(d['file'])} {d['line']} under {s['file']} {_unit(s['file'])} "
                          f"{d['service_line']}" for d in x["first_detail_lines"][:FIRST]) or \
            f"{s['file']} {_unit(s['file'])}(s) {', '.join(map(str, x['first_lines'][:FIRST]))}"
        out.append(f"  left out: {x['claim_lines']:,} claim line(s) whose quantity's sign contradicts their service's "
                   f"amount ({_eur(x['amount'])}; {where}{', …' if x['claim_lines'] > FIRST else ''})")
    out.append(f"  netted: {n['regularisation_lines']:,} regularisation lines on {n['services']:,} "
               f"services: {n['kept']['services']:,} corrected ({_eur(n['kept']['amount'])}), "
               f"{n['netted_to_zero']['services']:,} cancelled, {n['unmatched']['services']:,} without their original "
               f"left out ({_eur(n['unmatched']['amount'])})")
    out.append(f"  sentinels: {sen['executing_provider_none']:,} lines with no executing practitioner "
               f"({sen['attributed_to_establishment']:,} attributed to their establishment), "
               f"{sen['prescriber_none']:,} prescriber numbers meaning none")
    a = report["amount_shares"]
    out.append(f"  amounts of detail lines: {a['by_unit_price']:,} shared by unit price × quantity, {a['equal']:,} "
               f"shared equally (no unit price on every line of their service)")
    for name, d in report["details"].items():
        extra = f", {d['no_establishment']:,} meaning no establishment" if "no_establishment" in d else ""
        out.append(f"  {name}: {d['rows']:,} rows, {d['unmatched']:,} matching no service line{extra}")
        several = d.get("several_establishments")
        if several and several["lines"]:
            more = ", …" if several["lines"] > FIRST else ""
            out.append(f"    {several['lines']:,} service line(s) with several establishments ({s['file']} {_unit(s['file'])}(s) "
                       f"{', '.join(map(str, several['first_lines'][:FIRST]))}{more}): the smallest ETB_EXE_FIN "
                       f"(text order) kept as their centre")
    p = report["providers"]
    out.append(f"  providers: {p['rows']:,} ({', '.join(f'{v:,} {k}' for k, v in p['kinds'].items())}); "
               f"{p['kind_conflicts']['providers']:,} seen with two kinds")
    for c in p["kind_conflicts"]["listed"]:
        out.append(f"    {c['provider_id']}: {', '.join(f'{k} on {v} line(s)' for k, v in c['kinds'].items())} "
                   f"→ {c['kind']} ({c['rule']})")
    c, f = report["claims"], report["fractional_quantity"]
    out.append(f"  claims written: {c['rows']:,} lines, {_eur(c['amount'])}"
               + (f"; {f['claims']:,} with a quantity that is not whole (kilometres, coefficients: PRS_ACT_QTE is a "
                  f"decimal) written as one service each, their amount kept ({_eur(f['amount'])})" if f["claims"] else ""))
    for name, f in report["files"].items():
        if f.get("ignored_bytes"):
            counted = "; ".join(f"{c} × {n:,}" for c, n in f["ignored_bytes"].items())
            out.append(f"  {name}: {sum(f['ignored_bytes'].values()):,} cell(s) of columns the conversion does not read "
                       f"hold bytes not in the file's encoding ({counted}): ignored, as those columns are")
    for w in report.get("warnings", []):
        out.append(f"  warning: {w['message']}")
    later = report.get("service_dates_after_today") or {"claims": 0}
    if later["claims"]:
        first = later["first"]
        out.append(f"  warning: {later['claims']:,} service(s) dated after today ({later['today']}), the first "
                   f"{first['file']} {_unit(first['file'])} {first['line']} ({first['service_date']}, claims.csv line "
                   f"{first['claims_line']}): validate and scan refuse them; correct or leave them out before scanning")
    return out
