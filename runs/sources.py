"""The dataset folders a scan started over the network may read: only what lies under the
server's data root.

A scan requested over the API names a folder under the data root (`FRAUDNET_DATA_ROOT`). A link
inside that folder — a file or a folder — that leads outside the root would make the scan read
(and its errors quote) a file the caller could never name directly; `confine` refuses it. The
API checks when the scan is requested (422) and the scan process checks again right before it
loads (the run fails as bad input), so a link placed in between is refused too. Hard links and
a data root that untrusted users can write to during a scan are outside what this guards: the
data root is for extracts put there by the service's operators.
"""
from __future__ import annotations

import os
from pathlib import Path

from contract.errors import DatasetError, Problem


def confine(folder: str | Path, root: str | Path) -> Path:
    """`folder` with its links resolved, if it and every entry in it (the files a scan reads) stay
    under `root` once links are followed. Raises `DatasetError` naming each entry that leads
    outside — by its name only, never its content or where it leads."""
    root, real = Path(root).resolve(), Path(folder).resolve()
    name = real.relative_to(root) if real.is_relative_to(root) else Path(folder).name
    if not real.is_relative_to(root):
        raise DatasetError(str(name), [Problem(str(name), "is outside the data root: refused")])
    problems = [Problem(e.name, "is a link to outside the data root: refused")
                for e in sorted(os.scandir(real), key=lambda e: e.name)
                if e.is_symlink() and not Path(e.path).resolve().is_relative_to(root)]
    if problems:
        raise DatasetError(str(name), problems)
    return real
