"""The cases on the investigators' graph: each entity a case concerns carries the cases' ids,
statuses and decided actions as properties (`case_ids`, `case_statuses`, `case_decisions`), and
the label `Confirmed` (one of its cases was confirmed) or `Dismissed` (one was dismissed, none
confirmed), so investigators filter on them (`MATCH (n:Confirmed)`).

`label_cases` runs at the end of every `publish.neo4j.sync` (and the sync's upserts replace an
entity's properties, so the labels always come from the case store as it is then): both
statements (`sync_cases_clear`, `sync_cases`) in one transaction, so the graph never shows half
of them.
"""
from __future__ import annotations

from cases.store import CaseStore
from queries import cypher
from runs.store import Store


def label_cases(session, store: Store) -> dict:
    """Set the case properties and labels on a Neo4j `session` from `store`'s cases; returns
    {"cleared": entities cleared first, "labelled": entities labelled, "confirmed", "dismissed"}."""
    rows = CaseStore(store).labelled_entities()

    def work(tx):
        cleared = tx.run(cypher("sync_cases_clear")).single()["cleared"]
        labelled = tx.run(cypher("sync_cases"), rows=rows).single()["labelled"] if rows else 0
        return {"cleared": cleared, "labelled": labelled,
                "confirmed": sum("Confirmed" in r["labels"] for r in rows),
                "dismissed": sum("Dismissed" in r["labels"] for r in rows)}
    return session.execute_write(work)
