#!/usr/bin/env python3
"""The third independent world: a synthetic Belgian-style region-year of health-insurance claims.

    python benchmarks/worlds/third_region.py DATA_DIR TRUTH_FILE [--patients N] [--seed S]

Writes into DATA_DIR the nine tables of the data contract (../shared/CONTRACT.md) as CSV:
claims, providers, centres, legal_entities, affiliations, officers, identifiers, patients,
services. Beside TRUTH_FILE (never inside DATA_DIR) it writes the planted truth (`pattern,
group_id, entity_type, entity_id`), `lookalikes.csv` (`pattern, entity_type, entity_id, why`:
honest entities that resemble the pattern named; `why` starts with the look-alike's family) and
`indicators.json` (the three control-campaign indicators of the `indicator_outlier` plants).

The region is one insurer's members (N patients, default 20,000) in a city with several postcode
districts, market towns and villages across two provinces (4-digit postcodes, north 4xxx and a
rural, older south 6xxx), for the year 2025. Everything is synthetic: names are labels, provider
numbers are INAMI-style (11 digits: profession, serial, two check digits, qualification),
legal entities carry KBO-style numbers with their mod-97 check, bank accounts are Belgian-style
IBANs with valid check digits. Act codes are 6-digit, nomenclature-style and invented, with
their labels in services.csv; drug codes are real ATC codes. Amounts are euros reimbursed.

It was written from the contract alone, without reading the project's detectors or generator.
The same seed gives byte-identical files. See benchmarks/worlds/README.md for the world's
assumptions, what is planted and how strongly.
"""
from __future__ import annotations

import argparse
import csv
import json
import math
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np

YEAR = 2025
START = date(YEAR, 1, 1)
NDAYS = 365
DATES = [(START + timedelta(days=d)).isoformat() for d in range(NDAYS)]
WEEKDAY = np.array([(START + timedelta(days=d)).weekday() for d in range(NDAYS)])  # 0 = Monday
HOLIDAYS = [date(YEAR, m, d) for m, d in ((1, 1), (4, 21), (5, 1), (5, 29), (6, 9), (7, 21), (8, 15),
                                          (11, 1), (11, 11), (12, 25))]
HOLIDAY = np.zeros(NDAYS, bool)
HOLIDAY[[(h - START).days for h in HOLIDAYS]] = True
MONTH = np.array([(START + timedelta(days=d)).month for d in range(NDAYS)])

# ---------------------------------------------------------------------------------------------
# The code catalogue: key, code, kind, label, watched, euros reimbursed per unit.
# Act codes are invented in the style of the Belgian nomenclature; drug codes are real ATC codes.
SERVICES = [
    # general practice
    ("gp_consult", "101076", "act", "GP consultation at the practice", False, 29.50),
    ("gp_home", "103132", "act", "GP home visit", False, 43.00),
    ("gp_nh", "103412", "act", "GP visit in a nursing home", False, 35.00),
    ("gp_dmg", "102771", "act", "Global medical record (DMG), annual management fee", False, 35.00),
    ("pall_visit", "103574", "act", "Palliative care physician home visit", False, 55.00),
    # specialist consultations
    ("cons_cardiology", "102535", "act", "Cardiology consultation", False, 46.00),
    ("cons_endocrinology", "102550", "act", "Endocrinology consultation", False, 44.00),
    ("cons_pneumology", "102572", "act", "Pneumology consultation", False, 42.00),
    ("cons_gastroenterology", "102594", "act", "Gastroenterology consultation", False, 42.00),
    ("cons_psychiatry", "102616", "act", "Psychiatric consultation", False, 62.00),
    ("cons_neurology", "102631", "act", "Neurology consultation", False, 45.00),
    ("cons_oncology", "102653", "act", "Oncology consultation", False, 48.00),
    ("cons_nephrology", "102675", "act", "Nephrology consultation", False, 44.00),
    ("cons_infectious_diseases", "102690", "act", "Infectious diseases consultation", False, 44.00),
    ("cons_paediatrics", "102712", "act", "Paediatric consultation", False, 40.00),
    ("cons_gynaecology", "102734", "act", "Gynaecology consultation", False, 38.00),
    ("cons_ophthalmology", "102756", "act", "Ophthalmology consultation", False, 36.00),
    ("cons_dermatology", "102830", "act", "Dermatology consultation", False, 34.00),
    ("cons_orthopaedics", "102852", "act", "Orthopaedic consultation", False, 38.00),
    ("cons_internal_medicine", "102874", "act", "Internal medicine consultation", False, 44.00),
    ("cons_geriatrics", "102896", "act", "Geriatric consultation", False, 46.00),
    ("cons_surgery", "102911", "act", "Surgical consultation", False, 36.00),
    # technical acts
    ("ecg", "475075", "act", "Electrocardiogram", False, 20.50),
    ("echo_heart", "476210", "act", "Echocardiography", False, 72.00),
    ("holter", "476254", "act", "24-hour Holter recording", False, 50.00),
    ("spirometry", "471016", "act", "Spirometry", False, 25.00),
    ("endoscopy", "473012", "act", "Upper digestive endoscopy", False, 120.00),
    ("eeg", "477013", "act", "Electroencephalogram", False, 60.00),
    ("fundus", "248395", "act", "Fundus examination", False, 20.00),
    ("pap", "149612", "act", "Cervical smear", False, 15.00),
    ("obst_us", "460795", "act", "Obstetric ultrasound", False, 40.00),
    ("xray_chest", "452013", "act", "Chest X-ray", False, 25.00),
    ("us_abdomen", "460456", "act", "Abdominal ultrasound", False, 45.00),
    ("ct_scan", "458613", "act", "CT scan", False, 110.00),
    ("mri", "459431", "act", "MRI", False, 180.00),
    # hospital
    ("hosp_visit", "599015", "act", "Inpatient visit by the attending physician, per day", False, 22.00),
    ("surgery_minor", "225010", "act", "Surgical procedure, minor", False, 280.00),
    ("surgery_major", "227012", "act", "Surgical procedure, major", False, 1150.00),
    ("anaesthesia", "202014", "act", "Anaesthesia", False, 170.00),
    ("dialysis", "470396", "act", "Haemodialysis session in hospital", False, 330.00),
    ("chemo_session", "350372", "act", "Day-hospital chemotherapy session", False, 240.00),
    # home nursing
    ("nurse_visit", "425014", "act", "Home nursing visit, basic care", False, 24.00),
    ("nurse_insulin", "424336", "act", "Home nursing visit, insulin injection", False, 11.50),
    ("nurse_injection", "424012", "act", "Home nursing visit, injection", False, 12.00),
    ("nurse_wound", "424255", "act", "Home nursing visit, wound care", False, 21.00),
    ("nurse_fa", "425375", "act", "Daily nursing forfait A (dependent patient)", False, 36.00),
    ("nurse_fb", "425396", "act", "Daily nursing forfait B (dependent patient)", False, 66.00),
    ("nurse_fc", "425412", "act", "Daily nursing forfait C (heavily dependent patient)", False, 96.00),
    ("nurse_palliative", "427350", "act", "Palliative home care forfait, per day", False, 105.00),
    # physiotherapy
    ("physio_first", "560055", "act", "Physiotherapy first assessment", False, 35.00),
    ("physio_session", "560011", "act", "Physiotherapy session, common pathology", False, 25.50),
    ("physio_heavy", "563010", "act", "Physiotherapy session, heavy pathology (F list)", False, 30.00),
    # midwifery
    ("mw_prenatal", "422012", "act", "Midwife prenatal consultation", False, 30.00),
    ("mw_postnatal", "422653", "act", "Midwife postnatal home visit", False, 40.00),
    # dental
    ("dent_consult", "301011", "act", "Dental consultation", False, 27.00),
    ("dent_exam", "301593", "act", "Annual preventive oral examination", False, 30.00),
    ("dent_scaling", "301615", "act", "Scaling", False, 40.00),
    ("dent_filling1", "304311", "act", "Filling, one surface", False, 50.00),
    ("dent_filling3", "304355", "act", "Filling, three surfaces", False, 85.00),
    ("dent_extraction", "304400", "act", "Tooth extraction", False, 45.00),
    ("dent_endo", "305012", "act", "Root canal treatment", False, 110.00),
    ("dent_intraoral", "307020", "act", "Intraoral radiograph", False, 12.00),
    ("dent_pano", "307172", "act", "Panoramic radiograph", False, 45.00),
    ("dent_cbct", "307746", "act", "Cone-beam CT, dental", False, 95.00),
    ("ortho_session", "305616", "act", "Orthodontic treatment session", False, 38.00),
    # laboratory
    ("lab_sampling", "540012", "lab", "Blood sampling fee", False, 4.50),
    ("lab_glucose", "540373", "lab", "Glucose", False, 3.20),
    ("lab_hba1c", "541010", "lab", "HbA1c", False, 9.50),
    ("lab_lipids", "541813", "lab", "Lipid panel", False, 11.00),
    ("lab_creat", "541033", "lab", "Creatinine", False, 3.40),
    ("lab_tsh", "541430", "lab", "TSH", False, 10.20),
    ("lab_cbc", "551090", "lab", "Complete blood count", False, 7.80),
    ("lab_crp", "541710", "lab", "C-reactive protein", False, 5.60),
    ("lab_liver", "541070", "lab", "Liver enzymes", False, 6.00),
    ("lab_vitd", "542015", "lab", "Vitamin D", False, 15.00),
    ("lab_inr", "555105", "lab", "INR", False, 6.50),
    ("lab_viral", "556010", "lab", "HIV viral load", False, 80.00),
    # drugs (ATC), per box
    ("clonidine", "C02AC01", "drug", "clonidine", False, 9.00),
    ("moxonidine", "C02AC05", "drug", "moxonidine", False, 10.00),
    ("methyldopa", "C02AB01", "drug", "methyldopa", False, 8.00),
    ("hctz", "C03AA03", "drug", "hydrochlorothiazide", False, 5.00),
    ("furosemide", "C03CA01", "drug", "furosemide", False, 5.00),
    ("spironolactone", "C03DA01", "drug", "spironolactone", False, 7.00),
    ("bisoprolol", "C07AB07", "drug", "bisoprolol", False, 8.00),
    ("nebivolol", "C07AB12", "drug", "nebivolol", False, 9.00),
    ("amlodipine", "C08CA01", "drug", "amlodipine", False, 7.00),
    ("lercanidipine", "C08CA13", "drug", "lercanidipine", False, 9.00),
    ("ramipril", "C09AA05", "drug", "ramipril", False, 8.00),
    ("perindopril", "C09AA04", "drug", "perindopril", False, 9.00),
    ("losartan", "C09CA01", "drug", "losartan", False, 9.00),
    ("candesartan", "C09CA06", "drug", "candesartan", False, 10.00),
    ("valsartan_hctz", "C09DA03", "drug", "valsartan and diuretics", False, 12.00),
    ("atorvastatin", "C10AA05", "drug", "atorvastatin", False, 11.00),
    ("rosuvastatin", "C10AA07", "drug", "rosuvastatin", False, 12.00),
    ("apixaban", "B01AF02", "drug", "apixaban", False, 62.00),
    ("rivaroxaban", "B01AF01", "drug", "rivaroxaban", False, 62.00),
    ("aspirin", "B01AC06", "drug", "acetylsalicylic acid", False, 3.00),
    ("metformin", "A10BA02", "drug", "metformin", False, 5.00),
    ("dapagliflozin", "A10BK01", "drug", "dapagliflozin", False, 48.00),
    ("semaglutide", "A10BJ06", "drug", "semaglutide", True, 98.00),
    ("glargine", "A10AE04", "drug", "insulin glargine", False, 55.00),
    ("aspart", "A10AB05", "drug", "insulin aspart", False, 32.00),
    ("levothyroxine", "H03AA01", "drug", "levothyroxine", False, 5.00),
    ("salm_flut", "R03AK06", "drug", "salmeterol and fluticasone", False, 38.00),
    ("salbutamol", "R03AC02", "drug", "salbutamol", False, 6.00),
    ("tiotropium", "R03BB04", "drug", "tiotropium", False, 45.00),
    ("sertraline", "N06AB06", "drug", "sertraline", False, 9.00),
    ("escitalopram", "N06AB10", "drug", "escitalopram", False, 10.00),
    ("lorazepam", "N05BA06", "drug", "lorazepam", False, 5.00),
    ("zolpidem", "N05CF02", "drug", "zolpidem", True, 6.00),
    ("oxycodone", "N02AA05", "drug", "oxycodone", True, 28.00),
    ("fentanyl", "N02AB03", "drug", "fentanyl", True, 46.00),
    ("morphine", "N02AA01", "drug", "morphine", True, 14.00),
    ("tramadol", "N02AX02", "drug", "tramadol", True, 9.00),
    ("buprenorphine", "N07BC01", "drug", "buprenorphine", True, 22.00),
    ("methadone", "N07BC02", "drug", "methadone", True, 12.00),
    ("pregabalin", "N03AX16", "drug", "pregabalin", True, 19.00),
    ("methylphenidate", "N06BA04", "drug", "methylphenidate", True, 36.00),
    ("amoxicillin", "J01CA04", "drug", "amoxicillin", False, 7.00),
    ("amoxiclav", "J01CR02", "drug", "amoxicillin and beta-lactamase inhibitor", False, 10.00),
    ("azithromycin", "J01FA10", "drug", "azithromycin", False, 9.00),
    ("ibuprofen", "M01AE01", "drug", "ibuprofen", False, 4.00),
    ("paracetamol", "N02BE01", "drug", "paracetamol", False, 3.00),
    ("omeprazole", "A02BC01", "drug", "omeprazole", False, 6.00),
    ("pantoprazole", "A02BC02", "drug", "pantoprazole", False, 7.00),
    ("arv_triple", "J05AR20", "drug", "emtricitabine, tenofovir alafenamide and bictegravir", True, 780.00),
    ("dolutegravir", "J05AX12", "drug", "dolutegravir", True, 560.00),
    ("prep", "J05AR03", "drug", "tenofovir disoproxil and emtricitabine", True, 320.00),
    ("imatinib", "L01EA01", "drug", "imatinib", True, 1450.00),
    ("letrozole", "L02BG04", "drug", "letrozole", False, 32.00),
    ("capecitabine", "L01BC06", "drug", "capecitabine", True, 260.00),
    ("lenalidomide", "L04AX04", "drug", "lenalidomide", True, 3900.00),
    ("palbociclib", "L01EF01", "drug", "palbociclib", True, 3300.00),
    ("pembrolizumab", "L01FF02", "drug", "pembrolizumab", False, 3800.00),
    ("trastuzumab", "L01FD01", "drug", "trastuzumab", False, 1600.00),
    ("darbepoetin", "B03XA02", "drug", "darbepoetin alfa", False, 290.00),
    ("midazolam", "N05CD08", "drug", "midazolam", False, 15.00),
]
K = {s[0]: i for i, s in enumerate(SERVICES)}
TARIFF = np.array([round(s[5] * 100) for s in SERVICES], np.int64)   # cents
IS_DRUG = np.array([s[2] == "drug" for s in SERVICES])
IS_ACT = np.array([s[2] == "act" for s in SERVICES])
IS_LAB = np.array([s[2] == "lab" for s in SERVICES])
HTN_CLASSES = {"C09": ["ramipril", "perindopril", "losartan", "candesartan", "valsartan_hctz"],
               "C08": ["amlodipine", "lercanidipine"], "C07": ["bisoprolol", "nebivolol"],
               "C03": ["hctz", "furosemide", "spironolactone"]}
CENTRAL = ["moxonidine", "clonidine", "methyldopa"]

# Specialists per 20,000 patients; a consultation code where the specialty consults.
SPECIALTIES = {"cardiology": 5, "endocrinology": 2, "pneumology": 3, "gastroenterology": 3,
               "psychiatry": 4, "neurology": 3, "oncology": 3, "nephrology": 2,
               "infectious_diseases": 2, "paediatrics": 4, "gynaecology": 4, "ophthalmology": 3,
               "dermatology": 2, "orthopaedics": 4, "internal_medicine": 5, "geriatrics": 3,
               "surgery": 5, "anaesthesiology": 4, "radiology": 4, "palliative_care": 2}
CONSULT = {sp: "cons_" + sp for sp in SPECIALTIES if "cons_" + sp in K}
CONSULT["palliative_care"] = "pall_visit"
HOSPITAL_ONLY = ("anaesthesiology", "radiology", "oncology", "nephrology", "infectious_diseases")
MEDICAL = ("internal_medicine", "cardiology", "pneumology", "geriatrics", "gastroenterology")
SURGICAL = ("surgery", "orthopaedics", "gynaecology")
# INAMI-style number: first digit the profession, last three the qualification (invented values).
PROFESSION_DIGIT = {"physician": "1", "pharmacy": "2", "dentist": "3", "nurse": "4",
                    "physiotherapist": "5", "midwife": "6", "laboratory": "8"}
QUALIFICATION = {"general_practice": "004", "general_dentistry": "001", "orthodontics": "003",
                 "oral_surgery": "005", "home_nursing": "401", "physiotherapy": "501",
                 "midwifery": "601", "community_pharmacy": "201", "hospital_pharmacy": "202",
                 "clinical_biology": "801"}
for _i, _sp in enumerate(SPECIALTIES):
    QUALIFICATION[_sp] = "%03d" % (130 + 20 * _i)


def _profile(weekday_w, month_w, holiday_w):
    """Cumulative probabilities over the 365 days of the year from weights by weekday, month and holiday."""
    w = np.asarray(weekday_w)[WEEKDAY] * np.asarray(month_w)[MONTH - 1]
    w = np.where(HOLIDAY, w * holiday_w, w)
    return np.cumsum(w / w.sum())


# Day profiles (cumulative): office care is weekday care with winter peaks for acute care and
# summer and Christmas dips for planned care; pharmacies open Monday to Saturday; nursing daily.
ACUTE_MONTHS = [1.35, 1.3, 1.1, 0.95, 0.9, 0.85, 0.7, 0.7, 0.95, 1.05, 1.15, 1.25]
PLANNED_MONTHS = [1.0, 1.05, 1.05, 1.0, 1.0, 1.0, 0.72, 0.68, 1.05, 1.05, 1.05, 0.85]
PROFILES = {
    "acute": _profile([1.15, 1.0, 1.0, 1.0, 0.95, 0.3, 0.04], ACUTE_MONTHS, 0.05),
    "planned": _profile([1.1, 1.0, 1.0, 1.0, 0.95, 0.15, 0.0], PLANNED_MONTHS, 0.0),
    "lab": _profile([1.2, 1.0, 1.0, 1.0, 0.9, 0.25, 0.0], PLANNED_MONTHS, 0.0),
    "daily": _profile([1, 1, 1, 1, 1, 1, 1], [1] * 12, 1.0),
}
# The next day a pharmacy (Mon-Sat, not holidays) or an office (Mon-Fri) is open.
def _next_open(open_mask):
    """For each day of the year, the same or next day on which `open_mask` is true (the last day if none)."""
    nxt = np.arange(NDAYS)
    for d in range(NDAYS - 1, -1, -1):
        if not open_mask[d]:
            nxt[d] = nxt[d + 1] if d + 1 < NDAYS else d
    return nxt


NEXT_PHARMACY = _next_open((WEEKDAY < 6) & ~HOLIDAY)
NEXT_OFFICE = _next_open((WEEKDAY < 5) & ~HOLIDAY)
OFFICE = np.flatnonzero((WEEKDAY < 5) & ~HOLIDAY)      # the working days of the year


def mod97_check(digits: str) -> str:
    """The two check digits of Belgian KBO and INAMI-style numbers: 97 - (number mod 97)."""
    return "%02d" % (97 - int(digits) % 97)


def iban(bban10: str) -> str:
    """A Belgian-style IBAN (16 characters) from 10 account digits, with valid check digits."""
    c = int(bban10) % 97
    bban = bban10 + "%02d" % (c if c else 97)
    check = 98 - int(bban + "111400") % 97   # B=11, E=14, then "00"
    return "BE%02d%s" % (check, bban)


class Claims:
    """Claim lines accumulated as numpy columns of entity indices (day = 0 for 1 January)."""

    def __init__(self, bim_factor):
        self.parts = []
        self.bim_factor = bim_factor      # per patient: 1.0, or more for preferential-rate patients

    def add(self, patient, provider, code, day, prescriber=-1, centre=-1, qty=1, cents=None):
        """Appends lines (scalars are broadcast; -1 means none). The amount, in cents, defaults to
        the tariff x quantity, x the patient's preferential factor for acts and lab tests."""
        patient = np.asarray(patient, np.int64)
        n = len(patient)
        if n == 0:
            return
        col = lambda x: np.broadcast_to(np.asarray(x, np.int64), (n,)).copy()
        code, qty = col(code), col(qty)
        if cents is None:
            factor = np.where(IS_ACT[code] | IS_LAB[code], self.bim_factor[patient], 1.0)
            cents = np.round(TARIFF[code] * qty * factor).astype(np.int64)
        self.parts.append({"patient": patient, "provider": col(provider), "code": code,
                           "day": col(day), "prescriber": col(prescriber), "centre": col(centre),
                           "qty": qty, "cents": col(cents)})

    def table(self):
        """All lines as one dict of numpy columns."""
        keys = ("patient", "provider", "code", "day", "prescriber", "centre", "qty", "cents")
        return {k: np.concatenate([p[k] for p in self.parts]) for k in keys}


class World:
    """One region-year under construction: entities as lists of dicts, claims as numpy columns."""

    def __init__(self, n, seed):
        self.n, self.s = n, n / 20000
        self.rng = np.random.default_rng(seed)
        self.towns, self.prov, self.centres, self.les = [], [], [], []
        self.affil, self.officers, self.idents = [], [], []
        self.persons = 0
        self.truth, self.looks = [], []
        self.used_prov, self.used_pat = set(), set()

    # -- small helpers ------------------------------------------------------------------------
    def groups(self, base, minimum=2):
        """How many groups of a pattern: `base` at 20,000 patients, growing as size^0.6."""
        return max(minimum, int(round(base * self.s ** 0.6)))

    def levels(self, k):
        """k strengths in [0, 1], from weakest to strongest, in a random order."""
        return self.rng.permutation(np.linspace(0.0, 1.0, k)) if k > 1 else np.array([0.0])

    def sround(self, x):
        """x rounded up or down at random, in proportion to its fractional part."""
        return int(math.floor(x + self.rng.random()))

    def past(self, lo=1995, hi=2024):
        """A first-of-month date between the years lo and hi (exclusive), ISO text."""
        return "%d-%02d-01" % (self.rng.integers(lo, hi), self.rng.integers(1, 13))

    def days(self, n, profile):
        """n days of the year (0 = 1 January) drawn from a day profile."""
        return np.minimum(np.searchsorted(PROFILES[profile], self.rng.random(n)), NDAYS - 1)

    def add_provider(self, kind, specialty, town, **tags):
        """A new provider; returns its index."""
        self.prov.append(dict(kind=kind, specialty=specialty, town=town, le=-1, **tags))
        return len(self.prov) - 1

    def add_centre(self, kind, town, le, name, opened="", closed=""):
        """A new centre (opened on a past date unless given); returns its index."""
        opened = opened or self.past(1970 if kind == "hospital" else 1990)
        self.centres.append(dict(kind=kind, town=town, le=le, name=name, opened=opened, closed=closed))
        return len(self.centres) - 1

    def add_le(self, kind, name, created="", dissolved=""):
        """A new legal entity (created on a past date unless given); returns its index."""
        if not created:
            created = date(int(self.rng.integers(1975, 2023)), int(self.rng.integers(1, 13)),
                           int(self.rng.integers(1, 29))).isoformat()
        self.les.append(dict(kind=kind, name=name, created=created, dissolved=dissolved))
        return len(self.les) - 1

    def add_person(self):
        """A new person (an officer who is not a provider); returns its index."""
        self.persons += 1
        return self.persons - 1

    def address(self, town):
        """A synthetic street address in a town."""
        return "street %d no %d, %s" % (self.rng.integers(1, 400), self.rng.integers(1, 180),
                                        self.towns[town]["pc"])

    def bank(self):
        """A new Belgian-style bank account (IBAN)."""
        return iban("%010d" % self.rng.integers(0, 10 ** 10))

    def ident(self, etype, idx, kind, value):
        """An identifiers row."""
        self.idents.append((etype, idx, kind, value))

    def plant(self, pattern, group, members):
        """Truth rows for one planted group; its providers and patients are not planted again."""
        for etype, idx in members:
            self.truth.append((pattern, "%s-%02d" % (pattern, group), etype, int(idx)))
            (self.used_prov if etype == "provider" else self.used_pat if etype == "patient"
             else set()).add(int(idx))

    def look(self, pattern, etype, idx, family, why):
        """A look-alike row."""
        self.looks.append((pattern, etype, int(idx), "%s: %s" % (family, why)))

    def attr(self, name, default=0.0):
        """A per-provider numpy array of one attribute."""
        return np.array([p.get(name, default) for p in self.prov])

    def free(self, candidates):
        """The candidates neither planted nor kept as look-alikes."""
        return [c for c in candidates if c not in self.used_prov and c not in self.look_prov]


# ---------------------------------------------------------------------------------------------
# Geography
def build_geography(w):
    """Towns: city districts (4000, 4010, ...), market towns and villages in a northern and a
    rural southern province; coordinates in km, the city at the origin; population shares."""
    rng, s = w.rng, w.s
    used = set()

    def postcode(lo, hi):
        while True:
            pc = int(rng.integers(lo // 10, hi // 10)) * 10
            if pc not in used:
                used.add(pc)
                return pc

    towns = []
    nd = max(2, int(round(0.30 * w.n / 6500)))
    for i in range(nd):
        pc = 4000 + 10 * i if i < 10 else postcode(4100, 4200)
        used.add(pc)
        r, a = (0.0, 0.0) if i == 0 else (rng.uniform(2.0, 5.5), rng.uniform(0, 2 * np.pi))
        towns.append(dict(pc=str(pc), x=r * np.cos(a), y=r * np.sin(a), kind="city", prov="north",
                          share=0.30 * rng.uniform(0.7, 1.3)))
    nt = max(3, int(round(4 * s ** 0.6)))
    town_idx = []
    for i in range(nt):
        south = i % 3 == 2
        pc = postcode(6600, 7000) if south else postcode(4200, 5000)
        r = rng.uniform(30, 65) if south else rng.uniform(12, 38)
        a = rng.uniform(np.pi * 1.1, np.pi * 1.9) if south else rng.uniform(-0.2 * np.pi, 1.1 * np.pi)
        town_idx.append(len(towns))
        towns.append(dict(pc=str(pc), x=r * np.cos(a), y=r * np.sin(a), kind="town",
                          prov="south" if south else "north", share=0.38 / (i + 1) ** 0.7))
    nv = max(8, int(round(18 * s ** 0.6)))
    for i in range(nv):
        parent = towns[town_idx[i % nt]] if i % 5 else towns[0]
        south = parent["prov"] == "south"
        r, a = rng.uniform(4, 14), rng.uniform(0, 2 * np.pi)
        x, y = parent["x"] + r * np.cos(a), parent["y"] + r * np.sin(a)
        if parent["kind"] == "city":      # the city's villages lie 10-35 km out
            x, y = x * 2.5, y * 2.5
        pc = postcode(6600, 7000) if south else postcode(4200, 5000)
        towns.append(dict(pc=str(pc), x=x, y=y, kind="village", prov="south" if south else "north",
                          share=rng.lognormal(0, 0.5)))
    for kind, total in (("city", 0.30), ("town", 0.38), ("village", 0.32)):
        sub = [t for t in towns if t["kind"] == kind]
        tot = sum(t["share"] for t in sub)
        for t in sub:
            t["share"] *= total / tot
    w.towns = towns
    xy = np.array([[t["x"], t["y"]] for t in towns])
    w.dist = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
    w.dist[np.arange(len(towns)), np.arange(len(towns))] = 1.5      # within a town
    w.town_pop = rng.multinomial(w.n, [t["share"] for t in towns])


def alloc(w, per_patients, min_pop=0, kinds=("city", "town", "village")):
    """How many providers of one kind each town gets: its population / per_patients,
    stochastically rounded; towns under `min_pop` patients get none."""
    out = []
    for t, town in enumerate(w.towns):
        pop = w.town_pop[t]
        out.append(w.sround(pop / per_patients) if town["kind"] in kinds and pop >= min_pop else 0)
    return out


# ---------------------------------------------------------------------------------------------
# Organisations and providers
def company(w, name, town, kind="company", accountant_p=0.25):
    """A legal entity with an address (a quarter at the accountant's office, some of those paid
    on its pooled client account) and a bank account."""
    le = w.add_le(kind, name)
    bank = w.bank()
    if w.rng.random() < accountant_p or (accountant_p > 0 and len(w.accountant_clients) < 3):
        w.ident("legal_entity", le, "address", w.accountant_addr)
        w.accountant_clients.append(le)
        if w.rng.random() < 0.4:
            bank = w.pooled_le_account
            w.pooled_les.append(le)
    else:
        w.ident("legal_entity", le, "address", w.address(town))
    w.ident("legal_entity", le, "bank_account", bank)
    return le


def officer(w, person, le, role, provider=False):
    """An officer row: a person (or a provider) holding a role in a legal entity since a past date."""
    w.officers.append((("provider" if provider else "person"), person, le, role, w.past(1990), ""))


def new_pharmacy(w, town):
    """A community pharmacy with its company, manager and address."""
    ph = w.add_provider("pharmacy", "community_pharmacy", town, weight=float(w.rng.lognormal(0, 0.3)))
    w.prov[ph]["le"] = company(w, "pharmacy company", town)
    officer(w, w.add_person(), w.prov[ph]["le"], "manager")
    w.ident("provider", ph, "address", w.address(town))
    w.pharmacies.append(ph)
    return ph


def build_providers(w):
    """Every organisation and provider of the region, with their legal entities, officers,
    affiliations and identifiers; the honest look-alikes among them are kept out of plants."""
    w.look_prov = set()
    # An accountant's office hosting many small companies' seats, and its pooled client account.
    w.accountant_addr = "street 12 no 3, %s" % w.towns[0]["pc"]
    w.accountant_clients = []
    w.pooled_le_account, w.pooled_les = w.bank(), []
    build_gps(w)
    build_pharmacies(w)
    build_labs(w)
    build_hospitals(w)
    build_specialists(w)
    build_home_care(w)
    build_dental(w)
    build_nursing_homes(w)
    build_successions(w)


def build_gps(w):
    """GPs in solo practices, group practices (one company, the GPs its shareholders) and health
    centres (an association and a centre), by town population; a busy GP and on-call GPs."""
    rng, s = w.rng, w.s
    w.gp_practices = []
    gp_counts = alloc(w, 690, min_pop=150)
    n_hc = max(2, int(round(2 * s ** 0.6)))       # health centres, in the city and the towns
    for t, k in enumerate(gp_counts):
        kind = w.towns[t]["kind"]
        while k > 0:
            if kind != "village" and k >= 3 and (n_hc > 0 or kind == "city" and rng.random() < 0.3):
                n_hc -= 1
                size, ptype = int(rng.integers(3, 6)), "health_centre"
            elif kind != "village" and k >= 2 and rng.random() < 0.55:
                size, ptype = int(rng.integers(2, 6)), "group"
            else:
                size, ptype = 1, "solo"
            size = min(size, k)
            k -= size
            gps = [w.add_provider("physician", "general_practice", t) for _ in range(size)]
            prac = dict(type=ptype if size > 1 or ptype == "health_centre" else "solo", town=t,
                        gps=gps, centre=-1, le=-1, adjacent_pharmacy=-1, network=False)
            if prac["type"] == "group":
                prac["le"] = company(w, "group practice company", t)
                for g in gps:
                    w.prov[g]["le"] = prac["le"]
                    officer(w, g, prac["le"], "shareholder", provider=True)
            elif prac["type"] == "health_centre":
                le = company(w, "health centre association", t, kind="association", accountant_p=0.1)
                prac["le"], prac["centre"] = le, w.add_centre("health_centre", t, le, "health centre")
                officer(w, w.add_person(), le, "director")
                for g in gps:
                    w.affil.append((g, prac["centre"], "liberal", w.past(2000), ""))
            addr = w.address(t)
            for g in gps:
                w.ident("provider", g, "address", addr)
                w.ident("provider", g, "bank_account", w.bank())
            w.gp_practices.append(prac)
    for prac in w.gp_practices:
        for g in prac["gps"]:
            w.prov[g]["practice"] = prac
            w.prov[g]["weight"] = float(rng.lognormal(0, 0.25))
            w.prov[g]["same_day"] = 0.0025
    # A busy GP: a list 2.5 times the usual size, with usual volumes per patient (look-alike).
    solos = [p["gps"][0] for p in w.gp_practices if p["type"] == "solo"]
    w.busy_gps = [int(g) for g in rng.choice(solos, min(len(solos), max(1, w.groups(1, 1))), replace=False)]
    for g in w.busy_gps:
        w.prov[g]["weight"] = 2.6
        w.look_prov.add(g)
    # On-call rural GPs who occasionally see the same patient twice a day (look-alike).
    rural = [g for p in w.gp_practices for g in p["gps"]
             if w.towns[p["town"]]["kind"] == "village" and g not in w.look_prov] or \
        [p["gps"][0] for p in w.gp_practices if p["type"] == "solo" and p["gps"][0] not in w.look_prov]
    w.twice_gps = [int(g) for g in rng.choice(rural, min(len(rural), max(1, w.groups(1, 1))), replace=False)]
    for g in w.twice_gps:
        w.prov[g]["same_day"] = 0.012
        w.look_prov.add(g)


def build_pharmacies(w):
    """Community pharmacies by town size (a company each, a pharmacist its manager); a pharmacist
    with two pharmacies; a pharmacy next to each of the biggest group practices."""
    rng = w.rng
    w.pharmacies = []
    for t, k in enumerate(alloc(w, 1800, min_pop=700, kinds=("city", "town", "village"))):
        for _ in range(max(k, 1 if w.towns[t]["kind"] != "village" else k)):
            new_pharmacy(w, t)
    # A pharmacist running two pharmacies through two companies (honest shared officer).
    w.pharmacist_pairs = []
    if len(w.pharmacies) >= 6:
        for _ in range(w.groups(1, 1)):
            a, b = [int(x) for x in rng.choice(w.pharmacies, 2, replace=False)]
            if a in w.look_prov or b in w.look_prov:
                continue
            person = w.add_person()
            for ph in (a, b):
                officer(w, person, w.prov[ph]["le"], "manager")
                w.look_prov.add(ph)
            w.pharmacist_pairs.append((person, w.prov[a]["le"], w.prov[b]["le"]))
    # A pharmacy next to each of the biggest group practices (look-alike).
    big = sorted([p for p in w.gp_practices if len(p["gps"]) >= 2],
                 key=lambda p: (-len(p["gps"]), p["gps"][0]))[:max(1, w.groups(1, 1))]
    for prac in big:
        cands = [ph for ph in w.pharmacies if w.prov[ph]["town"] == prac["town"] and ph not in w.look_prov]
        if not cands:
            cands = [new_pharmacy(w, prac["town"])]
        prac["adjacent_pharmacy"] = cands[0]
        w.look_prov.add(cands[0])


def build_labs(w):
    """Laboratory companies, each a provider billing through 2-5 sampling sites (centres)."""
    rng = w.rng
    main = main_towns(w)
    w.labs = []
    for i in range(max(3, int(round(w.n / 12000)))):
        sites = sorted(set(int(x) for x in rng.choice(main, min(len(main), int(rng.integers(2, 6))), replace=False)))
        le = company(w, "clinical laboratory company", sites[0], accountant_p=0.0)
        officer(w, w.add_person(), le, "director")
        lab = w.add_provider("laboratory", "clinical_biology", sites[0])
        w.prov[lab]["le"] = le
        centres = [w.add_centre("laboratory", t, le, "laboratory sampling site") for t in sites]
        for c, t in zip(centres, sites):
            w.ident("centre", c, "address", w.address(t))
        w.labs.append(dict(prov=lab, sites=sites, centres=centres))
    w.lab_site = np.zeros((len(w.labs), len(w.towns)), np.int64)      # nearest site of each lab to each town
    for i, lab in enumerate(w.labs):
        d = w.dist[:, lab["sites"]]
        w.lab_site[i] = np.array(lab["centres"])[d.argmin(1)]


def build_hospitals(w):
    """Hospital sites of a public and a mutualist network; a hospital pharmacy at each; the
    community pharmacy next to the reference hospital (HIV, oncology)."""
    T = len(w.towns)
    nh = max(3, int(round(w.n / 25000)))
    towns_by_size = sorted([t for t in range(T) if w.towns[t]["kind"] == "town"],
                           key=lambda t: -w.town_pop[t])
    public = w.add_le("public", "public hospital network", created="1996-01-01")
    mutual = w.add_le("association", "mutualist hospital network", created="1989-06-01")
    for le in (public, mutual):
        w.ident("legal_entity", le, "address", w.address(0))
        w.ident("legal_entity", le, "bank_account", w.bank())
        officer(w, w.add_person(), le, "director")
        officer(w, w.add_person(), le, "treasurer")
    w.hospitals = []
    for i in range(nh):
        town = (0 if i == 0 else 1 % T) if i < 2 else towns_by_size[(i - 2) % len(towns_by_size)]
        le = public if i % 2 == 0 else mutual
        c = w.add_centre("hospital", town, le, "hospital site")
        w.ident("centre", c, "address", w.address(town))
        hph = w.add_provider("pharmacy", "hospital_pharmacy", town)
        w.prov[hph]["le"] = le
        w.affil.append((hph, c, "other", w.past(1990), ""))
        w.hospitals.append(dict(centre=c, town=town, le=le, pharmacy=hph, staff={}))
    w.public_network = public
    # The pharmacy next to the reference hospital (HIV, oncology) in the city.
    ref_town = w.hospitals[0]["town"]
    cands = [ph for ph in w.pharmacies if w.prov[ph]["town"] == ref_town and ph not in w.look_prov]
    if not cands:
        cands = [new_pharmacy(w, ref_town)]
    w.ref_pharmacy = cands[0]
    w.look_prov.add(w.ref_pharmacy)


def build_specialists(w):
    """Specialists: full-time, part-time or private only, at a hospital of their network."""
    rng, s = w.rng, w.s
    main = main_towns(w)
    nh = len(w.hospitals)
    w.spec = {}
    hweights = np.array([3.0 if w.towns[h["town"]]["kind"] == "city" else 1.5 for h in w.hospitals])
    for sp, per20k in SPECIALTIES.items():
        count = max(1, int(round(per20k * s)))
        if sp in ("internal_medicine", "surgery", "anaesthesiology"):
            count = max(count, nh)
        w.spec[sp] = []
        for i in range(count):
            if sp == "infectious_diseases":
                h = 0
            elif sp in ("internal_medicine", "surgery", "anaesthesiology") and i < nh:
                h = i
            elif sp == "nephrology":
                h = i % 2
            elif sp == "oncology":
                h = 0 if rng.random() < 0.6 else int(rng.choice(nh, p=hweights / hweights.sum()))
            else:
                h = int(rng.choice(nh, p=hweights / hweights.sum()))
            r = rng.random()
            if sp in HOSPITAL_ONLY:
                role = "fulltime_hospital" if r < 0.85 else "parttime_hospital"
            elif sp == "palliative_care":
                role = "private"
            else:
                role = "fulltime_hospital" if r < 0.5 else "parttime_hospital" if r < 0.85 else "private"
            if sp == "infectious_diseases" or (sp in ("internal_medicine", "surgery", "anaesthesiology") and i < nh):
                role = "fulltime_hospital"
            town = w.hospitals[h]["town"]
            if role == "private":
                town = int(rng.choice(main))
            if role == "fulltime_hospital":
                priv = float(rng.uniform(0.02, 0.10)) if rng.random() < 0.4 and sp not in HOSPITAL_ONLY else 0.0
            elif role == "parttime_hospital":
                priv = float(rng.uniform(0.4, 0.7))
            else:
                priv = 1.0
            p = w.add_provider("physician", sp, town, role=role, hospital=h if role != "private" else -1,
                               priv=priv, weight=float(rng.lognormal(0, 0.3)))
            w.spec[sp].append(p)
            w.ident("provider", p, "bank_account", w.bank())
            if role != "private":
                start = w.past(1995)
                w.affil.append((p, w.hospitals[h]["centre"], role, start, ""))
                w.hospitals[h]["staff"].setdefault(sp, []).append(p)
                if rng.random() < 0.06:    # an earlier post elsewhere
                    other = w.hospitals[(h + 1) % nh]["centre"]
                    w.affil.append((p, other, "parttime_hospital", w.past(1985, 1995), start))


def build_home_care(w):
    """Home nursing practices (teams of 1-4), physiotherapists (solo or duos, and neuro-
    rehabilitation ones), midwives."""
    rng = w.rng
    main = main_towns(w)
    w.nurse_practices = []
    biggest = int(np.argmax(w.town_pop))
    for t, k in enumerate(alloc(w, 450, min_pop=200)):
        first = t == biggest                 # the biggest town has at least one team of three
        k = max(k, 3) if first else k
        while k > 0:
            size = min(k, 3 if first else int(rng.choice([1, 2, 3, 4], p=[0.35, 0.3, 0.2, 0.15])))
            first = False
            k -= size
            nurses = [w.add_provider("nurse", "home_nursing", t) for _ in range(size)]
            for nn in nurses:
                w.ident("provider", nn, "address", w.address(t))
            w.nurse_practices.append(dict(town=t, nurses=nurses))
    # A billing office's pooled (third-party) account shared by many nurses (look-alike).
    w.pooled_account = w.bank()
    nurses_all = [nn for p in w.nurse_practices for nn in p["nurses"]]
    w.pooled_nurses = [int(x) for x in rng.choice(nurses_all, min(len(nurses_all), max(8, int(len(nurses_all) * 0.3))), replace=False)]
    for nn in nurses_all:
        w.ident("provider", nn, "bank_account", w.pooled_account if nn in set(w.pooled_nurses) else w.bank())
    w.physio_practices = []
    for t, k in enumerate(alloc(w, 700, min_pop=250)):
        while k > 0:
            size = min(k, int(rng.choice([1, 2], p=[0.7, 0.3])))
            k -= size
            ph = [w.add_provider("physiotherapist", "physiotherapy", t, course=float(rng.uniform(9, 14)))
                  for _ in range(size)]
            for p in ph:
                w.ident("provider", p, "address", w.address(t))
            w.physio_practices.append(dict(town=t, physios=ph))
    # Neuro-rehabilitation physiotherapists (long, legitimate heavy-pathology courses).
    w.neuro_physios = []
    for _ in range(max(1, w.groups(2, 1))):
        t = int(rng.choice(main))
        p = w.add_provider("physiotherapist", "physiotherapy", t, course=float(rng.uniform(9, 14)))
        w.ident("provider", p, "address", w.address(t))
        w.neuro_physios.append(p)
        w.physio_practices.append(dict(town=t, physios=[p], neuro=True))
        w.look_prov.add(p)
    w.midwives = [w.add_provider("midwife", "midwifery", int(rng.choice(main)))
                  for _ in range(max(1, int(round(w.n / 5000))))]


def build_dental(w):
    """Dental practices: private solos, the mutualist network of dental centres, independent
    dental centres; orthodontists and oral surgeons."""
    rng, s = w.rng, w.s
    main = main_towns(w)
    nh = len(w.hospitals)
    w.dental = []
    for t, k in enumerate(alloc(w, 1500, min_pop=500)):
        for _ in range(k):
            d = w.add_provider("dentist", "general_dentistry", t, cbct=float(rng.uniform(0.004, 0.025)))
            if rng.random() < 0.5:
                w.prov[d]["le"] = company(w, "dental practice company", t)
                officer(w, d, w.prov[d]["le"], "manager", provider=True)
            w.ident("provider", d, "address", w.address(t))
            w.dental.append(dict(town=t, dentists=[d], centre=-1, weight=1.0, network=None))
    w.mutualist_dental = w.add_le("association", "mutualist dental centres", created="1992-03-01")
    w.ident("legal_entity", w.mutualist_dental, "address", w.address(0))
    w.ident("legal_entity", w.mutualist_dental, "bank_account", w.bank())
    officer(w, w.add_person(), w.mutualist_dental, "director")
    w.mutualist_centres = []
    for i in range(max(2, int(round(3 * s ** 0.7)))):
        t = int(rng.choice(main))
        c = w.add_centre("dental_centre", t, w.mutualist_dental, "mutualist dental centre")
        w.ident("centre", c, "address", w.address(t))
        ds = [w.add_provider("dentist", "general_dentistry", t, cbct=float(rng.uniform(0.004, 0.025)))
              for _ in range(int(rng.integers(2, 4)))]
        for d in ds:
            w.affil.append((d, c, "salaried", w.past(2000), ""))
        w.dental.append(dict(town=t, dentists=ds, centre=c, weight=len(ds), network=None))
        w.mutualist_centres.append(c)
    for i in range(max(1, int(round(1.5 * s ** 0.7)))):
        t = int(rng.choice(main))
        le = company(w, "dental centre association", t, kind="association")
        officer(w, w.add_person(), le, "director")
        c = w.add_centre("dental_centre", t, le, "dental centre")
        w.ident("centre", c, "address", w.address(t))
        ds = [w.add_provider("dentist", "general_dentistry", t, cbct=float(rng.uniform(0.004, 0.025)))
              for _ in range(2)]
        for d in ds:
            w.affil.append((d, c, "liberal", w.past(2000), ""))
        w.dental.append(dict(town=t, dentists=ds, centre=c, weight=2.0, network=None))
    w.orthodontists = [w.add_provider("dentist", "orthodontics", int(rng.choice(main)))
                       for _ in range(max(1, int(round(2 * s))))]
    w.oral_surgeons = []
    for i in range(max(1, int(round(s)))):
        h = i % nh
        d = w.add_provider("dentist", "oral_surgery", w.hospitals[h]["town"], cbct=float(rng.uniform(0.12, 0.2)))
        w.affil.append((d, w.hospitals[h]["centre"], "parttime_hospital", w.past(2000), ""))
        w.dental.append(dict(town=w.hospitals[h]["town"], dentists=[d], centre=-1, weight=0.6, network=None))
        w.oral_surgeons.append(d)
        w.look_prov.add(d)


def build_nursing_homes(w):
    """Nursing homes: each a centre with a team of nurses, a physiotherapist and a coordinating GP."""
    rng = w.rng
    main = main_towns(w)
    w.nursing_homes = []
    for i in range(max(2, int(round(w.n / 7000)))):
        t = int(rng.choice(main))
        kind = ["public", "association", "company"][i % 3]
        le = w.add_le(kind, "nursing home operator")
        w.ident("legal_entity", le, "address", w.address(t))
        w.ident("legal_entity", le, "bank_account", w.bank())
        officer(w, w.add_person(), le, "director")
        c = w.add_centre("other", t, le, "nursing home")
        w.ident("centre", c, "address", w.address(t))
        nurses = [w.add_provider("nurse", "home_nursing", t) for _ in range(int(rng.integers(2, 5)))]
        physio = w.add_provider("physiotherapist", "physiotherapy", t, course=float(rng.uniform(9, 14)))
        gps_here = [g for p in w.gp_practices if p["town"] == t for g in p["gps"] if g not in w.look_prov]
        gp = gps_here[0] if gps_here else [g for p in w.gp_practices for g in p["gps"]][0]
        for nn in nurses:
            w.ident("provider", nn, "bank_account", w.bank())
        for p in nurses + [physio]:
            w.affil.append((p, c, "liberal", w.past(2000), ""))
        w.affil.append((gp, c, "other", w.past(2000), ""))
        w.nursing_homes.append(dict(town=t, centre=c, nurses=nurses, physio=physio, gp=gp))
        w.look_prov.update(nurses + [physio, gp])


def build_successions(w):
    """Honest successions: a practice company converted into a new company, same manager and address."""
    rng = w.rng
    w.successions = []
    for _ in range(w.groups(1, 1)):
        g = int(rng.choice([g for p in w.gp_practices for g in p["gps"] if w.prov[g]["le"] == -1
                            and g not in w.look_prov]))
        t = w.prov[g]["town"]
        addr = w.address(t)
        old = w.add_le("company", "group practice company", dissolved="2025-03-31")
        new = w.add_le("company", "group practice company", created="2025-03-15")
        for le in (old, new):
            w.ident("legal_entity", le, "address", addr)
            officer(w, g, le, "manager", provider=True)
        w.ident("legal_entity", old, "bank_account", w.bank())
        w.ident("legal_entity", new, "bank_account", w.bank())
        w.prov[g]["le"] = new
        w.successions.append((old, new))


# ---------------------------------------------------------------------------------------------
# Patients
AGE_BANDS = [(0, 4, .055), (5, 14, .112), (15, 24, .113), (25, 44, .26), (45, 64, .262),
             (65, 79, .138), (80, 99, .06)]


def build_patients(w):
    """Patients: town, age (a Belgian-like pyramid, older in the south), sex, preferential-rate
    factor for reimbursement, and conditions (boolean arrays by name) by age-band prevalence."""
    rng, n = w.rng, w.n
    town = np.repeat(np.arange(len(w.towns)), w.town_pop)
    town = town[rng.permutation(n)]
    south = np.array([t["prov"] == "south" for t in w.towns])[town]
    bands = np.array([b[2] for b in AGE_BANDS])
    older = bands * np.array([1, 1, 1, 0.95, 1.05, 1.3, 1.35])
    b = np.where(south, np.searchsorted(np.cumsum(older / older.sum()), rng.random(n)),
                 np.searchsorted(np.cumsum(bands / bands.sum()), rng.random(n)))
    b = np.minimum(b, len(AGE_BANDS) - 1)
    lo = np.array([a[0] for a in AGE_BANDS])[b]
    hi = np.array([a[1] for a in AGE_BANDS])[b]
    age = lo + (rng.random(n) * (hi - lo + 1)).astype(int)
    female = rng.random(n) < np.where(age >= 80, 0.62, np.where(age >= 65, 0.55, 0.505))
    w.age, w.female, w.town = age, female, town
    w.bim = np.where(rng.random(n) < np.where(age >= 65, 0.3, 0.17), 1.12, 1.0)

    def p(*by_band):   # probability by age band 0-14, 15-29, 30-44, 45-64, 65-79, 80+
        edges = np.searchsorted([15, 30, 45, 65, 80], age, side="right")
        return np.array(by_band)[edges]

    r = lambda prob: rng.random(n) < prob
    c = {}
    c["htn"] = r(p(0, .01, .06, .25, .55, .70))
    c["diab"] = r(p(0, .003, .02, .08, .17, .20))
    c["insulin"] = (c["diab"] & r(0.25)) | r(p(.002, .003, .003, .003, .003, .003))
    c["statin"] = r(p(0, .01, .05, .2, .45, .42))
    c["af"] = r(p(0, 0, .003, .02, .08, .15))
    c["resp"] = r(p(.06, .05, .05, .06, .1, .1))
    c["copd"] = c["resp"] & (age >= 45) & r(0.4)
    c["depr"] = r(p(.01, .06, .08, .08, .09, .10))
    c["thyroid"] = r(np.where(female, p(.003, .02, .04, .06, .09, .1), p(.001, .005, .01, .015, .02, .03)))
    c["pain"] = r(p(0, .005, .015, .03, .05, .06))
    c["neuropathic"] = r(p(0, .005, .015, .025, .03, .03))
    c["adhd"] = (age >= 6) & (age <= 30) & r(np.where(age <= 17, .04, .012))
    c["substitution"] = (age >= 20) & (age <= 55) & r(0.004)
    c["insomnia"] = r(p(0, .01, .03, .04, .06, .08))
    c["dialysis"] = r(p(0, .0002, .0004, .0009, .0016, .0012))
    c["chemo"] = r(p(0, .0004, .001, .004, .006, .004))
    c["oral_cancer"] = r(p(0, 0, .001, .004, .006, .005)) & ~c["chemo"]
    c["hiv"] = (age >= 20) & (age <= 70) & r(0.0025)
    c["prep"] = (age >= 20) & (age <= 50) & r(0.0015) & ~c["hiv"]
    c["palliative"] = (age >= 55) & r(p(0, 0, 0, .002, .004, .006)) & ~c["dialysis"]
    c["nursing_home"] = r(p(0, 0, 0, 0, .008, .07))
    home = ~c["nursing_home"]
    c["dependent"] = home & r(p(0, 0, 0, .002, .02, .08))
    c["insulin_nursing"] = home & c["insulin"] & (age >= 75) & r(0.45)
    c["neuro"] = r(p(0, .001, .002, .004, .008, .008))
    c["pregnant"] = female & (age >= 20) & (age <= 40) & r(0.06)
    c["ortho"] = (age >= 9) & (age <= 16) & r(0.2)
    # Small regions still get a few of the rare cases (each a family of honest look-alikes).
    for key, eligible in (("dialysis", age >= 45), ("chemo", age >= 45), ("palliative", age >= 65),
                          ("hiv", (age >= 25) & (age <= 60)), ("neuro", age >= 45)):
        short = 2 - int(c[key].sum())
        if short > 0:
            c[key][rng.choice(np.flatnonzero(eligible & ~c[key]), short, replace=False)] = True
    c["palliative"] &= ~c["dialysis"]
    old_ins = home & (age >= 75) & ~c["palliative"]
    short = 2 - int(c["insulin_nursing"].sum())
    if short > 0:
        pick = rng.choice(np.flatnonzero(old_ins & ~c["insulin_nursing"]), short, replace=False)
        c["insulin"][pick] = c["diab"][pick] = c["insulin_nursing"][pick] = True
    w.cond = c
    names = ("htn", "diab", "statin", "af", "resp", "depr", "thyroid", "pain", "neuropathic",
             "dialysis", "chemo", "oral_cancer", "hiv")
    w.n_chronic = sum(c[k].astype(int) for k in names)


def gravity(w, cand_town, weight, scale, patients=None):
    """For each patient (all, or `patients`), the index of a candidate drawn with probability
    proportional to weight x exp(-distance / scale km) from the patient's town."""
    rng = w.rng
    pats = np.arange(w.n) if patients is None else np.asarray(patients)
    cand_town, weight = np.asarray(cand_town), np.asarray(weight, float)
    wmat = weight[None, :] * np.exp(-w.dist[:, cand_town] / scale)
    cum = np.cumsum(wmat / wmat.sum(1, keepdims=True), 1)
    u = rng.random(len(pats))
    tw = w.town[pats]
    out = np.empty(len(pats), np.int64)
    for t in np.unique(tw):
        m = tw == t
        out[m] = np.minimum(np.searchsorted(cum[t], u[m]), len(cand_town) - 1)
    return out


def assign(w):
    """Each patient's usual GP, pharmacies, nursing practice, physiotherapist, dentist and, per
    specialty, specialist; nursing-home residents move to their home's postcode."""
    rng, n, c = w.rng, w.n, w.cond
    # Nursing-home residents live in the home's town.
    res = np.flatnonzero(c["nursing_home"])
    homes = gravity(w, [h["town"] for h in w.nursing_homes], [1.0] * len(w.nursing_homes), 15, res)
    w.home_of = np.full(n, -1)
    w.home_of[res] = homes
    w.town[res] = np.array([w.nursing_homes[h]["town"] for h in homes], np.int64)
    # GP practice, then GP within it.
    pr = w.gp_practices
    pw = [sum(w.prov[g]["weight"] for g in p["gps"]) for p in pr]
    prac = gravity(w, [p["town"] for p in pr], pw, 5)
    gp = np.empty(n, np.int64)
    for i, p in enumerate(pr):
        m = np.flatnonzero(prac == i)
        ww = np.array([w.prov[g]["weight"] for g in p["gps"]])
        gp[m] = np.array(p["gps"])[rng.choice(len(p["gps"]), len(m), p=ww / ww.sum())]
    stay = rng.random(len(res)) < 0.8
    gp[res[stay]] = [w.nursing_homes[h]["gp"] for h in w.home_of[res[stay]]]
    w.gp, w.gp_prac = gp, prac
    # Colleague table: a random GP of the same practice (flattened members with offsets).
    w.prac_idx = np.full(len(w.prov), -1, np.int64)
    for i, p in enumerate(pr):
        w.prac_idx[p["gps"]] = i
    w.prac_centre = np.array([p["centre"] for p in pr], np.int64)
    w.prac_members = np.concatenate([p["gps"] for p in pr])
    w.prac_offset = np.cumsum([0] + [len(p["gps"]) for p in pr])[:-1]
    w.prac_size = np.array([len(p["gps"]) for p in pr])
    # Usual and secondary pharmacy.
    ph = np.array(w.pharmacies)
    pw = np.array([w.prov[x].get("weight", 1.0) for x in ph])
    usual = ph[gravity(w, [w.prov[x]["town"] for x in ph], pw, 3.5)]
    adj = np.array([p["adjacent_pharmacy"] for p in pr])[prac]
    near = (adj >= 0) & (rng.random(n) < 0.55)
    usual[near] = adj[near]
    for h in range(len(w.nursing_homes)):
        m = w.home_of == h
        here = [x for x in w.pharmacies if w.prov[x]["town"] == w.nursing_homes[h]["town"]]
        if here:
            usual[m] = here[0]
    w.pharmacy = usual
    w.pharmacy2 = ph[gravity(w, [w.prov[x]["town"] for x in ph], pw, 8)]
    # Nursing practice, physiotherapist, dental practice, lab company.
    npr = w.nurse_practices
    w.main_nurse_key = rng.integers(0, 1 << 30, n)     # which team member is a patient's main nurse
    w.nurse_prac = gravity(w, [p["town"] for p in npr], [len(p["nurses"]) for p in npr], 4)
    phys = [(x, p["town"]) for p in w.physio_practices if not p.get("neuro") for x in p["physios"]]
    w.physio = np.array([x for x, _ in phys])[gravity(w, [t for _, t in phys], [1.0] * len(phys), 5)]
    w.neuro_physio = np.array(w.neuro_physios)[gravity(w, [w.prov[x]["town"] for x in w.neuro_physios],
                                                        [1.0] * len(w.neuro_physios), 25)]
    w.dental_prac = gravity(w, [d["town"] for d in w.dental], [d["weight"] for d in w.dental], 6)
    # Each prescriber sends lab requests to one lab company (the nearest, mostly).
    w.lab_pref = np.zeros(len(w.prov), np.int64)
    lab_towns = [lab["sites"] for lab in w.labs]
    for i, p in enumerate(w.prov):
        if p["kind"] == "physician":
            d = np.array([w.dist[p["town"], s].min() for s in lab_towns])
            wt = np.exp(-d / 8)
            w.lab_pref[i] = int(rng.choice(len(w.labs), p=wt / wt.sum()))
    w.priv = w.attr("priv")
    hc = np.array([h["centre"] for h in w.hospitals] + [-1])
    w.hosp_centre = hc[w.attr("hospital", -1).astype(np.int64)]
    # The centre a GP of a health centre or a dentist of a dental centre bills through.
    w.home_centre = np.full(len(w.prov), -1, np.int64)
    for prac in w.gp_practices:
        w.home_centre[prac["gps"]] = prac["centre"]
    for d in w.dental:
        w.home_centre[d["dentists"]] = d["centre"]
    w.spec_of = {}
    for sp, lst in w.spec.items():
        wt = [w.prov[x]["weight"] * (1.4 if w.towns[w.prov[x]["town"]]["kind"] == "city" else 1.0) for x in lst]
        w.spec_of[sp] = np.array(lst)[gravity(w, [w.prov[x]["town"] for x in lst], wt, 18)]
    w.hosp_of = gravity(w, [h["town"] for h in w.hospitals],
                        [3.0 if w.towns[h["town"]]["kind"] == "city" else 1.5 for h in w.hospitals], 15)


# ---------------------------------------------------------------------------------------------
# Honest care
def series(w, owners, period, jitter=3, start=None, end=None):
    """Events every `period` days (± jitter) for each owner between start and end (days of the
    year). Returns (position of the owner in `owners`, day)."""
    owners = np.asarray(owners)
    k = len(owners)
    if k == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = w.rng.integers(0, max(1, int(period)), k) if start is None else np.asarray(start)
    end = np.full(k, NDAYS) if end is None else np.asarray(end)
    counts = np.maximum(0, np.ceil((end - start) / period)).astype(np.int64)
    pos = np.repeat(np.arange(k), counts)
    step = np.arange(len(pos)) - np.repeat(np.cumsum(counts) - counts, counts)
    day = start[pos] + np.round(step * period).astype(np.int64)
    if jitter:
        day = day + w.rng.integers(-jitter, jitter + 1, len(pos))
    keep = (day >= 0) & (day < np.minimum(end[pos], NDAYS))
    return pos[keep], day[keep]


def office_series(w, owners, period, start_day):
    """Working-day events every `period` working days (period >= 1: never twice a day) from
    each owner's start day. Returns (position of the owner, index into OFFICE)."""
    start = np.searchsorted(OFFICE, np.asarray(start_day)) + w.rng.integers(0, 2, len(owners))
    pos, i = series(w, owners, period, 0, start, np.full(len(owners), len(OFFICE)))
    return pos, i


def distinct_days(w, counts, pools):
    """For owner i, counts[i] distinct days drawn from pools[i] (an array of days; one pool may
    serve all). Returns (position of the owner, day)."""
    pos, days = [], []
    for i, k in enumerate(counts):
        pool = pools if isinstance(pools, np.ndarray) else pools[i]
        k = min(int(k), len(pool))
        days.append(np.sort(w.rng.choice(pool, k, replace=False)))
        pos.append(np.full(k, i, np.int64))
    if not pos:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(pos), np.concatenate(days).astype(np.int64)


def line_keys(T, nprov):
    """One integer per (patient, provider, code, day): what a re-billed line repeats."""
    return ((T["patient"] * (nprov + 1) + T["provider"]) * len(SERVICES) + T["code"]) * 512 + T["day"]


def drop_repeats(T, E, nprov):
    """The lines of E, less those repeating a line of T or an earlier line of E (only the
    double-billing plants repeat lines on purpose)."""
    ke = line_keys(E, nprov)
    keep = np.zeros(len(ke), bool)
    keep[np.unique(ke, return_index=True)[1]] = True
    mine = np.zeros(int(max(T["patient"].max(), E["patient"].max())) + 1, bool)
    mine[E["patient"]] = True                  # only these patients' lines can be repeated
    near = {k: v[mine[T["patient"]]] for k, v in T.items()}
    keep &= ~np.isin(ke, line_keys(near, nprov))
    return {k: v[keep] for k, v in E.items()}


def team_member(w, pats, practice_index, members_lists, primary_share=0.6):
    """Per event (one patient's care by one team), a member of the team: the patient's own main
    nurse with `primary_share`, otherwise any member (they take turns)."""
    rng = w.rng
    sizes = np.array([len(m) for m in members_lists])
    flat = np.concatenate([np.asarray(m) for m in members_lists])
    off = np.cumsum(np.r_[0, sizes[:-1]])
    k = (rng.random(len(practice_index)) * sizes[practice_index]).astype(np.int64)
    main = w.main_nurse_key[pats] % sizes[practice_index]
    k = np.where(rng.random(len(practice_index)) < primary_share, main, k)
    return flat[off[practice_index] + k]


def dispense(w, C, pats, code, period, prescriber, qty=1, start=None, end=None, pharmacy=None,
             adherence=0.93, jitter=3):
    """Chronic dispensings of one molecule every `period` days at the usual pharmacy (or
    `pharmacy`), naming `prescriber` (one per patient); 7% at the secondary pharmacy."""
    pats = np.asarray(pats)
    pos, day = series(w, pats, period, jitter, start, end)
    keep = w.rng.random(len(pos)) < adherence
    pos, day = pos[keep], NEXT_PHARMACY[day[keep]]
    pt = pats[pos]
    ph = (w.pharmacy[pt] if pharmacy is None else np.asarray(pharmacy)[pos]).copy()
    alt = w.rng.random(len(pt)) < 0.07
    ph[alt] = w.pharmacy2[pt[alt]]
    presc = np.broadcast_to(np.asarray(prescriber), (len(pats),))[pos]
    C.add(pt, ph, code, day, prescriber=presc, qty=qty)
    return pt, day


def lab_event(w, C, pats, days, prescribers, tests):
    """A blood sample (sampling fee) and tests: `tests` maps test key -> probability per event."""
    rng = w.rng
    pats, days, prescribers = np.asarray(pats), NEXT_OFFICE[np.asarray(days)], np.asarray(prescribers)
    lab = w.lab_pref[prescribers]
    labprov = np.array([x["prov"] for x in w.labs])[lab]
    site = w.lab_site[lab, w.town[pats]]
    C.add(pats, labprov, K["lab_sampling"], days, prescriber=prescribers, centre=site)
    for key, prob in tests.items():
        m = rng.random(len(pats)) < prob
        C.add(pats[m], labprov[m], K[key], days[m], prescriber=prescribers[m], centre=site[m])


def honest_care(w):
    """Every honest claim line of the year: GP visits (with acute prescriptions and lab requests),
    chronic drugs, specialist and hospital care, nursing, physiotherapy, dentistry, midwifery.
    Returns the Claims accumulator (also w.C)."""
    rng, n, c, age = w.rng, w.n, w.cond, w.age
    C = Claims(w.bim)
    w.C = C
    allp = np.arange(n)

    # -- GP visits: by age, conditions, dependency; a winter peak; home visits for the old.
    mu = np.select([age < 5, age < 15, age < 45, age < 65, age < 80], [4.0, 2.0, 2.0, 2.7, 4.2], 6.0)
    mu = mu + 0.7 * w.n_chronic + 6 * c["dependent"] + 3 * c["palliative"]
    mu = np.where(rng.random(n) < 0.05, 0.3, mu)          # members who hardly see a GP
    mu = np.where(c["nursing_home"], 3.0, mu)             # plus monthly rounds below
    nvis = rng.poisson(mu * rng.gamma(2.0, 0.5, n))
    pat = np.repeat(allp, nvis)
    day = w.days(len(pat), "acute")
    p_home = np.select([c["dependent"] | c["palliative"], age >= 80, age >= 65], [0.85, 0.45, 0.12], 0.03)
    code = np.where(rng.random(len(pat)) < p_home[pat], K["gp_home"], K["gp_consult"])
    code = np.where(c["nursing_home"][pat], K["gp_nh"], code)
    gp = w.gp[pat].copy()
    r = rng.random(len(pat))
    colleague = r > 0.86
    pi = w.prac_idx[gp[colleague]]
    gp[colleague] = w.prac_members[w.prac_offset[pi] + (rng.random(len(pi)) * w.prac_size[pi]).astype(np.int64)]
    far = r > 0.975
    allgps = w.prac_members
    gp[far] = allgps[rng.integers(0, len(allgps), far.sum())]
    cen = w.prac_centre[w.prac_idx[gp]]
    C.add(pat, gp, code, day, centre=cen)
    # Occasional same-day second visit (same act, same day).
    rate = w.attr("same_day")
    again = rng.random(len(pat)) < rate[gp]
    C.add(pat[again], gp[again], code[again], day[again], centre=cen[again])
    # Nursing-home rounds: the home's GP monthly.
    res = np.flatnonzero(c["nursing_home"])
    pos, d = series(w, res, 30, 4)
    C.add(res[pos], w.gp[res[pos]], K["gp_nh"], NEXT_OFFICE[d])
    # Annual global medical record fee.
    seen = np.zeros(n, bool)
    seen[pat] = True
    dmg = np.flatnonzero(seen & (rng.random(n) < 0.85))
    C.add(dmg, w.gp[dmg], K["gp_dmg"], w.days(len(dmg), "planned"),
          centre=np.array([p["centre"] for p in w.gp_practices])[w.gp_prac[dmg]])
    # Acute prescriptions after visits (antibiotics in winter, analgesics, PPIs).
    winter = np.array(ACUTE_MONTHS)[MONTH[day] - 1]
    for keys, prob in ((["amoxicillin", "amoxiclav", "azithromycin"], 0.14 * winter),
                       (["ibuprofen", "paracetamol"], 0.07), (["omeprazole", "pantoprazole"], 0.03)):
        m = rng.random(len(pat)) < prob
        mol = np.array([K[k] for k in keys])[rng.integers(0, len(keys), m.sum())]
        dd = NEXT_PHARMACY[np.minimum(day[m] + rng.choice([0, 0, 0, 1, 2], m.sum()), NDAYS - 1)]
        pt = pat[m]
        phm = np.where(rng.random(len(pt)) < 0.9, w.pharmacy[pt], w.pharmacy2[pt])
        C.add(pt, phm, mol, dd, prescriber=gp[m])
    # Lab requests after visits.
    plab = 0.08 + 0.07 * (age >= 45) + 0.04 * np.minimum(w.n_chronic, 3)
    m = rng.random(len(pat)) < plab[pat]
    pt = pat[m]
    old = age[pt] >= 40
    lab_event(w, C, pt, np.minimum(day[m] + rng.integers(0, 4, len(pt)), NDAYS - 1), gp[m],
              {"lab_cbc": 0.8, "lab_crp": 0.45, "lab_glucose": 0.5, "lab_lipids": 0.35 * old,
               "lab_creat": np.where(old, 0.7, 0.3), "lab_tsh": 0.2, "lab_liver": 0.3,
               "lab_vitd": 0.1, "lab_hba1c": c["diab"][pt] * 0.9})
    # Diabetics' quarterly monitoring.
    d = np.flatnonzero(c["diab"])
    pos, dd = series(w, d, 91, 10)
    lab_event(w, C, d[pos], dd, w.gp[d[pos]], {"lab_hba1c": 1.0, "lab_glucose": 1.0, "lab_creat": 0.8,
                                               "lab_lipids": 0.4})
    # Oral glucose tolerance test in pregnancy: three glucose lines the same day.
    preg = np.flatnonzero(c["pregnant"] & (rng.random(n) < 0.6))
    dd = NEXT_OFFICE[w.days(len(preg), "planned")]
    presc = w.spec_of["gynaecology"][preg]
    lab_event(w, C, preg, dd, presc, {})
    lab = w.lab_pref[presc]
    for _ in range(3):
        C.add(preg, np.array([x["prov"] for x in w.labs])[lab], K["lab_glucose"], dd, prescriber=presc,
              centre=w.lab_site[lab, w.town[preg]])
    w.ogtt = preg

    chronic_drugs(w, C)
    specialist_care(w, C)
    hospital_care(w, C)
    nursing_care(w, C)
    physio_care(w, C)
    dental_care(w, C)
    # Midwives: monthly prenatal consultations before the birth, home visits after it.
    preg = np.flatnonzero(c["pregnant"])
    mw = np.array(w.midwives)[rng.integers(0, len(w.midwives), len(preg))]
    birth = rng.integers(20, NDAYS - 10, len(preg))
    k = rng.integers(0, 5, len(preg))
    pos = np.repeat(np.arange(len(preg)), k)
    j = np.arange(len(pos)) - np.repeat(np.cumsum(k) - k, k)
    d = birth[pos] - 30 * (j + 1) + rng.integers(0, 7, len(pos))
    C.add(preg[pos][d >= 0], mw[pos][d >= 0], K["mw_prenatal"], NEXT_OFFICE[d[d >= 0]])
    k = rng.integers(0, 4, len(preg))
    pos = np.repeat(np.arange(len(preg)), k)
    j = np.arange(len(pos)) - np.repeat(np.cumsum(k) - k, k)
    C.add(preg[pos], mw[pos], K["mw_postnatal"], np.minimum(birth[pos] + np.array([1, 3, 7])[j], NDAYS - 1))
    return C


def chronic_drugs(w, C):
    """Chronic dispensings: monthly (or three-monthly, quantity 3) boxes of each patient's
    molecules at the usual pharmacy, naming the GP or a specialist as prescriber."""
    rng, n, c, age = w.rng, w.n, w.cond, w.age
    gp = w.gp
    # Hypertension: 1-3 molecules of C03/C07/C08/C09; GP or cardiologist prescribes; C02A add-on
    # at the prescriber's own propensity (GPs about 4%; cardiologists somewhat more).
    h = np.flatnonzero(c["htn"])
    by_cardio = rng.random(len(h)) < 0.15
    presc = np.where(by_cardio, w.spec_of["cardiology"][h], gp[h])
    nmol = rng.choice([1, 2, 3], len(h), p=[0.45, 0.35, 0.2])
    quarterly = rng.random(len(h)) < 0.35
    for cls, prob in (("C09", 0.8), ("C08", 0.45), ("C07", 0.4), ("C03", 0.35)):
        take = rng.random(len(h)) < prob * nmol / 2.0
        if cls == "C09":
            take |= nmol >= 1
        mols = HTN_CLASSES[cls]
        pick = rng.integers(0, len(mols), len(h))
        for j, mol in enumerate(mols):
            m = take & (pick == j)
            for q in (False, True):
                mm = m & (quarterly == q)
                dispense(w, C, h[mm], K[mol], 90 if q else 30, presc[mm], qty=3 if q else 1)
    prop = w.attr("c02a")
    central = (rng.random(len(h)) < np.where(age[h] >= 65, prop[presc], 0.015))
    pick = rng.choice(len(CENTRAL), len(h), p=[0.6, 0.3, 0.1])
    for j, mol in enumerate(CENTRAL):
        m = central & (pick == j)
        dispense(w, C, h[m], K[mol], 30, presc[m])
    # Other chronic treatments: (condition mask, molecule choices, period, prescriber).
    def treat(mask, mols, period, presc=None, probs=None, qty=1, **kw):
        idx = np.flatnonzero(mask)
        pick = rng.choice(len(mols), len(idx), p=probs)
        pr = gp[idx] if presc is None else presc[idx]
        for j, mol in enumerate(mols):
            m = pick == j
            dispense(w, C, idx[m], K[mol], period, pr[m], qty=qty, **kw)
        return idx

    endo = np.where(rng.random(n) < 0.3, w.spec_of["endocrinology"], gp)
    q = rng.random(n) < 0.4          # three-month boxes
    treat(c["statin"] & q, ["atorvastatin", "rosuvastatin"], 90, probs=[0.6, 0.4], qty=3)
    treat(c["statin"] & ~q, ["atorvastatin", "rosuvastatin"], 30, probs=[0.6, 0.4])
    treat(c["af"], ["apixaban", "rivaroxaban"], 30, w.spec_of["cardiology"])
    treat(c["af"] & (rng.random(n) < 0.5), ["aspirin"], 60)
    treat(c["diab"] & q, ["metformin"], 90, qty=3)
    treat(c["diab"] & ~q, ["metformin"], 30)
    treat(c["diab"] & (rng.random(n) < 0.25), ["dapagliflozin"], 30, endo)
    treat(c["diab"] & (rng.random(n) < 0.15), ["semaglutide"], 28, endo)
    treat(c["insulin"], ["glargine"], 30, endo)
    treat(c["insulin"] & (rng.random(n) < 0.5), ["aspart"], 30, endo)
    treat(c["thyroid"], ["levothyroxine"], 90, qty=3)
    treat(c["resp"], ["salm_flut", "salbutamol"], 45, probs=[0.6, 0.4])
    treat(c["copd"], ["tiotropium"], 30, w.spec_of["pneumology"])
    psy = np.where(rng.random(n) < 0.3, w.spec_of["psychiatry"], gp)
    treat(c["depr"], ["sertraline", "escitalopram"], 30, psy)
    treat(c["depr"] & (rng.random(n) < 0.3), ["lorazepam"], 30, psy)
    treat(c["insomnia"], ["zolpidem"], 30, adherence=0.6)
    treat(c["pain"], ["tramadol", "oxycodone", "fentanyl", "morphine"], 30, probs=[0.6, 0.2, 0.1, 0.1])
    neuro = np.where(rng.random(n) < 0.3, w.spec_of["neurology"], gp)
    treat(c["neuropathic"], ["pregabalin"], 30, neuro)
    # ADHD: a child psychiatrist starts and reviews, the GP renews: two prescribers, alternating.
    a = np.flatnonzero(c["adhd"])
    pos, d = series(w, a, 30, 3)
    keep = ~((MONTH[np.clip(d, 0, NDAYS - 1)] >= 7) & (MONTH[np.clip(d, 0, NDAYS - 1)] <= 8)
             & (rng.random(len(d)) < 0.5))
    pos, d = pos[keep], NEXT_PHARMACY[d[keep]]
    pr = np.where(rng.random(len(pos)) < 0.4, w.spec_of["psychiatry"][a[pos]], gp[a[pos]])
    C.add(a[pos], w.pharmacy[a[pos]], K["methylphenidate"], d, prescriber=pr)
    # Opioid substitution: weekly dispensing, one GP, one pharmacy.
    sub = np.flatnonzero(c["substitution"])
    pick = rng.random(len(sub)) < 0.6
    for mol, m in (("buprenorphine", pick), ("methadone", ~pick)):
        pos, d = series(w, sub[m], 7, 1)
        C.add(sub[m][pos], w.pharmacy[sub[m][pos]], K[mol], NEXT_PHARMACY[d], prescriber=gp[sub[m][pos]])
    # HIV treatment and PrEP: the reference hospital's infectiologists; the pharmacy next to the
    # hospital for most patients, whatever their town.
    for mask, mols in ((c["hiv"], ["arv_triple", "dolutegravir"]), (c["prep"], ["prep"])):
        idx = np.flatnonzero(mask)
        ph = np.where(rng.random(len(idx)) < 0.6, w.ref_pharmacy, w.pharmacy[idx])
        pick = rng.integers(0, len(mols), len(idx))
        for j, mol in enumerate(mols):
            m = pick == j
            dispense(w, C, idx[m], K[mol], 30, w.spec_of["infectious_diseases"][idx[m]], pharmacy=ph[m])
    # Oral cancer drugs: oncologist (letrozole also renewed by the GP).
    oc = np.flatnonzero(c["oral_cancer"])
    onc = w.spec_of["oncology"][oc]
    at_ref = w.attr("hospital", -1)[onc] == 0
    ph = np.where(at_ref & (rng.random(len(oc)) < 0.5), w.ref_pharmacy, w.pharmacy[oc])
    mols = ["letrozole", "capecitabine", "imatinib", "palbociclib", "lenalidomide"]
    pick = rng.choice(len(mols), len(oc), p=[0.5, 0.15, 0.1, 0.15, 0.1])
    for j, mol in enumerate(mols):
        m = pick == j
        pr = np.where((j == 0) & (rng.random(m.sum()) < 0.5), gp[oc[m]], onc[m])
        dispense(w, C, oc[m], K[mol], 30, pr, pharmacy=ph[m])


def consults(w, C, pats, sp, days, tech=()):
    """Specialist consultations (private or at the hospital, by the specialist's split) with
    technical acts attached at the given probabilities."""
    rng = w.rng
    if len(pats) == 0:
        return
    doc = w.spec_of[sp][pats]
    priv = w.priv[doc]
    hosp = w.hosp_centre[doc]
    centre = np.where(rng.random(len(pats)) < priv, -1, hosp)
    days = NEXT_OFFICE[days]
    C.add(pats, doc, K[CONSULT[sp]], days, centre=centre)
    for key, prob in tech:
        m = rng.random(len(pats)) < prob
        C.add(pats[m], doc[m], K[key], days[m], centre=centre[m])


def specialist_care(w, C):
    """Specialist consultations and technical acts by condition and age (private or at the
    hospital), and hospital imaging prescribed by GPs."""
    rng, n, c, age, f = w.rng, w.n, w.cond, w.age, w.female
    rules = [  # (specialty, who, probability, mean visits, technical acts)
        ("cardiology", c["htn"], 0.35, 1.3, (("ecg", 0.9), ("echo_heart", 0.25), ("holter", 0.05))),
        ("cardiology", c["af"], 0.9, 2.0, (("ecg", 1.0), ("echo_heart", 0.3), ("holter", 0.15))),
        ("endocrinology", c["diab"], 0.35, 2.0, ()),
        ("endocrinology", c["insulin"], 0.8, 3.0, ()),
        ("pneumology", c["resp"], 0.3, 1.5, (("spirometry", 0.8),)),
        ("psychiatry", c["depr"] | c["adhd"], 0.3, 4.0, ()),
        ("neurology", c["neuro"] | c["neuropathic"], 0.6, 2.5, (("eeg", 0.1),)),
        ("oncology", c["chemo"] | c["oral_cancer"] | c["palliative"], 1.0, 5.0, ()),
        ("nephrology", c["dialysis"], 1.0, 4.0, ()),
        ("infectious_diseases", c["hiv"] | c["prep"], 1.0, 4.0, ()),
        ("paediatrics", age < 15, 0.25, 1.5, ()),
        ("gynaecology", f & (age >= 18) & (age <= 70), 0.25, 1.0, (("pap", 0.5), ("obst_us", 0.1))),
        ("gynaecology", c["pregnant"], 1.0, 5.0, (("obst_us", 0.6),)),
        ("ophthalmology", (age >= 65) | c["diab"], 0.3, 1.2, (("fundus", 0.7),)),
        ("ophthalmology", age < 65, 0.07, 1.0, (("fundus", 0.3),)),
        ("dermatology", age >= 0, 0.07, 1.3, ()),
        ("orthopaedics", age >= 15, 0.07, 1.5, ()),
        ("gastroenterology", age >= 30, 0.04, 1.3, (("endoscopy", 0.35),)),
        ("internal_medicine", age >= 30, 0.05, 1.5, ()),
        ("geriatrics", age >= 80, 0.2, 1.5, ()),
        ("surgery", age >= 15, 0.03, 1.5, ()),
    ]
    for sp, mask, prob, mean, tech in rules:
        who = np.flatnonzero(mask & (rng.random(n) < prob))
        k = 1 + rng.poisson(mean - 1, len(who))
        pats = np.repeat(who, k)
        consults(w, C, pats, sp, w.days(len(pats), "planned"), tech)
    # Imaging at the hospital, prescribed by the GP.
    who = np.flatnonzero(rng.random(n) < np.where(age >= 45, 0.28, 0.15))
    keys = np.array([K["xray_chest"], K["us_abdomen"], K["ct_scan"], K["mri"]])
    hosp = w.hosp_of[who]
    doc = radiologist(w, hosp)
    C.add(who, doc, keys[rng.choice(4, len(who), p=[0.4, 0.3, 0.18, 0.12])], NEXT_OFFICE[w.days(len(who), "planned")],
          prescriber=w.gp[who], centre=np.array([w.hospitals[h]["centre"] for h in hosp]))


def radiologist(w, hosp):
    """A radiologist of each event's hospital (any radiologist if the hospital has none)."""
    out = np.empty(len(hosp), np.int64)
    for h, hd in enumerate(w.hospitals):
        m = hosp == h
        lst = np.array(hd["staff"].get("radiology") or w.spec["radiology"])
        out[m] = lst[w.rng.integers(0, len(lst), m.sum())]
    return out


def hospital_care(w, C):
    """Inpatient stays (a daily visit by the attending physician, surgery and anaesthesia, imaging,
    home injections afterwards), dialysis, chemotherapy cycles and HIV follow-up tests."""
    rng, n, c, age = w.rng, w.n, w.cond, w.age
    hs = w.hospitals
    # Inpatient stays: a daily visit by the attending physician; surgery and anaesthesia.
    p = np.select([age < 45, age < 65, age < 80], [0.05, 0.09, 0.18], 0.3)
    nst = np.minimum(rng.poisson(p), 3)
    pat = np.repeat(np.arange(n), nst)
    hosp = gravity(w, [h["town"] for h in hs], [3.0 if w.towns[h["town"]]["kind"] == "city" else 1.5 for h in hs], 15, pat)
    surgical = rng.random(len(pat)) < 0.45
    los = np.where(surgical, 1 + rng.geometric(0.4, len(pat)), 2 + rng.geometric(0.22, len(pat)))
    los = np.minimum(los, 25)
    adm = w.days(len(pat), "acute")

    def staff(h, specs):
        lst = [d for sp in specs for d in hs[h]["staff"].get(sp, [])]
        return lst or [d for sp in hs[h]["staff"] for d in hs[h]["staff"][sp]]

    att = np.empty(len(pat), np.int64)
    surgeon = np.empty(len(pat), np.int64)
    anaes = np.empty(len(pat), np.int64)
    for h in range(len(hs)):
        m = hosp == h
        for arr, specs in ((att, MEDICAL), (surgeon, SURGICAL), (anaes, ("anaesthesiology",))):
            lst = np.array(staff(h, specs))
            arr[m] = lst[rng.integers(0, len(lst), m.sum())]
    att = np.where(surgical, surgeon, att)
    centre = np.array([h["centre"] for h in hs])[hosp]
    pos = np.repeat(np.arange(len(pat)), los)
    step = np.arange(len(pos)) - np.repeat(np.cumsum(los) - los, los)
    d = adm[pos] + step
    keep = d < NDAYS
    C.add(pat[pos[keep]], att[pos[keep]], K["hosp_visit"], d[keep], centre=centre[pos[keep]])
    s = np.flatnonzero(surgical)
    major = rng.random(len(s)) < 0.3
    C.add(pat[s], surgeon[s], np.where(major, K["surgery_major"], K["surgery_minor"]), adm[s], centre=centre[s])
    C.add(pat[s], anaes[s], K["anaesthesia"], adm[s], centre=centre[s])
    img = rng.random(len(pat)) < 0.4
    rad = radiologist(w, hosp[img])
    C.add(pat[img], rad, np.where(rng.random(img.sum()) < 0.6, K["xray_chest"], K["ct_scan"]), adm[img],
          prescriber=att[img], centre=centre[img])
    # Home injections after some surgeries (nursing, prescribed by the surgeon).
    inj = s[rng.random(len(s)) < 0.25]
    length = rng.integers(10, 29, len(inj))
    start = np.minimum(adm[inj] + los[inj], NDAYS - 1)
    pos, d = series(w, inj, 1, 0, start, start + length)
    pt = pat[inj][pos]
    nurse = team_member(w, pt, w.nurse_prac[pt], [p["nurses"] for p in w.nurse_practices])
    C.add(pt, nurse, K["nurse_injection"], d, prescriber=surgeon[inj][pos])
    # Dialysis: three sessions a week, darbepoetin monthly from the hospital pharmacy.
    dia = np.flatnonzero(c["dialysis"])
    w.dialysis = dia
    neph = w.spec_of["nephrology"][dia]
    hidx = w.attr("hospital", -1).astype(np.int64)[neph]
    cen = np.array([hs[h]["centre"] for h in hidx])
    sched = rng.integers(0, 2, len(dia))
    start = np.where(rng.random(len(dia)) < 0.85, 0, rng.integers(30, 300, len(dia)))
    pos, d = series(w, dia, 1, 0, start)
    ok = np.isin(WEEKDAY[d], [0, 2, 4]) & (sched[pos] == 0) | np.isin(WEEKDAY[d], [1, 3, 5]) & (sched[pos] == 1)
    pos, d = pos[ok], d[ok]
    C.add(dia[pos], neph[pos], K["dialysis"], d, centre=cen[pos])
    pos, d = series(w, dia, 30, 2, start)
    C.add(dia[pos], np.array([hs[h]["pharmacy"] for h in hidx])[pos], K["darbepoetin"], d,
          prescriber=neph[pos], centre=cen[pos])
    lab_event(w, C, dia[pos], d, neph[pos], {"lab_creat": 1.0, "lab_cbc": 1.0})
    # Chemotherapy: cycles every 21 days at the oncologist's hospital.
    ch = np.flatnonzero(c["chemo"])
    w.chemo = ch
    onc = w.spec_of["oncology"][ch]
    hidx = w.attr("hospital", -1).astype(np.int64)[onc]
    cen = np.array([hs[h]["centre"] for h in hidx])
    cycles = rng.integers(6, 9, len(ch))
    start = rng.integers(0, 230, len(ch))
    pos, d = series(w, ch, 21, 1, start, start + cycles * 21)
    d = NEXT_OFFICE[d]
    C.add(ch[pos], onc[pos], K["chemo_session"], d, centre=cen[pos])
    drug = np.where(rng.random(len(ch)) < 0.5, K["pembrolizumab"], K["trastuzumab"])
    C.add(ch[pos], np.array([hs[h]["pharmacy"] for h in hidx])[pos], drug[pos], d, prescriber=onc[pos], centre=cen[pos])
    lab_event(w, C, ch[pos], np.maximum(d - 1, 0), onc[pos], {"lab_cbc": 1.0, "lab_creat": 0.7, "lab_liver": 0.7})
    # HIV follow-up: viral load every quarter.
    hv = np.flatnonzero(c["hiv"])
    pos, d = series(w, hv, 91, 10)
    lab_event(w, C, hv[pos], d, w.spec_of["infectious_diseases"][hv[pos]], {"lab_viral": 1.0, "lab_cbc": 0.8})


def nursing_care(w, C):
    """Home nursing: daily forfaits for dependent patients, twice-daily insulin visits, wound-care
    courses, nursing-home residents' forfaits and physiotherapy, palliative home care."""
    rng, n, c, age = w.rng, w.n, w.cond, w.age
    teams = [p["nurses"] for p in w.nurse_practices]
    # Dependent patients at home: a daily forfait, the practice's nurses taking turns.
    dep = np.flatnonzero(c["dependent"])
    sev = rng.choice(3, len(dep), p=[0.5, 0.3, 0.2])
    start = np.where(rng.random(len(dep)) < 0.8, 0, rng.integers(0, 330, len(dep)))
    pos, d = series(w, dep, 1, 0, start)
    pt = dep[pos]
    C.add(pt, team_member(w, pt, w.nurse_prac[pt], teams), np.array([K["nurse_fa"], K["nurse_fb"], K["nurse_fc"]])[sev[pos]],
          d, prescriber=w.gp[pt])
    # Insulin-dependent elderly at home: two injection visits a day.
    ins = np.flatnonzero(c["insulin_nursing"])
    w.insulin_nursing = ins
    pos, d = series(w, ins, 1, 0, np.zeros(len(ins), np.int64))
    for _ in range(2):
        pt = ins[pos]
        C.add(pt, team_member(w, pt, w.nurse_prac[pt], teams), K["nurse_insulin"], d, prescriber=w.gp[pt])
    # Wound-care courses.
    wd = np.flatnonzero((age >= 50) & (rng.random(n) < 0.025) | c["diab"] & (rng.random(n) < 0.03))
    length = rng.integers(14, 60, len(wd))
    start = rng.integers(0, NDAYS, len(wd))
    every = rng.choice([1, 2], len(wd))
    for e in (1, 2):
        m = every == e
        pos, d = series(w, wd[m], e, 0, start[m], start[m] + length[m])
        pt = wd[m][pos]
        C.add(pt, team_member(w, pt, w.nurse_prac[pt], teams), K["nurse_wound"], d, prescriber=w.gp[pt])
    # Nursing homes: the home's nurses bill a daily forfait for each resident; the home's
    # physiotherapist treats some residents twice a week.
    res = np.flatnonzero(c["nursing_home"])
    sev = rng.choice(2, len(res), p=[0.55, 0.45])
    pos, d = series(w, res, 1, 0, np.zeros(len(res), np.int64))
    pt = res[pos]
    C.add(pt, team_member(w, pt, w.home_of[pt], [h["nurses"] for h in w.nursing_homes], 0.3),
          np.array([K["nurse_fb"], K["nurse_fc"]])[sev[pos]], d, prescriber=w.gp[pt])
    ph = res[rng.random(len(res)) < 0.4]
    pos, i = office_series(w, ph, 2.5, np.zeros(len(ph), np.int64))
    pt = ph[pos]
    C.add(pt, np.array([h["physio"] for h in w.nursing_homes])[w.home_of[pt]], K["physio_heavy"],
          OFFICE[i], prescriber=w.gp[pt])
    # Palliative home care: the last weeks of life with a daily forfait, weekly GP visits,
    # a palliative physician and opioids from the oncologist, the GP and the palliative team.
    pal = np.flatnonzero(c["palliative"])
    death = rng.integers(60, NDAYS, len(pal))
    w.death = dict(zip(pal.tolist(), death.tolist()))
    start = death - rng.integers(20, 120, len(pal))
    w.palliative = pal
    pos, d = series(w, pal, 1, 0, start, death)
    pt = pal[pos]
    C.add(pt, team_member(w, pt, w.nurse_prac[pt], teams), K["nurse_palliative"], d, prescriber=w.gp[pt])
    pos, d = series(w, pal, 7, 1, start, death)
    C.add(pal[pos], w.gp[pal[pos]], K["gp_home"], d)
    pteam = w.spec_of["palliative_care"][pal]
    pos, d = series(w, pal, 10, 2, start, death)
    C.add(pal[pos], pteam[pos], K["pall_visit"], d)
    pos, d = series(w, pal, 12, 3, start, death)
    who = rng.integers(0, 3, len(pos))
    presc = np.choose(who, [w.spec_of["oncology"][pal[pos]], w.gp[pal[pos]], pteam[pos]])
    mol = np.where(d - start[pos] < (death[pos] - start[pos]) / 2, K["morphine"], K["fentanyl"])
    ph = np.where(rng.random(len(pos)) < 0.85, w.pharmacy[pal[pos]], w.pharmacy2[pal[pos]])
    C.add(pal[pos], ph, mol, NEXT_PHARMACY[d], prescriber=presc)
    last = np.maximum(death - 14, start)
    pos, d = series(w, pal, 7, 1, last, death)
    C.add(pal[pos], w.pharmacy[pal[pos]], K["midazolam"], NEXT_PHARMACY[d], prescriber=w.gp[pal[pos]])


def physio_care(w, C):
    """Physiotherapy: common-pathology courses (each physiotherapist's usual length, at most 18
    sessions) and heavy-pathology sessions all year for neurological patients."""
    rng, n, c, age = w.rng, w.n, w.cond, w.age
    # Common-pathology courses: 2-3 sessions a week; each physiotherapist has its own usual
    # course length (9-14 sessions), at most 18 sessions for a common pathology.
    p = np.select([age < 15, age < 45, age < 65], [0.03, 0.08, 0.11], 0.13)
    ncourse = (rng.random(n) < p) * (1 + (rng.random(n) < 0.15))
    pat = np.repeat(np.arange(n), ncourse)
    phys = w.physio[pat]
    mean = w.attr("course", 12.0)[phys]
    cap = w.attr("course_cap", 18).astype(np.int64)[phys]
    nses = np.clip(rng.poisson(mean - 1) + 1, 3, cap)
    start = w.days(len(pat), "planned")
    presc = np.where(rng.random(len(pat)) < 0.7, w.gp[pat], w.spec_of["orthopaedics"][pat])
    # Sessions fall on working days, one to three working days apart (2-3 sessions a week).
    pos = np.repeat(np.arange(len(pat)), nses)
    k = np.arange(len(pos)) - np.repeat(np.cumsum(nses) - nses, nses)
    gaps = rng.choice([1, 2, 2, 3], len(pos))
    gaps[k == 0] = 0
    off = np.cumsum(gaps)
    off = off - np.repeat(off[np.cumsum(nses) - nses], nses)
    i = np.searchsorted(OFFICE, start)[pos] + off
    keep = i < len(OFFICE)
    pos, d, k = pos[keep], OFFICE[i[keep]], k[keep]
    # A patient's two courses with the same physiotherapist never give two sessions in a day.
    first = np.unique((pat[pos] * len(w.prov) + phys[pos]) * NDAYS + d, return_index=True)[1]
    pos, d, k = pos[first], d[first], k[first]
    C.add(pat[pos], phys[pos], np.where(k == 0, K["physio_first"], K["physio_session"]), d, prescriber=presc[pos])
    # Neurological patients: heavy-pathology sessions 2-3 times a week through the year, most
    # with a neuro-rehabilitation physiotherapist.
    ne = np.flatnonzero(c["neuro"])
    who = np.where(rng.random(len(ne)) < 0.65, w.neuro_physio[ne], w.physio[ne])
    start = np.where(rng.random(len(ne)) < 0.7, 0, rng.integers(0, 300, len(ne)))
    every = rng.choice([1.7, 2.5], len(ne))          # in working days: 3 or 2 sessions a week
    for e in (1.7, 2.5):
        m = every == e
        pos, i = office_series(w, ne[m], e, start[m])
        C.add(ne[m][pos], who[m][pos], K["physio_heavy"], OFFICE[i],
              prescriber=w.spec_of["neurology"][ne[m][pos]])


def dental_care(w, C):
    """Dentistry: a yearly examination, treatment visits, radiographs, cone-beam CTs at each
    dentist's own rate per patient, monthly orthodontic sessions for children."""
    rng, n, age = w.rng, w.n, w.age
    attend = rng.random(n) < np.select([age < 5, age < 18, age < 65], [0.25, 0.72, 0.55], 0.4)
    pats = np.flatnonzero(attend)
    prac = w.dental_prac[pats]
    sizes = np.array([len(d["dentists"]) for d in w.dental])
    flat = np.concatenate([d["dentists"] for d in w.dental])
    off = np.cumsum(np.r_[0, sizes[:-1]])
    dentist = flat[off[prac] + (rng.random(len(pats)) * sizes[prac]).astype(np.int64)]
    centre = np.array([d["centre"] for d in w.dental])[prac]
    # The examination visit, sometimes scaling and an intraoral radiograph.
    d0 = NEXT_OFFICE[w.days(len(pats), "planned")]
    C.add(pats, dentist, np.where(age[pats] >= 18, K["dent_exam"], K["dent_consult"]), d0, centre=centre)
    m = (age[pats] >= 18) & (rng.random(len(pats)) < 0.6)
    C.add(pats[m], dentist[m], K["dent_scaling"], d0[m], centre=centre[m])
    m = rng.random(len(pats)) < 0.3
    C.add(pats[m], dentist[m], K["dent_intraoral"], d0[m], centre=centre[m])
    m = rng.random(len(pats)) < 0.12
    C.add(pats[m], dentist[m], K["dent_pano"], d0[m], centre=centre[m])
    # Treatment visits.
    k = rng.poisson(0.7, len(pats))
    pos = np.repeat(np.arange(len(pats)), k)
    d = NEXT_OFFICE[w.days(len(pos), "planned")]
    what = rng.choice(5, len(pos), p=[0.45, 0.25, 0.14, 0.08, 0.08])
    keys = np.array([K["dent_filling1"], K["dent_filling3"], K["dent_extraction"], K["dent_endo"], K["dent_consult"]])
    C.add(pats[pos], dentist[pos], keys[what], d, centre=centre[pos])
    m = rng.random(len(pos)) < 0.4
    C.add(pats[pos][m], dentist[pos][m], K["dent_intraoral"], d[m], centre=centre[pos][m])
    # Cone-beam CT at the dentist's own rate per patient (implant and endodontic planning).
    rate = w.attr("cbct")
    m = rng.random(len(pats)) < rate[dentist]
    C.add(pats[m], dentist[m], K["dent_cbct"], NEXT_OFFICE[np.minimum(d0[m] + rng.integers(0, 30, m.sum()), NDAYS - 1)],
          centre=centre[m])
    # Orthodontics for children: monthly sessions.
    o = np.flatnonzero(w.cond["ortho"])
    ortho = np.array(w.orthodontists)[gravity(w, [w.prov[x]["town"] for x in w.orthodontists],
                                              [1.0] * len(w.orthodontists), 15, o)]
    pos, d = series(w, o, 30, 4)
    C.add(o[pos], ortho[pos], K["ortho_session"], NEXT_OFFICE[d])


# ---------------------------------------------------------------------------------------------
# Plants that change how honest care is produced (decided before it is generated)
def plant_structures(w):
    """The honest prescribing habits for central antihypertensives, and the entity networks
    (legal entities, centres, their practitioners, phoenix successions): both must exist before
    care is generated."""
    rng = w.rng
    main = main_towns(w)
    # Honest GP propensity to add a central antihypertensive for 65+ hypertensive patients.
    for p in w.prov:
        if p["specialty"] == "general_practice":
            p["c02a"] = float(rng.beta(4, 90))
        elif p["specialty"] == "cardiology":
            p["c02a"] = float(rng.beta(4, 45))
    # -- entity_network
    w.networks, w.phoenix = [], []
    ng = w.groups(3)
    for g, u in enumerate(w.levels(ng)):
        n_ent = int(round(2 + 3 * u))
        dental = g % 3 != 2
        town = int(rng.choice(main))
        director = w.add_person()
        bank = w.bank()
        addr = w.address(town)
        phoenix = u >= 0.2 and n_ent >= 2
        factor = 1.7 + 1.8 * u
        ents, centres, practs = [], [], []
        shared_addr = u >= 0.3
        for e in range(n_ent):
            t = town if e == 0 or rng.random() < 0.5 else int(rng.choice(main))
            kind = "company" if dental and rng.random() < 0.6 else "association"
            le_name = ("dental" if dental else "health") + (" practice company" if kind == "company" else " centre association")
            succ = phoenix and e == n_ent - 1
            if phoenix and e == n_ent - 2:
                dissolve = int(rng.integers(60, 250))
                le = w.add_le(kind, le_name, dissolved=DATES[dissolve])
            elif succ:
                t = w.centres[centres[-1]]["town"]
                le = w.add_le(kind, le_name, created=DATES[max(0, dissolve - int(rng.integers(0, 20)))])
            else:
                le = w.add_le(kind, le_name)
            w.ident("legal_entity", le, "address", addr if (shared_addr or succ or e == 0) else w.address(t))
            w.ident("legal_entity", le, "bank_account", bank if (e < 2 or rng.random() < 0.6) else w.bank())
            w.officers.append(("person", director, le, "director",
                               w.past(1990) if not succ
                               else w.les[le]["created"], ""))
            w.officers.append(("person", w.add_person(), le, "manager", w.past(1990) if not succ else w.les[le]["created"], ""))
            ckind = "dental_centre" if dental else "health_centre"
            cname = "dental centre" if dental else "health centre"
            if succ:
                opened = min(NDAYS - 30, dissolve + int(rng.integers(1, 21)))
                c = w.add_centre(ckind, t, le, cname, opened=DATES[opened])
                old = centres[-1]
                w.centres[old]["closed"] = DATES[dissolve]
                w.phoenix.append((old, c, dissolve, opened))
                staff = practs[-1]
                for p in staff:
                    w.affil.append((p, c, "salaried", DATES[opened], ""))
                prev = [a for a in w.affil if a[1] == old]
                w.affil = [a for a in w.affil if a[1] != old] + [(a[0], a[1], a[2], a[3], DATES[dissolve]) for a in prev]
                w.ident("centre", c, "address", w.address(t))
                ents.append(le)
                centres.append(c)
                practs.append(staff)
                continue
            c = w.add_centre(ckind, t, le, cname)
            w.ident("centre", c, "address", w.address(t))
            if dental:
                staff = [w.add_provider("dentist", "general_dentistry", t, cbct=float(rng.uniform(0.004, 0.025)))
                         for _ in range(int(rng.integers(1, 4)))]
                w.dental.append(dict(town=t, dentists=staff, centre=c, weight=1.2 * len(staff), network=g))
            else:
                staff = [w.add_provider("physician", "general_practice", t, weight=1.0, same_day=0.0025,
                                        c02a=float(rng.beta(4, 90))) for _ in range(int(rng.integers(2, 4)))]
                prac = dict(type="health_centre", town=t, gps=staff, centre=c, le=le, adjacent_pharmacy=-1,
                            network=True)
                w.gp_practices.append(prac)
                for s_ in staff:
                    w.prov[s_]["practice"] = prac
            for p in staff:
                w.affil.append((p, c, "salaried", w.past(2000), ""))
                w.used_prov.add(p)
            ents.append(le)
            centres.append(c)
            practs.append(staff)
        w.networks.append(dict(group=g, ents=ents, centres=centres, director=director, factor=factor,
                               dental=dental, staff=[p for s_ in practs for p in s_]))
        w.plant("entity_network", g, [("legal_entity", e) for e in ents] + [("centre", c) for c in centres]
                + [("person", director)])


def plant_indicators(w):
    """indicator_outlier: a high C02A share (GP prescribers with many hypertensive patients
    aged 65+), many cone-beam CTs per patient (general dentists), long physiotherapy courses."""
    rng = w.rng
    eligible = np.bincount(w.gp[w.cond["htn"] & (w.age >= 65)], minlength=len(w.prov))
    ni = w.groups(3, 3)
    for g, u in enumerate(w.levels(ni)):
        which = g % 3
        if which == 0:
            cands = w.free([i for i, p in enumerate(w.prov) if p["specialty"] == "general_practice"
                            and not p.get("practice", {}).get("network")])
            cands = [x for x in cands if eligible[x] >= 40] or sorted(cands, key=lambda x: -eligible[x])[:5]
            p = int(rng.choice(cands))
            w.prov[p]["c02a"] = 0.25 + 0.35 * u
        elif which == 1:
            cands = w.free([x for d in w.dental if d["network"] is None for x in d["dentists"]
                            if w.prov[x]["specialty"] == "general_dentistry"])
            p = int(rng.choice(cands))
            w.prov[p]["cbct"] = 0.08 + 0.37 * u
        else:
            cands = w.free([x for pp in w.physio_practices if not pp.get("neuro") for x in pp["physios"]])
            p = int(rng.choice(cands))
            w.prov[p]["course"] = 22 + 23 * u
            w.prov[p]["course_cap"] = 60
        w.plant("indicator_outlier", g, [("provider", p)])


def apply_structures(w, T):
    """After honest care: phoenix centres take over in the claims from their opening day (no
    claims between closure and opening), and network centres bill far more per patient."""
    rng = w.rng
    for old, new, dissolve, opened in w.phoenix:
        m = T["centre"] == old
        gap = m & (T["day"] > dissolve) & (T["day"] < opened)
        T["centre"][m & (T["day"] >= opened)] = new
        for k in T:
            T[k] = T[k][~gap]
    extra = Claims(w.bim)
    for net in w.networks:
        m = np.isin(T["centre"], net["centres"])
        pats, provs, days, cents = T["patient"][m], T["provider"][m], T["day"][m], T["centre"][m]
        k = rng.poisson(net["factor"] - 1.0, m.sum())
        pos = np.repeat(np.arange(m.sum()), k)
        if net["dental"]:
            keys = np.array([K["dent_filling3"], K["dent_filling1"], K["dent_scaling"], K["dent_intraoral"],
                             K["dent_extraction"], K["dent_endo"], K["dent_pano"]])
            code = keys[rng.choice(len(keys), len(pos), p=[0.25, 0.2, 0.15, 0.15, 0.1, 0.1, 0.05])]
            d = NEXT_OFFICE[np.minimum(days[pos] + rng.choice([0, 0, 7, 14, 21, 28], len(pos)), NDAYS - 1)]
        else:
            code = np.where(rng.random(len(pos)) < 0.75, K["gp_consult"], K["gp_home"])
            d = NEXT_OFFICE[w.days(len(pos), "acute")]
        extra.add(pats[pos], provs[pos], code, d, centre=cents[pos])
    return extra


# ---------------------------------------------------------------------------------------------
# Plants added on top of honest care
def plant_additions(w, T):
    """Plants added on top of honest care. Returns (new lines, re-billed lines): the second are
    repeats on purpose (double billing); the first must repeat no existing line."""
    special = np.zeros(w.n, bool)
    for k in ("dialysis", "chemo", "palliative", "nursing_home", "hiv", "insulin_nursing", "dependent",
              "neuro", "oral_cancer", "pregnant"):
        special |= w.cond[k]
    w.special = special
    P = Claims(w.bim)            # new lines
    DB = Claims(w.bim)           # re-billed lines (double billing), repeats on purpose
    plant_double_billing(w, T, DB)
    plant_collusion(w, P)
    plant_shopping(w, P)
    plant_dense_blocks(w, P)
    plant_peer_outliers(w, T, P)
    plant_mega_consumers(w, P)
    plant_atypical_private(w, T, P)
    return P, DB


def pick_patients(w, mask, k):
    """Up to k patients of `mask`, none with a special condition, planted or a look-alike."""
    taken = np.zeros(w.n, bool)
    taken[sorted(w.used_pat | w.look_pat)] = True
    cand = np.flatnonzero(mask & ~w.special & ~taken)
    k = min(k, len(cand))
    return np.sort(w.rng.choice(cand, k, replace=False)).astype(np.int64)


def channel(w, provs):
    """The centre each line of these providers is billed through, as in their honest care: a
    hospital doctor's hospital (at its hospital share), a health-centre GP's or a dental-centre
    dentist's centre, otherwise none (private practice)."""
    provs = np.asarray(provs, np.int64)
    known = provs < len(w.priv)          # providers made for a plant after assignment: private
    p = np.where(known, provs, 0)
    at_hospital = known & (w.hosp_centre[p] >= 0) & (w.rng.random(len(provs)) >= w.priv[p])
    return np.where(at_hospital, w.hosp_centre[p], np.where(known, w.home_centre[p], -1))


def fulltime_consultants(w):
    """Full-time hospital practitioners of a specialty that consults."""
    return [i for i, p in enumerate(w.prov) if p.get("role") == "fulltime_hospital" and p["specialty"] in CONSULT]


def main_towns(w):
    """The towns that are not villages (city districts and market towns)."""
    return [t for t in range(len(w.towns)) if w.towns[t]["kind"] != "village"]


def plant_double_billing(w, T, DB):
    """double_billing: a provider re-billing 5% to 35% of its act lines (same patient, act and
    day, same amount); and full-time hospital practitioners billing privately (no centre) 10 to
    120 patient-days that their hospital billed, with the same act."""
    rng = w.rng
    lines_of = np.bincount(T["provider"], minlength=len(w.prov))
    hosp_lines_of = np.bincount(T["provider"][T["centre"] >= 0], minlength=len(w.prov))
    ng = w.groups(5)
    n_cross = max(1, int(round(ng * 0.35)))
    kinds = [("nurse", None), ("physiotherapist", None), ("physician", "general_practice"),
             ("dentist", "general_dentistry"), ("physician", "private_specialist"), ("laboratory", None)]
    group = 0
    for j, u in enumerate(w.levels(ng - n_cross)):
        kind, sp = kinds[j % len(kinds)]
        if sp == "private_specialist":
            cands = [i for i, p in enumerate(w.prov) if p.get("role") == "private" and p["specialty"] in CONSULT]
        else:
            cands = [i for i, p in enumerate(w.prov) if p["kind"] == kind and (sp is None or p["specialty"] == sp)]
        cands = [x for x in w.free(cands) if lines_of[x] >= 200]
        if not cands:
            continue
        p = int(rng.choice(cands))
        rate = 0.05 * 7.0 ** u
        m = np.flatnonzero((T["provider"] == p) & ~IS_DRUG[T["code"]])
        dup = m[rng.random(len(m)) < rate]
        DB.add(T["patient"][dup], p, T["code"][dup], T["day"][dup], prescriber=T["prescriber"][dup],
              centre=T["centre"][dup], qty=T["qty"][dup], cents=T["cents"][dup])
        w.plant("double_billing", group, [("provider", p)])
        group += 1
    for u in w.levels(n_cross):
        cands = [x for x in w.free(fulltime_consultants(w)) if hosp_lines_of[x] >= 150]
        if not cands:
            break
        p = int(rng.choice(cands))
        rows = np.flatnonzero((T["provider"] == p) & (T["centre"] >= 0))
        key = T["patient"][rows] * NDAYS + T["day"][rows]
        _, first = np.unique(key, return_index=True)
        k = min(len(first), int(round(10 + 110 * u)))
        pick = rows[np.sort(rng.choice(first, k, replace=False))]
        DB.add(T["patient"][pick], p, T["code"][pick], T["day"][pick], cents=T["cents"][pick])
        w.plant("double_billing", group, [("provider", p)])
        group += 1


def plant_collusion(w, P):
    """pharmacy_collusion: a pharmacy and 2 to 4 prescribers (GPs near it, a private specialist
    in the stronger groups) sharing 10 to 70 patients who live 15 to 30 km or more away, for 1 to
    3 watched, often costly molecules, dispensed every 2 or 4 weeks for 3 to 12 months, with a
    consultation at every other dispensing."""
    rng, age = w.rng, w.age
    mols_all = ["oxycodone", "fentanyl", "pregabalin", "methylphenidate", "semaglutide", "arv_triple",
                "lenalidomide", "buprenorphine"]
    for g, u in enumerate(w.levels(w.groups(3))):
        cands = w.free([x for x in w.pharmacies if w.towns[w.prov[x]["town"]]["kind"] != "village"]) \
            or w.free(w.pharmacies)
        if not cands:
            break
        ph = int(rng.choice(cands))
        t = w.prov[ph]["town"]
        # Prescribers: the GPs nearest the pharmacy, and a private specialist in stronger groups.
        gps = w.free([x for x, p in enumerate(w.prov) if p["specialty"] == "general_practice"
                      and not p.get("practice", {}).get("network")])
        gps = sorted(gps, key=lambda x: (w.dist[w.prov[x]["town"], t], x))
        specs_ = w.free([x for x, p in enumerate(w.prov) if p.get("role") in ("private", "parttime_hospital")
                         and p["specialty"] in ("psychiatry", "neurology", "internal_medicine", "orthopaedics")])
        specs_ = sorted(specs_, key=lambda x: (w.dist[w.prov[x]["town"], t], x))
        npres = int(round(2 + 2 * u))
        n_spec = min(len(specs_), 1 if u >= 0.5 else 0)
        presc = gps[:min(npres - n_spec, max(1, len(gps) // 5))] + specs_[:n_spec]
        if len(presc) < 2:
            presc = (gps + specs_)[:2]
        mols = [K[m] for m in rng.choice(mols_all, int(round(1 + 2 * u)), replace=False)]
        dmin = 15 + 15 * u
        far = w.dist[w.town, t] >= dmin
        mules = pick_patients(w, far & (age >= 18) & (age <= 70), int(round(10 + 60 * u)))
        for i, pt in enumerate(mules):
            doc = presc[i % len(presc)]
            mol = mols[i % len(mols)]
            months = int(rng.integers(3 + int(3 * u), 13))
            every = 28 if rng.random() < 0.7 else 14
            first = int(rng.integers(0, max(1, NDAYS - months * 30)))
            steps = np.arange(0, months * 30, every)
            d = NEXT_PHARMACY[np.clip(first + steps + rng.integers(-2, 3, len(steps)), 0, NDAYS - 1)]
            d = np.unique(d)
            qty = 2 if rng.random() < 0.3 * u else 1
            P.add(np.full(len(d), pt), ph, mol, d, prescriber=doc, qty=qty)
            cons = np.maximum(d - rng.integers(0, 3, len(d)), 0)
            P.add(np.full(len(d), pt)[::2], doc, K["gp_consult"], NEXT_OFFICE[cons][::2],
                  centre=channel(w, np.full(len(d[::2]), doc)))
        w.plant("pharmacy_collusion", g, [("provider", ph)] + [("provider", x) for x in presc])
        w.used_pat.update(int(x) for x in mules)


def plant_shopping(w, P):
    """doctor_shopping: a patient aged 18-62 collecting one watched molecule from 3 to 12
    prescribers (each seen that day or shortly before) and 2 to 8 pharmacies, a box every 10 to
    5 days (boxes last about 28 days), for 3, 4, 6, 9 or 12 months of the year."""
    rng, age = w.rng, w.age
    shop_mols = ["buprenorphine", "oxycodone", "pregabalin", "methylphenidate", "fentanyl", "tramadol", "zolpidem"]
    gps_all = [x for x, p in enumerate(w.prov) if p["specialty"] == "general_practice"]
    others = [x for x, p in enumerate(w.prov) if p["specialty"] in ("psychiatry", "neurology", "internal_medicine", "orthopaedics")]
    month_choices = [3, 4, 6, 12, 3, 9]
    for g, u in enumerate(w.levels(w.groups(6))):
        mol = shop_mols[g % len(shop_mols)]
        lo, hi = (18, 35) if mol == "methylphenidate" else (18, 62)
        pt = int(pick_patients(w, (age >= lo) & (age <= hi), 1)[0])
        npres = int(round(3 + 9 * u))
        nph = int(round(2 + 6 * u))
        t = w.town[pt]
        pool = w.free(gps_all) + w.free(others)
        wt = np.exp(-w.dist[t, [w.prov[x]["town"] for x in pool]] / 20)
        wt *= np.array([3.0 if w.prov[x]["specialty"] == "general_practice" else 1.0 for x in pool])
        npres = min(npres, len(pool))
        presc = [int(x) for x in rng.choice(pool, npres, replace=False, p=wt / wt.sum())]
        phs = [int(x) for x in rng.choice(w.pharmacies, min(nph, len(w.pharmacies)), replace=False,
               p=(lambda a: a / a.sum())(np.exp(-w.dist[t, [w.prov[x]["town"] for x in w.pharmacies]] / 20)))]
        months = month_choices[g % len(month_choices)]
        every = 10 - 5 * u
        first = int(rng.integers(0, NDAYS - months * 30 + 1))
        d = first + np.cumsum(np.maximum(3, rng.normal(every, 2, int(months * 30 / every) + 1))).astype(int)
        d = np.unique(NEXT_PHARMACY[d[d < min(NDAYS, first + months * 30)]])
        who = np.array([presc[i % npres] if i < npres else presc[int(rng.integers(0, npres))] for i in range(len(d))])
        where = np.array([phs[i % len(phs)] if i < len(phs) else phs[int(rng.integers(0, len(phs)))] for i in range(len(d))])
        P.add(np.full(len(d), pt), where, K[mol], d, prescriber=who)
        cons_code = np.array([K[CONSULT.get(w.prov[x]["specialty"], "gp_consult")] if w.prov[x]["specialty"] != "general_practice"
                              else K["gp_consult"] for x in who])
        P.add(np.full(len(d), pt), who, cons_code, NEXT_OFFICE[np.maximum(d - rng.integers(0, 3, len(d)), 0)],
              centre=channel(w, who))
        w.plant("doctor_shopping", g, [("patient", pt)])


def plant_dense_blocks(w, P):
    """dense_block: 3 to 15 providers near one town (nurses, physiotherapists, a laboratory in
    every other block, a GP in most large ones) billing a borrowed list of 25 to 140 patients
    (70% from anywhere in the region, 30% from one remote town), each member a quarter to nine
    tenths of the list, with a few weeks of care per patient, on top of its honest practice."""
    rng, age = w.rng, w.age
    main = main_towns(w)
    for g, u in enumerate(w.levels(w.groups(3))):
        size = int(round(3 + 12 * u))
        town = int(rng.choice(main))
        near = lambda kind: sorted(w.free([x for x, p in enumerate(w.prov) if p["kind"] == kind
                                           and p["specialty"] in ("home_nursing", "physiotherapy", "clinical_biology",
                                                                  "general_practice")
                                           and not p.get("practice", {}).get("network")]),
                                   key=lambda x: (w.dist[w.prov[x]["town"], town], x))
        n_lab = 1 if (g % 2 == 0 and size >= 4 and len(near("laboratory")) >= 2) else 0
        n_gp = 1 if (size >= 5 and g % 3 != 1) else 0
        # Never more than a quarter of the free nurses or physiotherapists in one block.
        n_phys = min(max(1, int(round((size - n_lab - n_gp) * 0.35))), max(1, len(near("physiotherapist")) // 4))
        n_nurse = min(size - n_lab - n_gp - n_phys, max(1, len(near("nurse")) // 4))
        members = near("nurse")[:n_nurse] + near("physiotherapist")[:n_phys] + near("laboratory")[:n_lab] \
            + near("physician")[:n_gp]
        L = int(round(25 + 115 * u))
        remote = int(rng.choice([t for t in range(len(w.towns)) if w.dist[t, town] > 20] or [0]))
        lst = np.concatenate([pick_patients(w, (age >= 18) & (age <= 85) & (w.town != town), int(L * 0.7)),
                              pick_patients(w, (age >= 18) & (age <= 85) & (w.town == remote), L - int(L * 0.7))])
        lst = np.unique(lst)
        w.used_pat.update(int(x) for x in lst)
        gp_member = [x for x in members if w.prov[x]["kind"] == "physician"]
        lo, hi = 0.25 + 0.3 * u, 0.5 + 0.4 * u
        for mbr in members:
            f = rng.uniform(lo, hi)
            pts = rng.choice(lst, max(2, int(round(f * len(lst)))), replace=False)
            kind = w.prov[mbr]["kind"]
            presc = np.array([gp_member[0]] * len(pts)) if gp_member else w.gp[pts]
            # Each member's care of each listed patient: distinct days in a window of weeks.
            if kind == "nurse":
                start = rng.integers(0, NDAYS - 60, len(pts))
                pos, d = distinct_days(w, rng.integers(4, 26, len(pts)), [np.arange(a, a + 60) for a in start])
                code = K["nurse_visit"] if rng.random() < 0.6 else K["nurse_wound"]
                P.add(pts[pos], mbr, code, d, prescriber=presc[pos])
            elif kind == "physiotherapist":
                start = rng.integers(0, len(OFFICE) - 35, len(pts))
                pos, d = distinct_days(w, rng.integers(6, 19, len(pts)), [OFFICE[a:a + 35] for a in start])
                P.add(pts[pos], mbr, K["physio_session"], d, prescriber=presc[pos])
            elif kind == "laboratory":
                pos, d = distinct_days(w, rng.integers(1, 4, len(pts)), OFFICE)
                site = [cc for lab in w.labs if lab["prov"] == mbr for cc in lab["centres"]][0]
                for key in ("lab_sampling", "lab_cbc", "lab_glucose", "lab_creat", "lab_vitd"):
                    P.add(pts[pos], mbr, K[key], d, prescriber=presc[pos], centre=site)
            else:
                pos, d = distinct_days(w, rng.integers(2, 6, len(pts)), OFFICE)
                P.add(pts[pos], mbr, np.where(rng.random(len(pos)) < 0.5, K["gp_consult"], K["gp_home"]), d,
                      centre=channel(w, np.full(len(pos), mbr)))
        w.plant("dense_block", g, [("provider", x) for x in members])


def plant_peer_outliers(w, T, P):
    """peer_outlier: a provider billing one act 2.5 to 8 times its peers' median per patient
    (peers: same kind and specialty); every third plant a small practice of 6 to 15 patients
    (at least 4 times the median)."""
    rng, age, n = w.rng, w.age, w.n
    main = main_towns(w)
    peer_ids = {}
    peer_of = np.array([peer_ids.setdefault((p["kind"], p["specialty"]), len(peer_ids)) for p in w.prov])
    specs = [("physiotherapist", "physiotherapy", "physio_session"), ("physician", "general_practice", "gp_home"),
             ("nurse", "home_nursing", "nurse_wound"), ("dentist", "general_dentistry", "dent_filling3"),
             ("physician", "cardiology", "echo_heart"), ("physician", "ophthalmology", "fundus"),
             ("laboratory", "clinical_biology", "lab_vitd")]

    def peer_act(kind, sp, key):
        """Lines of the act by the peer group: (providers, patients, median of the peers'
        lines per patient, free providers billing it to at least 20 patients)."""
        if (kind, sp) not in peer_ids:
            return None
        m = (T["code"] == K[key]) & (peer_of[T["provider"]] == peer_ids[(kind, sp)])
        pp, pt = T["provider"][m], T["patient"][m]
        provs = np.unique(pp)
        if len(provs) < 5:
            return None
        npat = np.bincount(np.unique(pp * n + pt) // n, minlength=len(w.prov))
        per_pat = np.bincount(pp, minlength=len(w.prov)) / np.maximum(npat, 1)
        return pp, pt, float(np.median(per_pat[provs])), [x for x in w.free(provs.tolist()) if npat[x] >= 20]

    stats = {spec: peer_act(*spec) for spec in specs}
    specs = [spec for spec in specs if stats[spec] is not None]
    g = 0
    for j, u in enumerate(w.levels(w.groups(5))):
        small = j % 3 == 1
        order = [specs[(j + i) % len(specs)] for i in range(len(specs))]
        order = [sp_ for sp_ in order if (small and sp_[0] != "laboratory") or (not small and stats[sp_][3])]
        if not order:
            continue
        kind, sp, key = order[0]
        pp, pt, median, cands = stats[order[0]]
        factor = 2.5 + 5.5 * u
        if small:
            # A small practice: a provider with only 6-15 patients, all of them on this act.
            town = int(rng.choice(main))
            p = w.add_provider(kind, sp, town, course=12.0, weight=0.0)
            w.ident("provider", p, "address", w.address(town))
            pts = pick_patients(w, (age >= 20) & (w.dist[w.town, town] < 25), int(rng.integers(6, 16)))
            factor = max(factor, 4.0)
            have = np.zeros(len(pts))
        else:
            p = int(rng.choice(cands))
            pts, have = np.unique(pt[pp == p], return_counts=True)
            cands.remove(p)
        target = factor * median
        add = np.maximum(0, np.round(target * rng.uniform(0.8, 1.2, len(pts)) - have)).astype(np.int64)
        pos, d = distinct_days(w, add, OFFICE if kind != "nurse" else np.arange(NDAYS))
        presc = w.gp[pts[pos]] if kind in ("nurse", "physiotherapist", "laboratory") else -1
        if kind == "laboratory":
            centre = [cc for lab in w.labs if lab["prov"] == p for cc in lab["centres"]][0]
        else:
            centre = channel(w, np.full(len(pos), p))
        P.add(pts[pos], p, K[key], d, prescriber=presc, centre=centre)
        w.plant("peer_outlier", g, [("provider", p)])
        g += 1


def plant_mega_consumers(w, P):
    """mega_consumer: a patient aged 22-64 without chronic treatment receiving, from one or
    two nearby providers who bill nearly all of it: daily nursing on 150 to 365 days (wound care
    every other day too in the strongest), 80 to 140 GP visits, 100 to 250 physiotherapy
    sessions, or nursing forfaits with 30 to 60 GP visits."""
    rng, age = w.rng, w.age
    nurses = [x for x, p in enumerate(w.prov) if p["specialty"] == "home_nursing"]
    gps = [x for x, p in enumerate(w.prov) if p["specialty"] == "general_practice" and not p.get("practice", {}).get("network")]
    physios = [x for pp in w.physio_practices if not pp.get("neuro") for x in pp["physios"]]
    for g, u in enumerate(w.levels(w.groups(5))):
        variant = g % 4
        pt = int(pick_patients(w, (age >= 22) & (age <= 64) & (w.n_chronic == 0), 1)[0])
        t = w.town[pt]
        close = lambda lst: (sorted(w.free(lst), key=lambda x: (w.dist[w.prov[x]["town"], t], x)) or [None])[0]
        members = [("patient", pt)]
        if close(gps) is None and variant in (1, 3):
            variant = 0 if close(nurses) is not None else 2
        if variant in (0, 3):
            nurse = close(nurses)
            days = int(round(150 + 215 * u))
            d = np.sort(rng.choice(NDAYS, days, replace=False))
            P.add(np.full(len(d), pt), nurse, K["nurse_visit"] if variant == 0 else K["nurse_fb"], d,
                  prescriber=w.gp[pt])
            if u > 0.6:    # and wound care every other day
                P.add(np.full(len(d[::2]), pt), nurse, K["nurse_wound"], d[::2], prescriber=w.gp[pt])
            members.append(("provider", nurse))
            w.used_prov.add(nurse)
        if variant in (1, 3):
            gp = close(gps)
            v = int(round(80 + 60 * u if variant == 1 else 30 + 30 * u))
            d = np.sort(rng.choice(OFFICE, v, replace=False))
            P.add(np.full(v, pt), gp, np.where(rng.random(v) < 0.5, K["gp_consult"], K["gp_home"]), d,
                  centre=channel(w, np.full(v, gp)))
            members.append(("provider", gp))
            w.used_prov.add(gp)
        if variant == 2:
            ph = close(physios)
            v = min(len(OFFICE) - 10, int(round(100 + 150 * u)))
            d = np.sort(rng.choice(OFFICE, v, replace=False))
            P.add(np.full(v, pt), ph, K["physio_session"], d, prescriber=w.gp[pt])
            members.append(("provider", ph))
        w.plant("mega_consumer", g, members)


def plant_atypical_private(w, T, P):
    """atypical_private_practice: a full-time hospital practitioner billing privately (no
    centre), on working days, 0.6 to 2.5 times its own hospital activity (honest full-timers:
    none, or 2-10% of their consultations), to patients living within 30 km."""
    rng, age = w.rng, w.age
    hosp_lines_of = np.bincount(T["provider"][T["centre"] >= 0], minlength=len(w.prov))
    fulltime = fulltime_consultants(w)
    for g, u in enumerate(w.levels(w.groups(3))):
        cands = [x for x in w.free(fulltime) if w.prov[x]["specialty"] not in HOSPITAL_ONLY]
        hl = hosp_lines_of
        cands = [x for x in cands if hl[x] >= 200]
        if not cands:
            break
        p = int(rng.choice(cands))
        target = int(round(hl[p] * (0.6 + 1.9 * u)))
        t = w.prov[p]["town"]
        npat = max(30, target // 3)
        pts = pick_patients(w, (age >= 15) & (w.dist[w.town, t] < 30), npat)
        pos, d = distinct_days(w, rng.multinomial(target, np.ones(len(pts)) / len(pts)), OFFICE)
        sp = w.prov[p]["specialty"]
        P.add(pts[pos], p, K[CONSULT[sp]], d)
        tech = {"cardiology": "ecg", "pneumology": "spirometry", "gastroenterology": "endoscopy",
                "ophthalmology": "fundus", "gynaecology": "obst_us", "neurology": "eeg"}.get(sp)
        if tech:
            m = rng.random(len(pos)) < 0.5
            P.add(pts[pos][m], p, K[tech], d[m])
        w.plant("atypical_private_practice", g, [("provider", p)])


# ---------------------------------------------------------------------------------------------
# Honest look-alikes
def reserve_lookalikes(w, T):
    """After honest care, before plants: the nurses doing most twice-daily insulin rounds and the
    laboratory doing most glucose curves are look-alikes, never plants."""
    m = T["code"] == K["nurse_insulin"]
    nurse, cnt = np.unique(T["provider"][m], return_counts=True)
    top = np.lexsort((nurse, -cnt))[:max(3, w.groups(3))]
    w.insulin_nurses = [(int(nurse[i]), int(cnt[i])) for i in top]
    m = (T["code"] == K["lab_glucose"]) & np.isin(T["patient"], w.ogtt)
    lab, cnt = np.unique(T["provider"][m], return_counts=True)
    w.curve_labs = [int(lab[i]) for i in np.lexsort((lab, -cnt))[:1]]
    w.look_prov.update(x for x, _ in w.insulin_nurses)
    w.look_prov.update(w.curve_labs)


def lookalikes(w, T):
    """The honest look-alikes, each as (pattern resembled, entity type, entity, "family: why"),
    none of them planted."""
    L = w.look
    truth_prov = {i for p, _, e, i in w.truth if e == "provider"}
    truth_pat = {i for p, _, e, i in w.truth if e == "patient"}
    # double_billing
    for x, cnt in w.insulin_nurses:
        L("double_billing", "provider", x, "twice_daily_insulin_nursing",
          "home nurse billing two insulin injection visits a day for insulin-dependent elderly patients (%d visits)" % cnt)
    for g in w.twice_gps:
        L("double_billing", "provider", g, "gp_same_day_second_visit",
          "rural on-call GP who now and then sees the same patient twice the same day")
    for lab in w.curve_labs:
        L("double_billing", "provider", lab, "lab_glucose_curve",
          "laboratory billing three glucose lines the same day for oral glucose tolerance tests in pregnancy")
    for p in [x for x in range(len(w.prov)) if w.prov[x].get("role") == "fulltime_hospital" and 0 < w.prov[x].get("priv", 0)]:
        L("atypical_private_practice", "provider", p, "fulltime_small_private",
          "full-time hospital practitioner with a small private activity (%.0f%% of consultations)" % (100 * w.prov[p]["priv"]))
    for p in [x for x in range(len(w.prov)) if w.prov[x].get("role") == "parttime_hospital"]:
        L("atypical_private_practice", "provider", p, "parttime_large_private",
          "part-time hospital practitioner with a large private practice (%.0f%% of consultations)" % (100 * w.prov[p]["priv"]))
    # dense_block
    for h in w.nursing_homes:
        for x in h["nurses"] + [h["physio"], h["gp"]]:
            L("dense_block", "provider", x, "nursing_home_team",
              "team of a nursing home (postcode %s): the same nurses, physiotherapist and GP for the same residents"
              % w.towns[h["town"]]["pc"])
    for h in w.nursing_homes:
        for x in h["nurses"]:
            L("peer_outlier", "provider", x, "nursing_home_team",
              "nursing-home nurse billing a daily forfait all year for every resident")
    for hd in w.hospitals:
        team = [d for sp in ("surgery", "anaesthesiology", "radiology") for d in hd["staff"].get(sp, [])]
        for x in team:
            L("dense_block", "provider", x, "hospital_surgical_team",
              "hospital surgeon, anaesthetist or radiologist: the same few of them for every operated patient")
        L("pharmacy_collusion", "provider", hd["pharmacy"], "hospital_pharmacy",
          "hospital pharmacy dispensing dialysis and chemotherapy drugs to patients from the whole region")
    for p in w.nurse_practices:
        if len(p["nurses"]) >= 3:
            for x in p["nurses"]:
                L("dense_block", "provider", x, "home_nursing_rotation",
                  "home nursing practice whose nurses take turns with the same patients")
    # pharmacy_collusion
    h0 = w.hospitals[0]
    L("pharmacy_collusion", "centre", h0["centre"], "regional_reference_service",
      "reference hospital for HIV and oncology whose patients come from the whole region")
    L("pharmacy_collusion", "provider", w.ref_pharmacy, "regional_reference_service",
      "pharmacy next to the reference hospital dispensing its HIV and cancer prescriptions")
    for x in w.spec["infectious_diseases"] + [o for o in w.spec["oncology"] if w.prov[o]["hospital"] == 0]:
        L("pharmacy_collusion", "provider", x, "regional_reference_service",
          "reference-hospital specialist prescribing watched, costly molecules to patients of the whole region")
    for prac in w.gp_practices:
        if prac["adjacent_pharmacy"] >= 0:
            L("pharmacy_collusion", "provider", prac["adjacent_pharmacy"], "adjacent_pharmacy_group_practice",
              "pharmacy next to a group practice of %d GPs, filling most of its prescriptions" % len(prac["gps"]))
            for g in prac["gps"]:
                L("pharmacy_collusion", "provider", g, "adjacent_pharmacy_group_practice",
                  "GP of a group practice whose patients mostly use the pharmacy next door")
    # doctor_shopping and mega_consumer
    for p in w.palliative:
        L("doctor_shopping", "patient", p, "palliative_opioids",
          "palliative patient receiving morphine and fentanyl from an oncologist, a GP and a palliative physician")
        L("mega_consumer", "patient", p, "palliative_home_care",
          "palliative home care: daily forfait, weekly GP visits, palliative team, until death")
    drug = IS_DRUG[T["code"]] & (T["prescriber"] >= 0)
    key = np.unique(T["patient"][drug] * 4096 + T["code"][drug])
    mols_per = np.bincount(key // 4096, minlength=w.n)
    pkey = np.unique(T["patient"][drug] * (len(w.prov) + 1) + T["prescriber"][drug])
    presc_per = np.bincount(pkey // (len(w.prov) + 1), minlength=w.n)
    many = np.flatnonzero((presc_per >= 3) & (mols_per >= 4) & ~w.special)
    many = many[np.lexsort((many, -mols_per[many], -presc_per[many]))]
    for p in many[:max(10, w.groups(10))]:
        L("doctor_shopping", "patient", p, "chronic_many_specialists",
          "chronic patient with %d prescribers for %d different molecules" % (presc_per[p], mols_per[p]))
    for p in w.dialysis:
        L("mega_consumer", "patient", p, "dialysis_patient", "haemodialysis three times a week in hospital")
    for p in w.chemo:
        L("mega_consumer", "patient", p, "chemotherapy_patient", "chemotherapy cycles every three weeks")
    for p in w.insulin_nursing:
        L("mega_consumer", "patient", p, "insulin_elderly_twice_daily",
          "insulin-dependent elderly patient with two nursing visits a day")
    multi = np.flatnonzero(w.n_chronic >= 5)
    for p in multi[:max(10, w.groups(10))]:
        L("mega_consumer", "patient", p, "multimorbid_patient", "patient with %d chronic conditions" % w.n_chronic[p])
    # peer_outlier and indicator_outlier
    for x in w.neuro_physios:
        L("peer_outlier", "provider", x, "neuro_rehab_physio",
          "neuro-rehabilitation physiotherapist: heavy-pathology sessions all year for stroke, MS and Parkinson patients")
        L("indicator_outlier", "provider", x, "neuro_rehab_physio",
          "long legitimate courses, billed as heavy-pathology sessions")
    for g in w.busy_gps:
        L("peer_outlier", "provider", g, "busy_gp", "GP with a very large list but usual volumes per patient")
    for d in w.oral_surgeons:
        L("indicator_outlier", "provider", d, "oral_surgeon_cbct",
          "oral surgeon (not a general dentist) planning implants with cone-beam CT")
    # entity_network
    L("entity_network", "legal_entity", w.mutualist_dental, "mutualist_dental_network",
      "mutualist association running %d dental centres with usual billing" % len(w.mutualist_centres))
    for cc in w.mutualist_centres:
        L("entity_network", "centre", cc, "mutualist_dental_network", "dental centre of the mutualist network")
    for le in w.accountant_clients:
        L("entity_network", "legal_entity", le, "shared_accountant_address",
          "company registered at its accountant's office, like %d others" % (len(w.accountant_clients) - 1))
    for x in w.pooled_nurses:
        L("entity_network", "provider", x, "pooled_bank_account",
          "nurse paid through a billing office's pooled account shared by %d nurses" % len(w.pooled_nurses))
    for le in w.pooled_les:
        L("entity_network", "legal_entity", le, "pooled_bank_account",
          "company paid on its accountant's pooled client account, like %d others" % (len(w.pooled_les) - 1))
    L("entity_network", "legal_entity", w.public_network, "public_hospital_network",
      "public hospital network running several sites")
    for h in w.hospitals:
        if h["le"] == w.public_network:
            L("entity_network", "centre", h["centre"], "public_hospital_network", "site of the public hospital network")
    for old, new in w.successions:
        for le in (old, new):
            L("entity_network", "legal_entity", le, "honest_succession",
              "practice company converted into a new company form: same manager and address, usual billing")
    for _, a, b in w.pharmacist_pairs:
        for le in (a, b):
            L("entity_network", "legal_entity", le, "pharmacist_two_pharmacies",
              "pharmacist managing two pharmacies through two companies")
    # Never a planted entity.
    w.looks = [r for r in w.looks if not ((r[1] == "provider" and r[2] in truth_prov)
                                          or (r[1] == "patient" and r[2] in truth_pat))]


# ---------------------------------------------------------------------------------------------
# Identifiers and output
def unique_numbers(rng, count, lo, hi):
    """`count` distinct random integers in [lo, hi), in random order."""
    out, seen = [], set()
    while len(out) < count:
        for x in rng.integers(lo, hi, 2 * (count - len(out)) + 16):
            x = int(x)
            if x not in seen:
                seen.add(x)
                out.append(x)
                if len(out) == count:
                    break
    return out


def make_ids(w):
    """Identifiers by entity type: INAMI-style provider numbers (11 digits), 8-digit centre
    numbers, KBO-style legal-entity numbers (10 digits with check), person and patient pseudonyms."""
    rng = w.rng
    serial = unique_numbers(rng, len(w.prov), 10000, 100000)
    pid = []
    for p, s in zip(w.prov, serial):
        six = PROFESSION_DIGIT[p["kind"]] + "%05d" % s
        pid.append(six + mod97_check(six) + QUALIFICATION[p["specialty"]])
    prefix = {"hospital": 710, "dental_centre": 740, "health_centre": 750, "laboratory": 830, "other": 760,
              "clinic": 720}
    cnum = unique_numbers(rng, len(w.centres), 0, 100000)
    cid = ["%d%05d" % (prefix[c["kind"]], x) for c, x in zip(w.centres, cnum)]
    lnum = unique_numbers(rng, len(w.les), 2000000, 9999999)
    lid = []
    for x in lnum:
        eight = "0%07d" % x
        lid.append(eight + mod97_check(eight))
    person = ["PER%07d" % x for x in unique_numbers(rng, w.persons, 0, 10 ** 7)]
    patient = ["%011d" % x for x in unique_numbers(rng, w.n, 10 ** 9, 10 ** 11)]
    return {"provider": pid, "centre": cid, "legal_entity": lid, "person": person, "patient": patient}


def write_csv(path, header, rows):
    """Writes one CSV file (UTF-8, comma-separated, newline line ends)."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        wr = csv.writer(f, lineterminator="\n")
        wr.writerow(header)
        wr.writerows(rows)


def write_claims(path, T, ids):
    """Writes claims.csv from the claim columns, 500,000 lines at a time (amounts in euros)."""
    n = len(T["day"])
    prov = np.array(ids["provider"], dtype=object)
    pat = np.array(ids["patient"], dtype=object)
    cen = np.array(ids["centre"] + [""], dtype=object)            # index -1 -> ""
    presc = np.array(ids["provider"] + [""], dtype=object)
    codes = np.array([s[1] for s in SERVICES], dtype=object)
    dates = np.array(DATES, dtype=object)
    vals, inv = np.unique(T["cents"], return_inverse=True)
    amounts = np.array(["%d.%02d" % (v // 100, v % 100) for v in vals], dtype=object)
    qty = np.array([str(i) for i in range(int(T["qty"].max()) + 1)], dtype=object)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("claim_id,patient_id,provider_id,prescriber_id,centre_id,service_code,service_date,amount,quantity\n")
        step = 500000
        for a in range(0, n, step):
            b = min(n, a + step)
            cols = [["%010d" % (i + 1) for i in range(a, b)], pat[T["patient"][a:b]], prov[T["provider"][a:b]],
                    presc[T["prescriber"][a:b]], cen[T["centre"][a:b]], codes[T["code"][a:b]],
                    dates[T["day"][a:b]], amounts[inv[a:b]], qty[T["qty"][a:b]]]
            f.write("\n".join(map(",".join, zip(*cols))))
            f.write("\n")


def indicators():
    """The three control-campaign indicators of the indicator_outlier plants, as written to indicators.json."""
    return {"indicators": [
        {"name": "central_antihypertensives_65plus",
         "label": "share of hypertension patients aged 65 or more given a central antihypertensive (ATC C02A)",
         "unit": "prescriber",
         "peers": {"kind": "physician", "specialty": "general_practice"},
         "patients": {"min_age": 65, "max_age": None, "sex": None, "age": "year of service minus birth_year"},
         "numerator": {"codes": [], "prefixes": ["C02A"]},
         "denominator": {"all_patients": False, "codes": [],
                         "prefixes": ["C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09"]},
         "measure": "share_of_patients",
         "definition": "per prescriber: patients of the age filter with a denominator drug prescribed by "
                       "that prescriber; the share of them with a numerator drug prescribed by that prescriber"},
        {"name": "dental_cone_beam_ct",
         "label": "cone-beam CT examinations per patient",
         "unit": "provider",
         "peers": {"kind": "dentist", "specialty": "general_dentistry"},
         "patients": {"min_age": None, "max_age": None, "sex": None},
         "numerator": {"codes": ["307746"], "prefixes": []},
         "denominator": {"all_patients": True, "codes": [], "prefixes": []},
         "measure": "acts_per_patient",
         "definition": "per dentist: numerator lines billed divided by the distinct patients it billed"},
        {"name": "physiotherapy_sessions_per_course",
         "label": "common-pathology physiotherapy sessions per course",
         "unit": "provider",
         "peers": {"kind": "physiotherapist", "specialty": "physiotherapy"},
         "patients": {"min_age": None, "max_age": None, "sex": None},
         "numerator": {"codes": ["560011"], "prefixes": []},
         "denominator": {"all_patients": True, "codes": [], "prefixes": []},
         "measure": "sessions_per_course",
         "course_gap_days": 30,
         "definition": "per physiotherapist: numerator sessions of one patient form one course until a gap "
                       "of more than course_gap_days days; mean sessions per course"},
    ]}


def generate(data_dir, truth_file, patients=20000, seed=1):
    """Write a region of `patients` members for the year 2025 into `data_dir` (contract CSVs)
    and the truth, look-alikes and indicators beside `truth_file`. Returns counts (rows per
    table, planted groups per pattern, look-alike rows) and the seconds taken."""
    t0 = time.time()
    data_dir, truth_file = Path(data_dir).resolve(), Path(truth_file).resolve()
    if data_dir == truth_file.parent or data_dir in truth_file.parents:
        raise ValueError("the truth file must be outside the dataset folder")
    if patients < 5000:
        raise ValueError("at least 5,000 patients")
    w = World(patients, seed)
    build_geography(w)
    build_providers(w)
    build_patients(w)
    plant_structures(w)
    assign(w)
    plant_indicators(w)
    w.look_pat = set()
    honest_care(w)
    T = w.C.table()
    extra = apply_structures(w, T)
    if extra.parts:
        E = drop_repeats(T, extra.table(), len(w.prov))
        T = {k: np.concatenate([T[k], E[k]]) for k in T}
    w.look_pat = set(int(x) for x in np.concatenate([w.palliative, w.dialysis, w.chemo, w.insulin_nursing]))
    reserve_lookalikes(w, T)
    P, DB = plant_additions(w, T)
    E = drop_repeats(T, P.table(), len(w.prov))
    T = {k: np.concatenate([T[k], E[k]]) for k in T}
    if DB.parts:
        E = DB.table()
        T = {k: np.concatenate([T[k], E[k]]) for k in T}
    # The dead make no more claims.
    death = np.full(w.n, NDAYS)
    for p, d in w.death.items():
        death[p] = d
    alive = T["day"] <= death[T["patient"]]
    T = {k: v[alive] for k, v in T.items()}
    lookalikes(w, T)
    order = np.lexsort((w.rng.random(len(T["day"])), T["day"]))
    T = {k: v[order] for k, v in T.items()}
    ids = make_ids(w)

    data_dir.mkdir(parents=True, exist_ok=True)
    truth_file.parent.mkdir(parents=True, exist_ok=True)
    write_claims(data_dir / "claims.csv", T, ids)
    pid, cid, lid, per = ids["provider"], ids["centre"], ids["legal_entity"], ids["person"]
    # Rows sorted by id and labels numbered in a random order: neither says which entities the
    # generator made for a plant.
    label = {k: w.rng.permutation(len(ids[k])) + 1 for k in ("provider", "centre", "legal_entity")}
    write_csv(data_dir / "providers.csv", ["provider_id", "kind", "specialty", "name", "postcode", "legal_entity_id"],
              sorted((pid[i], p["kind"], p["specialty"], "%s %d" % (p["specialty"].replace("_", " "), label["provider"][i]),
                      w.towns[p["town"]]["pc"], lid[p["le"]] if p["le"] >= 0 else "") for i, p in enumerate(w.prov)))
    write_csv(data_dir / "centres.csv", ["centre_id", "kind", "name", "legal_entity_id", "postcode", "opened_on", "closed_on"],
              sorted((cid[i], c["kind"], "%s %d" % (c["name"], label["centre"][i]), lid[c["le"]] if c["le"] >= 0 else "",
                      w.towns[c["town"]]["pc"], c["opened"], c["closed"]) for i, c in enumerate(w.centres)))
    write_csv(data_dir / "legal_entities.csv", ["legal_entity_id", "kind", "name", "created_on", "dissolved_on"],
              sorted((lid[i], le["kind"], "%s %d" % (le["name"], label["legal_entity"][i]), le["created"], le["dissolved"])
                     for i, le in enumerate(w.les)))
    write_csv(data_dir / "affiliations.csv", ["provider_id", "centre_id", "role", "start_date", "end_date"],
              sorted((pid[p], cid[c], role, s, e) for p, c, role, s, e in w.affil))
    write_csv(data_dir / "officers.csv", ["person_id", "legal_entity_id", "role", "start_date", "end_date"],
              sorted(((pid if t == "provider" else per)[x], lid[le], role, s, e) for t, x, le, role, s, e in w.officers))
    write_csv(data_dir / "identifiers.csv", ["entity_type", "entity_id", "kind", "value"],
              sorted((et, ids[et][x], kind, v) for et, x, kind, v in w.idents))
    write_csv(data_dir / "patients.csv", ["patient_id", "birth_year", "sex", "postcode"],
              sorted((ids["patient"][i], YEAR - int(w.age[i]), "F" if w.female[i] else "M", w.towns[w.town[i]]["pc"])
                     for i in range(w.n)))
    write_csv(data_dir / "services.csv", ["service_code", "kind", "label", "watch"],
              [(s[1], s[2], s[3], "true" if s[4] else "false") for s in SERVICES])
    write_csv(truth_file, ["pattern", "group_id", "entity_type", "entity_id"],
              [(p, g, et, ids[et][x]) for p, g, et, x in w.truth])
    write_csv(truth_file.parent / "lookalikes.csv", ["pattern", "entity_type", "entity_id", "why"],
              [(p, et, ids[et][x], why) for p, et, x, why in w.looks])
    with open(truth_file.parent / "indicators.json", "w", encoding="utf-8") as f:
        json.dump(indicators(), f, indent=2)
        f.write("\n")
    groups = {}
    for p, g, _, _ in w.truth:
        groups.setdefault(p, set()).add(g)
    return {"claims": len(T["day"]), "patients": w.n, "providers": len(w.prov), "centres": len(w.centres),
            "legal_entities": len(w.les), "groups": {p: len(g) for p, g in groups.items()},
            "lookalikes": len(w.looks), "seconds": round(time.time() - t0, 1)}


def main(argv=None):
    """The command line: generates the region and prints what was written."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data_dir")
    ap.add_argument("truth_file")
    ap.add_argument("--patients", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    try:
        out = generate(a.data_dir, a.truth_file, a.patients, a.seed)
    except ValueError as e:
        ap.error(str(e))
    print("wrote %s: %s claims, %s patients, %s providers, %s centres, %s legal entities; %d planted groups "
          "(%s); %d look-alike rows; %.1f s" % (
              a.data_dir, format(out["claims"], ","), format(out["patients"], ","), out["providers"],
              out["centres"], out["legal_entities"], sum(out["groups"].values()),
              ", ".join("%s %d" % kv for kv in sorted(out["groups"].items())), out["lookalikes"], out["seconds"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
