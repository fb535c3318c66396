"""The PyMC model and NUTS sampling of :mod:`cevns_bayes.inference.bayes`.

Covers the model built from every shipped spec (variables, coordinates, Deterministics), its
wiring against numbers computed without PyMC (``ForwardModel.evaluate``, ``scipy.stats``
log densities), the reflection folding of the NSI specs, ``interval_summary`` on a normal
sample, recovery of an injected cross section on simulated data (compared with the Laplace
grid of :mod:`cevns_bayes.inference.grid`: an expected failure, see its reason) and a smoke run
of the NSI folding on the real data (about 50-60 s, the most expensive test here).

Slow (``make test-slow``): recovery of injected truths for ``weak_mixing`` and ``flavored``
and a simulation-based calibration of ``xsec``.
"""

from __future__ import annotations

import numpy as np
import pytensor.tensor as pt
import pytest
from scipy import stats

from cevns_bayes import constants as c
from cevns_bayes.inference.bayes import (
    build_forward_model,
    build_pymc_model,
    interval_summary,
    reflection_group,
    sample,
    start_points,
    summarize,
)
from cevns_bayes.inference.grid import posterior_grid
from cevns_bayes.model.forward import COMPONENTS
from cevns_bayes.model.parameters import get_parameter
from cevns_bayes.physics.cross_section import nucleon_couplings
from cevns_bayes.physics.flux import FIT_FLAVORS
from cevns_bayes.spec import Prior, list_specs, load_spec

SPECS = (
    "xsec",
    "weak_mixing",
    "flavored",
    "flavored_giunti",
    "nsi_ee",
    "nsi_ee_mumu",
    # beyond the SM (cevns_bayes/physics/bsm.py)
    "light_vector",
    "light_vector_bl",
    "light_scalar",
    "magnetic_moment",
    "magnetic_moment_universal",
    "charge_radius",
    # the neutron radius as a POI
    "neutron_radius",
    "neutron_radius_cs_i",
    "weak_mixing_neutron_radius",
    # sterile 3+1 slices in Δm² (cevns_bayes/physics/sterile.py)
    "sterile",
    "sterile_mumu",
)
FOLDED = ("nsi_ee", "nsi_ee_mumu", "charge_radius")
#: Deterministics of an unfolded model (exactly these) and of a folded one (at least these)
PLAIN_DETERMINISTICS = {"counts", "cevns_count", "sigma_1e40cm2"}
FOLDED_DETERMINISTICS = {"image_loglike", "counts_by_image"}


# --- fixtures and helpers -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def specs():
    return {name: load_spec(name) for name in SPECS}


@pytest.fixture(scope="module")
def forward(specs):
    """Forward model of a spec; specs with the same binning, model options and physics models
    share one."""
    cache = {}

    def get(spec):
        key = (
            tuple(spec.binning.pe_edges),
            tuple(spec.binning.t_edges_us),
            tuple(sorted(spec.model.items())),
            spec.physics_models,
        )
        if key not in cache:
            cache[key] = build_forward_model(spec)
        return cache[key]

    return get


@pytest.fixture(scope="module")
def xsec_model(specs, forward):
    return forward(specs["xsec"])


@pytest.fixture(scope="module")
def xsec_pymc(specs, xsec_model):
    return build_pymc_model(specs["xsec"], xsec_model)


def _nominal(spec) -> dict[str, float]:
    """Registry nominal value of every nuisance of ``spec``."""
    return {name: get_parameter(name).nominal for name in spec.nuisances}


def _value_point(pm_model, values) -> dict[str, np.ndarray]:
    """The model's value-variable point (transformed space) for constrained ``values``."""
    point = {}
    for rv in pm_model.free_RVs:
        transform = pm_model.rvs_to_transforms[rv]
        x = pt.as_tensor_variable(np.float64(values[rv.name]))
        if transform is not None:
            x = transform.forward(x, *rv.owner.inputs)
        point[pm_model.rvs_to_values[rv].name] = np.asarray(x.eval(), float)
    return point


def _compile_deterministic(pm_model, name: str):
    """A function of a value-variable point returning the Deterministic ``name``."""
    (graph,) = pm_model.replace_rvs_by_values([pm_model[name]])
    return pm_model.compile_fn(graph, inputs=pm_model.value_vars, on_unused_input="ignore")


def _expected(evaluated: dict) -> np.ndarray:
    return sum(evaluated[k] for k in COMPONENTS)


def _sigma_sm(model, values) -> float:
    """SM flux-averaged cross section (1e-40 cm²) at the R_n in ``values``."""
    r_n = {"r_n_scale": values["r_n_scale"]} if "r_n_scale" in values else {}
    return model.evaluate(r_n)["sigma_sm_total_1e40cm2"]


def _simulate(model, values, rng) -> np.ndarray:
    """Poisson pseudo-data at forward-model parameter ``values``."""
    return rng.poisson(_expected(model.evaluate(values))).astype(float)


def _independent_logp(spec, model, values) -> float:
    """ln p(data, θ) from ForwardModel.evaluate, scipy's Poisson pmf and the spec priors."""
    forward_values = {k: v for k, v in values.items() if k != "sigma"}
    forward_values["cevns_norm"] = values["sigma"] / _sigma_sm(model, values)
    expected = _expected(model.evaluate(forward_values))
    log_like = stats.poisson.logpmf(model.observed, expected).sum()
    log_prior = sum(float(spec.prior(name).logpdf(values[name])) for name in spec.free_names)
    return float(log_like + log_prior)


# --- 1. model building, every shipped spec --------------------------------------------------------
@pytest.mark.parametrize("name", SPECS)
def test_pymc_model_variables_and_coords(specs, forward, name):
    spec = specs[name]
    pm_model = build_pymc_model(spec, forward(spec))
    assert [rv.name for rv in pm_model.free_RVs] == list(spec.pois) + list(spec.nuisances)
    assert len(pm_model.coords["pe_bin"]) == 9
    assert len(pm_model.coords["t_bin"]) == 11
    assert list(pm_model.coords["component"]) == list(COMPONENTS)
    assert list(pm_model.coords["flavor"]) == list(FIT_FLAVORS)
    assert len(pm_model.coords["flavor"]) == 3
    names = {d.name for d in pm_model.deterministics}
    dims = pm_model.named_vars_to_dims
    if name in FOLDED:
        assert FOLDED_DETERMINISTICS <= names
        assert "counts" not in names  # added to the posterior only when the draws are unfolded
        n_images = reflection_group(spec).n_images
        assert len(pm_model.coords["image"]) == n_images
        assert dims["image_loglike"] == ("image",)
        assert dims["counts_by_image"] == ("image", "component")
        assert [p.name for p in pm_model.potentials] == ["folded_loglike"]
        assert pm_model.observed_RVs == []
    else:
        assert names == PLAIN_DETERMINISTICS
        assert "image" not in pm_model.coords
        assert dims["counts"] == ("component",)
        assert [rv.name for rv in pm_model.observed_RVs] == ["observed"]
        assert dims["observed"] == ("pe_bin", "t_bin")


# --- 2. wiring against independent numbers --------------------------------------------------------
def test_counts_at_sm_cross_section_equal_forward_model(specs, xsec_model, xsec_pymc):
    spec = specs["xsec"]
    nominal = xsec_model.evaluate()
    values = {"sigma": nominal["sigma_sm_total_1e40cm2"], **_nominal(spec)}
    counts = _compile_deterministic(xsec_pymc, "counts")(_value_point(xsec_pymc, values))
    expected = np.array([nominal[k].sum() for k in COMPONENTS])
    np.testing.assert_allclose(counts, expected, rtol=1e-9)
    cevns = _compile_deterministic(xsec_pymc, "cevns_count")(_value_point(xsec_pymc, values))
    assert float(cevns) == pytest.approx(nominal["cevns"].sum(), rel=1e-9)


def test_logp_at_sm_cross_section_equals_independent_sum(specs, xsec_model, xsec_pymc):
    spec = specs["xsec"]
    values = {"sigma": xsec_model.evaluate()["sigma_sm_total_1e40cm2"], **_nominal(spec)}
    logp = xsec_pymc.compile_logp(jacobian=False)(_value_point(xsec_pymc, values))
    assert float(logp) == pytest.approx(_independent_logp(spec, xsec_model, values), rel=1e-9)


def test_counts_and_logp_at_a_non_nominal_point(specs, xsec_model, xsec_pymc):
    """sigma enters as cevns_norm = sigma / <sigma>_SM(R_n): R_n moves the SM reference."""
    spec = specs["xsec"]
    values = {
        **_nominal(spec),
        "sigma": 150.0,
        "flux_norm": 1.1,
        "quench_pca0": 0.5,
        "timing_offset_us": 0.1,
        "r_n_scale": 1.03,
    }
    sigma_sm = _sigma_sm(xsec_model, values)
    assert sigma_sm != pytest.approx(xsec_model.evaluate()["sigma_sm_total_1e40cm2"], rel=1e-3)
    forward_values = {k: v for k, v in values.items() if k != "sigma"}
    forward_values["cevns_norm"] = 150.0 / sigma_sm
    ref = xsec_model.evaluate(forward_values)
    point = _value_point(xsec_pymc, values)
    counts = _compile_deterministic(xsec_pymc, "counts")(point)
    np.testing.assert_allclose(counts, [ref[k].sum() for k in COMPONENTS], rtol=1e-9)
    logp = xsec_pymc.compile_logp(jacobian=False)(point)
    assert float(logp) == pytest.approx(_independent_logp(spec, xsec_model, values), rel=1e-9)
    sigma = _compile_deterministic(xsec_pymc, "sigma_1e40cm2")(point)
    assert float(sigma) == pytest.approx(150.0, rel=1e-12)


# --- 3. folding -----------------------------------------------------------------------------------
def _q_zero_point() -> tuple[float, float]:
    """(eps_ee_u, eps_ee_d) where Q_e vanishes for Cs and I at every q (tree couplings)."""
    gp, gn = nucleon_couplings(c.SIN2_THETA_W_LOW_Q2, "tree")
    # g_p + 2 eps_u + eps_d = 0 and g_n + eps_u + 2 eps_d = 0
    eps_u = (gn - 2.0 * gp) / 3.0
    return eps_u, -gp - 2.0 * eps_u


def _image_outputs(spec, model, name: str, n_points: int, seed: int) -> np.ndarray:
    """A Deterministic of the folded model at random points (POIs uniform in the box,
    nuisances from their priors); shape (n_points, n_images, ...)."""
    pm_model = build_pymc_model(spec, model)
    fn = _compile_deterministic(pm_model, name)
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_points):
        values = {n: float(p.prior.sample(rng)) for n, p in spec.pois.items()}
        values.update({n: float(p.sample(rng)) for n, p in spec.nuisances.items()})
        out.append(fn(_value_point(pm_model, values)))
    return np.array(out)


def _nsi_ee_centred_on_q_zero(spec):
    """nsi_ee with its box (same width) centred exactly on the Q_e = 0 point."""
    eps_u, eps_d = _q_zero_point()
    spec = spec.replace_prior("eps_ee_u", Prior("flat", lower=eps_u - 1.0, upper=eps_u + 1.0))
    return spec.replace_prior("eps_ee_d", Prior("flat", lower=eps_d - 1.0, upper=eps_d + 1.0))


def test_point_reflection_is_exact_about_the_q_zero_point(specs, forward):
    """The folding machinery: with the box centred on Q_e = 0 the images are exact mirrors."""
    spec = _nsi_ee_centred_on_q_zero(specs["nsi_ee"])
    ll = _image_outputs(spec, forward(spec), "image_loglike", 6, seed=11)
    assert ll.shape == (6, 2)
    np.testing.assert_allclose(ll[:, 1], ll[:, 0], rtol=1e-9)


def test_point_reflection_is_exact_for_the_shipped_nsi_ee_box(specs, forward):
    spec = specs["nsi_ee"]
    ll = _image_outputs(spec, forward(spec), "image_loglike", 6, seed=11)
    np.testing.assert_allclose(ll[:, 1], ll[:, 0], rtol=1e-9)


def test_axis_reflection_images_are_close_but_not_equal(specs, forward):
    """eps_mumu_u and eps_ee_u about 0.2: Q -> -Q only up to the Cs/I and F_p != F_n terms."""
    spec = specs["nsi_ee_mumu"]
    model = forward(spec)
    ll = _image_outputs(spec, model, "image_loglike", 6, seed=12)
    counts = _image_outputs(spec, model, "counts_by_image", 6, seed=12)
    assert ll.shape == (6, 4)
    assert np.all(np.ptp(ll, axis=1) > 1e-2)  # not a symmetry
    cevns = counts[:, :, 3:].sum(axis=2)  # CEvNS counts per point and image
    ratio = cevns / cevns.mean(axis=1, keepdims=True)
    assert np.all(np.abs(ratio - 1.0) < 0.25)  # but an approximate one
    backgrounds = counts[:, :, :3]
    np.testing.assert_allclose(backgrounds, np.broadcast_to(backgrounds[:, :1], backgrounds.shape))


@pytest.mark.parametrize("name, n_images", [("nsi_ee", 2), ("nsi_ee_mumu", 4)])
def test_reflection_group_maps_the_box_onto_itself(specs, name, n_images):
    spec = specs[name]
    group = reflection_group(spec)
    assert group.n_images == n_images
    assert group.poi_names == tuple(spec.pois)
    lo = np.array([p.prior.lower for p in spec.pois.values()])
    hi = np.array([p.prior.upper for p in spec.pois.values()])
    corners = np.array(np.meshgrid(*zip(lo, hi), indexing="ij")).reshape(len(lo), -1).T
    rng = np.random.default_rng(3)
    inside = lo + (hi - lo) * rng.random((200, len(lo)))
    images = set()
    for k in range(group.n_images):
        mapped = group.apply(k, corners)
        # the corners go to corners, so the box goes onto itself
        assert {tuple(np.round(r, 12)) for r in mapped} == {tuple(np.round(r, 12)) for r in corners}
        y = group.apply(k, inside)
        assert np.all((y >= lo - 1e-12) & (y <= hi + 1e-12))
        np.testing.assert_allclose(group.apply(k, y), inside, rtol=0, atol=1e-12)
        # tensors (lists of scalars) take the same map as arrays
        as_list = group.apply(k, [float(v) for v in inside[0]])
        np.testing.assert_allclose(np.array(as_list, float), y[0], atol=1e-12)
        images.add(tuple(np.round(y[0], 12)))
    assert len(images) == n_images  # distinct maps
    np.testing.assert_array_equal(group.apply(0, inside), inside)  # the identity comes first


def test_unfolded_specs_have_no_reflection_group(specs):
    for name in SPECS:
        if name not in FOLDED:
            assert reflection_group(specs[name]) is None


# --- 4. interval_summary --------------------------------------------------------------------------
def test_interval_summary_of_a_normal_sample():
    mu, sd, n = 3.0, 2.0, 400_000
    x = np.random.default_rng(2024).normal(mu, sd, n)
    s = interval_summary(x)
    assert set(s) == {"mean", "median", "sd", "hdi_68", "hdi_90", "eti_68", "eti_90"}
    # standard errors: mean and sd 0.0016 sd, median 0.002 sd, the 5%/95% quantiles 0.0034 sd
    tol = 0.01 * sd
    assert s["mean"] == pytest.approx(mu, abs=tol)
    assert s["median"] == pytest.approx(mu, abs=tol)
    assert s["sd"] == pytest.approx(sd, abs=tol)
    z68, z90 = stats.norm.ppf(0.84), stats.norm.ppf(0.95)
    for key, z in (("eti_68", z68), ("eti_90", z90)):
        lo, hi = s[key]
        assert lo == pytest.approx(mu - z * sd, abs=tol), key
        assert hi == pytest.approx(mu + z * sd, abs=tol), key
    # the shortest interval's width is sharp, but where it sits is not: the width barely
    # changes as the interval slides, so its ends scatter ~ n^(-1/3) (here ~0.02-0.03 sd)
    for key, z in (("hdi_68", z68), ("hdi_90", z90)):
        lo, hi = s[key]
        assert hi - lo == pytest.approx(2 * z * sd, abs=1.5 * tol), key
        assert lo == pytest.approx(mu - z * sd, abs=0.08 * sd), key
        assert hi == pytest.approx(mu + z * sd, abs=0.08 * sd), key
    assert z68 == pytest.approx(0.994, abs=1e-3) and z90 == pytest.approx(1.645, abs=1e-3)


def test_interval_summary_hdi_is_shorter_than_eti_for_a_skewed_sample():
    x = np.random.default_rng(7).lognormal(0.0, 0.8, 200_000)
    s = interval_summary(x)
    for prob in ("68", "90"):
        hdi, eti = s[f"hdi_{prob}"], s[f"eti_{prob}"]
        assert hdi[1] - hdi[0] < eti[1] - eti[0]
        assert hdi[0] < eti[0]  # the HDI moves toward the mode
    assert s["median"] == pytest.approx(1.0, rel=0.01)


# --- 5. recovery of an injected cross section on simulated data -----------------------------------
@pytest.fixture(scope="module")
def xsec_recovery(specs, xsec_model):
    """NUTS (2 x 300 draws) and a 1-D grid on Poisson data at sigma = 0.8 sigma_SM."""
    spec = specs["xsec"]
    truth = 0.8 * xsec_model.evaluate()["sigma_sm_total_1e40cm2"]
    observed = _simulate(xsec_model, {"cevns_norm": 0.8}, np.random.default_rng(20240501))
    result = sample(
        spec,
        xsec_model,
        observed=observed,
        chains=2,
        draws=300,
        tune=300,
        seed=1234,
        cores=2,
        progressbar=False,
    )
    # the axis spans 0.25-2.25 x the truth, wide enough for the skewed tail of the posterior
    axis = np.linspace(0.25 * truth, 2.25 * truth, 100)
    grid = posterior_grid(spec, xsec_model, observed=observed, axes=[axis])
    return {"truth": truth, "observed": observed, "result": result, "grid": grid}


def test_xsec_recovers_the_injected_cross_section(specs, xsec_recovery):
    spec = specs["xsec"]
    result = xsec_recovery["result"]
    sigma = result.idata.posterior["sigma"].values
    assert sigma.shape == (2, 300)
    lo, hi = np.quantile(sigma, [0.005, 0.995])
    assert lo < xsec_recovery["truth"] < hi
    doc = summarize(result, spec)
    assert doc["diagnostics"]["r_hat_max"] <= 1.05
    assert doc["diagnostics"]["divergences"] == 0


def test_xsec_posterior_mean_agrees_with_the_laplace_grid(xsec_recovery):
    sigma = xsec_recovery["result"].idata.posterior["sigma"].values.ravel()
    grid = xsec_recovery["grid"]
    p = grid.probabilities()
    axis = grid.axes[0]
    grid_mean = float(np.sum(p * axis))
    grid_sd = float(np.sqrt(np.sum(p * (axis - grid_mean) ** 2)))
    assert p[0] < 1e-4 and p[-1] < 1e-4  # the axis holds the whole posterior
    assert abs(sigma.mean() - grid_mean) < 0.25 * sigma.std()
    assert sigma.std() == pytest.approx(grid_sd, rel=0.2)


def test_sample_returns_the_standard_groups(xsec_recovery):
    idata = xsec_recovery["result"].idata
    for group in ("posterior", "sample_stats", "prior", "posterior_predictive", "observed_data"):
        assert group in idata.groups(), group
    np.testing.assert_array_equal(idata.observed_data["observed"].values, xsec_recovery["observed"])
    assert idata.posterior["counts"].dims == ("chain", "draw", "component")
    assert idata.posterior_predictive["observed"].shape == (2, 300, 9, 11)


def test_summary_reports_the_tuning_steps_that_ran(specs, xsec_recovery):
    doc = summarize(xsec_recovery["result"], specs["xsec"])
    assert doc["diagnostics"]["tune"] == 300


# --- 6. NSI folding smoke run on the real data ----------------------------------------------------
def test_nsi_ee_folded_sampling_smoke(specs, forward):
    """2 x 100 draws (150 tune) of nsi_ee on the release data: both bands are reported."""
    spec = specs["nsi_ee"]
    result = sample(
        spec,
        forward(spec),
        chains=2,
        draws=100,
        tune=150,
        seed=5,
        cores=2,
        progressbar=False,
        prior_draws=100,
    )
    post = result.idata.posterior
    for name in spec.pois:
        assert post[name].shape == (2, 100)
        assert f"{name}_folded" in post
    assert "eps_ee_u_folded" in post
    # the unfolded draws land in both bands, the folded (canonical) ones in the SM-sign band
    doc = summarize(result, spec, tune=150)
    assert {"ee+", "ee-"} <= set(doc["mode_masses"])
    assert sum(doc["mode_masses"].values()) == pytest.approx(1.0)
    # nsi_ee's likelihood is exactly symmetric under the reflection (tests/test_grid.py), so each
    # draw is unfolded into either band with probability 1/2, independently of the chain: the
    # masses of 200 draws scatter around 0.5 with sd 0.035; 4 sd
    assert doc["mode_masses"]["ee+"] == pytest.approx(0.5, abs=0.14)
    assert doc["diagnostics"]["variables"][:2] == ["eps_ee_u_folded", "eps_ee_d_folded"]
    lo = np.array([p.prior.lower for p in spec.pois.values()])
    hi = np.array([p.prior.upper for p in spec.pois.values()])
    unfolded = np.stack([post[n].values.ravel() for n in spec.pois], axis=-1)
    assert np.all((unfolded >= lo) & (unfolded <= hi))
    assert set(np.unique(post["image"].values)) <= {0, 1}
    assert "counts" in post and "cevns_count" in post and "sigma_1e40cm2" in post
    assert "posterior_predictive" in result.idata.groups()


# --- 7. slow: recovery for weak_mixing / flavored, simulation-based calibration -------------------
def _recovery(spec, model, truths: dict[str, float], seed: int):
    observed = _simulate(model, truths, np.random.default_rng(seed))
    result = sample(
        spec,
        model,
        observed=observed,
        chains=4,
        draws=500,
        tune=500,
        seed=seed,
        cores=2,
        progressbar=False,
        prior_draws=50,
        posterior_predictive=False,
    )
    doc = summarize(result, spec, tune=500)
    assert doc["diagnostics"]["r_hat_max"] <= 1.03
    assert doc["diagnostics"]["divergences"] == 0
    for name, truth in truths.items():
        # stated level: a calibrated posterior puts the truth beyond 3.29 sd in 0.1% of data
        # sets (per parameter); and the data must inform it: a posterior as wide as the flat
        # prior would "recover" any truth (the weakest POI, scale_e, known at ~1.4σ, has a
        # posterior sd of about 0.6 of the prior's)
        draws = result.idata.posterior[name].values
        z = (draws.mean() - truth) / draws.std()
        assert abs(z) < 3.29, (name, truth, float(draws.mean()), float(draws.std()))
        assert draws.std() < 0.8 * spec.pois[name].prior.width, name
    return result


@pytest.mark.slow
def test_weak_mixing_recovers_injected_sin2_theta_w(specs, forward):
    """sin²θ_W = 0.30 injected in Poisson data (nominal nuisances); 4 x 500 NUTS draws:
    the truth within 3.29 posterior sd, r̂ <= 1.03. About 40 s on 2 cores."""
    spec = specs["weak_mixing"]
    _recovery(spec, forward(spec), {"sin2_theta_w": 0.30}, seed=301)


@pytest.mark.slow
def test_flavored_recovers_injected_scales(specs, forward):
    """scale_mu = 0.8, scale_e = 1.2 injected in Poisson data (nominal nuisances); 4 x 500
    NUTS draws: each truth within 3.29 posterior sd, r̂ <= 1.03. About 45 s on 2 cores."""
    spec = specs["flavored"]
    _recovery(spec, forward(spec), {"scale_mu": 0.8, "scale_e": 1.2}, seed=302)


SBC_TRUTHS = 40
SBC_RANKED_DRAWS = 19  # ranks 0..19: 20 values, 5 histogram bins of 4
SBC_BINS = 5


@pytest.mark.slow
def test_xsec_simulation_based_calibration(specs, xsec_model):
    """Simulation-based calibration of xsec (Talts et al. 2018).

    The SBC prior on sigma is the sub-range Uniform(100, 300) of the spec's flat [0, 600] (the
    spec is changed with replace_prior so that the prior sampled by NUTS and the prior of the
    truths are the same); the nuisances' truths are drawn from their spec priors
    (Prior.sample). For each of 40 truths: Poisson data at the truth, NUTS with 2 chains x 200
    draws (200 tune), thinned to 19 near-independent draws (every 20th), and the rank of the
    true sigma among them. A calibrated posterior gives uniform ranks: chi-square test of the
    5-bin rank histogram, p > 0.001. About 18 minutes on 2 shared cores (~27 s per truth).
    """
    spec = specs["xsec"].replace_prior("sigma", Prior("flat", lower=100.0, upper=300.0))
    assert spec.pois["sigma"].prior.support == (100.0, 300.0)
    rng = np.random.default_rng(777)
    ranks = []
    for i in range(SBC_TRUTHS):
        truth = {"sigma": float(spec.pois["sigma"].prior.sample(rng))}
        truth.update({n: float(p.sample(rng)) for n, p in spec.nuisances.items()})
        forward_values = {k: v for k, v in truth.items() if k != "sigma"}
        forward_values["cevns_norm"] = truth["sigma"] / _sigma_sm(xsec_model, truth)
        observed = _simulate(xsec_model, forward_values, rng)
        result = sample(
            spec,
            xsec_model,
            observed=observed,
            chains=2,
            draws=200,
            tune=200,
            seed=1000 + i,
            cores=2,
            progressbar=False,
            prior_draws=1,
            posterior_predictive=False,
        )
        draws = result.idata.posterior["sigma"].values[:, 10::20].ravel()[:SBC_RANKED_DRAWS]
        assert draws.size == SBC_RANKED_DRAWS
        ranks.append(int(np.sum(draws < truth["sigma"])))
    hist = np.bincount(np.array(ranks) * SBC_BINS // (SBC_RANKED_DRAWS + 1), minlength=SBC_BINS)
    assert hist.sum() == SBC_TRUTHS
    p_value = stats.chisquare(hist).pvalue
    assert p_value > 0.001, (hist.tolist(), p_value)


def test_every_shipped_spec_is_covered():
    assert set(list_specs()) == set(SPECS)


def test_start_points_are_dispersed_inside_half_a_prior_width(specs):
    """Chains start within ±0.5 prior widths of the initial values, inside the support, and
    differ from each other (so r̂ still compares dispersed starts)."""
    spec = specs["xsec"]
    points = start_points(spec, 4, np.random.default_rng(3))
    assert len(points) == 4
    for name, prior in [(n, p.prior) for n, p in spec.pois.items()] + list(spec.nuisances.items()):
        values = np.array([pt[name] for pt in points])
        initial = spec.pois[name].initial if name in spec.pois else prior.default_initial()
        lo, hi = prior.support
        assert np.all((values > lo) & (values < hi)), name
        assert np.all(np.abs(values - initial) <= 0.5 * prior.width + 1e-12), name
        assert np.unique(values).size == 4, name
    # the timing offset (prior sd 0.3 µs) starts within 0.15 µs of 0, away from its local
    # mode near -0.87 µs
    assert max(abs(pt["timing_offset_us"]) for pt in points) <= 0.15
