"""graph.stats: count calibration that a cluster of related suspects cannot capture."""
import itertools

import numpy as np

from graph.stats import greedy_matching, group_index, grouped_count_calibration


def test_a_clique_of_suspect_pairs_does_not_set_its_own_calibration():
    """Kind pair "nn": the 28 pairs of an 8-member block share 10 times what the model expects,
    the only pairs of their kind expecting one patient or more; 40 honest pairs of other kinds
    share what it expects. Counted as pairs, the block calibrates itself (c = 10, nothing
    surprising); counted as independent pairs (4 of them), it is too few and takes the calibration
    of all, under which its pairs stand out."""
    block = list(itertools.combinations([f"b{i}" for i in range(8)], 2))
    honest = [(f"h{i}", f"g{i}") for i in range(40)]
    a = np.array([x for x, _ in block + honest])
    b = np.array([y for _, y in block + honest])
    kind = np.array(["nn"] * len(block) + ["np"] * len(honest))
    expected = np.full(len(a), 2.0)
    observed = np.where(kind == "nn", 20.0, 2.0)
    c_pairs, _ = grouped_count_calibration(observed, expected, kind)
    assert c_pairs[0] == 10.0
    independent = greedy_matching(a, b, expected >= 1)
    assert independent[: len(block)].sum() == 4 and independent[len(block):].all()
    c, _ = grouped_count_calibration(observed, expected, kind, use=independent)
    assert c[0] == c[-1] == 1.0


def test_group_index_numbers_groups_in_the_sorted_order_of_their_keys():
    rng = np.random.default_rng(7)
    a = np.array([f"P{n:03d}" for n in rng.integers(0, 40, 5000)], dtype=object)
    b = np.array([f"{n}" for n in rng.integers(0, 9, 5000)], dtype=object)
    c = rng.integers(0, 3, 5000)
    idx, k = group_index(a, b, c)
    # the reference: np.unique over the rows' key tuples, sorted
    tuples = np.array([f"{x}|{y}|{z}" for x, y, z in zip(a, b, c)])
    ref_k = len(np.unique(tuples))
    assert k == ref_k and idx.max() == k - 1
    order = sorted(set(zip(a, b, c)))
    assert [order.index(t) for t in zip(a[:200], b[:200], c[:200])] == idx[:200].tolist()
    assert group_index(np.array([], dtype=object))[1] == 0
