"""The grid reference of :mod:`cevns_bayes.inference.grid`: weak-charge sign labels, the
``GridResult`` arithmetic on synthetic posteriors, the Laplace marginal against quadrature, and a
1-D posterior grid of ``xsec`` on the release data (docs/physics.md §7 band)."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from scipy import integrate, stats

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError
from cevns_bayes.inference.bayes import build_forward_model
from cevns_bayes.inference.grid import GridResult, LaplaceGrid, posterior_grid
from cevns_bayes.inference.modes import weak_charge_sign_label_points
from cevns_bayes.model.forward import COMPONENTS
from cevns_bayes.output import write_npz
from cevns_bayes.physics.cross_section import nucleon_couplings
from cevns_bayes.spec import load_spec

EE = ("eps_ee_u", "eps_ee_d")
EE_MUMU = ("eps_ee_u", "eps_mumu_u")


# --- 1. weak-charge sign labels -------------------------------------------------------------------
def _q_zero_point() -> np.ndarray:
    """(eps_ee_u, eps_ee_d) where Q_e = 0 for Cs and I (tree couplings): (-0.18191, 0.34095)."""
    gp, gn = nucleon_couplings(c.SIN2_THETA_W_LOW_Q2, "tree")
    eps_u = (gn - 2.0 * gp) / 3.0
    return np.array([eps_u, -gp - 2.0 * eps_u])


def test_q_zero_point_is_the_one_in_the_nsi_ee_spec_comment():
    np.testing.assert_allclose(_q_zero_point(), [-0.18191, 0.34095], atol=1e-5)


def test_sm_point_has_the_sm_sign():
    assert weak_charge_sign_label_points(EE, [[0.0, 0.0]]).tolist() == ["ee+"]
    assert weak_charge_sign_label_points(EE_MUMU, [[0.0, 0.0]]).tolist() == ["ee+,mumu+"]
    assert weak_charge_sign_label_points(EE, [[0.0, 0.0]], couplings="radiative")[0] == "ee+"


def test_point_reflection_of_the_sm_point_flips_the_sign():
    mirror = 2.0 * np.array([-0.18191, 0.34095]) - np.array([0.0, 0.0])
    assert weak_charge_sign_label_points(EE, mirror[None, :]).tolist() == ["ee-"]
    mirror = 2.0 * _q_zero_point()
    assert weak_charge_sign_label_points(EE, mirror[None, :]).tolist() == ["ee-"]


def test_large_u_quark_couplings_flip_their_flavor_only():
    # eps_u = 0.5: g_p + 2 eps_u = 1.02 on Z, g_n + eps_u = 0 on N -> Q < 0
    assert weak_charge_sign_label_points(EE, [[0.5, 0.0]]).tolist() == ["ee-"]
    labels = weak_charge_sign_label_points(EE_MUMU, [[0.0, 0.5], [0.5, 0.0], [0.5, 0.5]])
    assert labels.tolist() == ["ee+,mumu-", "ee-,mumu+", "ee-,mumu-"]
    # one coupling of a group is enough to name the group
    assert weak_charge_sign_label_points(("eps_mumu_d",), [[0.0], [0.5]]).tolist() == [
        "mumu+",
        "mumu-",
    ]


def test_labels_follow_the_sign_of_the_summed_weak_charge():
    """Along a line through the Q_e = 0 point the label flips exactly there."""
    c0 = _q_zero_point()
    t = np.array([-0.5, -0.01, 0.01, 0.5])
    pts = c0[None, :] + t[:, None] * (np.zeros(2) - c0)[None, :]
    assert weak_charge_sign_label_points(EE, pts).tolist() == ["ee-", "ee-", "ee+", "ee+"]


def test_labels_without_nsi_couplings_are_all():
    labels = weak_charge_sign_label_points(("sin2_theta_w",), [[0.0], [0.23], [1.0]])
    assert labels.tolist() == ["all", "all", "all"]
    assert weak_charge_sign_label_points(("sigma",), [[180.0]]).tolist() == ["all"]


def test_label_shapes():
    one = weak_charge_sign_label_points(EE, [0.0, 0.0])  # a single point as a 1-d row
    assert one.shape == (1,) and one[0] == "ee+"
    many = weak_charge_sign_label_points(EE, np.zeros((7, 2)))
    assert many.shape == (7,) and many.dtype == object
    assert weak_charge_sign_label_points(EE, np.zeros((0, 2))).shape == (0,)
    two = weak_charge_sign_label_points(EE_MUMU, np.zeros((3, 2)))
    assert two.shape == (3,)


@pytest.mark.parametrize("values", [np.zeros((4, 3)), np.zeros(3), np.zeros((2, 1))])
def test_wrong_number_of_columns_is_a_config_error(values):
    with pytest.raises(ConfigError, match="columns"):
        weak_charge_sign_label_points(EE, values)


def test_stacked_points_are_labelled_point_by_point():
    """Draws arrive as (chain, draw, poi): each point gets its own label, in that shape. At
    ε_ee^u = 0.5 the ν_e weak-charge sum (g_p + 2ε) Z + (g_n + ε) N of Cs changes sign."""
    x = np.array([[[0.0, 0.0], [0.5, 0.0]]])  # SM, then eps_ee_u = 0.5
    labels = weak_charge_sign_label_points(EE, x)
    assert labels.shape == (1, 2)
    assert labels.tolist() == [["ee+", "ee-"]]


# --- 2. GridResult arithmetic on synthetic posteriors ---------------------------------------------
def _grid_result(axes, log_post, labels, names) -> GridResult:
    shape = tuple(a.size for a in axes)
    return GridResult(
        poi_names=tuple(names),
        axes=[np.asarray(a, float) for a in axes],
        log_posterior=log_post,
        log_joint_max=log_post.copy(),
        log_like_max=log_post.copy(),
        nuisance_names=(),
        nuisance_best=np.zeros((*shape, 0)),
        labels=labels,
    )


def _cell_centres(lo: float, hi: float, n: int) -> np.ndarray:
    h = (hi - lo) / n
    return lo + h * (np.arange(n) + 0.5)


@pytest.fixture(scope="module")
def gaussian_1d():
    mu, sd = 1.3, 0.4
    x = _cell_centres(mu - 8 * sd, mu + 8 * sd, 3200)  # cells of sd / 200
    lp = -0.5 * ((x - mu) / sd) ** 2 + 17.0  # unnormalized
    return mu, sd, _grid_result([x], lp, np.full(x.size, "all", dtype=object), ["sigma"])


def test_grid_probabilities_and_marginal_are_normalized(gaussian_1d):
    _, _, g = gaussian_1d
    assert g.shape == (3200,)
    p = g.probabilities()
    assert p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(p >= 0)
    ax, dens = g.marginal("sigma")
    h = ax[1] - ax[0]
    assert np.sum(dens) * h == pytest.approx(1.0, abs=1e-12)
    assert np.sum(g.density()) * g.cell_volume() == pytest.approx(1.0, abs=1e-12)
    assert g.mode_masses() == {"all": pytest.approx(1.0)}


def test_grid_quantiles_match_the_normal_distribution(gaussian_1d):
    mu, sd, g = gaussian_1d
    probs = [0.005, 0.05, 0.16, 0.5, 0.84, 0.95, 0.995]
    np.testing.assert_allclose(
        g.quantiles("sigma", probs), stats.norm.ppf(probs, mu, sd), atol=0.01 * sd
    )


def test_grid_delta_chi2_is_the_profile_in_chi2_units(gaussian_1d):
    mu, sd, g = gaussian_1d
    d = g.delta_chi2()
    assert d.min() == 0.0
    x = g.axes[0]
    assert abs(x[np.argmin(d)] - mu) <= x[1] - x[0]
    np.testing.assert_allclose(d, ((x - mu) / sd) ** 2 - np.min(((x - mu) / sd) ** 2), atol=1e-9)
    assert np.interp(mu + sd, x, d) == pytest.approx(1.0, abs=1e-3)


def test_grid_ignores_cells_with_minus_infinite_log_posterior(gaussian_1d):
    mu, sd, g = gaussian_1d
    lp = g.log_posterior.copy()
    lp[: lp.size // 2] = -np.inf  # half of the cells failed
    half = dataclasses.replace(g, log_posterior=lp)
    p = half.probabilities()
    assert p.sum() == pytest.approx(1.0)
    assert np.all(p[: lp.size // 2] == 0)


def test_grid_two_dimensional_mode_masses_split_analytically():
    """Two labels split at eps = 0 (a cell edge): masses are the normal probabilities."""
    mx, sx, my, sy = 0.5, 1.0, -0.2, 0.3
    x = _cell_centres(-3.0, 3.0, 600)  # edges at multiples of 0.01, one of them at 0
    y = _cell_centres(-2.0, 2.0, 400)
    xx, yy = np.meshgrid(x, y, indexing="ij")
    lp = -0.5 * ((xx - mx) / sx) ** 2 - 0.5 * ((yy - my) / sy) ** 2
    labels = np.where(xx > 0, "ee+", "ee-").astype(object)
    g = _grid_result([x, y], lp, labels, ["eps_ee_u", "eps_ee_d"])
    box = stats.norm.cdf(3.0, mx, sx) - stats.norm.cdf(-3.0, mx, sx)
    minus = (stats.norm.cdf(0.0, mx, sx) - stats.norm.cdf(-3.0, mx, sx)) / box
    masses = g.mode_masses()
    assert set(masses) == {"ee+", "ee-"}
    assert masses["ee-"] == pytest.approx(minus, abs=1e-5)
    assert masses["ee+"] == pytest.approx(1.0 - minus, abs=1e-5)
    ax, dens = g.marginal("eps_ee_d")
    h = ax[1] - ax[0]
    assert np.sum(dens) * h == pytest.approx(1.0, abs=1e-12)
    assert np.sum(ax * dens) * h == pytest.approx(my, abs=1e-6)
    assert g.cell_volume() == pytest.approx(0.01 * 0.01)
    assert g.to_dict()["mode_masses"] == masses


def test_grid_result_saves_atomically(tmp_path, gaussian_1d):
    _, _, g = gaussian_1d
    write_npz(tmp_path / "grid.npz", g.arrays())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["grid.npz"]
    with np.load(tmp_path / "grid.npz") as f:
        np.testing.assert_array_equal(f["log_posterior"], g.log_posterior)
        np.testing.assert_array_equal(f["axis_0"], g.axes[0])
        assert f["poi_names"].tolist() == ["sigma"]


# --- 3. Laplace against quadrature, one nuisance --------------------------------------------------
@pytest.fixture(scope="module")
def xsec_spec():
    return load_spec("xsec")


@pytest.fixture(scope="module")
def xsec_model(xsec_spec):
    return build_forward_model(xsec_spec)


def test_laplace_marginal_matches_quadrature_with_one_nuisance(xsec_spec, xsec_model):
    """Only flux_norm free: ln ∫ L(σ, f) π(f) df by adaptive quadrature (likelihood from
    ForwardModel.evaluate and scipy's Poisson pmf) against LaplaceGrid.point."""
    prior = xsec_spec.nuisances["flux_norm"]
    spec = dataclasses.replace(xsec_spec, nuisances={"flux_norm": prior})
    assert spec.free_names == ("sigma", "flux_norm")
    model = xsec_model
    sigma_sm = model.evaluate()["sigma_sm_total_1e40cm2"]
    obs = model.observed

    def log_joint(sigma: float, f: float) -> float:
        ev = model.evaluate({"cevns_norm": sigma / sigma_sm, "flux_norm": f})
        expected = sum(ev[k] for k in COMPONENTS)
        return float(stats.poisson.logpmf(obs, expected).sum() + prior.logpdf(f))

    lap = LaplaceGrid(spec, model)
    assert lap.nuisance_names == ("flux_norm",)
    sigmas = (140.0, 170.0, 200.0)
    laplace, quad = [], []
    for s in sigmas:
        log_lap, _, _, theta, _ = lap.point(np.array([s]), lap.u0)
        f_best = float(theta[0])
        peak = log_joint(s, f_best)
        value, err = integrate.quad(
            lambda f, s=s, peak=peak: math.exp(log_joint(s, f) - peak),
            0.2,
            2.5,
            points=[f_best],
            epsabs=0.0,
            epsrel=1e-8,
            limit=200,
        )
        assert err < 1e-6 * value
        laplace.append(log_lap)
        quad.append(peak + math.log(value))
    laplace, quad = np.array(laplace), np.array(quad)
    np.testing.assert_allclose(laplace - laplace[0], quad - quad[0], atol=0.02)
    # the tails of the integrand are far below the peak at the integration limits
    assert log_joint(170.0, 0.2) - log_joint(170.0, 1.0) < -30
    assert log_joint(170.0, 2.5) - log_joint(170.0, 1.0) < -30


# --- 4. 1-D posterior grid of xsec on the release data --------------------------------------------
@pytest.fixture(scope="module")
def xsec_grid(xsec_spec, xsec_model):
    """41 cells over the flat prior [0, 600] (about 20 s)."""
    return posterior_grid(xsec_spec, xsec_model, 41)


def test_xsec_grid_median_in_the_published_band(xsec_grid):
    g = xsec_grid
    assert g.shape == (41,)
    assert g.poi_names == ("sigma",)
    assert g.nuisance_best.shape == (41, 9)
    assert np.all(np.isfinite(g.log_posterior))
    median = float(g.quantiles("sigma", [0.5])[0])
    assert 150.0 <= median <= 195.0  # docs/physics.md §7: best inside 150-195
    assert g.mode_masses() == {"all": pytest.approx(1.0)}


def test_xsec_grid_profile_minimum_is_the_joint_maximum(xsec_grid):
    g = xsec_grid
    ax = g.axes[0]
    step = ax[1] - ax[0]
    d = g.delta_chi2()
    assert d.min() == 0.0
    assert abs(ax[np.argmin(d)] - ax[np.argmax(g.log_joint_max)]) <= step
    assert 150.0 <= ax[np.argmin(d)] <= 195.0
    # the profile rises on both sides, by many chi2 units at the box edges
    assert d[0] > 25 and d[-1] > 25


def test_xsec_grid_laplace_term_is_smooth(xsec_spec, xsec_model):
    """On a fine axis (2.5e-40 cm² steps through the posterior bulk) the ½ ln det(2π H⁻¹)
    term, log_posterior − log_joint_max, should change by a few hundredths per cell."""
    g = posterior_grid(xsec_spec, xsec_model, axes=[np.linspace(120.0, 230.0, 45)])
    term = g.log_posterior - g.log_joint_max
    # smooth: its steps are small, and its curvature (second differences) smaller still; a
    # minimiser that stops on different local modes from cell to cell makes steps of 0.1-1
    step = np.abs(np.diff(term))
    assert np.max(step) < 0.05
    assert np.max(np.abs(np.diff(term, 2))) < 0.5 * max(np.max(step), 1e-3)


def test_grid_split_over_processes_matches_one_process():
    """Every cell is optimized from the prior centres of the nuisances, so two worker
    processes, each taking a block of rows, give exactly what one process gives."""
    spec = load_spec("nsi_ee")
    model = build_forward_model(spec)
    axes = [np.linspace(-0.3, 0.1, 4), np.linspace(0.2, 0.5, 3)]
    one = posterior_grid(spec, model, axes=axes, workers=1)
    two = posterior_grid(spec, model, axes=axes, workers=2)
    assert one.meta["workers"] == 1 and two.meta["workers"] == 2
    assert two.log_posterior.shape == (4, 3) and two.nuisance_best.shape == (4, 3, 9)
    np.testing.assert_array_equal(two.log_posterior, one.log_posterior)
    np.testing.assert_array_equal(two.nuisance_best, one.nuisance_best)
    np.testing.assert_array_equal(two.labels, one.labels)


def test_nsi_ee_grid_has_the_reflection_symmetry_of_the_likelihood():
    """The nsi_ee likelihood is exactly symmetric under the point reflection about the box
    centre (both couplings of ν_e to the proton and neutron vanish there), so the Laplace
    posterior must be too, cell by cell, over the whole box and with the grid split over two
    processes (a walk that carries one cell's optimum to the next broke this by up to 30 in
    ln p)."""
    spec = load_spec("nsi_ee")
    model = build_forward_model(spec)
    grid = posterior_grid(spec, model, 12, workers=2)  # even: no cell on the Q_e = 0 line
    lp = grid.log_posterior
    near = lp > lp.max() - 20.0
    np.testing.assert_allclose(lp[near], lp[::-1, ::-1][near], atol=1e-4)
    masses = grid.mode_masses()
    assert masses["ee+"] == pytest.approx(0.5, abs=1e-4)
