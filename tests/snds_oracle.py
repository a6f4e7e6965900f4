"""The SNDS conversion rules of `loaders.snds` written again, plainly, row by row in Python: an
oracle for the column-wise implementation (tests only; rows are dicts of the DCIR columns)."""
import re
from decimal import Decimal

KEYS = ("FLX_DIS_DTD", "FLX_TRT_DTD", "FLX_EMT_TYP", "FLX_EMT_NUM", "FLX_EMT_ORD", "ORG_CLE_NUM", "DCT_ORD_NUM",
        "PRS_ORD_NUM", "REM_TYP_AFF")
SENTINEL = re.compile(r"[0 ]*|9+")
DETAILS = {"ER_BIO_F": ("bio", "BIO_PRS_IDE", "BIO_ORD_NUM", "BIO_ACT_QSN", None),
           "ER_CAM_F": ("cam", "CAM_PRS_IDE", "CAM_ORD_NUM", None, "CAM_ACT_PRU"),
           "ER_PHA_F": ("pha", "PHA_PRS_C13", "PHA_ORD_NUM", "PHA_ACT_QSN", "PHA_ACT_PRU")}


def _int(v):
    v = (v or "").strip()
    return str(int(float(v))) if re.fullmatch(r"[+-]?\d+(\.0*)?", v) else (v or None)


def _key(row):
    return tuple(row[k].strip()[:10] if k.startswith("FLX_") and k.endswith("DTD") else
                 row[k].strip() if k == "ORG_CLE_NUM" else _int(row[k]) for k in KEYS)


def _number_id(v):
    """A practitioner or establishment number: trimmed, a numeric export's `.0…` dropped, digits as written."""
    v = (v or "").strip()
    return re.sub(r"[.,]0*$", "", v) if re.fullmatch(r"\d+[.,]0*", v) else v


def _none(number, mode):
    number = _number_id(number)
    return None if SENTINEL.fullmatch(number) or _int(mode) == "99" else number


def _split(cents: int, n: int) -> list[int]:
    sign, a = (-1 if cents < 0 else 1), abs(cents)
    return [sign * (a // n + (1 if k < a % n else 0)) for k in range(n)]


def _by_price(cents: int, weights: list[Decimal]) -> list[int]:
    """Shares in proportion to the weights (unit price × quantity), the cents left over one each to the first."""
    sign, a, total = (-1 if cents < 0 else 1), abs(cents), sum(weights)
    base = [int(a * w // total) for w in weights]
    return [sign * (b + (1 if k < a - sum(base) else 0)) for k, b in enumerate(base)]


def _price(v):
    try:
        return Decimal((v or "").strip().replace(",", "."))
    except ArithmeticError:
        return None


def _text(d: Decimal) -> str:
    return re.sub(r"\.00$", "", f"{d:.2f}")


def expected_claims(tables: dict[str, list[dict]]) -> list[tuple]:
    """(claim_id, patient, provider, prescriber, centre, code, date, amount, quantity) per claim."""
    centres = {}
    for r in tables.get("ER_ETE_F", []):
        etb = _number_id(r["ETB_EXE_FIN"])
        if not SENTINEL.fullmatch(etb):
            centres[_key(r)] = min(etb, centres.get(_key(r), etb))
    details = {}
    for name, (tag, code, order, qty, price) in DETAILS.items():
        for r in tables.get(name, []):
            q = Decimal(r[qty].replace(",", ".")) if qty and r[qty] else None
            details.setdefault(_key(r), []).append((tag, int(_int(r[order])), r[code].strip(), q,
                                                    _price(r.get(price)) if price else None))
    lines = []
    for r in tables["ER_PRS_F"]:
        if _int(r.get("DPN_QLF")) == "71" or _int(r.get("PRS_DPN_QLP")) == "71":
            continue
        centre = centres.get(_key(r))
        provider = _none(r["PFS_EXE_NUM"], r.get("PSE_STJ_COD")) or centre
        if provider is None:
            continue
        prescriber = _none(r["PFS_PRE_NUM"], r.get("PSP_STJ_COD"))
        amount = Decimal(r["PRS_PAI_MNT"].replace(",", "."))
        qty = Decimal(r["PRS_ACT_QTE"].replace(",", ".")) if r["PRS_ACT_QTE"] else None
        found = sorted(details.get(_key(r), []))
        base = "|".join(k for k in _key(r))
        weights = [abs(f[4] * (f[3] if f[3] is not None else 1)) for f in found if f[4] is not None]
        if found and len(weights) == len(found) and sum(weights) > 0:
            shares = _by_price(int(round(amount * 100)), weights)
        else:
            shares = _split(int(round(amount * 100)), max(len(found), 1))
        for k, share in enumerate(shares):
            tag, order, code, dq, _ = found[k] if found else (None, None, _int(r["PRS_NAT_REF"]), None, None)
            q = dq if dq is not None else qty if qty is not None else Decimal(amount > 0) - Decimal(amount < 0)
            lines.append({"id": base + (f"|{tag}{order}" if tag else ""), "patient": r["BEN_NIR_PSA"].strip(),
                          "provider": provider, "prescriber": prescriber, "centre": centre,
                          "nat": _int(r["PRS_NAT_REF"]), "code": code, "date": r["EXE_SOI_DTD"].strip()[:10],
                          "amount": Decimal(share) / 100, "qty": q})
            if (q < 0 < amount) or (amount < 0 < q):    # its quantity's sign contradicts its service's amount
                lines.pop()
    groups = {}
    for n, line in enumerate(lines):
        groups.setdefault(tuple(line[k] for k in ("patient", "provider", "prescriber", "centre", "nat", "code", "date")),
                          []).append(n)
    claims = []
    for n, line in enumerate(lines):
        group = [lines[i] for i in groups[tuple(line[k] for k in ("patient", "provider", "prescriber", "centre",
                                                                     "nat", "code", "date"))]]
        if not any(g["amount"] < 0 or g["qty"] < 0 for g in group):
            claims.append((n, line, line["amount"], line["qty"]))
            continue
        keeper = next((g for g in group if g["amount"] >= 0 and g["qty"] > 0), group[0])
        amount, qty = sum(g["amount"] for g in group), sum(g["qty"] for g in group)
        if line is keeper and qty > 0 and amount >= 0:
            claims.append((n, line, amount, qty))
    return [(c["id"], c["patient"], c["provider"], c["prescriber"], c["centre"], c["code"], c["date"],
             f"{amount:.2f}", _text(qty) if qty == int(qty) else "1") for _, c, amount, qty in claims]
    # a quantity that is not whole is one service (README, SNDS DCIR)


def converted(conversion) -> list[tuple]:
    cols = ("claim_id", "patient_id", "provider_id", "prescriber_id", "centre_id", "service_code", "service_date",
            "amount", "quantity")
    return [tuple(r[c] for c in cols) for r in conversion["claims"].to_pylist()]
