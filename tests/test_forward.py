"""The forward graph: published totals, accuracy vs direct computation, gradient, invariants."""

import math

import numpy as np
import pytensor
import pytensor.tensor as pt
import pytest

from cevns_bayes import constants as c
from cevns_bayes import detector
from cevns_bayes.io import load_release, read_flux, write_flux_2021_format
from cevns_bayes.model import Binning, build_model
from cevns_bayes.model.compile import compile_function
from cevns_bayes.model.forward import COMPONENTS, fit_arrival_time_us
from cevns_bayes.model.likelihood import poisson_loglike
from cevns_bayes.physics import cross_section as xs
from cevns_bayes.physics.flux import FIT_FLAVORS, flux_from_tables


@pytest.fixture(scope="module")
def release():
    return load_release()


@pytest.fixture(scope="module")
def flux():
    return flux_from_tables(read_flux())


@pytest.fixture(scope="module")
def model(release, flux):
    return build_model(release=release, neutrino_flux=flux)


@pytest.fixture(scope="module")
def model_no_te(release, flux, model):
    return build_model(
        release=release,
        neutrino_flux=flux,
        time_efficiency=False,
        arrival_time_us=model.arrival_time_us,
    )


@pytest.fixture(scope="module")
def nominal(model):
    return model.evaluate()


# --- published numbers (docs/physics.md §7) -----------------------------------------------------
def test_sm_cevns_events_in_the_papers_convention(model_no_te, nominal):
    before = model_no_te.evaluate()
    assert 320.0 <= before["cevns"].sum() <= 362.0  # published 341 +- 11 +- 42, eps_T left out
    # with eps_T the count drops by 5-10% (docs/physics.md: ~316)
    assert 0.90 < nominal["cevns"].sum() / before["cevns"].sum() < 0.95


def test_background_priors(model_no_te, nominal):
    before = model_no_te.evaluate()
    assert before["brn"].sum() == pytest.approx(18.4, rel=0.01)
    assert before["nin"].sum() == pytest.approx(5.6, rel=0.01)
    assert nominal["ssb"].sum() == pytest.approx(1286.0, rel=0.01)
    # eps_T lowers BRN and NIN (18.3 and 5.2 in docs/physics.md)
    assert nominal["brn"].sum() == pytest.approx(18.3, abs=0.1)
    assert nominal["nin"].sum() == pytest.approx(5.2, abs=0.1)


def test_observed_counts(model):
    assert model.observed.sum() == 1578
    assert model.n_ac_region == 1295


def test_flux_averaged_cross_sections(nominal):
    assert 180.0 <= nominal["sigma_total_1e40cm2"] <= 198.0  # published 189 +- 6
    assert 163.0 <= nominal["sigma_e_1e40cm2"] <= 181.0  # published 172


def test_cross_section_agrees_with_independent_quadrature(flux, nominal):
    """<sigma>_f from the graph vs Gauss-Legendre sigma(E) averaged over the flux."""
    ref = {}
    for name in FIT_FLAVORS:
        f = flux[name]
        keep = f.energy_prob > 0
        e = f.energy_mev[keep]
        x, w = np.polynomial.legendre.leggauss(200)
        sig = 0.0
        for iso in c.ISOTOPES:  # Gauss-Legendre over [0, T_max(E)] for every energy at once
            t_max = xs.max_recoil_mev(e, iso.mass_mev)[:, None]
            t = 0.5 * t_max * (x[None, :] + 1.0)
            dsig = xs.differential_cross_section_cm2_per_mev(e[:, None], t, iso)
            sig = sig + 0.5 * np.sum(0.5 * t_max * w[None, :] * dsig, axis=1)
        ref[name] = np.sum(f.energy_prob[keep] * sig) / np.sum(f.energy_prob[keep]) / 1e-40
    assert nominal["sigma_e_1e40cm2"] == pytest.approx(ref["nu_e"], rel=2e-3)
    assert nominal["sigma_mu_1e40cm2"] == pytest.approx(
        0.5 * (ref["nu_mu"] + ref["nu_mu_bar"]), rel=2e-3
    )


@pytest.mark.parametrize("scale, lo, hi", [(1.05, -4.5, -2.5), (0.95, 2.5, 4.5)])
def test_neutron_radius_moves_sm_cross_section_by_about_3_4_percent(model, nominal, scale, lo, hi):
    shifted = model.evaluate({"r_n_scale": scale})["sigma_sm_total_1e40cm2"]
    assert lo <= 100 * (shifted / nominal["sigma_sm_total_1e40cm2"] - 1) <= hi


# --- numerical accuracy against direct computation ------------------------------------------------
def _eval(expr):
    return pytensor.function([], expr)()


def test_recoil_spectrum_matches_direct_cross_section(model, flux):
    counts = _eval(model.recoil_counts({}))
    t = model.recoil_mev
    for j, name in enumerate(FIT_FLAVORS):
        f = flux[name]
        keep = f.energy_prob > 0
        dsig = sum(
            f.energy_prob[keep]
            @ xs.differential_cross_section_cm2_per_mev(
                f.energy_mev[keep][:, None], t[None, :], iso
            )
            for iso in c.ISOTOPES
        )
        direct = c.N_MOLECULES * c.FLUENCE_PER_FLAVOR_CM2 * dsig * model.recoil_step_mev
        big = direct > 1e-3 * direct.max()
        assert counts[j][big] == pytest.approx(direct[big], rel=1e-9)


@pytest.mark.parametrize("values", [{}, {"quench_pca0": 1.7, "quench_pca1": -1.2, "eff_pca": 0.8}])
def test_smearing_table_interpolation_matches_exact_gamma(model, values):
    p = {k: pt.constant(v) for k, v in values.items()}
    graph = _eval(model.pe_spectra(p))
    s = _eval(model.recoil_counts(p))
    mu = _eval(model.mean_pe(p))
    exact = model.smearing_columns(mu)
    eff = _eval(model.energy_efficiency(p))
    direct = (s @ exact * eff) @ model._sub_to_bin
    big = direct > 0.5
    assert graph[big] == pytest.approx(direct[big], rel=2e-3)


def test_recoil_grid_is_converged(release, flux, model, nominal):
    finer = build_model(
        release=release,
        neutrino_flux=flux,
        recoil_step_kev=0.1,
        mu_step_pe=0.02,
        arrival_time_us=model.arrival_time_us,
    ).evaluate()
    assert finer["cevns"].sum() == pytest.approx(nominal["cevns"].sum(), rel=2e-3)
    assert finer["sigma_total_1e40cm2"] == pytest.approx(nominal["sigma_total_1e40cm2"], rel=1e-3)
    # per bin too: the default 0.5 keV recoil cells are well below the ≈ 2 keV over which the
    # smearing kernel changes (σ_PE ≈ 1.2 √μ PE at ≈ 0.9 PE/keV)
    big = finer["cevns"] > 0.5
    assert nominal["cevns"][big] == pytest.approx(finer["cevns"][big], rel=1e-3)


@pytest.mark.parametrize("flux_kind", ["shipped", "analytic"])
def test_sm_cross_section_series_matches_the_recoil_integral(release, flux, flux_kind):
    """⟨σ⟩_SM(R_n) in the graph is a Chebyshev series; it must equal the full recoil-grid
    integral (numpy, :meth:`ForwardModel.sigma_sm_exact`) over the whole allowed R_n range,
    with its derivative (which carries the R_n nuisance's gradient)."""
    from cevns_bayes.model import load_flux

    nf = flux if flux_kind == "shipped" else load_flux("analytic")
    m = build_model(release=release, neutrino_flux=nf)
    r = pt.dscalar("r")
    sig = m.flux_averaged_cross_section({"r_n_scale": r}, sm=True)
    f = pytensor.function([r], [sig["total"], pytensor.grad(sig["total"], r)])
    grid = np.linspace(0.5, 1.5, 37)
    exact = m.sigma_sm_exact(grid) @ m._flavor_weight / m._flavor_weight.sum()
    got = np.array([f(x) for x in grid])
    np.testing.assert_allclose(got[:, 0], exact, rtol=1e-9)
    h = 1e-5
    inner = grid[1:-1]
    slope = (
        (m.sigma_sm_exact(inner + h) - m.sigma_sm_exact(inner - h))
        @ m._flavor_weight
        / m._flavor_weight.sum()
        / (2 * h)
    )
    np.testing.assert_allclose(got[1:-1, 1], slope, rtol=1e-6)


@pytest.mark.parametrize("form_factor", ["helm", "klein_nystrand"])
def test_neutron_form_factor_series_matches_the_form_factor(release, flux, form_factor):
    """F_n on the recoil grid is a Chebyshev series in r_n_scale in the graph: it must equal
    the form factor itself over the whole allowed R_n range, with its slope."""
    m = build_model(release=release, neutrino_flux=flux, form_factor=form_factor)
    r = pt.dscalar("r")
    fn = m._fn_det_series.graph(r, m._fn_det_coef)
    f = pytensor.function([r], [fn, pytensor.gradient.jacobian(fn.ravel(), r)])
    grid = np.linspace(0.5, 1.5, 23)
    exact = m.neutron_form_factor_exact(grid)
    h = 1e-6
    slope = (m.neutron_form_factor_exact(grid + h) - m.neutron_form_factor_exact(grid - h)) / (
        2 * h
    )
    for k, x in enumerate(grid):
        value, d = f(x)
        np.testing.assert_allclose(value, exact[k], rtol=0, atol=1e-11)
        np.testing.assert_allclose(d.reshape(value.shape), slope[k], rtol=0, atol=1e-7)


def test_dropped_recoil_cells_do_not_reach_the_roi(release, flux, model):
    """Recoil cells the ROI cannot see are left out of the grid; with every cell kept the
    counts agree per bin to 1e-6 at the nominal point and to 2e-5 with both quenching modes at
    3σ and R_n 20% smaller (4σ), which bring the most light from high recoils."""
    full = build_model(
        release=release,
        neutrino_flux=flux,
        recoil_tail_tolerance=0.0,
        arrival_time_us=model.arrival_time_us,
    )
    assert model.recoil_mev.size < full.recoil_mev.size
    for values, rtol in (
        ({}, 1e-6),
        ({"quench_pca0": -3.0, "quench_pca1": 3.0, "r_n_scale": 0.8}, 2e-5),
    ):
        ours, ref = model.evaluate(values)["cevns"], full.evaluate(values)["cevns"]
        np.testing.assert_allclose(ours, ref, rtol=rtol, atol=1e-9)


def test_pe_subbins_reproduce_the_release_efficiency_within_1e3(release, flux, model):
    """ε_E is the exact mean of the clipped curve over each sub-bin, with a first-moment
    correction: 0.5-PE sub-bins where it can turn on, one sub-bin where it is 0 for every
    eff_pca in [−3, 3], and sub-bins as wide as an analysis bin (or half of one) above. Against
    0.02-PE sub-bins (converged) every bin's CEvNS count is off by less than 1e-3 of the bin's
    total expected count, over eff_pca in [-3, 3] and the quenching modes at ±1.5."""
    opts = dict(release=release, neutrino_flux=flux, arrival_time_us=model.arrival_time_us)
    fine = build_model(pe_substep=0.02, pe_subbin_tolerance=0.0, **opts)
    assert np.all(np.diff(fine.pe_sub_edges) < 0.021) and not fine.pe_sub_moment.any()
    widths = np.diff(model.pe_sub_edges)
    centres = model.pe_sub_centres
    # the turn-on of the ±3σ curves (4.65 and 9.35 PE) lies in the window of 0.5-PE sub-bins
    window = centres[widths <= 0.5 + 1e-9]
    assert window.min() < 5.0 and window.max() > 9.0
    assert model.pe_sub_moment[widths <= 0.5 + 1e-9].all()
    assert widths.max() > 4.0 and model.pe_sub_centres.size < 0.01 * fine.pe_sub_centres.size
    for values in (
        {"eff_pca": -3.0},
        {"eff_pca": -0.552},
        {},
        {"eff_pca": 0.717},
        {"eff_pca": 3.0, "quench_pca0": 1.5, "quench_pca1": -1.5},
        {"eff_pca": -1.5, "quench_pca0": -1.5},
    ):
        ours, ref = model.evaluate(values), fine.evaluate(values)
        total = sum(ref[k] for k in ("cevns", "brn", "nin", "ssb"))
        assert np.max(np.abs(ours["cevns"] - ref["cevns"]) / total) < 1e-3, values


def test_likelihood_is_smooth_where_the_old_quadratures_had_corners(model):
    """The former corners: the clipped ε_E at a 1-PE sub-bin centre (eff_pca = −0.552 and
    +0.717 move the turn-on across 7.5 and 6.5 PE) and the linear time interpolation on the
    2 ns grid (shifted edges cross grid points at τ = 0.071 µs). Along each direction the second
    differences of the expected counts on a 1e-3 step stay of the size of the curvature: a
    corner would make one of them ~ (slope jump) × step, hundreds of times larger."""
    for name, centre in (("eff_pca", -0.552), ("eff_pca", 0.717), ("timing_offset_us", 0.071)):
        step = 1e-3 if name == "eff_pca" else 2e-5
        xs = centre + step * np.arange(-10, 11)
        counts = np.array([model.evaluate({name: x})["cevns"].sum() for x in xs])
        d2 = np.abs(np.diff(counts, 2))
        assert d2.max() < 5.0 * np.median(d2) + 1e-9, (name, centre, d2.max(), np.median(d2))


def test_total_is_the_sum_of_the_components(model):
    p = {"eff_pca": pt.constant(0.3), "timing_offset_us": pt.constant(0.05)}
    comps = {k: _eval(v) for k, v in model.components(p).items()}
    np.testing.assert_allclose(_eval(model.total(p)), sum(comps.values()), rtol=1e-12)
    np.testing.assert_allclose(
        _eval(model.component_counts(p)), [comps[k].sum() for k in COMPONENTS], rtol=1e-12
    )


def test_time_profiles_match_direct_integration(model, flux):
    offset = 0.137
    graph = _eval(model.time_profiles({"timing_offset_us": pt.constant(offset)}))
    edges = model.binning.t_edges_us
    for j, name in enumerate(FIT_FLAVORS):
        f = flux[name]
        fine = np.linspace(edges[0], edges[-1], 60001)
        mid = 0.5 * (fine[1:] + fine[:-1])
        dens = np.interp(
            mid - model.arrival_time_us - offset,
            0.5 * (f.time_edges_us[1:] + f.time_edges_us[:-1]),
            f.time_prob / np.diff(f.time_edges_us),
            left=0,
            right=0,
        )
        w = dens * detector.time_efficiency(mid) * np.diff(fine)
        direct = np.array([w[(mid >= a) & (mid < b)].sum() for a, b in zip(edges[:-1], edges[1:])])
        assert graph[j] == pytest.approx(direct, abs=2e-3 * direct.max())


def test_arrival_time_fit_recovers_an_injected_shift(flux):
    f = flux["nu_e"]
    edges = np.arange(-0.25, 6.2501, 0.01)
    cum = np.concatenate([[0.0], np.cumsum(f.time_prob)])
    fake_nin = 7.5 * np.diff(np.interp(edges - 0.3127, f.time_edges_us, cum))
    assert fit_arrival_time_us(flux, edges, fake_nin) == pytest.approx(0.3127, abs=0.0015)


# --- invariants ---------------------------------------------------------------------------------
def test_flavor_scales_and_normalizations_act_where_they_should(model, nominal):
    r = model.evaluate({"scale_mu": 2.0, "flux_norm": 1.1, "brn_norm": 0.5, "ssb_norm": 1.02})
    for key in ("cevns_nu_mu", "cevns_nu_mu_bar"):
        assert r[key] == pytest.approx(2.2 * nominal[key])
    assert r["cevns_nu_e"] == pytest.approx(1.1 * nominal["cevns_nu_e"])
    assert r["brn"] == pytest.approx(0.5 * nominal["brn"])
    assert r["nin"] == pytest.approx(nominal["nin"])
    assert r["ssb"] == pytest.approx(1.02 * nominal["ssb"])


def test_nsi_on_electron_flavor_leaves_muon_flavors_alone(model, nominal):
    r = model.evaluate({"eps_ee_u": 0.2})
    assert r["cevns_nu_mu"] == pytest.approx(nominal["cevns_nu_mu"])
    assert r["cevns_nu_e"].sum() != pytest.approx(nominal["cevns_nu_e"].sum(), rel=1e-3)
    # the eps_ee^u that nearly cancels Q_W for both nuclei suppresses nu_e CEvNS by > 95%
    cs, i = c.CS133, c.I127
    gp, gn = xs.nucleon_couplings(c.SIN2_THETA_W_LOW_Q2)
    eps = np.mean([-(gp * n.z + gn * n.n) / (2 * n.z + n.n) for n in (cs, i)])
    assert (
        model.evaluate({"eps_ee_u": eps})["cevns_nu_e"].sum() < 0.05 * nominal["cevns_nu_e"].sum()
    )


def test_larger_neutron_radius_lowers_the_rate(model, nominal):
    """R_n +5% lowers ⟨σ⟩ (an independent quadrature in tests/test_conventions.py: -3.4%) and
    the detected rate by more: the threshold drops the low-q recoils, where F ≈ 1 and R_n does
    nothing, and keeps the high-q ones, where it does most. No event is suppressed by more than
    at the largest momentum transfer, q = 2 × 52.8 MeV / ħc, where F_n² falls by 34% (hand
    Helm value for 5.01 fm → 5.26 fm)."""
    wide = model.evaluate({"r_n_scale": 1.05})
    d_count = wide["cevns"].sum() / nominal["cevns"].sum() - 1.0
    d_sigma = wide["sigma_sm_total_1e40cm2"] / nominal["sigma_sm_total_1e40cm2"] - 1.0
    assert d_sigma == pytest.approx(-0.034, abs=0.002)
    assert -0.34 < d_count < d_sigma


def test_default_binning_is_the_published_9_x_11():
    """The 9 x 11 binning public reanalyses use (99 bins, the paper's χ² has 98 dof)."""
    b = Binning.default()
    assert list(b.pe_edges) == [0, 8, 12, 16, 20, 24, 32, 40, 50, 60]
    t = [0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 2, 4, 6]
    assert list(b.t_edges_us) == pytest.approx(t, abs=0)
    assert b.shape == (9, 11) and b.n_bins == 99


def test_uniform_binnings_by_name():
    """``uniform:NPExNT`` splits the ROI (0-60 PE, 0-6 µs) into equal bins; one bin per axis
    is allowed, none is not."""
    from cevns_bayes.errors import ConfigError
    from cevns_bayes.model.binning import binning_from_name

    b = binning_from_name("uniform:5x4")
    assert b.shape == (5, 4) and b.n_bins == 20
    np.testing.assert_allclose(b.pe_edges, [0, 12, 24, 36, 48, 60])
    np.testing.assert_allclose(b.t_edges_us, [0, 1.5, 3, 4.5, 6])
    assert binning_from_name("uniform:1x3").shape == (1, 3)
    with pytest.raises(ConfigError, match="positive"):
        binning_from_name("uniform:0x3")


def test_registry_nominals_are_the_unshifted_model():
    """A parameter an analysis does not free sits at its registry nominal: no systematic
    shift (normalizations and R_n scale 1, PCA modes and the timing offset 0), the SM
    couplings (no NSI, flavor scales 1) and the low-Q² sin²θ_W."""
    from cevns_bayes.model.parameters import get_parameter

    expect = {
        "cevns_norm": 1.0, "sin2_theta_w": c.SIN2_THETA_W_LOW_Q2, "scale_mu": 1.0,
        "scale_e": 1.0, "eps_ee_u": 0.0, "eps_ee_d": 0.0, "eps_mumu_u": 0.0, "eps_mumu_d": 0.0,
        "flux_norm": 1.0, "ssb_norm": 1.0, "brn_norm": 1.0, "nin_norm": 1.0,
        "quench_pca0": 0.0, "quench_pca1": 0.0, "eff_pca": 0.0, "r_n_scale": 1.0,
        "timing_offset_us": 0.0,
    }  # fmt: skip
    for name, value in expect.items():
        assert get_parameter(name).nominal == value, name


def test_time_efficiency_applies_from_its_onset_edge(release, flux, model):
    """A time bin that starts exactly at the ε_T onset (0.52 µs) gets ε_T over its whole width:
    its content falls by the ε_T average over the bin, exp(-0.0494 (t - 0.52)): below 1, by at
    most 1 - exp(-0.0494 × 0.08) = 0.4% (all the weight at the bin's end), and the bin before
    it is untouched."""
    b = Binning(np.array(model.binning.pe_edges), np.array([0.0, 0.52, 0.6, 6.0]), "onset")
    opts = dict(release=release, neutrino_flux=flux, arrival_time_us=model.arrival_time_us)
    with_eps = build_model(binning=b, **opts).evaluate()
    without = build_model(binning=b, time_efficiency=False, **opts).evaluate()
    ratio = with_eps["cevns"].sum(axis=0) / without["cevns"].sum(axis=0)
    assert ratio[0] == pytest.approx(1.0, abs=1e-12)
    assert 1e-4 < 1.0 - ratio[1] < 1.0 - math.exp(-0.0494 * 0.08)


@pytest.mark.parametrize("offset", [-0.97, 0.97])
def test_extreme_timing_offsets_against_the_baseline(release, flux, model, offset):
    """The time tables reach the ends of the timing offset's range [-1, 1] µs: at ±0.97 µs the
    time profiles agree with the baseline's exact piecewise-linear CDFs (to 1e-4 of the
    total: the cubic interpolation of the 2 ns tables, measured 4e-5 at the prompt peak)."""
    from cevns_bayes.baseline import from_model
    from cevns_bayes.spec import load_spec

    spec = load_spec("xsec").with_model(couplings="tree", form_factor="helm")
    base = from_model(spec, model)
    ours = model.evaluate({"timing_offset_us": offset})
    theirs = base.time_profiles(offset)
    for j, name in enumerate(("cevns_nu_mu", "cevns_nu_mu_bar", "cevns_nu_e")):
        t = ours[name].sum(axis=0)
        np.testing.assert_allclose(t / t.sum(), theirs[j] / theirs[j].sum(), atol=1e-4)


def test_totals_do_not_depend_on_the_binning(release, flux, model, nominal):
    fine = build_model(
        release=release,
        neutrino_flux=flux,
        binning=Binning.fine(),
        arrival_time_us=model.arrival_time_us,
    ).evaluate()
    for key in ("cevns", "brn", "nin", "ssb"):
        assert fine[key].sum() == pytest.approx(nominal[key].sum(), rel=3e-3)


def test_2021_format_flux_gives_the_same_prediction(tmp_path, release, flux, model, nominal):
    """A 2D file built from the 2018 shapes (already pulse-convolved) reproduces the model."""
    tables = {}
    e_edges = np.arange(0.0, 300.0001, 0.1)
    for name in FIT_FLAVORS:
        f = flux[name]
        e_prob = np.interp(
            e_edges,
            np.append(f.energy_mev - 0.05, f.energy_mev[-1] + 0.05),
            np.concatenate([[0.0], np.cumsum(f.energy_prob)]),
        )
        joint = np.outer(f.time_prob, np.diff(e_prob)) * 1e7
        tables[name] = (joint, f.time_edges_us * 1e3, e_edges)
    path = tmp_path / "snsFlux2D.root"
    write_flux_2021_format(path, tables)
    m2021 = build_model(release=release, flux=path, arrival_time_us=model.arrival_time_us)
    assert m2021.flux.pulse == "in file"
    other = m2021.evaluate()
    assert other["cevns"].sum() == pytest.approx(nominal["cevns"].sum(), rel=2e-3)
    assert other["sigma_total_1e40cm2"] == pytest.approx(nominal["sigma_total_1e40cm2"], rel=2e-3)


def test_analytic_flux_is_close_to_the_simulated_one(release, model, nominal):
    ana = build_model(release=release, flux="analytic", arrival_time_us=model.arrival_time_us)
    assert ana.evaluate()["cevns"].sum() == pytest.approx(nominal["cevns"].sum(), rel=0.03)


def test_components_are_non_negative_everywhere(model, nominal):
    for key in COMPONENTS:
        assert np.all(nominal[key] >= 0)


# --- gradient -----------------------------------------------------------------------------------
ALL_FREE = (
    "cevns_norm",
    "sin2_theta_w",
    "scale_mu",
    "scale_e",
    "eps_ee_u",
    "eps_ee_d",
    "eps_mumu_u",
    "eps_mumu_d",
    "flux_norm",
    "ssb_norm",
    "brn_norm",
    "nin_norm",
    "quench_pca0",
    "quench_pca1",
    "eff_pca",
    "r_n_scale",
    "timing_offset_us",
)


def _loglike_of_every_parameter(model):
    """ln L of the release data as a function of every forward-model parameter at once (no
    priors: the gradient of the forward graph itself), value and gradient."""
    theta = pt.dvector("theta")
    p = {n: theta[i] for i, n in enumerate(ALL_FREE)}
    ll = poisson_loglike(model.total(p), model.observed)
    fn = compile_function([theta], [ll, pytensor.grad(ll, theta)], hot=False)

    def loglike(x):
        value, grad = fn(x)
        return float(value), np.asarray(grad)

    return loglike


def test_gradient_agrees_with_finite_differences(model):
    loglike = _loglike_of_every_parameter(model)
    x = np.array(
        [
            0.9,
            0.22,
            1.1,
            0.8,
            0.05,
            -0.03,
            0.02,
            0.01,
            1.03,
            1.01,
            0.9,
            1.2,
            0.4,
            -0.7,
            0.3,
            1.02,
            0.0713,
        ]
    )
    _, grad = loglike(x)
    for i, name in enumerate(ALL_FREE):
        h = 1e-5 * max(1.0, abs(x[i]))
        up, down = x.copy(), x.copy()
        up[i] += h
        down[i] -= h
        fd = (loglike(up)[0] - loglike(down)[0]) / (2 * h)
        # the time lookups are cubic on a 2 ns grid (h = 1e-5 µs stays inside one cell);
        # abs: round-off of a difference of two ln L ~ -200 over 2h
        rel = 1e-4 if name == "timing_offset_us" else 1e-5
        assert grad[i] == pytest.approx(fd, rel=rel, abs=2e-5), name
