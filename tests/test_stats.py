"""graph.stats: count calibration that a cluster of related suspects cannot capture."""
import itertools

import numpy as np
import pytest

import pyarrow as pa

from graph.stats import count_calibration, greedy_matching, group_index, grouped_count_calibration, peers_design_effect, sorted_codes


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


def test_count_calibration_measures_spread_where_counts_can_show_it():
    """60 units expecting one or two (Poisson around their expectation) and 30 expecting 20 to 200.
    When the large units differ by a gamma of shape 10 (ratios spread ±0.3), the small units'
    integer counts must not hide it (their median squared residual is below χ²₁'s): κ is found
    near 10. When the large units are Poisson too, no spread is invented (κ inf or far above)."""
    rng = np.random.default_rng(3)
    small_e = rng.uniform(1, 2, 60)
    large_e = rng.uniform(20, 200, 30)
    e = np.concatenate([small_e, large_e])
    small_o = rng.poisson(small_e)
    spread = rng.poisson(large_e * rng.gamma(10, 1 / 10, 30))
    c, shape = count_calibration(np.concatenate([small_o, spread]), e)
    assert 0.8 < c < 1.2 and 4 < shape < 25
    c, shape = count_calibration(np.concatenate([small_o, rng.poisson(large_e)]), e)
    assert 0.8 < c < 1.2 and shape > 100


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


def test_the_beta_binomial_tail_is_exact_far_out_where_scipy_rounds_it():
    from scipy import special, stats

    from graph.stats import betabinom_logsf
    # all 429 of 429 patients beyond where 1 % are: scipy's 1 - cdf gives rounding noise (about
    # -25) or -inf here; the tail is the probability of exactly 429, summed in logs
    got = betabinom_logsf(np.array([429.0]), np.array([429.0]), np.array([0.01]), np.array([0.000125]))[0]
    size = (1 - 0.000125) / 0.000125
    assert np.isfinite(got) and got == pytest.approx(stats.betabinom.logpmf(429, 429, 0.01 * size, 0.99 * size))
    assert got < -1000
    # where scipy is accurate the two agree, and the binomial case (rho 0) likewise
    k = np.arange(40, 101)
    assert betabinom_logsf(np.array([40.0]), np.array([100.0]), np.array([0.1]), np.array([0.05]))[0] == \
        pytest.approx(special.logsumexp(stats.betabinom.logpmf(k, 100, 0.1 * 19, 0.9 * 19)), rel=1e-9)
    assert betabinom_logsf(np.array([3000.0]), np.array([3000.0]), np.array([0.001]), np.array([0.0]))[0] == \
        pytest.approx(3000 * np.log(0.001))


def test_the_binomial_tail_stays_finite_where_scipy_underflows():
    from scipy import stats

    from graph.stats import binom_logsf
    got = binom_logsf(np.array([900.0, 5.0]), np.array([1000.0, 10.0]), np.array([1e-9, 0.2]))
    assert np.isfinite(got).all() and got[0] < -10000       # scipy says -inf for the first
    assert got[1] == pytest.approx(stats.binom.logsf(4, 10, 0.2))


def test_the_fast_quantile_is_numpys_bit_for_bit():
    from graph.stats import _quantile
    rng = np.random.default_rng(7)
    cases = 0
    for n in [1, 2, 3, 4, 5, 7, 10, 31, 100, 1001]:
        for draw in (lambda: rng.exponential(3.0, n), lambda: rng.integers(0, 4, n).astype(float) ** 2,
                     lambda: rng.uniform(0, 1e-300, n), lambda: np.append(rng.uniform(0, 1, n - 1), np.inf)):
            a = draw()
            for q in (0.0, 0.25, 0.5, 0.75, 0.9, 0.975, 0.99, 1.0, float(rng.uniform())):
                with np.errstate(invalid="ignore"):      # numpy's own inf − inf, the case it answers NaN
                    want = float(np.quantile(a, q))
                got = _quantile(a.copy(), q)
                assert got == want or (np.isnan(got) and np.isnan(want)), (n, q, got, want)
                cases += 1
    assert cases == 10 * 4 * 9


def test_sorted_codes_number_strings_as_group_index_does():
    """Arrow's codes of a string column (chunked, with nulls, accents, a prefix of another value
    and upper before lower case) give the same groups in the same order as `group_index` over the
    Python strings, alone and combined with other keys."""
    rng = np.random.default_rng(3)
    values = ["b|x", "b", "B", "a", "é", "e", "zz", "z|chronic", None]
    a = [values[i] for i in rng.integers(0, len(values), 3000)]
    b = [values[i] for i in rng.integers(0, 4, 3000)]
    chunked = pa.chunked_array([a[:1000], a[1000:]], pa.string())
    objects = np.array(a, dtype=object)
    assert sorted_codes(chunked).tolist() == group_index(objects)[0].tolist()
    combined = group_index(sorted_codes(chunked), sorted_codes(pa.array(b, pa.string())))
    assert combined[0].tolist() == group_index(objects, np.array(b, dtype=object))[0].tolist()
    assert combined[1] == len(set(zip(a, b)))


def test_one_logit_normal_quadrature_gives_the_tail_and_the_moments_an_integral_gives():
    """`logitnormal_nodes` is the one Gauss–Hermite quadrature behind `logitnormal_binom_logsf`
    and pharmacy_collusion's pooled moments: checked against adaptive integration (scipy's quad)
    of the logit-normal density, and against the plain binomial when τ² = 0."""
    from scipy import integrate, stats

    from graph.pharmacy_collusion import _logitnormal_moments
    from graph.stats import logitnormal_binom_logsf, logitnormal_nodes

    chance = np.array([0.02, 0.3, 0.85])
    n = np.array([40.0, 12.0, 200.0])
    observed = np.array([5.0, 6.0, 190.0])
    p, w = logitnormal_nodes(chance, 0.6)
    assert p.shape == (3, 24) and w.shape == (24,) and w.sum() == pytest.approx(1.0)
    for c, k, o, mean, var, tail in zip(chance, n, observed, *_logitnormal_moments(n, chance, 0.6),
                                        logitnormal_binom_logsf(observed, n, chance, 0.6)):
        def expect(f):
            density = stats.norm(np.log(c / (1 - c)), np.sqrt(0.6)).pdf
            return integrate.quad(lambda z: f(1 / (1 + np.exp(-z))) * density(z), -40, 40, limit=200)[0]
        m1, m2 = expect(lambda q: q), expect(lambda q: q * q)
        assert mean == pytest.approx(k * m1, rel=1e-6)
        assert var == pytest.approx(k * (m1 - m2) + k * k * (m2 - m1 * m1), rel=1e-6)
        assert np.exp(tail) == pytest.approx(expect(lambda q: stats.binom.sf(o - 1, k, q)), rel=5e-3)   # 24 nodes
    # τ² = 0: the binomial itself
    mean, var = _logitnormal_moments(n, chance, 0.0)
    assert np.allclose(mean, n * chance) and np.allclose(var, n * chance * (1 - chance))
    assert np.allclose(logitnormal_binom_logsf(observed, n, chance, 0.0), stats.binom.logsf(observed - 1, n, chance))


def test_the_peers_design_effect_is_their_clustering_not_the_units_own():
    """An act whose honest providers' repeats come in one patient's episodes (7 repeats on one
    patient of 100): each unit's design effect is near its mean cluster size; an act whose
    providers' repeats are isolated (one patient's day each): 1 — even for a unit whose own 7
    repeats are all one patient's (its own clustering never excuses it)."""
    m = np.array([5] * 100 + [7])
    one = np.array([0] * 100 + [7])              # one patient's 7 days
    seven = np.array([1] * 7 + [0] * 94)         # 7 patients' one day each
    mom = {k: (m.sum(), 7, (x * x).sum(), (x * m).sum(), (m * m).sum()) for k, x in (("one", one), ("seven", seven))}
    episodes = np.array([mom["one"]] * 4).T
    d = peers_design_effect(*episodes, ["act"] * 4)
    size = (m * m).sum() / m.sum()
    assert np.allclose(d, d[0]) and 0.6 * size < d[0] <= size
    isolated = np.array([mom["seven"]] * 3 + [mom["one"]]).T
    assert peers_design_effect(*isolated, ["act"] * 4)[3] == 1.0
    # other acts' clustering is not the peers': the same units split over two acts
    assert peers_design_effect(*np.array([mom["one"], mom["seven"]]).T, ["a", "b"]).tolist() == [1.0, 1.0]
