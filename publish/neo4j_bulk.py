"""The bulk path for national graphs: CSV files for `neo4j-admin database import full`.

`export()` writes, for one run, a header file and a data file per node label and relationship
type, with the same properties, labels and keys as `fraudnet neo4j sync` writes (so a later sync
of the same or a newer run updates the imported graph in place), and `import.sh`, the exact
`neo4j-admin` command. Three ID spaces: `Entity` (key `<entity_type>:<id>`), `Alert` and
`Community`. Lists (a node's communities) use `;`, neo4j-admin's default array delimiter.
"""
from __future__ import annotations

import shlex
from pathlib import Path

from .neo4j import LABELS, RELS, _ALERT_ROWS, _COMMUNITY_ROWS, _NODE_ROWS
from runs.store import Store

# the type label and the derived labels the sync sets (computed by the same SQL, _NODE_ROWS)
_LABEL_EXPR = "array_to_string(['Entity', $label] || labels, ';')"

_NODE_COLUMNS = [("key", "key:ID(Entity)"), ("id", "id"), ("kind", "kind"), ("specialty", "specialty"),
                 ("name", "name"), ("postcode", "postcode"), ("roles", "roles"), ("caption", "caption"),
                 ("degree", "degree:long"), ("risk", "risk:double"), ("risk_direct", "risk_direct:double"),
                 ("risk_network", "risk_network:double"), ("reasons", "reasons"),
                 ("alert_count", "alert_count:long"), ("pagerank", "pagerank:double"),
                 ("betweenness", "betweenness:double"), ("participation", "participation:double"),
                 ("broker", "broker:boolean"), ("array_to_string(communities, ';')", "communities:string[]"),
                 ("$run_id", "run_id"), (_LABEL_EXPR, ":LABEL")]
_REL_COLUMNS = [("src", ":START_ID(Entity)"), ("dst", ":END_ID(Entity)"),
                ("concat_ws('|', role, kind, value, start_date)", "key"), ("n", "n:long"),
                ("amount", "amount:double"), ("patients", "patients:long"), ("first_date", "first_date:date"),
                ("last_date", "last_date:date"), ("role", "role"), ("kind", "kind"), ("value", "value"),
                ("start_date", "start_date:date"), ("end_date", "end_date:date"), ("$run_id", "run_id"),
                ("rel", ":TYPE")]
_ALERT_COLUMNS = [("id", "id:ID(Alert)"), ("pattern", "pattern"), ("score", "score:double"),
                  ("summary", "summary"), ("evidence", "evidence"), ("caption", "caption"),
                  ("$run_id", "run_id"), ("'Alert'", ":LABEL")]
_COMMUNITY_COLUMNS = [("id", "id:ID(Community)"), ("graph", "graph"), ("size", "size:long"),
                      ("density", "density:double"), ("internal_weight", "internal_weight:double"),
                      ("flagged", "flagged:long"), ("risk", "risk:double"), ("caption", "caption"),
                      ("$run_id", "run_id"), ("'Community'", ":LABEL")]


def _select(columns, source: str) -> str:
    return f"SELECT {', '.join(f'{expr} AS c{i}' for i, (expr, _) in enumerate(columns))} FROM ({source})"


def export(store: Store, directory: str | Path, run_id: str | None = None) -> dict:
    """Write the import files of run `run_id` (default: the published one) into `directory`;
    returns {file stem: rows}. The folder's `import.sh` runs neo4j-admin on them."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    run_id = store.resolve(run_id)
    con = store.connect(run_id)
    nodes, rels, counts = [], [], {}

    def write(stem: str, columns, source: str, params: dict):
        (directory / f"{stem}.header.csv").write_text(",".join(h for _, h in columns) + "\n")
        rel = con.sql(_select(columns, source), params={**params, "run_id": run_id})
        rel.to_csv(str(directory / f"{stem}.csv"), header=False)
        counts[stem] = con.sql(f"SELECT count(*) FROM ({source})", params={
            k: v for k, v in params.items() if f"${k}" in source}).fetchall()[0][0]
        return f"{stem}.header.csv,{stem}.csv"

    try:
        for entity_type, label in LABELS.items():
            nodes.append(write(f"nodes-{label}", _NODE_COLUMNS, _NODE_ROWS,
                               {"entity_type": entity_type, "label": label}))
        nodes.append(write("nodes-Alert", _ALERT_COLUMNS, _ALERT_ROWS, {}))
        nodes.append(write("nodes-Community", _COMMUNITY_COLUMNS, _COMMUNITY_ROWS, {}))
        for r in RELS:
            rels.append(write(f"relationships-{r}", _REL_COLUMNS,
                              "SELECT * FROM edges WHERE rel = $rel ORDER BY src, dst", {"rel": r}))
        rels.append(write("relationships-INVOLVES",
                          [("alert_id", ":START_ID(Alert)"), ("entity_type || ':' || entity_id", ":END_ID(Entity)"),
                           ("role", "role"), ("$run_id", "run_id"), ("'INVOLVES'", ":TYPE")],
                          "SELECT * FROM alert_entities ORDER BY alert_id, entity_type, entity_id, role", {}))
        rels.append(write("relationships-MEMBER_OF",
                          [("node_id", ":START_ID(Entity)"), ("community_id", ":END_ID(Community)"),
                           ("$run_id", "run_id"), ("'MEMBER_OF'", ":TYPE")],
                          "SELECT * FROM communities ORDER BY community_id, node_id", {}))
    finally:
        con.close()
    args = ['neo4j-admin database import full "${NEO4J_DATABASE:-neo4j}" --overwrite-destination']
    args += [f"--nodes={shlex.quote(n)}" for n in nodes] + [f"--relationships={shlex.quote(r)}" for r in rels]
    script = directory / "import.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"# Bulk import of fraudnet run {run_id}: run on the Neo4j server with the database stopped,\n"
        "# then start it and run `fraudnet neo4j schema` (constraints and indexes). See README.\n"
        "set -e\ncd \"$(dirname \"$0\")\"\n" + " \\\n  ".join(args) + "\n")
    script.chmod(0o755)
    return counts
