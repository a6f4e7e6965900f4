"""Server paths in a run's texts, as someone outside the server may see them.

A run's record (its error, warnings, load report) may name the dataset folders and the store
by their full server path. The API (`api.routes.runs.public`) and the scheduler's webhook bodies
(`scheduler.schedule.failure_body`) show them the same way, through `without_paths`: a dataset
folder under the data root by its path relative to that root, any other by its name, the store
as `STORE/`.
"""
from __future__ import annotations

from pathlib import Path


def source_shown(source: str, data_root: Path | None) -> str:
    """A dataset folder as shown outside the server: relative to `data_root` when under it,
    else its name."""
    root = data_root.resolve() if data_root else None
    p = Path(source)
    return str(p.relative_to(root)) if root and p.is_relative_to(root) else p.name


def without_paths(value, sources: list[str], store_root: Path | str, data_root: Path | None = None):
    """`value` (a string, or dicts and lists of them, walked) with every server path of
    `sources` (dataset folders), `data_root` and `store_root` replaced as `source_shown` and
    `STORE/` show them; other values unchanged. Longer prefixes are replaced first, so a folder
    under the data root is shown by its relative path, not cut after the root."""
    store_root = Path(store_root)
    folders = [s for s in sources if Path(s).is_absolute()]   # a relative name is no server path
    prefixes = [(f"{s}/", f"{source_shown(s, data_root)}/") for s in folders] + \
               [(s, source_shown(s, data_root)) for s in folders]
    if data_root:
        prefixes.append((f"{data_root.resolve()}/", ""))
    prefixes += [(f"{store_root.resolve()}/", "STORE/"), (f"{store_root}/", "STORE/")]
    prefixes.sort(key=lambda p: -len(p[0]))

    def walk(v):
        if isinstance(v, str):
            for prefix, by in prefixes:
                v = v.replace(prefix, by)
            return v
        if isinstance(v, dict):
            return {k: walk(x) for k, x in v.items()}
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v
    return walk(value)
