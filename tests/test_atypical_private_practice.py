"""atypical_private_practice on hand-built claims: the full-time hospital practitioner whose
private activity is beyond what its post leaves room for, and the honest ones it leaves alone
(a full-timer with a small private activity, one with none, a part-timer with a large private
practice, private practitioners) or cannot measure (a full-timer with no hospital act in the data)."""
import json

from graph.atypical_private_practice import detect_atypical_private_practice
from graph.settings import AtypicalPrivatePracticeSettings

from .builders import Region


def region(big_private=300):
    r = Region()
    r.service("CS", "act", "specialist consultation")
    r.service("ECG", "act", "electrocardiogram")
    r.add("centres", centre_id="H", kind="hospital", name="hospital")
    posts = {"FT_BIG": ("fulltime_hospital", big_private), "FT_SMALL": ("fulltime_hospital", 15),
             "FT_NONE": ("fulltime_hospital", 0), "PT_LARGE": ("parttime_hospital", 300),
             "FT_UNMEASURED": ("fulltime_hospital", 300)}
    for pid, (role, private) in posts.items():
        r.provider(pid, "physician", "cardiology")
        r.add("affiliations", provider_id=pid, centre_id="H", role=role, start_date="2015-01-01")
        for k in range(300 if pid != "FT_UNMEASURED" else 0):   # 300 acts at the hospital over the year
            r.claim(f"H{pid}{k % 90}", pid, "CS", k % 360, 30.0, centre="H")
        for k in range(private):             # private acts, on working days
            r.claim(f"V{pid}{k % 120}", pid, "ECG" if k % 3 == 0 else "CS", 7 * (k // 5 % 50) + k % 5, 30.0)
    for i in range(4):                       # private cardiologists: about 1,000 acts a year
        r.provider(f"PRIV{i}", "physician", "cardiology")
        for k in range(1000):
            r.claim(f"Q{i}-{k % 300}", f"PRIV{i}", "CS", k % 360, 30.0)
    return r.tables()


def test_finds_the_full_timer_beyond_its_post_and_leaves_the_others_alone():
    f = detect_atypical_private_practice(region(), AtypicalPrivatePracticeSettings())
    ents = f.entities.to_pylist()
    assert [(e["entity_id"], e["standing"]) for e in ents] == [("FT_BIG", "accused")]
    a = f.alerts.to_pylist()[0]
    assert a["alert_id"] == "atypical_private_practice:FT_BIG" and a["pattern"] == "atypical_private_practice"
    ev = json.loads(a["evidence"])
    assert ev["private_lines"] == 300 and ev["hospital_lines"] == 300 and ev["allowance"] == 60
    assert ev["peers"] == 5 and ev["days_per_week"] > 4        # 4 private cardiologists and the part-timer
    assert [t["service_code"] for t in ev["top_acts"]] == ["CS", "ECG"]
    assert abs(a["excess_euros"] - (300 - 60) / 300 * 9000) < 0.01


def test_at_the_allowance_nothing_is_flagged():
    # 60 private acts for 300 at the hospital: exactly 20 % of the post
    f = detect_atypical_private_practice(region(big_private=60), AtypicalPrivatePracticeSettings())
    assert f.alerts.num_rows == 0


def test_the_share_is_a_setting():
    loose = detect_atypical_private_practice(region(), AtypicalPrivatePracticeSettings(fulltime_share=1.0))
    assert loose.alerts.num_rows == 0     # a practitioner allowed as much private as hospital time
