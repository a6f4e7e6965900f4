"""Detection quality across independently made worlds: per pattern, recall, precision@K and the
honest look-alikes in the top K, on every world, size and seed.

    python benchmarks/evaluate.py [--worlds generator PATH…] [--sizes 20000 80000] [--seeds 1 2]
                                  [--dir .bench] [--json FILE]

A world is `generator` (the project's own, `loaders/synthetic.py`) or the path of a script with
the command line of `../shared/worlds/second_region.py`:

    python3 SCRIPT DATA_DIR TRUTH.csv --patients N --seed S

writing a contract dataset into DATA_DIR and its planted truth in TRUTH.csv, and optionally
`lookalikes.csv` beside it (pattern, entity_type, entity_id, why). By default: the generator,
`../shared/worlds/second_region.py` and `benchmarks/worlds/third_region.py`; a world whose script
is missing is skipped with a message. Each world is generated once per size and seed under
--dir, scanned with default settings and its control campaigns (its `indicators.json`, else
`campaigns/`) in a fresh store, and scored with `graph.evaluate` (the
definitions of `../shared/worlds/score.py`; K = max(5, 2 × planted groups)). Targets, on every
world, size and seed: recall ≥ 0.9 and precision@K ≥ 0.85 for every pattern, and no honest
look-alike in any pattern's top K. The exit code is 1 when a target is missed.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_WORLDS = ["generator", str(ROOT.parent / "shared" / "worlds" / "second_region.py"),
                  str(ROOT / "benchmarks" / "worlds" / "third_region.py")]
MIN_RECALL, MIN_PRECISION = 0.9, 0.85


def make_world(world: str, folder: Path, patients: int, seed: int) -> tuple[Path, Path, Path | None]:
    """Generate (once) a world's dataset; returns its data folder, truth file and look-alike file."""
    data, truth = folder / "data", folder / "truth.csv"
    if not (data / "claims.csv").exists():
        folder.mkdir(parents=True, exist_ok=True)
        if world == "generator":
            from loaders.synthetic import generate
            generate(data, patients, seed, truth=truth)
        else:
            subprocess.run([sys.executable, world, str(data), str(truth), "--patients", str(patients),
                            "--seed", str(seed)], check=True, stdout=subprocess.DEVNULL)
    looks = folder / "lookalikes.csv"
    return data, truth, looks if looks.exists() else None


def world_campaigns(truth: Path) -> tuple:
    """The control campaigns a world's indicator_outlier plants are judged on: the world's own
    indicators (`indicators.json` beside its truth, in the fields of a campaign file), else the
    example campaigns of `campaigns/` (the project's generator plants one outlier for each)."""
    from graph.campaign_model import Campaign
    from runs.campaigns import read_campaigns
    described = truth.parent / "indicators.json"
    if not described.exists():
        return read_campaigns(ROOT / "campaigns")
    return tuple(Campaign.model_validate({
        **{k: v for k, v in i.items() if k != "definition"}, "description": i.get("definition", ""),
        "patients": {k: v for k, v in i.get("patients", {}).items() if k != "age"}})
        for i in json.loads(described.read_text())["indicators"])


def score_world(data: Path, truth: Path, looks: Path | None) -> dict:
    """Scan a dataset with default settings and the world's campaigns (`world_campaigns`) into a
    fresh store and evaluate it."""
    import pyarrow.csv as pacsv

    from graph.evaluate import evaluate
    from runs.pipeline import scan
    from runs.settings import RunSettings
    from runs.store import Store
    text = lambda path, columns: pacsv.read_csv(path, convert_options=pacsv.ConvertOptions(
        column_types={c: "string" for c in columns}))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(tmp)
        t = time.perf_counter()
        run = scan(data, store, RunSettings(campaigns=world_campaigns(truth)))
        seconds = time.perf_counter() - t
        con = store.connect()
        tables = [con.sql(f"SELECT * FROM {n}").to_arrow_table() for n in ("alerts", "alert_entities", "entity_risk")]
        con.close()
    result = evaluate(*tables, text(truth, ("pattern", "group_id", "entity_type", "entity_id")),
                      lookalikes=text(looks, ("pattern", "entity_type", "entity_id")) if looks else None)
    return {**result, "claims": run["counts"]["claims"], "seconds": seconds, "timings": run["timings"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--worlds", nargs="+", default=DEFAULT_WORLDS)
    ap.add_argument("--sizes", nargs="+", type=int, default=[20000, 80000])
    ap.add_argument("--seeds", nargs="+", type=int, default=[1, 2])
    ap.add_argument("--dir", default=str(ROOT / ".bench"))
    ap.add_argument("--json", help="also write every figure to this file")
    args = ap.parse_args()
    report, missed = [], []
    print(f"{'world':<14} {'patients':>8} {'seed':>4} {'pattern':<19} {'groups':>6} {'K':>3} {'found':>5} "
          f"{'recall':>6} {'prec@K':>6} {'accused':>7} {'look-alikes':>11} {'false leads':>11}")
    for world in args.worlds:
        name = "generator" if world == "generator" else Path(world).stem
        if world != "generator" and not Path(world).is_file():
            print(f"{name}: skipped, {world} does not exist (yet)")
            continue
        for patients in args.sizes:
            for seed in args.seeds:
                data, truth, looks = make_world(world, Path(args.dir) / f"{name}-{patients}-{seed}", patients, seed)
                r = score_world(data, truth, looks)
                report.append({"world": name, "patients": patients, "seed": seed, **r})
                for p in r["patterns"]:
                    print(f"{name:<14} {patients:>8} {seed:>4} {p['pattern']:<19} {p['cases']:>6} {p['k']:>3} "
                          f"{p['found']:>5} {p['recall']:>6.2f} {p['precision_at_k']:>6.2f} {p['accused_precision_at_k']:>7.2f} "
                          f"{p['lookalikes_in_top_k'] if looks else '-':>11} {p['false_leads']:>11}")
                    if (p["recall"] < MIN_RECALL or p["precision_at_k"] < MIN_PRECISION
                            or p["lookalikes_in_top_k"] > 0):
                        missed.append(f"{name} {patients}:{seed} {p['pattern']}")
                er = r["entity_risk"]
                print(f"{name:<14} {patients:>8} {seed:>4} entity risk: precision@K {er['precision_at_k']:.2f}, "
                      f"average precision {er['average_precision']:.2f}; {r['claims']:,} claims scanned in "
                      f"{r['seconds']:.1f} s {r['timings']}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2, default=str))
    worst = lambda key: min((p[key] for r in report for p in r["patterns"]), default=0.0)
    looks_total = sum(p["lookalikes_in_top_k"] for r in report for p in r["patterns"])
    print(f"worst recall {worst('recall'):.2f} (target ≥ {MIN_RECALL}), worst precision@K "
          f"{worst('precision_at_k'):.2f} (target ≥ {MIN_PRECISION}), look-alikes in a top K: {looks_total} (target 0)")
    print("targets met" if not missed else "targets missed: " + "; ".join(missed))
    return 0 if report and not missed else 1


if __name__ == "__main__":
    sys.exit(main())
