"""Detection across independently made worlds, at a small size: the project's generator, the
second region written without reading this code (../shared/worlds), and the third, written from
the contract alone (benchmarks/worlds, once merged). Each pattern must reach recall 0.9 and
precision@K 0.85 with no honest look-alike in its top K (benchmarks/evaluate.py does the same at
two sizes and two seeds)."""
import sys
from pathlib import Path

import pytest

from .conftest import REPO

sys.path.insert(0, str(REPO))
from benchmarks.evaluate import MIN_PRECISION, MIN_RECALL, make_world, score_world  # noqa: E402

# world: (script, patients). The second region plants about one pharmacy per 2,500 patients: below
# 20,000 its few pharmacies serve most of every town, and no flow can stand out from them.
WORLDS = {"generator": ("generator", 8000),
          "second_region": (str(REPO.parent / "shared" / "worlds" / "second_region.py"), 20000),
          "third_region": (str(REPO / "benchmarks" / "worlds" / "third_region.py"), 20000)}


@pytest.mark.parametrize("name", sorted(WORLDS))
def test_every_pattern_holds_on_a_small_world(name, tmp_path):
    world, patients = WORLDS[name]
    if world != "generator" and not Path(world).is_file():
        pytest.skip(f"{world} is not there (yet)")
    data, truth, looks = make_world(world, tmp_path / name, patients=patients, seed=3)
    result = score_world(data, truth, looks)
    misses = [(p["pattern"], p["recall"], p["precision_at_k"], p["lookalikes_in_top_k"]) for p in result["patterns"]
              if p["recall"] < MIN_RECALL or p["precision_at_k"] < MIN_PRECISION or p["lookalikes_in_top_k"]]
    assert result["patterns"] and misses == []
