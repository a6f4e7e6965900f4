"""The data contract of ../shared/CONTRACT.md as data: tables, columns, types, enums, references.

Everything that validates or types input reads these specs, so the contract is written once.
"""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from .vocab import ENTITY_TYPES

PROVIDER_KINDS = ("physician", "dentist", "nurse", "physiotherapist", "midwife", "pharmacy",
                  "laboratory", "other")
CENTRE_KINDS = ("hospital", "health_centre", "dental_centre", "clinic", "laboratory", "other")
LEGAL_ENTITY_KINDS = ("company", "association", "public", "other")
AFFILIATION_ROLES = ("fulltime_hospital", "parttime_hospital", "salaried", "liberal", "other")
OFFICER_ROLES = ("director", "manager", "shareholder", "treasurer", "other")
IDENTIFIER_KINDS = ("address", "phone", "email", "bank_account", "other")
SERVICE_KINDS = ("act", "lab", "drug", "device")
SEXES = ("F", "M", "U")

# Column types: how a text cell is checked and what it becomes.
ID, TEXT, DATE, AMOUNT, QUANTITY, YEAR, BOOL, ENUM = (
    "id", "text", "date", "amount", "quantity", "year", "bool", "enum")
ARROW_TYPES = {ID: pa.string(), TEXT: pa.string(), DATE: pa.date32(), AMOUNT: pa.float64(),
               QUANTITY: pa.int32(), YEAR: pa.int32(), BOOL: pa.bool_(), ENUM: pa.string()}

# The largest amount (euros) and quantity a claim may carry. 10¹² € bounds a case decision's
# amounts too (api/models.py, cases/store.py import it): far above any real claim (a year of a
# country's health spending is ~10¹¹ €), low enough that sums over millions of claims stay finite
# (`1e308` summed twice is `inf`). A quantity has at most 9 digits (an int32).
MAX_AMOUNT = 1e12
MAX_QUANTITY = 999_999_999

# The largest whole number a command-line option or an API parameter takes (a limit, an offset, a
# count, a seed, a version or decision number, a number of seconds): one bound for every face
# (cli/main.py, api/, the run settings' seed), so that a value past what DuckDB, SQLite, numpy or
# a timer take (2⁶³ and beyond) is refused by name (exit code 2, 422), never a traceback or a 500.
# 10⁹ is far above any list a person reads or any count of a run (a year of a country's claims).
MAX_COUNT = 1_000_000_000
# the most days a setting counts (a window, a supply, a succession): 100 years; a day count past
# what a date takes (Python's date arithmetic stops at year 9999) was an internal error
MAX_DAYS = 36_600


@dataclass(frozen=True)
class Column:
    name: str
    type: str = TEXT
    in_header: bool = True      # the header must name it
    not_null: bool = False      # every row must have a value
    values: tuple[str, ...] = ()  # allowed values of an enum
    default: object = None      # value given to missing cells


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    required: bool = False
    key: str | None = None      # unique, non-null column

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([(c.name, ARROW_TYPES[c.type]) for c in self.columns])


@dataclass(frozen=True)
class Reference:
    """`table.column` must name a row of `target.target_column`.

    An `error` stops the scan; a `warning` is counted in the load report and the row is kept
    (the missing entity becomes a node of unknown kind). `when` restricts the check to rows whose
    column `when[0]` equals `when[1]` (identifiers name several entity types).
    """
    table: str
    column: str
    target: str
    target_column: str
    severity: str
    when: tuple[str, str] | None = None


def _c(name, type=TEXT, **kw):
    return Column(name, type, **kw)


TABLES: dict[str, Table] = {t.name: t for t in (
    Table("claims", required=True, key="claim_id", columns=(
        _c("claim_id", ID, not_null=True),
        _c("patient_id", ID, not_null=True),
        _c("provider_id", ID, not_null=True),
        _c("prescriber_id", ID, in_header=False),
        _c("centre_id", ID, in_header=False),
        _c("service_code", ID, not_null=True),
        _c("service_date", DATE, not_null=True),
        _c("amount", AMOUNT, not_null=True),
        _c("quantity", QUANTITY, in_header=False, default=1),
    )),
    Table("providers", required=True, key="provider_id", columns=(
        _c("provider_id", ID, not_null=True),
        _c("kind", ENUM, not_null=True, values=PROVIDER_KINDS),
        _c("specialty", TEXT, in_header=False),
        _c("name", TEXT, in_header=False),
        _c("postcode", ID, in_header=False),
        _c("legal_entity_id", ID, in_header=False),
    )),
    Table("centres", key="centre_id", columns=(
        _c("centre_id", ID, not_null=True),
        _c("kind", ENUM, not_null=True, values=CENTRE_KINDS),
        _c("name", TEXT, in_header=False),
        _c("legal_entity_id", ID, in_header=False),
        _c("postcode", ID, in_header=False),
        _c("opened_on", DATE, in_header=False),
        _c("closed_on", DATE, in_header=False),
    )),
    Table("legal_entities", key="legal_entity_id", columns=(
        _c("legal_entity_id", ID, not_null=True),
        _c("kind", ENUM, not_null=True, values=LEGAL_ENTITY_KINDS),
        _c("name", TEXT, in_header=False),
        _c("created_on", DATE, in_header=False),
        _c("dissolved_on", DATE, in_header=False),
    )),
    Table("affiliations", columns=(
        _c("provider_id", ID, not_null=True),
        _c("centre_id", ID, not_null=True),
        _c("role", ENUM, not_null=True, values=AFFILIATION_ROLES),
        _c("start_date", DATE, in_header=False),
        _c("end_date", DATE, in_header=False),
    )),
    Table("officers", columns=(
        _c("person_id", ID, not_null=True),
        _c("legal_entity_id", ID, not_null=True),
        _c("role", ENUM, not_null=True, values=OFFICER_ROLES),
        _c("start_date", DATE, in_header=False),
        _c("end_date", DATE, in_header=False),
    )),
    Table("identifiers", columns=(
        _c("entity_type", ENUM, not_null=True, values=ENTITY_TYPES),
        _c("entity_id", ID, not_null=True),
        _c("kind", ENUM, not_null=True, values=IDENTIFIER_KINDS),
        _c("value", TEXT, not_null=True),
    )),
    Table("patients", key="patient_id", columns=(
        _c("patient_id", ID, not_null=True),
        _c("birth_year", YEAR, in_header=False),
        _c("sex", ENUM, in_header=False, values=SEXES),
        _c("postcode", ID, in_header=False),
    )),
    Table("services", key="service_code", columns=(
        _c("service_code", ID, not_null=True),
        _c("kind", ENUM, in_header=False, values=SERVICE_KINDS),
        _c("label", TEXT, in_header=False),
        _c("watch", BOOL, in_header=False, default=False),
    )),
)}

REFERENCES: tuple[Reference, ...] = (
    Reference("claims", "provider_id", "providers", "provider_id", "error"),
    Reference("claims", "prescriber_id", "providers", "provider_id", "warning"),
    Reference("claims", "centre_id", "centres", "centre_id", "warning"),
    Reference("claims", "patient_id", "patients", "patient_id", "warning"),
    Reference("claims", "service_code", "services", "service_code", "warning"),
    Reference("providers", "legal_entity_id", "legal_entities", "legal_entity_id", "warning"),
    Reference("centres", "legal_entity_id", "legal_entities", "legal_entity_id", "warning"),
    Reference("affiliations", "provider_id", "providers", "provider_id", "error"),
    Reference("affiliations", "centre_id", "centres", "centre_id", "error"),
    Reference("officers", "legal_entity_id", "legal_entities", "legal_entity_id", "error"),
    Reference("identifiers", "entity_id", "providers", "provider_id", "warning",
              when=("entity_type", "provider")),
    Reference("identifiers", "entity_id", "centres", "centre_id", "warning",
              when=("entity_type", "centre")),
    Reference("identifiers", "entity_id", "legal_entities", "legal_entity_id", "warning",
              when=("entity_type", "legal_entity")),
)

# Values of these columns are never printed — in a problem, a warning, a report or a list of
# examples: patients are pseudonymised, not anonymous. Every column of `patients` is there (a
# birth year with a postcode narrows a person down), and so are `identifiers.entity_id` and
# `identifiers.value`, which hold a patient's id and contact details when `entity_type` is
# `patient`.
SENSITIVE_COLUMNS = frozenset(
    {("claims", "patient_id"), ("identifiers", "entity_id"), ("identifiers", "value")}
    | {("patients", c.name) for c in TABLES["patients"].columns})


def sensitive_columns(table: str) -> frozenset[str]:
    """The columns of contract table `table` whose values are never printed."""
    return frozenset(c for t, c in SENSITIVE_COLUMNS if t == table)


def empty_table(name: str) -> pa.Table:
    return TABLES[name].schema.empty_table()
