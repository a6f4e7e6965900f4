"""The Cypher catalog: one parameterised statement per `queries/<verb_noun>.cypher` file.

Every Cypher statement fraudnet runs is a file here, loaded by name through `cypher()`; values
always go in as `$parameters`, never into the text. `schema_*` create constraints and indexes,
`sync_*` are the statements of `publish.neo4j`, `saved_*` the investigators' saved queries
(Neo4j Browser favourites); `fraudnet.grass` is the Browser style.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

HERE = Path(__file__).resolve().parent


def names() -> list[str]:
    return sorted(p.stem for p in HERE.glob("*.cypher"))


@lru_cache(maxsize=None)
def cypher(name: str) -> str:
    path = HERE / f"{name}.cypher"
    if not path.is_file():
        raise KeyError(f"no Cypher statement {name!r} in the catalog (have: {', '.join(names()) or 'none'})")
    return path.read_text()


def body(name: str) -> str:
    """The statement `name` without its header comment lines."""
    return "\n".join(line for line in cypher(name).splitlines() if not line.lstrip().startswith("//"))


def parameters(name: str) -> list[str]:
    """The `$parameters` of statement `name`, in order of first use.

        >>> parameters("saved_shortest_path")
        ['from_key', 'to_key', 'max_degree']
    """
    return list(dict.fromkeys(re.findall(r"\$(\w+)", body(name))))
