"""graph.evaluate: the definitions of ../shared/worlds/score.py, plus look-alikes in the top K."""
import pyarrow as pa

from graph.evaluate import evaluate
from graph.findings import make_findings


def test_found_precision_at_k_lookalikes_and_false_leads():
    f = make_findings(
        [{"alert_id": f"a{i}", "pattern": "dense_block", "score": 10 - i, "summary": "s"} for i in range(7)],
        [{"alert_id": "a0", "entity_type": "provider", "entity_id": e, "role": "biller", "standing": "accused"}
         for e in ("p1", "p2")] +
        [{"alert_id": "a1", "entity_type": "provider", "entity_id": "p3", "role": "biller", "standing": "accused"},
         {"alert_id": "a2", "entity_type": "provider", "entity_id": "honest", "role": "biller", "standing": "accused"},
         {"alert_id": "a3", "entity_type": "provider", "entity_id": "q1", "role": "biller", "standing": "accused"},
         {"alert_id": "a6", "entity_type": "provider", "entity_id": "p5", "role": "biller", "standing": "accused"}])
    truth = pa.table({"pattern": ["dense_block"] * 5 + ["peer_outlier"],
                      "group_id": ["g1", "g1", "g1", "g2", "g2", "g3"],
                      "entity_type": ["provider"] * 6, "entity_id": ["p1", "p2", "p3", "p4", "p5", "q1"]})
    looks = pa.table({"pattern": ["dense_block"], "entity_type": ["provider"], "entity_id": ["honest"]})
    risk = pa.table({"entity_type": ["provider"] * 3, "entity_id": ["p1", "zz", "p2"]})
    r = evaluate(f.alerts, f.entities, risk, truth, lookalikes=looks)
    rows = {x["pattern"]: x for x in r["patterns"]}
    db = rows["dense_block"]
    # g1 (p1 p2 p3): a0 names two of three, found; g2 (p4 p5): a6 names one of two, found (half),
    # K = max(5, 2 x 2) = 5: a0..a4, of which a0, a1 and a3 (q1, planted in another pattern) are leads
    assert (db["cases"], db["k"], db["alerts"], db["found"], db["recall"]) == (2, 5, 5, 2, 1.0)
    assert db["precision_at_k"] == 3 / 5 and db["lookalikes_in_top_k"] == 1 and db["false_leads"] == 2
    assert (rows["peer_outlier"]["recall"], rows["peer_outlier"]["alerts"]) == (0.0, 0)
    assert r["entity_risk"] == {"known": 6, "precision_at_k": 2 / 6, "average_precision": (1 + 2 / 3) / 6, "found": 2}


def test_a_pattern_the_run_did_not_judge_has_no_figures():
    f = make_findings([{"alert_id": "a0", "pattern": "dense_block", "score": 1, "summary": "s"}],
                      [{"alert_id": "a0", "entity_type": "provider", "entity_id": "p1", "role": "biller",
                        "standing": "accused"}])
    truth = pa.table({"pattern": ["dense_block", "indicator_outlier"], "entity_type": ["provider"] * 2,
                      "entity_id": ["p1", "p9"]})
    risk = pa.table({"entity_type": ["provider"], "entity_id": ["p1"]})
    rows = {x["pattern"]: x for x in evaluate(f.alerts, f.entities, risk, truth,
                                               not_judged=frozenset({"indicator_outlier"}))["patterns"]}
    assert rows["indicator_outlier"] == {"pattern": "indicator_outlier", "judged": False, "cases": 1, "k": None,
                                         "alerts": None, "found": None, "recall": None, "precision_at_k": None,
                                         "accused_precision_at_k": None,
                                         "lookalikes_in_top_k": None, "false_leads": None}
    assert rows["dense_block"]["judged"] and rows["dense_block"]["recall"] == 1.0
    judged = {x["pattern"]: x for x in evaluate(f.alerts, f.entities, risk, truth)["patterns"]}
    assert judged["indicator_outlier"]["judged"] and judged["indicator_outlier"]["recall"] == 0.0


def test_accused_precision_counts_an_alert_by_its_accused_naming_planted_victims_is_not_enough():
    # the reviewer's case: a doctor_shopping alert on an honest patient whose shopped pharmacy and
    # prescriber were planted for pharmacy_collusion; beside it, a shopper who is planted elsewhere
    entity = lambda a, t, e, role, standing: {"alert_id": a, "entity_type": t, "entity_id": e, "role": role,
                                              "standing": standing}
    f = make_findings(
        [{"alert_id": f"s{i}", "pattern": "doctor_shopping", "score": 10 - i, "summary": "s"} for i in range(3)],
        [entity("s0", "patient", "P1", "shopper", "accused"),
         entity("s1", "patient", "P_honest", "shopper", "accused"),
         entity("s1", "provider", "ph1", "shopped_pharmacy", "victim"),
         entity("s1", "provider", "dr1", "shopped_prescriber", "victim"),
         entity("s2", "patient", "P9", "shopper", "accused")])
    truth = pa.table({"pattern": ["doctor_shopping", "pharmacy_collusion", "pharmacy_collusion", "mega_consumer"],
                      "group_id": ["d1", "c1", "c1", "m1"], "entity_type": ["patient", "provider", "provider", "patient"],
                      "entity_id": ["P1", "ph1", "dr1", "P9"]})
    risk = pa.table({"entity_type": ["patient"], "entity_id": ["P1"]})
    [ds] = [x for x in evaluate(f.alerts, f.entities, risk, truth)["patterns"] if x["pattern"] == "doctor_shopping"]
    # top 5 = s0 (planted shopper), s1 (honest shopper, planted victims), s2 (shopper planted for mega_consumer):
    # each names a planted entity (the yardstick's precision), two accuse one
    assert (ds["found"], ds["alerts"], ds["precision_at_k"], ds["false_leads"]) == (1, 3, 1.0, 0)
    assert ds["accused_precision_at_k"] == 2 / 3


def test_evaluate_refuses_a_truth_file_it_cannot_read_or_score_naming_file_line_and_value(tmp_path):
    """Every bad truth file is refused before any run is read (exit 2, no traceback): what was
    scored 0.00, printed as an empty table, or raised from pyarrow."""
    from click.testing import CliRunner

    from cli.main import main
    (tmp_path / "s" / "runs").mkdir(parents=True)      # a store with no run: the truth is read first
    cases = {
        "empty.csv": (b"", "empty file; a truth file starts with a header line"),
        "latin1.csv": ("pattern,entity_type,entity_id\ndouble_billing,provider,PR\xe9\n".encode("latin-1"),
                       "line 2: not UTF-8 text (byte 0xe9)"),
        "extra.csv": (b"pattern,entity_type,entity_id\ndouble_billing,provider,PR1,oops\n",
                      "line 2: 4 field(s), the header has 3"),
        "bogus.csv": (b"pattern,entity_type,entity_id\ndouble_billing,provider,PR1\nbogus,provider,PR2\n",
                      "line 3: column pattern: unknown pattern 'bogus' (known: double_billing, "),
        "patiant.csv": (b"pattern,group_id,entity_type,entity_id\ndoctor_shopping,G1,patiant,P1\n",
                        "line 2: column entity_type: unknown entity type 'patiant' (known: provider, centre, "
                        "legal_entity, person, patient)"),
        "header.csv": (b"pattern,group_id,entity_type,entity_id\n",
                       "no case, only a header: a truth file with no known case has nothing to score"),
        "columns.csv": (b"pattern,entity_id\ndouble_billing,PR1\n", "line 1: missing column(s) entity_type"),
        "nul.csv": (b"pattern,group_id,entity_type,entity_id\ndouble_billing,G1,provider,PR1\n"
                    b"double_billing,G1,provider,PR\x002\n",
                    "line 3: column entity_id: holds a NUL character (byte 0x00) in 'PR\\x002': no alert's id or name "
                    "holds one"),
        "huge.csv": (b"pattern,entity_type,entity_id\ndouble_billing,provider,PR1\ndouble_billing,provider,"
                     + b"x" * 200_000 + b"\n", "line 3: not a CSV line a truth file can hold (field larger than"),
    }
    for name, (body, said) in cases.items():
        (tmp_path / name).write_bytes(body)
        out = CliRunner().invoke(main, ["evaluate", "--truth", str(tmp_path / name), "--store", str(tmp_path / "s")])
        assert out.exit_code == 2, (name, out.output)
        assert "Traceback" not in out.output and f"{tmp_path / name}: " in out.output, (name, out.output)
        assert said in out.output, (name, out.output)
    assert [p.name for p in (tmp_path / "s").iterdir()] == ["runs"]


def test_a_good_truth_file_is_read_as_strings_in_file_order(tmp_path):
    from graph.detect import DETECTORS
    from loaders.truth import read_truth
    f = tmp_path / "truth.csv"
    f.write_text("entity_id,pattern,entity_type\n0042,double_billing,provider\nLE1,entity_network,legal_entity\n")
    t = read_truth(f, tuple(DETECTORS))
    assert t.column_names == ["pattern", "entity_type", "entity_id"]
    assert t.to_pylist() == [{"pattern": "double_billing", "entity_type": "provider", "entity_id": "0042"},
                             {"pattern": "entity_network", "entity_type": "legal_entity", "entity_id": "LE1"}]


def test_evaluate_refuses_broken_quotes_and_spaced_ids_naming_line_column_and_value(tmp_path):
    """A truth id with a space at its end, an unclosed quote or text after a closing quote was read
    as another id (`'PR1 '`, `'PR1x'`, or the lines after an unclosed quote swallowed into one
    field) and scored as a miss, silently: each is refused, naming its line, column and value."""
    from click.testing import CliRunner

    from cli.main import main
    (tmp_path / "s" / "runs").mkdir(parents=True)
    head = b'"pattern","group_id","entity_type","entity_id"\n'
    cases = {
        "space.csv": (head + b'"double_billing","G1","provider","PR1 "\n',
                      ["line 2: column entity_id: 'PR1 ' has spaces at its end: ids are matched exactly"]),
        "lead.csv": (head + b'double_billing,G1,provider, PR1\n',
                     ["line 2: column entity_id: ' PR1' has spaces at its start"]),
        "unclosed.csv": (head + b'double_billing,G1,provider,"PR1\ndouble_billing,G1,provider,PR2\n'
                         b'double_billing,G1,provider,"PR3"\n',
                         ["line 2: column entity_id: a quote not closed on its line in '\"PR1'"]),
        "after.csv": (head + b'double_billing,G1,provider,"PR1"x\ndouble_billing,"G1"-2,provider,PR2\n',
                      ["line 2: column entity_id: text after its closing quote in '\"PR1\"x'",
                       "line 3: column group_id: text after its closing quote in '\"G1\"-2'"]),
    }
    for name, (body, said) in cases.items():
        (tmp_path / name).write_bytes(body)
        out = CliRunner().invoke(main, ["evaluate", "--truth", str(tmp_path / name), "--store", str(tmp_path / "s")])
        assert out.exit_code == 2 and "Traceback" not in out.output, (name, out.output)
        assert f"{tmp_path / name}: " in out.output and all(s in out.output for s in said), (name, out.output)
    # the line after an unclosed quote is read on its own, not swallowed: only line 2 is at fault
    out = CliRunner().invoke(main, ["evaluate", "--truth", str(tmp_path / "unclosed.csv"), "--store",
                                    str(tmp_path / "s")])
    assert "line 3" not in out.output and "line 4" not in out.output, out.output


def test_a_truth_problem_on_a_patient_line_names_line_and_column_never_the_value(tmp_path):
    """A patient's id is never shown: a NUL, a space, a broken quote on a line naming (or that may
    name) a patient gives its line and column, the value withheld."""
    from loaders.truth import read_truth
    head = "pattern,group_id,entity_type,entity_id\n"
    cases = {
        "nul": (head + "doctor_shopping,G1,patient,B22650\x0012585\n",
                "line 2: column entity_id: holds a NUL character (byte 0x00) in (value withheld"),
        "space": (head + "doctor_shopping,G1,patient,B2265012585 \n",
                  "line 2: column entity_id: (value withheld: the line may name a patient) has spaces at its end"),
        "quote": (head + 'doctor_shopping,G1,patient,"B2265012585\n',
                  "line 2: column entity_id: a quote not closed on its line in (value withheld"),
        "type": (head + 'doctor_shopping,G1,"patient,B2265012585\n',
                 "line 2: column entity_type: a quote not closed on its line in (value withheld"),
        "typespace": (head + "doctor_shopping,G1,patient ,B2265012585\n",
                      "line 2: column entity_type: (value withheld"),
        # columns in another order: the patient's id where the entity type or the pattern goes
        "swapped": (head + "doctor_shopping,G1,B2265012585,patient\n",
                    "line 2: column entity_type: unknown entity type (value withheld"),
        "pattern": ("entity_id,group_id,entity_type,pattern\n" + "doctor_shopping,G1,patient,B2265012585\n",
                    "line 2: column pattern: unknown pattern (value withheld"),
        # an invisible character: an id that would match no alert, silently
        "zwsp": (head + "doctor_shopping,G1,patient,B2265012585\u200b\n",
                 "line 2: column entity_id: holds an invisible character (U+200B ZERO WIDTH SPACE) in (value withheld"),
        # no header line: the first case read as one, its id never shown
        "noheader": ("doctor_shopping,G1,patient,B2265012585\n",
                     "line 1: missing column(s) pattern, entity_type, entity_id (the header names doctor_shopping, …, "
                     "patient, …; … a name not shown: it may be an id"),
        "noheaderquote": ('doctor_shopping,G1,patient,"B2265012585\n', "line 1: field 4: a quote not closed"),
    }
    for name, (body, said) in cases.items():
        f = tmp_path / f"{name}.csv"
        f.write_bytes(body.encode())
        try:
            read_truth(f, ("doctor_shopping",))
        except ValueError as e:
            assert said in str(e) and "2265" not in str(e) and "\u200b" not in str(e), (name, str(e))
        else:
            raise AssertionError(f"{name}: read")


def test_an_alert_id_given_twice_is_refused_naming_it():
    """Two alerts of one id would be one in every store, file and API answer (their entities
    mixed): a detector giving one id twice is a bug, stopped before anything is written."""
    import pytest
    alert = {"alert_id": "peer_outlier:centre:C1", "pattern": "peer_outlier", "score": 1, "summary": "s"}
    with pytest.raises(ValueError, match="alert id 'peer_outlier:centre:C1' given to two alerts of pattern peer_outlier"):
        make_findings([alert, dict(alert, score=2)], [])
