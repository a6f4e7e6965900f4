"""What the Neo4j Browser gets from fraudnet: the style, the guide and the favourites.

`fraudnet serve` serves them at fixed public paths (`api/routes/browser.py`; they hold no data,
so no key is needed): `PATHS["style"]` (`queries/fraudnet.grass`), `PATHS["guide"]` (a `:play`
guide built from `queries/guide.html` and the Cypher catalog) and `PATHS["favourites"]` (the
saved queries as a zip the Browser imports into its favourites). `browser_settings()` gives the
two Neo4j settings that make the Browser load the style and the guide on connecting.
"""
from __future__ import annotations

import html
import io
import re
import zipfile
from urllib.parse import urlsplit

from . import HERE, body, cypher, names, parameters

PATHS = {"style": "/neo4j/fraudnet.grass", "guide": "/neo4j/guide.html", "favourites": "/neo4j/favourites.zip"}


def browser_settings(public_url: str) -> dict:
    """The Neo4j settings (neo4j.conf names) that make the Browser run `:style` and `:play` with
    fraudnet's style and guide, served by `fraudnet serve` at `public_url` as the investigators'
    browsers reach it (e.g. `http://localhost:8000`). The Browser fetches remote content only
    from hosts in `browser.remote_content_hostname_whitelist` (matched by host name).

        >>> browser_settings("http://localhost:8000")["browser.post_connect_cmd"]
        'style http://localhost:8000/neo4j/fraudnet.grass; play http://localhost:8000/neo4j/guide.html'
    """
    base = public_url.rstrip("/")
    return {"browser.post_connect_cmd": f"style {base}{PATHS['style']}; play {base}{PATHS['guide']}",
            "browser.remote_content_hostname_whitelist": urlsplit(base).hostname}


def style() -> str:
    """The Browser style (GraSS), `queries/fraudnet.grass`."""
    return (HERE / "fraudnet.grass").read_text()


_MARKER = re.compile(r"\{\{(query|example):(\w+)(?: for ([\w ]+))?\}\}")


def guide_html() -> str:
    """The fraudnet `:play` guide: `queries/guide.html` with each `{{query:NAME}}` replaced by the
    catalog's statement NAME as a runnable block (`<pre class="code runnable">`), and each
    `{{example:NAME for STATEMENT…}}` by a runnable `:param [{p, …}] => { … }` that sets the
    statements' parameters from the data with `queries/guide_example_NAME.cypher` (the
    Browser runs the braces' query and sets each named column of its first row as a parameter;
    Neo4j Browser manual, "Query parameters").
    Raises KeyError for a statement the catalog lacks."""
    def render(m: re.Match) -> str:
        kind, name, statements = m.groups()
        if kind == "query":
            text = cypher(name).strip()
        else:
            names = (statements or "").split()
            if not names:
                raise KeyError(f"guide.html: {m.group(0)} names no statement")
            wanted = list(dict.fromkeys(p for s in names for p in parameters(s)))
            text = f":param [{{{', '.join(wanted)}}}] => {{ {' '.join(body(f'guide_example_{name}').split())} }}"
        return f'<pre class="code runnable">{html.escape(text, quote=False)}</pre>'
    template = re.sub(r"<!--.*?-->\n?", "", (HERE / "guide.html").read_text(), flags=re.S)
    return _MARKER.sub(render, template)


def favourites() -> list[str]:
    """The statements an investigator keeps as Browser favourites: the saved queries, the GDS
    statements and the guide's examples."""
    return [n for n in names() if n.startswith(("saved_", "gds_", "guide_example_"))]


def favourites_zip() -> bytes:
    """The favourites as a zip of `fraudnet/<name>.cypher` files: dropped on the Browser's
    Favorites panel, they become a `fraudnet` folder of favourites, each named by its first
    comment line. Deterministic (fixed timestamps), so the same catalog gives the same bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name in favourites():
            info = zipfile.ZipInfo(f"fraudnet/{name}.cypher", date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, cypher(name))
    return out.getvalue()
