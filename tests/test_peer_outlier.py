from graph.peer_outlier import detect_peer_outliers
from graph.settings import PeerOutlierSettings

from .builders import Region


def region():
    r = Region()
    r.service("AMK8", "act", "physiotherapy session")
    r.service("DRUG", "drug", "a drug")
    for i in range(8):                       # peers: 12 to 14 sessions per patient
        r.provider(f"K{i}", "physiotherapist")
        for p in range(15):
            for k in range(12 + (p + i) % 3):
                r.claim(f"P{i}-{p}", f"K{i}", "AMK8", 2 * k, 17.2)
    r.provider("BUSY", "physiotherapist")    # many patients, usual volume each
    for p in range(100):
        for k in range(13):
            r.claim(f"B{p}", "BUSY", "AMK8", 2 * k, 17.2)
    r.provider("OUT", "physiotherapist")     # 45 sessions per patient
    for p in range(20):
        for k in range(45):
            r.claim(f"O{p}", "OUT", "AMK8", k, 17.2)
    r.provider("TWICE", "physiotherapist")   # 13 days per patient, billed twice a day: double billing's business
    for p in range(15):
        for k in range(13):
            r.claim(f"W{p}", "TWICE", "AMK8", 2 * k, 17.2)
            r.claim(f"W{p}", "TWICE", "AMK8", 2 * k, 17.2)
    for i in range(6):                       # pharmacies: one dispenses far more per patient
        r.provider(f"PH{i}", "pharmacy")
        for p in range(15):
            for k in range(30 if i == 0 else 2):
                r.claim(f"D{i}-{p}", f"PH{i}", "DRUG", k, 5.0)
    return r.tables()


def test_finds_the_outlier_and_not_the_busy_or_the_twice_a_day_provider():
    f = detect_peer_outliers(region(), PeerOutlierSettings())
    alerts = f.alerts.to_pylist()
    assert [a["alert_id"] for a in alerts] == ["peer_outlier:OUT"]
    assert alerts[0]["summary"].startswith("Provider OUT billed physiotherapy session on 45.0 days per patient to "
                                           "20 patients, 3.5× the median of 11 physiotherapist peers (13.0; robust z ")
    assert round(alerts[0]["score"], 2) == round((45 - 13) * 20 * 17.2, 2)


def test_drugs_are_judged_only_when_asked():
    ids = {a["alert_id"] for a in detect_peer_outliers(region(), PeerOutlierSettings(acts_only=False)).alerts.to_pylist()}
    assert ids == {"peer_outlier:OUT", "peer_outlier:PH0"}


def test_too_few_peers_judges_nothing():
    assert detect_peer_outliers(region(), PeerOutlierSettings(min_peers=20)).alerts.num_rows == 0
