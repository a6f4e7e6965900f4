"""The bulk path for national graphs: CSV files for `neo4j-admin database import full`.

`import_files()` writes, for one run, a header file and a data file per node label and
relationship type, with the same properties, labels and keys as `fraudnet neo4j sync` writes (the
same rows, from `runs.results.graph_*`), so a later sync of the same or a newer run updates the
imported graph in place, and `import.sh`, the exact `neo4j-admin` command. Three ID spaces:
`Entity` (key `<entity_type>:<id>`), `Alert` and `Community`. Lists (a node's communities, its
labels) use `;`, neo4j-admin's default array delimiter. Source: Neo4j Operations Manual 5,
"neo4j-admin database import" (header format, ID spaces, array delimiter).
"""
from __future__ import annotations

import shlex
from pathlib import Path

from duckdb import ColumnExpression, ConstantExpression, FunctionExpression

from contract.vocab import LABELS, RELS
from runs import results
from runs.store import Store


def _col(name: str, header: str):
    return ColumnExpression(name), header


def _const(value: str, header: str):
    return ConstantExpression(value), header


def _joined(expression, header: str):
    """A list as neo4j-admin reads an array: its items joined by `;`."""
    return FunctionExpression("array_to_string", expression, ConstantExpression(";")), header


def _node_columns(label: str, run_id: str) -> list:
    return [_col("key", "key:ID(Entity)"), _col("id", "id"), _col("kind", "kind"), _col("specialty", "specialty"),
            _col("name", "name"), _col("postcode", "postcode"), _col("roles", "roles"), _col("caption", "caption"),
            _col("degree", "degree:long"), _col("risk", "risk:double"), _col("risk_direct", "risk_direct:double"),
            _col("risk_network", "risk_network:double"), _col("reasons", "reasons"),
            _col("alert_count", "alert_count:long"), _col("pagerank", "pagerank:double"),
            _col("betweenness", "betweenness:double"), _col("participation", "participation:double"),
            _col("broker", "broker:boolean"), _joined(ColumnExpression("communities"), "communities:string[]"),
            _const(run_id, "run_id"),
            # the type label and the derived labels the sync sets
            _joined(FunctionExpression("list_concat", ConstantExpression(["Entity", label]), ColumnExpression("labels")),
                    ":LABEL")]


def _rel_columns(rel: str, run_id: str) -> list:
    return [_col("src", ":START_ID(Entity)"), _col("dst", ":END_ID(Entity)"), _col("key", "key"),
            _col("n", "n:long"), _col("amount", "amount:double"), _col("patients", "patients:long"),
            _col("first_date", "first_date:date"), _col("last_date", "last_date:date"), _col("role", "role"),
            _col("kind", "kind"), _col("value", "value"), _col("start_date", "start_date:date"),
            _col("end_date", "end_date:date"), _const(run_id, "run_id"), _const(rel, ":TYPE")]


def import_files(store: Store, directory: str | Path, run_id: str | None = None) -> dict:
    """Write the import files of run `run_id` (default: the current one) into `directory`;
    returns {file stem: rows}. The folder's `import.sh` runs neo4j-admin on them.

    Raises `NoPublishedRun` or `NotReady` (from the store) when there is no such finished run."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    run_id = store.resolve(run_id)
    con = store.connect(run_id)
    nodes, rels, counts = [], [], {}

    def write(stem: str, rows, columns: list) -> str:
        (directory / f"{stem}.header.csv").write_text(",".join(h for _, h in columns) + "\n")
        rows.select(*(e for e, _ in columns)).to_csv(str(directory / f"{stem}.csv"), header=False)
        counts[stem] = results.count(rows)
        return f"{stem}.header.csv,{stem}.csv"

    try:
        for entity_type, label in LABELS.items():
            nodes.append(write(f"nodes-{label}", results.graph_nodes(con, entity_type), _node_columns(label, run_id)))
        nodes.append(write("nodes-Alert", results.graph_alerts(con), [
            _col("id", "id:ID(Alert)"), _col("pattern", "pattern"), _col("score", "score:double"),
            _col("summary", "summary"), _col("evidence", "evidence"), _col("caption", "caption"),
            _const(run_id, "run_id"), _const("Alert", ":LABEL")]))
        nodes.append(write("nodes-Community", results.graph_communities(con), [
            _col("id", "id:ID(Community)"), _col("graph", "graph"), _col("size", "size:long"),
            _col("density", "density:double"), _col("internal_weight", "internal_weight:double"),
            _col("flagged", "flagged:long"), _col("risk", "risk:double"), _col("caption", "caption"),
            _const(run_id, "run_id"), _const("Community", ":LABEL")]))
        for r in RELS:
            rels.append(write(f"relationships-{r}", results.graph_relationships(con, r), _rel_columns(r, run_id)))
        rels.append(write("relationships-INVOLVES", results.graph_alert_entities(con), [
            _col("alert_id", ":START_ID(Alert)"), _col("key", ":END_ID(Entity)"), _col("role", "role"),
            _col("standing", "standing"), _const(run_id, "run_id"), _const("INVOLVES", ":TYPE")]))
        rels.append(write("relationships-MEMBER_OF", results.graph_members(con), [
            _col("key", ":START_ID(Entity)"), _col("community_id", ":END_ID(Community)"),
            _const(run_id, "run_id"), _const("MEMBER_OF", ":TYPE")]))
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
