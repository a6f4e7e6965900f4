"""The README states every bound the API enforces: each bounded query or path parameter and each
bounded field of a request body (cases, decisions, run settings), read from the OpenAPI schema the
server validates with, must appear in the README's Limits table with its bounds."""
import re

from api.app import create_app
from api.auth import parse_keys
from runs.store import Store

from .conftest import REPO


def number(x) -> str:
    """1000 as `1000`, 1000000000 as `1,000,000,000`, 0.5 as `0.5`."""
    if not float(x).is_integer():
        return f"{x:g}"
    return f"{int(x):,}" if abs(x) >= 10_000 else str(int(x))


def bounds(s: dict) -> str | None:
    """A schema's bounds as the README writes them: `1–500`, `≥ 1`, `(0, 0.5)`, `≤ 100 characters`."""
    for a in s.get("anyOf", []):
        s = {**a, **s}
    lo, hi = s.get("minimum", s.get("exclusiveMinimum")), s.get("maximum", s.get("exclusiveMaximum"))
    if lo is not None or hi is not None:
        if "exclusiveMinimum" in s or "exclusiveMaximum" in s:
            if lo is not None and hi is not None:
                return f"{'(' if 'exclusiveMinimum' in s else '['}{number(lo)}, {number(hi)}{')' if 'exclusiveMaximum' in s else ']'}"
            return f"> {number(lo)}" if lo is not None else f"< {number(hi)}"
        if lo is not None and hi is not None:
            return f"{number(lo)}–{number(hi)}"
        return f"≥ {number(lo)}" if lo is not None else f"≤ {number(hi)}"
    if "maxLength" in s:
        return (f"{s['minLength']}–{s['maxLength']:,} characters" if s.get("minLength")
                else f"≤ {s['maxLength']:,} characters")
    if "maxItems" in s:
        return f"≤ {s['maxItems']:,} items"
    return None


def enforced(spec: dict) -> set[tuple[str, str]]:
    """(name, bounds) of every bounded parameter and request-body field (nested models included)."""
    found, bodies = set(), []
    for ops in spec["paths"].values():
        for op in ops.values():
            for p in op.get("parameters", []):
                if p["in"] in ("query", "path") and (b := bounds(p["schema"])):
                    found.add((p["name"], b))
            for media in op.get("requestBody", {}).get("content", {}).values():
                bodies.append(media["schema"]["$ref"].rsplit("/", 1)[1])
    seen, schemas = set(), spec["components"]["schemas"]
    while bodies:
        name = bodies.pop()
        if name in seen:
            continue
        seen.add(name)
        for field, s in schemas[name].get("properties", {}).items():
            refs = re.findall(r"#/components/schemas/(\w+)", str(s))
            bodies += refs
            if not refs and (b := bounds(s)):
                found.add((field, b))
            if (b := bounds(s.get("items", {}))):
                found.add((field + "[]", b))
    return found


def readme_limits() -> list[str]:
    text = (REPO / "README.md").read_text()
    section = text.split("### Limits", 1)[1].split("\n#", 1)[0]
    return [line for line in section.splitlines() if line.startswith("| `")]


def test_every_bound_the_api_enforces_is_in_the_readme(tmp_path):
    app = create_app(Store(tmp_path / "store"), parse_keys("t:admin:" + "k" * 24, "test"))
    expected = enforced(app.openapi())
    assert ("max_nodes", "2–2000") in expected and ("k", "1–10") in expected and ("max_hops", "1–6") in expected
    rows = readme_limits()
    missing = sorted((name, b) for name, b in expected
                     if not any(re.search(rf"`([a-z_*]+\.)*{re.escape(name)}`", row.split(" | ")[0])
                                and b in row for row in rows))
    assert missing == []


def test_a_server_told_to_stop_does_not_wait_for_a_running_heavy_read():
    """Closing the heavy-read workers waited for the reads they were running (`shutdown(wait=True)`):
    a server told to stop while a 2,000-node neighbourhood was being read (tens of seconds under
    load) outlived the 10 s a supervisor gives it. Now the running reads are ended."""
    import time

    from api.workers import HeavyReads
    heavy = HeavyReads(1)
    busy = heavy.pool().submit(time.sleep, 120)
    deadline = time.monotonic() + 60
    while not busy.running() and time.monotonic() < deadline:     # the worker started and took it
        time.sleep(0.1)
    processes = list(heavy.pool()._processes.values())
    assert busy.running() and processes
    started = time.monotonic()
    heavy.close()
    assert time.monotonic() - started < 8
    assert all(not p.is_alive() for p in processes)
