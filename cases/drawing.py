"""Pictures for the case file, drawn on the server as inline SVG: no script needed to read them,
and they print.

- `network_svg`: the network around a case — its providers, centres, legal entities and people,
  the links between them and their direct neighbours, and its patients as one node that counts
  them (never names them). A deterministic layout in rings (networkx's shell layout): the
  patients in the middle, the case's entities around them, their neighbours outside.
- `peer_chart_svg`: the distribution of a pattern's statistic among peers (a histogram), with
  the case's entities marked and the peers' median dashed.

Colours follow the Neo4j Browser style (`queries/fraudnet.grass`): providers blue, pharmacies
cyan, laboratories green, centres orange, legal entities purple, people yellow, patients beige;
the entities the case is about have a red ring.
"""
from __future__ import annotations

import math
from html import escape

COLOURS = {"provider": "#4C8EDA", "pharmacy": "#57C7E3", "laboratory": "#8DCC93", "centre": "#F79767",
           "legal_entity": "#C990C0", "person": "#FFC454", "patients": "#D9C8AE"}
RING = "#DA113B"


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:,.1f}" if abs(x) >= 10 else f"{x:,.2f}"


def _short(text: str, n: int = 26) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def network_svg(nodes: list[dict], links: list[dict], width: int = 900, height: int = 560) -> str:
    """An SVG picture of a case's network.

    `nodes`: key, entity_type (or `patients` for the counted patients), kind, caption, core (the
    case is about it). `links`: src, dst, label. Returns the `<svg>` element (with a `<title>` and
    a class `network` on it, one `<g class="node">` per node with `data-key`, and one `<g
    class="link">` per link)."""
    # rings: the counted patients in the middle, what the case is about around them, neighbours outside
    shells = [[n["key"] for n in nodes if n["entity_type"] == "patients"],
              sorted(n["key"] for n in nodes if n.get("core")),
              sorted(n["key"] for n in nodes if not n.get("core") and n["entity_type"] != "patients")]
    pos = _rings([s for s in shells if s])
    margin_x, margin_y = 110, 50

    def xy(key):
        x, y = pos[key]
        return margin_x + (x + 1) / 2 * (width - 2 * margin_x), margin_y + (y + 1) / 2 * (height - 2 * margin_y - 20)
    by_key = {n["key"]: n for n in nodes}
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="network" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-labelledby="network-title">',
             f'<title id="network-title">The network around the case: {len(nodes)} nodes, {len(links)} links</title>',
             '<rect width="100%" height="100%" fill="#ffffff"/>']
    core = {n["key"] for n in nodes if n.get("core") or n["entity_type"] == "patients"}
    for link in sorted(links, key=lambda l: (l["src"], l["dst"])):
        (x1, y1), (x2, y2) = xy(link["src"]), xy(link["dst"])
        shown = link["src"] in core and link["dst"] in core     # labels between what the case is about
        t = 0.7 if link["src"] == "patients" else 0.3 if link["dst"] == "patients" else 0.5   # off the middle
        parts.append(f'<g class="link"><title>{escape(link["label"])}</title>'
                     f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
                     f'stroke="{"#616e7c" if shown else "#bcccdc"}" stroke-width="{1.6 if shown else 1}"/>'
                     + (f'<text x="{x1 + t * (x2 - x1):.1f}" y="{y1 + t * (y2 - y1) - 3:.1f}" font-size="9" fill="#52606d" '
                        f'text-anchor="middle">{escape(_short(link["label"], 30))}</text>' if shown else "")
                     + "</g>")
    for key in sorted(by_key):
        n = by_key[key]
        x, y = xy(key)
        colour = COLOURS.get(n["kind"] if n["kind"] in ("pharmacy", "laboratory") else n["entity_type"], "#cccccc")
        r = 22 if n["entity_type"] == "patients" else 14 if n.get("core") else 10
        ring = f' stroke="{RING}" stroke-width="4"' if n.get("core") else ' stroke="#52606d" stroke-width="1"'
        parts.append(f'<g class="node" data-key="{escape(key)}" data-type="{escape(n["entity_type"])}">'
                     f'<title>{escape(n["caption"])}</title>'
                     f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{colour}"{ring}/>'
                     f'<text x="{x:.1f}" y="{y + r + 12:.1f}" font-size="{11 if n.get("core") else 9}" '
                     f'text-anchor="middle" fill="#1f2933">{escape(_short(n["caption"], 30 if n.get("core") else 18))}'
                     f'</text></g>')
    legend = [("provider", "provider"), ("pharmacy", "pharmacy"), ("laboratory", "laboratory"), ("centre", "centre"),
              ("legal entity", "legal_entity"), ("person", "person"), ("patients (counted)", "patients")]
    for i, (label, k) in enumerate(legend):
        parts.append(f'<g class="legend"><circle cx="{12 + i * 125}" cy="{height - 12}" r="6" fill="{COLOURS[k]}"/>'
                     f'<text x="{22 + i * 125}" y="{height - 8}" font-size="10">{escape(label)}</text></g>')
    parts.append(f'<g class="legend"><circle cx="{width - 150}" cy="14" r="7" fill="#ffffff" stroke="{RING}" '
                 f'stroke-width="3"/><text x="{width - 138}" y="18" font-size="10">what the case is about</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)


def _rings(shells: list[list[str]]) -> dict[str, tuple[float, float]]:
    """Positions in [-1, 1]² on concentric rings, one per shell, evenly spaced and staggered from
    one ring to the next; a first shell of one node sits in the middle.

        >>> _rings([["p"], ["a", "b"]])
        {'p': (0.0, 0.0), 'a': (0.0, 1.0), 'b': (0.0, -1.0)}
    """
    n = len(shells)
    radii = [0.0] + [i / (n - 1) for i in range(1, n)] if shells and len(shells[0]) == 1 and n > 1 else \
        [(i + 1) / n for i in range(n)] if n > 1 or (shells and len(shells[0]) > 1) else [0.0]
    pos = {}
    for i, (shell, r) in enumerate(zip(shells, radii)):
        for k, key in enumerate(shell):
            angle = 2 * math.pi * k / len(shell) + (math.pi / len(shell)) * (i % 2)
            pos[key] = (round(r * math.cos(angle), 6) + 0.0, round(r * math.sin(angle), 6) + 0.0)
    return pos


def peer_chart_svg(dist: dict, subject_label: str, width: int = 900, height: int = 260) -> str:
    """An SVG histogram of the peers' values of a statistic (`dist`: a `peer_distribution` row:
    statistic, unit, detail, bin_edges, bin_counts, subject_units, subject_values, peer_median,
    peers), with a red line at each subject's value labelled `subject_label` (and its id when
    there are several) and the peers' median dashed. The `<svg>` has class `peer-chart`; each
    bar is a `<rect class="bar">` and each subject a `<g class="subject">`."""
    several = len(dist["subject_values"]) > 1
    marks = sorted(zip(dist["subject_values"], dist["subject_units"]))[:8]
    left, right, top, bottom = 60, 20, 24 + 13 * len(marks), 50
    edges, counts = dist["bin_edges"], dist["bin_counts"]
    lo, hi = edges[0], edges[-1] or 1.0
    tallest = max(counts) or 1
    plot_w, plot_h = width - left - right, height - top - bottom

    def x_of(v):
        return left + (min(max(v, lo), hi) - lo) / (hi - lo or 1.0) * plot_w

    def y_of(c):
        return top + plot_h - c / tallest * plot_h
    what = dist["statistic"] + (f" ({dist['detail']})" if dist.get("detail") else "")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="peer-chart" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-labelledby="chart-{escape(dist["alert_id"])}">',
             f'<title id="chart-{escape(dist["alert_id"])}">{escape(what)}: {dist["peers"]} peers, '
             f'{escape(subject_label)} marked</title>',
             '<rect width="100%" height="100%" fill="#ffffff"/>']
    for a, b, c in zip(edges, edges[1:], counts):
        if c:
            parts.append(f'<rect class="bar" x="{x_of(a) + 0.5:.1f}" y="{y_of(c):.1f}" '
                         f'width="{max(x_of(b) - x_of(a) - 1, 1):.1f}" height="{top + plot_h - y_of(c):.1f}" '
                         f'fill="#9fb3c8"><title>{c} peer(s) between {_fmt(a)} and {_fmt(b)}</title></rect>')
    axis_y = top + plot_h
    parts.append(f'<line x1="{left}" y1="{axis_y}" x2="{left + plot_w}" y2="{axis_y}" stroke="#1f2933"/>')
    parts.append(f'<line x1="{left}" y1="{top}" x2="{left}" y2="{axis_y}" stroke="#1f2933"/>')
    for k in range(6):
        v = lo + (hi - lo) * k / 5
        parts.append(f'<text x="{x_of(v):.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">{_fmt(v)}</text>')
    parts.append(f'<text x="{left - 8}" y="{top + 4}" font-size="10" text-anchor="end">{tallest}</text>'
                 f'<text x="{left - 8}" y="{axis_y}" font-size="10" text-anchor="end">0</text>'
                 f'<text x="14" y="{top + plot_h / 2:.0f}" font-size="10" transform="rotate(-90 14 {top + plot_h / 2:.0f})" '
                 f'text-anchor="middle">peers</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 12}" font-size="11" text-anchor="middle">'
                 f'{escape(what)}, {escape(dist["unit"])}</text>')
    m = x_of(dist["peer_median"])
    parts.append(f'<g class="median"><line x1="{m:.1f}" y1="{top}" x2="{m:.1f}" y2="{axis_y}" stroke="#1f2933" '
                 f'stroke-dasharray="4 3"/><text x="{m + 4:.1f}" y="{top + 10}" font-size="10">peer median '
                 f'{_fmt(dist["peer_median"])}{"%" if dist["unit"].startswith("%") else ""}</text></g>')
    for k, (v, unit) in enumerate(marks):      # one line per subject, labels stacked above the plot
        x = x_of(v)
        label = f"{subject_label} {unit}" if several else subject_label
        y = 16 + 13 * k
        right_side = x > left + plot_w / 2
        parts.append(f'<g class="subject" data-value="{v}"><line x1="{x:.1f}" y1="{y + 2}" x2="{x:.1f}" '
                     f'y2="{axis_y}" stroke="{RING}" stroke-width="2.5"/><text x="{x - 5 if right_side else x + 5:.1f}" '
                     f'y="{y + 4}" font-size="11" fill="{RING}" text-anchor="{"end" if right_side else "start"}">'
                     f'{escape(label)}: {_fmt(v)}</text></g>')
    parts.append("</svg>")
    return "\n".join(parts)
