"""Detector response: smearing law, efficiencies, quenching interpolation."""

import math

import numpy as np
import pytest
from scipy import integrate, optimize

from cevns_bayes import detector
from cevns_bayes.io import load_release


@pytest.fixture(scope="module")
def release():
    return load_release()


@pytest.mark.parametrize("mu", [2.0, 8.0, 20.0, 50.0])
def test_smearing_preserves_mean_pe_and_has_gamma_variance(mu):
    edges = np.linspace(0.0, 400.0, 40001)
    p = detector.smearing_matrix(np.array([mu]), edges)[0]
    centres = 0.5 * (edges[1:] + edges[:-1])
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    mean = np.sum(centres * p)
    assert mean == pytest.approx(mu, rel=1e-4)
    var = np.sum((centres - mean) ** 2 * p)
    assert var == pytest.approx(mu**2 / (1.0 + 0.716 * mu), rel=1e-3)


def test_smearing_matrix_integrates_the_paper_density():
    mu = 12.0
    edges = np.array([0.0, 5.0, 10.0, 15.0, 30.0])
    probs = detector.smearing_matrix(np.array([mu]), edges)[0]
    # the paper's gamma law written out: shape k = 1 + 0.716 mu, rate k / mu
    k = 1.0 + 0.716 * mu
    rate = k / mu

    def density(x):
        return math.exp(k * math.log(rate) - math.lgamma(k) + (k - 1) * math.log(x) - rate * x)

    direct = [integrate.quad(density, a, b)[0] for a, b in zip(edges[:-1], edges[1:])]
    assert probs == pytest.approx(direct, rel=1e-7)
    x = np.array([-1.0, 0.0, 7.5])
    assert detector.smearing_pdf(x, mu) == pytest.approx([0.0, 0.0, density(7.5)], rel=1e-10)


def test_zero_light_goes_to_the_zero_bin():
    p = detector.smearing_matrix(np.array([0.0]), np.array([0.0, 1.0, 2.0]))[0]
    assert list(p) == [1.0, 0.0]


def test_energy_efficiency_is_clipped_at_zero_and_rises(release):
    eff = release.efficiency.nominal
    x = np.linspace(0.0, 60.0, 601)
    e = detector.energy_efficiency(x, eff)
    # the release's nominal logistic (a, b, c, d) = (1.32045, 0.285979, 10.8646, -0.333322), by
    # hand: eps_E(20 PE) = a / (1 + exp(-b (20 - c))) + d = 0.89688, eps_E(0) < 0 -> 0, and the
    # turn-on at c - ln(a / -d - 1) / b = 7.068 PE
    assert eff == pytest.approx([1.32045, 0.285979, 10.8646, -0.333322])
    assert detector.energy_efficiency(np.array([20.0]), eff)[0] == pytest.approx(0.89688, abs=2e-5)
    assert e[0] == 0.0
    assert np.all(e >= 0.0) and np.all(np.diff(e) >= 0)
    x0 = 10.8646 - math.log(1.32045 / 0.333322 - 1.0) / 0.285979
    assert x0 == pytest.approx(7.068, abs=1e-3)
    assert np.all(e[x < x0 - 1e-9] == 0.0) and np.all(e[x > x0 + 1e-9] > 0.0)


def test_efficiency_pca_moves_the_threshold_by_about_one_pe(release):
    ec = release.efficiency
    x = np.linspace(0.0, 60.0, 60001)

    def half_point(coeffs):
        e = detector.energy_efficiency(x, coeffs)
        return x[np.argmax(e >= 0.5 * e[-1])]

    nominal = half_point(ec.nominal)
    plus = half_point(detector.interpolate_coefficients(ec.nominal, ec.plus, ec.minus, 1.0))
    minus = half_point(detector.interpolate_coefficients(ec.nominal, ec.plus, ec.minus, -1.0))
    assert 0.6 < nominal - plus < 1.4 and 0.6 < minus - nominal < 1.4


def _quadrature_mean(coeffs, a, b):
    """Mean of max(r, 0) over [a, b] by adaptive quadrature, split at r's zero crossing."""
    x = np.linspace(a, b, 2001)
    r = detector.logistic_efficiency(x, coeffs)

    def raw(t):
        return float(detector.logistic_efficiency(np.array([t]), coeffs)[0])

    def clipped(t):
        return max(raw(t), 0.0)

    # the kink, located numerically (brentq on the sign change), as a quadrature break point
    points = [
        optimize.brentq(raw, x[i], x[i + 1], xtol=1e-15)
        for i in np.flatnonzero(np.diff(np.sign(r)) != 0)
    ]

    value = integrate.quad(clipped, a, b, points=points or None, epsabs=1e-15, epsrel=1e-13)[0]
    return value / (b - a)


# sub-bins of every width the forward model uses, several holding a zero crossing (x₀ runs from
# 9.35 PE at eff_pca = −3 to 4.65 PE at +3; 7.07 PE at 0)
EFFICIENCY_EDGES = np.array(
    [0.0, 4.0, 4.6, 4.7, 6.0, 7.0, 7.05, 7.1, 7.5, 8.0, 9.3, 9.4, 12.0, 60.0]
)


@pytest.mark.parametrize("theta", [-3.5, -3.0, -1.0, -0.552, 0.0, 0.717, 3.0, 3.5])
def test_subbin_mean_efficiency_is_the_exact_mean_of_the_clipped_curve(release, theta):
    ec = release.efficiency
    coeffs = detector.interpolate_coefficients(ec.nominal, ec.plus, ec.minus, theta)
    ours = detector.subbin_average_efficiency(EFFICIENCY_EDGES, coeffs)
    ref = [
        _quadrature_mean(coeffs, a, b) for a, b in zip(EFFICIENCY_EDGES[:-1], EFFICIENCY_EDGES[1:])
    ]
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13)
    x0 = float(detector.efficiency_zero_pe(coeffs))
    assert float(detector.logistic_efficiency(np.array([x0]), coeffs)[0]) == pytest.approx(
        0.0, abs=1e-12
    )


@pytest.mark.parametrize(
    "coeffs",
    [
        (1.3, 0.29, 10.9, 0.05),  # d ≥ 0: positive everywhere, no zero
        (1.3, 0.29, 10.9, 0.0),
        (0.3, 0.29, 10.9, -0.3),  # a + d ≤ 0: never above 0
        (0.3, 0.29, 10.9, -0.5),
    ],
)
def test_subbin_mean_efficiency_without_a_zero_crossing(coeffs):
    ours = detector.subbin_average_efficiency(EFFICIENCY_EDGES, np.array(coeffs))
    ref = [
        _quadrature_mean(coeffs, a, b) for a, b in zip(EFFICIENCY_EDGES[:-1], EFFICIENCY_EDGES[1:])
    ]
    np.testing.assert_allclose(ours, ref, rtol=1e-10, atol=1e-13)
    assert np.all(np.isfinite(ours))


def test_subbin_mean_efficiency_has_a_continuous_derivative_across_the_turn_on(release):
    """The pytensor graph of the sub-bin means and its derivative in eff_pca, where the zero
    crossing passes a sub-bin edge (7.0 PE, at eff_pca ≈ 0.09): the derivative agrees with
    finite differences of the quadrature means on either side and is continuous across."""
    import pytensor
    import pytensor.tensor as pt

    ec = release.efficiency
    sets = (ec.nominal, ec.plus, ec.minus)
    theta = pt.dscalar("theta")
    means = detector.subbin_average_efficiency(
        EFFICIENCY_EDGES, detector.interpolate_coefficients(*sets, theta, xp=pt), xp=pt
    )
    fn = pytensor.function([theta], [means, pytensor.gradient.jacobian(means, theta)])

    def x0(t):
        return float(detector.efficiency_zero_pe(detector.interpolate_coefficients(*sets, t)))

    crossing = optimize.brentq(lambda t: x0(t) - 7.0, 0.0, 0.5, xtol=1e-14)
    j = int(np.searchsorted(EFFICIENCY_EDGES, 7.0))  # the sub-bins [6, 7] and [7, 7.05]
    for delta in (1e-3, 1e-5):
        lo, hi = fn(crossing - delta)[1], fn(crossing + delta)[1]
        # the derivative moves by O(delta) across (a corner would make it jump by O(1))
        assert np.max(np.abs(hi - lo)) < 50.0 * delta
    for t in (crossing - 1e-3, crossing + 1e-3, 0.717, -1.0):
        value, grad = fn(t)
        h = 1e-5
        for k in (j - 1, j, j + 1):
            a, b = EFFICIENCY_EDGES[k - 1], EFFICIENCY_EDGES[k]
            up = _quadrature_mean(detector.interpolate_coefficients(*sets, t + h), a, b)
            down = _quadrature_mean(detector.interpolate_coefficients(*sets, t - h), a, b)
            assert grad[k - 1] == pytest.approx((up - down) / (2 * h), rel=1e-5, abs=1e-9)


@pytest.mark.parametrize("mu", [0.3, 5.0, 20.0])
def test_smearing_first_moment_integrates_the_paper_density(mu):
    edges = np.array([0.0, 0.5, 3.0, 4.65, 7.0, 8.0, 12.0, 24.0, 60.0])
    ours = detector.smearing_first_moment(np.array([mu]), edges)[0]
    ref = [
        integrate.quad(
            lambda x, m=0.5 * (a + b): (x - m) * detector.smearing_pdf(x, mu), a, b, epsabs=1e-15
        )[0]
        for a, b in zip(edges[:-1], edges[1:])
    ]
    np.testing.assert_allclose(ours, ref, rtol=1e-8, atol=1e-14)
    zero = detector.smearing_first_moment(np.array([0.0]), edges)[0]
    assert zero[0] == pytest.approx(-0.25) and np.all(zero[1:] == 0.0)


def test_time_efficiency():
    t = np.array([0.0, 0.519, 0.52, 1.52, 6.0])
    e = detector.time_efficiency(t)
    assert e[0] == e[1] == e[2] == 1.0
    assert e[3] == pytest.approx(np.exp(-0.0494))
    assert e[4] == pytest.approx(np.exp(-0.0494 * 5.48))


def test_quenching_interpolation_is_exact_at_one_sigma(release):
    qc = release.quenching
    for plus, minus in qc.modes:
        up = detector.interpolate_coefficients(qc.nominal, plus, minus, 1.0)
        down = detector.interpolate_coefficients(qc.nominal, plus, minus, -1.0)
        assert up == pytest.approx(plus, rel=1e-12)
        assert down == pytest.approx(minus, rel=1e-12)
        assert detector.interpolate_coefficients(qc.nominal, plus, minus, 0.0) == pytest.approx(
            qc.nominal
        )


def test_quenching_factor_is_a_few_percent_and_light_is_monotonic(release):
    t = np.linspace(1e-3, 0.045, 200)  # 1-45 keVnr, the CEvNS range
    eee = detector.quenched_energy_mevee(t, release.quenching.nominal)
    qf = eee / t
    assert np.all((qf > 0.04) & (qf < 0.12))
    assert np.all(np.diff(detector.mean_pe(t, release.quenching.nominal)) > 0)
    # by hand at 10 keVnr with the release's nominal coefficients (5.54628e-2, 4.30681,
    # -111.707, 840.384; x in MeVnr): QF = a + b x + c x^2 + d x^3 = 0.0882006, and
    # 13.35 PE/keVee x 0.882006 keVee = 11.7748 PE
    assert release.quenching.nominal == pytest.approx([5.54628e-2, 4.30681, -111.707, 840.384])
    qf10 = 5.54628e-2 + 4.30681 * 0.01 - 111.707 * 0.01**2 + 840.384 * 0.01**3
    assert qf10 == pytest.approx(0.0882006, rel=1e-6)
    nom = release.quenching.nominal
    assert detector.quenched_energy_mevee(0.010, nom) == pytest.approx(0.010 * qf10, rel=1e-12)
    assert detector.mean_pe(0.010, nom) == pytest.approx(11.7748, rel=1e-5)
