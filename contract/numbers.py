"""A number in settings or a request body is a number: `true` is not 1, `"1_000"` not 1000.

Pydantic's lax mode, which reads a settings file, a schedule's TOML and a JSON body, takes a
boolean for an int or a float (`max_problems: true` is 1, `bulk_share: true` is 1.0: its
conversion table, https://docs.pydantic.dev/latest/concepts/conversion_table/). Strict mode
would refuse it, but also the text `"5"` those inputs have always been allowed to give; so the
models below refuse booleans only, each numeric field by its annotation — and a text holding '_'
(`"1_000"`, which Python reads as 1000: no input of ours writes a digit separator).
"""
from __future__ import annotations

from typing import get_args

from pydantic import BaseModel, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError


def numeric_kind(annotation) -> str | None:
    """'a whole number' for an `int` annotation (or an optional one), 'a number' for a `float`
    one, None for any other (a `bool`, a text, a model…)."""
    kinds = (annotation, *get_args(annotation))
    if bool in kinds:
        return None
    return "a whole number" if int in kinds else "a number" if float in kinds else None


def refuse_boolean(annotation, value):
    """`value`, unless it is a boolean given for a field of `annotation` that is a number.
    Raises `PydanticCustomError` (`bool_not_number`): "Input should be a whole number, not a
    boolean (true)"."""
    if isinstance(value, bool) and (kind := numeric_kind(annotation)):
        raise PydanticCustomError("bool_not_number", "Input should be {kind}, not a boolean ({value})",
                                  {"kind": kind, "value": "true" if value else "false"})
    return value


def refuse_separator(annotation, value):
    """`value`, unless it is a text holding '_' given for a field of `annotation` that is a number
    (`"1_000"`, which Python's int() and float(), and so pydantic, read as 1000). Raises
    `PydanticCustomError` (`separator_in_number`): "Input should be a number written without
    '_' ('1_000')"."""
    if isinstance(value, str) and "_" in value and (kind := numeric_kind(annotation)):
        raise PydanticCustomError("separator_in_number", "Input should be {kind} written without '_' ('{value}')",
                                  {"kind": kind, "value": value})
    return value


def plain_number(annotation, value):
    """`value`, unless a number field is given a boolean (`refuse_boolean`) or a text with '_'
    (`refuse_separator`)."""
    return refuse_separator(annotation, refuse_boolean(annotation, value))


class PlainNumbers(BaseModel):
    """A model whose int and float fields, its subclasses' too, refuse a boolean and a text holding
    '_' (`plain_number`)."""

    @field_validator("*", mode="before")
    @classmethod
    def _plain(cls, value, info: ValidationInfo):
        return plain_number(cls.model_fields[info.field_name].annotation, value)
