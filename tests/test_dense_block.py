from graph.dense_block import detect_dense_blocks, fraudar_peel
from graph.model import build_graph
from graph.settings import DenseBlockSettings

from .builders import Region

TOWNS = ("69100", "69200", "69300", "01100", "01200", "38100", "38200", "38300")


def region(with_block=True):
    """Eight towns, each with a GP, a nurse, a physiotherapist and a pharmacy shared by its 100
    residents (a dense but honest local team); plus, optionally, a nurse, a physiotherapist and a
    laboratory from three towns billing the same 32 patients borrowed from all eight."""
    r = Region()
    for t, pc in enumerate(TOWNS):
        for kind, p in (("physician", "GP"), ("nurse", "N"), ("physiotherapist", "K"), ("pharmacy", "PH")):
            r.provider(f"{p}{t}", kind, postcode=pc)
        for i in range(100):
            pt = f"T{t}-{i}"
            r.patient(pt, pc)
            r.claim(pt, f"GP{t}", "G", i)
            r.claim(pt, f"PH{t}", "DRUG", i + 1, prescriber=f"GP{t}")
            if i % 2:
                r.claim(pt, f"N{t}", "AMI4", i + 2, prescriber=f"GP{t}")
            if i % 3 == 0:
                r.claim(pt, f"K{t}", "AMK8", i + 3, prescriber=f"GP{t}")
    r.provider("LAB", "laboratory", postcode="38100")
    if with_block:
        borrowed = [f"T{t}-{i}" for t in range(8) for i in range(90, 94)]
        for pt in borrowed:
            for p, code in (("N0", "AMI4"), ("K1", "AMK8"), ("LAB", "B0552")):
                for k in range(3):
                    r.claim(pt, p, code, 100 + 30 * k)
    return r.tables()


def test_finds_the_borrowed_list_and_not_the_local_teams():
    t = region()
    f = detect_dense_blocks(t, build_graph(t), DenseBlockSettings())
    alerts = f.alerts.to_pylist()
    assert [a["alert_id"] for a in alerts] == ["dense_block:K1"]
    providers = {e["entity_id"] for e in f.entities.to_pylist() if e["entity_type"] == "provider"}
    assert providers == {"N0", "K1", "LAB"}
    assert alerts[0]["summary"].startswith(
        "3 providers (1 laboratory, 1 nurse, 1 physiotherapist) billed the same 32 patients: 96 of the 96 "
        "provider-patient pairs (100%), against ")
    assert alerts[0]["summary"].endswith("they live in 8 postcode(s).")


def test_honest_local_teams_alone_are_not_blocks():
    t = region(with_block=False)
    assert detect_dense_blocks(t, build_graph(t), DenseBlockSettings()).alerts.num_rows == 0


def test_thresholds_and_determinism():
    t = region()
    g = build_graph(t)
    assert detect_dense_blocks(t, g, DenseBlockSettings(min_patients=33)).alerts.num_rows == 0
    assert detect_dense_blocks(t, g, DenseBlockSettings(min_providers=4)).alerts.num_rows == 0
    a, b = detect_dense_blocks(t, g, DenseBlockSettings()), detect_dense_blocks(t, g, DenseBlockSettings())
    assert a.alerts.equals(b.alerts)


def test_fraudar_peel_finds_the_densest_set_despite_camouflage():
    # a 3 x 4 complete block, plus the block's rows each billing 5 other columns (camouflage)
    edges = [(f"r{i}", f"c{j}", 1.0) for i in range(3) for j in range(4)]
    edges += [(f"r{i}", f"x{i}-{j}", 1.0) for i in range(3) for j in range(5)]
    block, density = fraudar_peel(edges)
    assert block == {"r0", "r1", "r2", "c0", "c1", "c2", "c3"}
    assert density == 12 / 7
