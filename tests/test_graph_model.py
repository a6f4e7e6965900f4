from datetime import date

import pyarrow as pa

from graph.model import build_graph
from loaders.dataset import load_dataset

from .conftest import claim, write_dataset


def dataset(tmp_path):
    return load_dataset(write_dataset(
        tmp_path / "ds",
        claims=[claim("C1", "P1", "D1", "G", "2025-01-05", 25, centre="H1"),
                claim("C2", "P1", "D1", "G", "2025-03-05", 25),
                claim("C3", "P1", "PH1", "DRUG", "2025-03-06", 40, prescriber="D1"),
                claim("C4", "P2", "PH1", "DRUG", "2025-06-06", 60, prescriber="D1"),
                claim("C5", "P2", "PH1", "DRUG", "2025-06-07", 10, prescriber="OUTSIDER")],
        providers=[{"provider_id": "D1", "kind": "physician", "legal_entity_id": "E2"},
                   {"provider_id": "PH1", "kind": "pharmacy", "legal_entity_id": "E1"}],
        centres=[{"centre_id": "H1", "kind": "hospital", "legal_entity_id": "E3"}],
        legal_entities=[{"legal_entity_id": e, "kind": "company"} for e in ("E1", "E2", "E3")]
        + [{"legal_entity_id": f"A{i}", "kind": "company"} for i in range(4)],
        affiliations=[{"provider_id": "D1", "centre_id": "H1", "role": "parttime_hospital",
                       "start_date": "2020-01-01", "end_date": "2025-02-01"}],
        officers=[{"person_id": "D1", "legal_entity_id": "E1", "role": "shareholder"},
                  {"person_id": "X9", "legal_entity_id": "E1", "role": "manager"}],
        identifiers=[{"entity_type": "legal_entity", "entity_id": "E1", "kind": "bank_account", "value": "IBAN1"},
                     {"entity_type": "legal_entity", "entity_id": "E2", "kind": "bank_account", "value": "IBAN1"},
                     {"entity_type": "patient", "entity_id": "P1", "kind": "address", "value": "1 rue"},
                     {"entity_type": "patient", "entity_id": "P2", "kind": "address", "value": "1 rue"}]
        + [{"entity_type": "legal_entity", "entity_id": f"A{i}", "kind": "address", "value": "accountant"}
           for i in range(4)])).tables


def edge(g, src, dst, rel):
    rows = [e for e in g.edges.to_pylist() if (e["src"], e["dst"], e["rel"]) == (src, dst, rel)]
    assert len(rows) == 1, (src, dst, rel, rows)
    return rows[0]


def test_nodes_have_stable_typed_ids_and_roles(tmp_path):
    g = build_graph(dataset(tmp_path), identifier_hub_max=3)
    nodes = {n["node_id"]: n for n in g.nodes.to_pylist()}
    # its parts in the claims, whatever its kind (a billing dentist was '', a pharmacy 'pharmacy')
    assert nodes["provider:D1"]["roles"] == "biller|prescriber"
    assert nodes["provider:PH1"]["roles"] == "biller"
    assert (nodes["provider:OUTSIDER"]["roles"], nodes["provider:OUTSIDER"]["kind"]) == ("prescriber", None)
    assert nodes["centre:H1"]["roles"] is None
    assert "person:X9" in nodes and "person:D1" not in nodes   # an officer who is a provider is that provider
    assert {n for n in nodes if n.startswith("patient:")} == {"patient:P1", "patient:P2"}
    assert g.nodes["node_id"].to_pylist() == sorted(nodes)


def test_edges_aggregate_claims(tmp_path):
    g = build_graph(dataset(tmp_path), identifier_hub_max=3)
    billed = edge(g, "provider:D1", "patient:P1", "BILLED")
    assert (billed["n"], billed["amount"], billed["first_date"], billed["last_date"]) == \
        (2, 50.0, date(2025, 1, 5), date(2025, 3, 5))
    assert edge(g, "centre:H1", "patient:P1", "BILLED")["n"] == 1
    assert edge(g, "provider:PH1", "patient:P2", "DISPENSED_TO")["amount"] == 70.0
    flow = edge(g, "provider:D1", "provider:PH1", "FLOWS_TO")
    assert (flow["n"], flow["amount"], flow["patients"]) == (2, 100.0, 2)
    assert edge(g, "provider:D1", "patient:P2", "PRESCRIBED_FOR")["n"] == 1
    assert edge(g, "provider:D1", "centre:H1", "WORKS_AT")["role"] == "parttime_hospital"
    assert edge(g, "provider:D1", "legal_entity:E1", "OFFICER_OF")["role"] == "shareholder"
    assert edge(g, "person:X9", "legal_entity:E1", "OFFICER_OF")["role"] == "manager"
    assert edge(g, "centre:H1", "legal_entity:E3", "OPERATED_BY")
    assert edge(g, "provider:PH1", "legal_entity:E1", "BILLS_UNDER")
    assert edge(g, "legal_entity:E1", "legal_entity:E2", "SHARES_IDENTIFIER")["kind"] == "bank_account"


def test_hub_identifiers_link_nothing_and_patients_are_not_linked(tmp_path):
    g = build_graph(dataset(tmp_path), identifier_hub_max=3)
    shared = [(e["src"], e["dst"]) for e in g.edges.to_pylist() if e["rel"] == "SHARES_IDENTIFIER"]
    assert shared == [("legal_entity:E1", "legal_entity:E2")]
    assert g.hubs.to_pylist() == [{"kind": "address", "value": "accountant", "entities": 4}]
    g5 = build_graph(dataset(tmp_path), identifier_hub_max=5)
    assert len([e for e in g5.edges.to_pylist() if e["rel"] == "SHARES_IDENTIFIER"]) == 1 + 6


def test_window_keeps_claims_and_links_of_the_period(tmp_path):
    g = build_graph(dataset(tmp_path), start=date(2025, 3, 1), end=date(2025, 6, 6))
    rels = {(e["src"], e["dst"], e["rel"]) for e in g.edges.to_pylist()}
    assert ("centre:H1", "patient:P1", "BILLED") not in rels          # January claim left out
    assert ("provider:D1", "centre:H1", "WORKS_AT") not in rels        # affiliation ended in February
    assert edge(g, "provider:D1", "provider:PH1", "FLOWS_TO")["n"] == 2
    assert ("provider:OUTSIDER", "provider:PH1", "FLOWS_TO") not in rels


def test_same_input_same_graph(tmp_path):
    t = dataset(tmp_path)
    a, b = build_graph(t), build_graph(t)
    assert a.nodes.equals(b.nodes) and a.edges.equals(b.edges)
    assert isinstance(a.edges, pa.Table)
