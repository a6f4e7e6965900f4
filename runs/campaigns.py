"""Control campaigns read from TOML files (`graph.campaign_model.Campaign`), one file a campaign:
`fraudnet scan --campaigns DIR` judges every `*.toml` of DIR in the scan, `fraudnet campaign run
FILE DATA` one of them on a dataset.

Every problem of a file is reported at once, each naming the file, the key and the value:
`campaigns/x.toml: peers.kind: Input should be 'physician', … (got 'doctor')`.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import ValidationError

from contract.errors import SettingsError, not_utf8
from graph.campaign_model import Campaign

# the example campaigns shipped with fraudnet (README, "Control campaigns")
EXAMPLES = Path(__file__).resolve().parent.parent / "campaigns"


def read_campaign(path: str | Path) -> Campaign:
    """The campaign of one TOML file. Raises `SettingsError` (origin: the file) listing every
    problem with its key and value, or saying the file is not readable TOML (with its line)."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as e:
        raise SettingsError(str(path), [not_utf8(e)]) from None
    except OSError as e:
        raise SettingsError(str(path), [f"cannot be read: {e.strerror or e}"]) from None
    except tomllib.TOMLDecodeError as e:
        raise SettingsError(str(path), [f"not valid TOML: {e}"]) from None
    try:
        return Campaign.model_validate(data)
    except ValidationError as e:
        raise SettingsError(str(path), [_problem(x) for x in e.errors()]) from None


def read_campaigns(folder: str | Path) -> tuple[Campaign, ...]:
    """Every campaign of a folder's `*.toml` files, by file name. Raises `SettingsError` for a
    folder that does not exist or holds no TOML file, for two campaigns of one name, and for
    every problem of every file (all files are read before raising)."""
    folder = Path(folder)
    files = sorted(folder.glob("*.toml")) if folder.is_dir() else []
    if not files:
        raise SettingsError(str(folder), ["no campaign file (*.toml) there" if folder.is_dir()
                                          else "not a folder"])
    read, problems = [], []
    for f in files:
        try:
            read.append((f, read_campaign(f)))
        except SettingsError as e:
            problems += [f"{f.name}: {p}" for p in e.problems]
    seen: dict[str, str] = {}
    for f, c in read:
        if c.name in seen:
            problems.append(f"{f.name}: name: {c.name!r} is already the name of {seen[c.name]}")
        seen.setdefault(c.name, f.name)
    if problems:
        raise SettingsError(str(folder), problems)
    return tuple(c for _, c in read)


def _problem(x: dict) -> str:
    where = ".".join(map(str, x["loc"])) or "(campaign)"
    value = "" if x["type"] == "missing" or x.get("input") is None or isinstance(x.get("input"), dict) \
        else f" (got {x['input']!r})"
    return f"{where}: {x['msg']}{value}"
