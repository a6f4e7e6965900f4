from graph.entity_network import detect_entity_networks
from graph.model import build_graph
from graph.settings import EntityNetworkSettings

from .builders import Region


def region(abnormal=True):
    return _region(abnormal).tables()


def _region(abnormal=True, one_dentist=False) -> Region:
    r = Region()
    # the chain: LE1 dissolved, LE2 created three weeks later at its address, LE3 shares the bank
    # account; one director runs all three; each runs a dental centre with a salaried dentist
    for le, created, dissolved in (("LE1", "2019-01-01", "2025-03-31"), ("LE2", "2025-04-20", None),
                                   ("LE3", "2019-01-01", None)):
        r.add("legal_entities", legal_entity_id=le, kind="association", created_on=created, dissolved_on=dissolved)
        r.add("officers", person_id="BOSS", legal_entity_id=le, role="director")
    r.add("identifiers", entity_type="legal_entity", entity_id="LE1", kind="address", value="1 rue A")
    r.add("identifiers", entity_type="legal_entity", entity_id="LE2", kind="address", value="1 rue A")
    r.add("identifiers", entity_type="legal_entity", entity_id="LE1", kind="bank_account", value="IBAN-X")
    r.add("identifiers", entity_type="legal_entity", entity_id="LE3", kind="bank_account", value="IBAN-X")
    for i, le in enumerate(("LE1", "LE2", "LE3")):
        r.add("centres", centre_id=f"DC{i}", kind="dental_centre", legal_entity_id=le)
        r.provider(f"DENT{i}", "dentist", "dental_surgery")
        for p in range(30):
            for k, (code, amount) in enumerate((("CROWN", 120.0), ("FILL", 41.0), ("SCALE", 29.0))):
                if abnormal or k == 0:
                    r.claim(f"C{i}-{p}", f"DENT{0 if one_dentist else i}", code, p + 3 * k,
                            amount if abnormal else 40.0, centre=f"DC{i}")
    # peers: private dentists billing about €45 per patient
    for d in range(6):
        r.provider(f"PRIV{d}", "dentist", "dental_surgery")
        for p in range(25):
            r.claim(f"Q{d}-{p}", f"PRIV{d}", "FILL", p, 45.0)
    # honest: a hospital group running three sites under one entity, sharing its bank account
    r.add("legal_entities", legal_entity_id="GROUP", kind="association")
    for i in range(3):
        r.add("centres", centre_id=f"SITE{i}", kind="clinic", legal_entity_id="GROUP")
        r.add("identifiers", entity_type="centre", entity_id=f"SITE{i}", kind="bank_account", value="IBAN-G")
    # honest: one owner of two pharmacies billing like their peers
    for i in range(4):
        r.add("legal_entities", legal_entity_id=f"PHCO{i}", kind="company")
        r.provider(f"PH{i}", "pharmacy", legal_entity_id=f"PHCO{i}")
        for p in range(25):
            r.claim(f"R{i}-{p}", f"PH{i}", "DRUG", p, 20.0)
    for i in range(2):
        r.add("officers", person_id="OWNER", legal_entity_id=f"PHCO{i}", role="shareholder")
    # honest: a mutualist network running four dental centres under one entity, billing like peers
    r.add("legal_entities", legal_entity_id="MUTUAL", kind="association")
    r.add("identifiers", entity_type="legal_entity", entity_id="MUTUAL", kind="bank_account", value="IBAN-M")
    for i in range(4):
        r.add("centres", centre_id=f"MDC{i}", kind="dental_centre", legal_entity_id="MUTUAL")
        r.add("identifiers", entity_type="centre", entity_id=f"MDC{i}", kind="bank_account", value="IBAN-M")
        r.provider(f"MDENT{i}", "dentist", "dental_surgery")
        for p in range(25):
            r.claim(f"U{i}-{p}", f"MDENT{i}", "FILL", p, 45.0, centre=f"MDC{i}")
    # honest: an accountant's address shared by 12 companies, one dissolved, one created after it
    for i in range(12):
        r.add("legal_entities", legal_entity_id=f"ACC{i}", kind="company",
              dissolved_on="2025-02-01" if i == 0 else None, created_on="2025-03-01" if i == 1 else "2010-01-01")
        r.add("identifiers", entity_type="legal_entity", entity_id=f"ACC{i}", kind="address", value="12 av. Comptables")
    return r


def test_finds_the_chain_with_its_phoenix_and_not_the_honest_networks():
    t = region()
    f = detect_entity_networks(t, build_graph(t), EntityNetworkSettings())
    alerts = f.alerts.to_pylist()
    assert [a["alert_id"] for a in alerts] == ["entity_network:LE1"]
    roles = {(e["entity_type"], e["entity_id"], e["role"]) for e in f.entities.to_pylist()}
    assert {("legal_entity", "LE1", "dissolved"), ("legal_entity", "LE2", "successor"),
            ("legal_entity", "LE3", "legal_entity"), ("centre", "DC0", "centre"),
            ("person", "BOSS", "shared_officer"), ("provider", "DENT2", "biller")} <= roles
    standing = {(e["entity_id"], e["standing"]) for e in f.entities.to_pylist()}
    assert {("LE1", "accused"), ("BOSS", "accused"), ("DC0", "participant"), ("DENT2", "participant")} <= standing
    assert not {r for r in roles if r[1] in ("GROUP", "SITE0", "PHCO0", "OWNER", "ACC0", "ACC1", "MUTUAL", "MDC0")}
    assert "LE1 succeeded by LE2 (same address)" in alerts[0]["summary"]
    # the peers are the six private dentists (€45 per patient), not the chain's
    assert alerts[0]["summary"].endswith("billed €17,100.00 for 90 patients, 4.2× what peers bill for as many "
                                         "patients (€4,050.00); 90 patients beyond the 90% quantile of peers' "
                                         "patients, where 0.2 would be.")
    assert alerts[0]["score"] == alerts[0]["excess_euros"] == 17100.0 - 4050.0


def test_a_network_billing_like_its_peers_is_not_an_alert():
    t = region(abnormal=False)
    assert detect_entity_networks(t, build_graph(t), EntityNetworkSettings()).alerts.num_rows == 0


def test_hub_addresses_make_no_succession():
    t = region()
    g = build_graph(t, identifier_hub_max=20)     # the accountant's address is no longer a hub
    ids = {a["alert_id"] for a in detect_entity_networks(t, g, EntityNetworkSettings(fdr=0.49)).alerts.to_pylist()}
    assert "entity_network:ACC0" not in ids      # no billing: still not an alert, linked or not


def test_one_practitioners_converted_company_is_that_practitioners_billing_not_a_network():
    """A dentist's own company dissolved and succeeded by a new company form (same manager, same
    address), billed by that dentist alone: however high the dentist's billing, it is one
    provider's (peer_outlier's business), not a network's; the chain of three is still found."""
    r = _region()
    for le, created, dissolved in (("SOLO1", "2015-01-01", "2025-01-31"), ("SOLO2", "2025-02-10", None)):
        r.add("legal_entities", legal_entity_id=le, kind="company", created_on=created, dissolved_on=dissolved)
        r.add("officers", person_id="DOC", legal_entity_id=le, role="manager")
        r.add("identifiers", entity_type="legal_entity", entity_id=le, kind="address", value="5 rue B")
    r.provider("DSOLO", "dentist", "dental_surgery", legal_entity_id="SOLO2")
    for p in range(30):
        for k, (code, amount) in enumerate((("CROWN", 120.0), ("FILL", 41.0), ("SCALE", 29.0))):
            r.claim(f"S-{p}", "DSOLO", code, p + 3 * k, amount)
    t = r.tables()
    ids = [a["alert_id"] for a in detect_entity_networks(t, build_graph(t), EntityNetworkSettings()).alerts.to_pylist()]
    assert ids == ["entity_network:LE1"]


def test_a_chain_billed_by_one_dentist_through_its_centres_is_still_a_network():
    """The chain of three associations and their dental centres, every centre's care billed by one
    dentist: a network of establishments, found as when three dentists bill."""
    t = _region(one_dentist=True).tables()
    ids = [a["alert_id"] for a in detect_entity_networks(t, build_graph(t), EntityNetworkSettings()).alerts.to_pylist()]
    assert ids == ["entity_network:LE1"]
