"""The catalogue of actions a decision records: configurable, shipped with the graduated answers
of the INAMI's SECM and of the Assurance Maladie (`cases/actions.toml`, each with its source).

A store uses `STORE/actions.toml` instead when it has one (an admin's configuration: same shape,
checked when read, every problem at once). A decision keeps the label, insurer and level its
action had when it was recorded, so a later change of the catalogue never rewrites history.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

from contract.errors import SettingsError
from runs.store import Store

SHIPPED = Path(__file__).resolve().parent / "actions.toml"
FILE = "actions.toml"
_ID = re.compile(r"^[a-z0-9_]{1,64}$")


@dataclass(frozen=True)
class Action:
    id: str
    label: str
    insurer: str
    level: int
    source: str
    deadline: bool = False      # a decision with this action must give a deadline


def catalogue(store: Store | None = None) -> list[Action]:
    """The actions in effect: the store's `actions.toml` if it has one, else the shipped list;
    sorted by insurer, level and id. Raises `SettingsError` naming the file and every problem."""
    path = store.root / FILE if store is not None and (store.root / FILE).is_file() else SHIPPED
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise SettingsError(str(path), [f"not a readable TOML file: {e}"]) from None
    problems, actions, seen = [], [], set()
    rows = data.get("actions")
    if not isinstance(rows, list) or not rows:
        raise SettingsError(str(path), ["no [[actions]] table"])
    for k, row in enumerate(rows, start=1):
        where = f"action {k}"
        if not isinstance(row, dict):
            problems.append(f"{where}: not a table")
            continue
        unknown = set(row) - {"id", "label", "insurer", "level", "source", "deadline"}
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        aid = row.get("id")
        if not isinstance(aid, str) or not _ID.match(aid):
            problems.append(f"{where}: id must be lower-case letters, digits and _ (got {aid!r})")
        elif aid in seen:
            problems.append(f"{where}: id {aid!r} is given twice")
        seen.add(aid)
        for key in ("label", "insurer", "source"):
            if not isinstance(row.get(key), str) or not row.get(key).strip():
                problems.append(f"{where} ({aid}): {key} must be a non-empty text")
        if not isinstance(row.get("level"), int) or isinstance(row.get("level"), bool) or row.get("level") < 1:
            problems.append(f"{where} ({aid}): level must be a whole number ≥ 1")
        if not isinstance(row.get("deadline", False), bool):
            problems.append(f"{where} ({aid}): deadline must be true or false")
        if not problems:
            actions.append(Action(aid, row["label"], row["insurer"], row["level"], row["source"],
                                  row.get("deadline", False)))
    if problems:
        raise SettingsError(str(path), problems)
    return sorted(actions, key=lambda a: (a.insurer, a.level, a.id))


def action(actions: list[Action], action_id: str) -> Action | None:
    return next((a for a in actions if a.id == action_id), None)
