"""Pseudo-experiments of :mod:`cevns_bayes.toys`: reproducible toy data, the likelihood with the
counts as an input, study folders (resume, refusals), the local pool and a Dask LocalCluster,
the SBC rank test and the ``toys`` command.

Most tests run the toys in this process (``workers=0``), sharing one compiled likelihood; one
test starts a process pool and one a Dask LocalCluster (each worker compiles once, ~10 s).

Slow (``make test-slow``): 200 toys of the profile-likelihood coverage for σ at the SM value,
and the reproducibility of a Bayesian (NUTS) toy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from _figures import assert_drawn_png
from scipy.special import gammaln

from cevns_bayes import toys
from cevns_bayes.cli import main
from cevns_bayes.errors import ConfigError
from cevns_bayes.inference.profile import DCHI2_1D, ProfileLikelihood
from cevns_bayes.spec import load_spec

SEED = 4242
COVERAGE_KEYS = {
    "study",
    "n_toys",
    "poi",
    "truth",
    "coverage_68",
    "coverage_90",
    "coverage_68_err",
    "coverage_90_err",
}


@pytest.fixture(scope="module")
def spec():
    return load_spec("xsec")


@pytest.fixture(scope="module")
def definition(spec):
    return toys.define_study(spec, "coverage", 6, SEED)


@pytest.fixture(scope="module")
def state(spec, definition):
    """The in-process worker state (the same cache entry ``workers=0`` studies use)."""
    return toys.worker_state(spec, definition.data_dir, definition.flux, "profile")


@pytest.fixture(scope="module")
def reference(tmp_path_factory, spec):
    """An uninterrupted study of 6 toys at the SM value, in this process."""
    out = tmp_path_factory.mktemp("reference")
    doc = toys.run_study(spec, "coverage", 6, out, SEED, workers=0, progress=False)
    return out, doc


def _files(out: Path) -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((out / "toys").glob("*.json"))}


def _without_timing(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k != "timing"}


# --- toy data -------------------------------------------------------------------------------------
def test_toy_rng_is_a_function_of_seed_and_index():
    a = toys.toy_rng(7, 3).random(5)
    assert np.array_equal(a, toys.toy_rng(7, 3).random(5))
    assert np.array_equal(a, np.random.default_rng([7, 3]).random(5))
    assert not np.array_equal(a, toys.toy_rng(7, 4).random(5))
    assert not np.array_equal(a, toys.toy_rng(8, 3).random(5))
    assert toys.sampler_seed(7, 3) == toys.sampler_seed(7, 3) != toys.sampler_seed(7, 4)


def test_same_seed_and_index_give_the_same_toy(spec, state, definition):
    truth = definition.truth_of(0)
    for mode in toys.MODES:
        a = toys.generate_toy(spec, state.profile, truth, 5, SEED, mode)
        b = toys.generate_toy(spec, state.profile, truth, 5, SEED, mode)
        c = toys.generate_toy(spec, state.profile, truth, 6, SEED, mode)
        assert a.params == b.params
        assert np.array_equal(a.counts, b.counts)
        assert a.counts.shape == state.model.observed.shape
        assert not np.array_equal(a.counts, c.counts)
        assert np.issubdtype(a.counts.dtype, np.integer)


def test_frequentist_toys_keep_the_nuisances_at_the_truth(spec, state, definition):
    truth = definition.truth_of(0)
    centres = {n: p.center for n, p in spec.nuisances.items()}
    for index in range(3):
        toy = toys.generate_toy(spec, state.profile, truth, index, SEED, "frequentist")
        assert toy.params == {**truth, **centres}
        assert np.allclose(toy.expected, toys.expected_counts(spec, state.profile, toy.params))
    with pytest.raises(ConfigError, match="true value of the POI"):
        toys.generate_toy(spec, state.profile, None, 0, SEED, "frequentist")


def test_frequentist_toys_redraw_the_global_observables(spec, state, definition):
    """Frequentist toys share the counts of the conditional toys of the same seed and index and
    add a shift of every constrained nuisance's constraint centre, N(0, σ) over toys."""
    from cevns_bayes.inference.grid import global_observable_sd

    truth = definition.truth_of(0)
    shifts = []
    for index in range(300):
        f = toys.generate_toy(spec, state.profile, truth, index, SEED, "frequentist")
        if index < 3:
            cond = toys.generate_toy(spec, state.profile, truth, index, SEED, "conditional")
            assert np.array_equal(f.counts, cond.counts) and f.params == cond.params
            assert cond.global_observables == {}
        shifts.append([f.global_observables[n] for n in spec.nuisances])
    shifts = np.array(shifts)
    # the priors' widths, written out (flux 10%, SSB 2.1%, BRN 25%, NIN 35%, the three PCA
    # modes 1, R_n 5%, timing 0.3 µs): a wrong width in the generator cannot hide behind its own
    # helper
    widths = {
        "flux_norm": 0.10,
        "ssb_norm": 0.021,
        "brn_norm": 0.25,
        "nin_norm": 0.35,
        "quench_pca0": 1.0,
        "quench_pca1": 1.0,
        "eff_pca": 1.0,
        "r_n_scale": 0.05,
        "timing_offset_us": 0.3,
    }
    sd = np.array([widths[n] for n in spec.nuisances])
    assert [global_observable_sd(p) for p in spec.nuisances.values()] == pytest.approx(sd)
    # 300 draws: the sample sd is within 4 standard errors (sd / sqrt(2 · 300)) of σ
    np.testing.assert_array_less(np.abs(shifts.std(axis=0) / sd - 1.0), 4 / np.sqrt(600))
    np.testing.assert_array_less(np.abs(shifts.mean(axis=0) / sd), 4 / np.sqrt(300))


def test_global_observables_move_the_constraint_centres(spec, state):
    """Shifting the flux-normalization constraint centre by δ changes the NLL by exactly
    ½((θ − μ − δ)/σ)² − ½((θ − μ)/σ)², and nothing else."""
    prof = state.profile
    prof.set_observed(state.model.observed)
    prior = spec.nuisances["flux_norm"]
    theta = prof.vector({"sigma": 175.0, "flux_norm": 1.07, "ssb_norm": 0.99})
    prof.set_global_observables(None)
    base, grad0 = prof.nll(theta), prof.grad(theta).copy()
    prof.set_global_observables({"flux_norm": 0.04})
    moved, grad1 = prof.nll(theta), prof.grad(theta)
    prof.set_global_observables(None)
    z0 = (1.07 - prior.mu) / prior.sigma
    z1 = (1.07 - prior.mu - 0.04) / prior.sigma
    assert moved - base == pytest.approx(0.5 * (z1**2 - z0**2), rel=1e-10)
    k = prof.names.index("flux_norm")
    assert grad1[k] - grad0[k] == pytest.approx((z1 - z0) / prior.sigma, rel=1e-8)
    others = [i for i in range(len(prof.names)) if i != k]
    np.testing.assert_allclose(grad1[others], grad0[others], rtol=1e-12, atol=1e-12)
    with pytest.raises(ConfigError, match="'sigma': not a nuisance"):
        prof.set_global_observables({"sigma": 1.0})


def test_bayesian_toys_draw_the_nuisances_from_their_priors(spec, state, definition):
    truth = definition.truth_of(0)
    draws = [
        toys.generate_toy(spec, state.profile, truth, i, SEED, "bayesian").params for i in range(4)
    ]
    for name, prior in spec.nuisances.items():
        values = [d[name] for d in draws]
        assert len(set(values)) == len(values), name
        lo, hi = prior.support
        assert all(lo <= v <= hi for v in values)
    assert all(d["sigma"] == truth["sigma"] for d in draws)
    # no truth: the POI comes from its prior too (SBC)
    sbc = toys.sbc_spec(spec)
    assert sbc.pois["sigma"].prior.support == toys.SBC_SIGMA_PRIOR
    pois = [toys.generate_toy(sbc, state.statistical, None, i, SEED, "bayesian") for i in range(3)]
    assert len({t.params["sigma"] for t in pois}) == 3
    assert all(100.0 <= t.params["sigma"] <= 300.0 for t in pois)


def test_expected_counts_agree_between_profile_and_forward_model(spec, state):
    """The profile likelihood's compiled expectation, the statistical model's, and the forward
    model evaluated here with σ turned into cevns_norm = σ / ⟨σ⟩_SM(R_n) by hand."""
    from cevns_bayes.model.forward import COMPONENTS

    toy = toys.generate_toy(spec, state.profile, {"sigma": 150.0}, 1, SEED, "bayesian")
    from_prof = toys.expected_counts(spec, state.profile, toy.params)
    from_stat = toys.expected_counts(spec, state.statistical, toy.params)
    values = {k: v for k, v in toy.params.items() if k != "sigma"}
    sigma_sm = state.model.evaluate(values)["sigma_sm_total_1e40cm2"]
    ev = state.model.evaluate({**values, "cevns_norm": toy.params["sigma"] / sigma_sm})
    by_hand = sum(ev[k] for k in COMPONENTS)
    np.testing.assert_allclose(from_prof, by_hand, rtol=1e-9)
    np.testing.assert_allclose(from_stat, by_hand, rtol=1e-9)
    with pytest.raises(ConfigError, match="not ForwardModel"):
        toys.expected_counts(spec, state.model, toy.params)


# --- the likelihood with the counts as an input ---------------------------------------------------
def test_swapped_counts_give_the_poisson_likelihood_of_the_new_data(spec, state):
    """The counts are an input of the compiled NLL: swapping them changes the NLL by exactly
    the numpy Poisson difference Σ [−(n₁ − n₂) ln μ + ln n₁! − ln n₂!], a likelihood built on
    the new data from scratch agrees, and a cached evaluation on other data never leaks."""
    prof = state.profile
    toy = toys.generate_toy(spec, prof, {"sigma": 200.0}, 2, SEED, "bayesian")
    ref = ProfileLikelihood(spec, state.model, observed=toy.counts)
    a = ref.vector({"sigma": 170.0, "flux_norm": 1.05})
    b = ref.vector({"sigma": 210.0, "eff_pca": 0.3, "timing_offset_us": -0.1})
    data = state.model.observed
    for theta in (a, b):
        prof.set_observed(data)
        on_data = prof.nll(theta)
        prof.set_observed(toy.counts)
        on_toy = prof.nll(theta)
        mu, _ = prof.expected(dict(zip(prof.names, theta)))
        poisson = np.sum(
            -(toy.counts - data) * np.log(mu) + gammaln(toy.counts + 1.0) - gammaln(data + 1.0)
        )
        assert on_toy - on_data == pytest.approx(poisson, rel=1e-10, abs=1e-8)
        assert on_toy == pytest.approx(ref.nll(theta), rel=1e-12, abs=1e-9)
        np.testing.assert_allclose(prof.grad(theta), ref.grad(theta), rtol=1e-9, atol=1e-9)
    fit_a, fit_b = prof.fit(hesse=False), ref.fit(hesse=False)
    assert fit_a.nll == pytest.approx(fit_b.nll, abs=1e-6)
    assert fit_a.values["sigma"] == pytest.approx(fit_b.values["sigma"], rel=1e-6)


def test_zero_counts_give_the_expected_total(spec, state):
    """With n = 0 everywhere the Poisson term is Σ μ exactly (no 0 · ln μ leftovers)."""
    prof = state.profile
    prof.set_observed(np.zeros(state.model.observed.shape))
    mu, _ = prof.expected(prof.nominal)
    assert prof.nll(prof.start) == pytest.approx(float(mu.sum()), rel=1e-12)
    with pytest.raises(ConfigError, match="shape"):
        prof.set_observed(np.zeros(3))


def test_profile_toy_record(spec, definition):
    task = toys.ToyTask(
        spec, "coverage", "profile", "frequentist", SEED, 3, definition.truth_of(3),
        definition.data_dir, definition.flux,
    )  # fmt: skip
    rec = toys.run_toy(task)
    assert rec["index"] == 3 and rec["truth"] == definition.truths[0]
    assert rec["dchi2_at_truth"] >= 0.0
    assert rec["covered_68"] == (rec["dchi2_at_truth"] <= DCHI2_1D["68"])
    assert rec["covered_90"] == (rec["dchi2_at_truth"] <= DCHI2_1D["90"])
    assert rec["hesse_error"] > 0 and np.isfinite(rec["best"])
    assert toys.run_toy(task) == rec  # the same toy after others: nothing carried over


# --- study folders --------------------------------------------------------------------------------
def test_reference_study_writes_every_toy_and_the_summary(reference):
    out, doc = reference
    assert sorted(_files(out)) == [f"{i:06d}.json" for i in range(6)]
    assert COVERAGE_KEYS <= set(doc)
    assert doc["n_toys"] == 6 and doc["n_failed"] == 0
    assert "sbc_uniformity_pvalue" not in doc
    assert doc["poi"] == "sigma" and doc["poi_units"] == "1e-40 cm2"
    k = sum(json.loads(t)["covered_68"] for t in _files(out).values())
    assert doc["coverage_68"] == pytest.approx(k / 6)
    p = doc["coverage_68"]
    assert doc["coverage_68_err"] == pytest.approx(np.sqrt(p * (1 - p) / 6))
    assert json.loads((out / "coverage.json").read_text())["timing"]["toys_computed"] == 6
    assert_drawn_png(out / "coverage.png")
    study = json.loads((out / "study.json").read_text())
    assert study["n"] == 6 and study["seed"] == SEED and study["mode"] == "frequentist"


def test_killed_and_resumed_study_equals_the_uninterrupted_one(
    reference, spec, tmp_path, monkeypatch
):
    """Interrupt after 3 toys are written, then resume in a process pool: the same files."""
    from cevns_bayes import output

    ref_out, ref_doc = reference
    real = output.write_json
    written = []

    def killing_write(path, obj):
        if Path(path).parent.name == "toys":
            if len(written) == 3:
                raise KeyboardInterrupt
            written.append(path)
        return real(path, obj)

    monkeypatch.setattr(output, "write_json", killing_write)
    with pytest.raises(KeyboardInterrupt):
        toys.run_study(spec, "coverage", 6, tmp_path, SEED, workers=0, progress=False)
    monkeypatch.setattr(output, "write_json", real)
    assert len(_files(tmp_path)) == 3 and not (tmp_path / "coverage.json").exists()
    doc = toys.run_study(
        spec, "coverage", 6, tmp_path, SEED, workers=1, resume=True, progress=False
    )
    assert doc["timing"]["toys_computed"] == 3 and doc["timing"]["executor"] == "local-pool"
    assert _files(tmp_path) == _files(ref_out)
    assert _without_timing(doc) == _without_timing(ref_doc)


def test_a_study_can_grow_on_resume(reference, spec, tmp_path):
    ref_out, ref_doc = reference
    toys.run_study(spec, "coverage", 3, tmp_path, SEED, workers=0, progress=False)
    doc = toys.run_study(
        spec, "coverage", 6, tmp_path, SEED, workers=0, resume=True, progress=False
    )
    assert doc["timing"]["toys_computed"] == 3
    assert _files(tmp_path) == _files(ref_out)
    assert _without_timing(doc) == _without_timing(ref_doc)
    # resuming a finished study computes nothing
    again = toys.run_study(
        spec, "coverage", 6, tmp_path, SEED, workers=0, resume=True, progress=False
    )
    assert again["timing"]["toys_computed"] == 0
    assert [r["toys_computed"] for r in again["timing"]["previous_runs"]] == [3, 3]


def test_a_finished_folder_is_not_overwritten_without_resume(reference, spec):
    out, _ = reference
    before = _files(out)
    with pytest.raises(ConfigError, match="--resume"):
        toys.run_study(spec, "coverage", 6, out, SEED, workers=0, progress=False)
    assert _files(out) == before


@pytest.mark.parametrize(
    "change, match",
    [
        ({"seed": SEED + 1}, "seed"),
        ({"truths": [150.0]}, "truth"),
        ({"mode": "bayesian"}, "mode"),
        ({"method": "bayes"}, "method"),
    ],
)
def test_resume_must_match_the_study(reference, spec, change, match):
    out, _ = reference
    kwargs = {"seed": SEED, **change}
    seed = kwargs.pop("seed")
    with pytest.raises(ConfigError, match=match):
        toys.run_study(
            spec, "coverage", 6, out, seed, workers=0, resume=True, progress=False, **kwargs
        )


def test_resume_must_match_the_spec(reference, spec):
    out, _ = reference
    other = spec.replace_prior(
        "flux_norm", {"prior": "truncated_normal", "mu": 1.0, "sigma": 0.2, "lower": 0.0}
    )
    with pytest.raises(ConfigError, match="spec"):
        toys.run_study(other, "coverage", 6, out, SEED, workers=0, resume=True, progress=False)


def test_dask_local_cluster_gives_the_same_toys(reference, spec, tmp_path):
    pytest.importorskip("dask.distributed")
    ref_out, _ = reference
    doc = toys.run_study(
        spec, "coverage", 4, tmp_path, SEED, scheduler="local", workers=1, progress=False
    )
    assert doc["timing"]["executor"] == "dask-local"
    assert doc["n_toys"] == 4
    ref = _files(ref_out)
    assert _files(tmp_path) == {k: ref[k] for k in sorted(ref)[:4]}


# --- definitions and SBC statistics ---------------------------------------------------------------
def test_study_definitions_are_validated(spec):
    with pytest.raises(ConfigError, match="single POI"):
        toys.define_study(load_spec("flavored"), "coverage", 5)
    with pytest.raises(ConfigError, match="method must be bayes"):
        toys.define_study(spec, "sbc", 5, method="profile")
    with pytest.raises(ConfigError, match="outside the prior support"):
        toys.define_study(spec, "coverage", 5, truths=[700.0])
    with pytest.raises(ConfigError, match="study"):
        toys.define_study(spec, "wilks", 5)
    with pytest.raises(ConfigError, match="positive"):
        toys.define_study(spec, "coverage", 0)
    d = toys.define_study(load_spec("weak_mixing"), "coverage", 5)
    assert d.truths == [0.23857] and d.method == "profile"
    d = toys.define_study(spec, "coverage", 5, truths=[120.0, 180.0, 240.0], method="bayes")
    assert d.n_total == 15 and d.truth_of(4) == {"sigma": 180.0}
    assert d.settings == {
        "chains": 2,
        "draws": 300,
        "tune": 300,
        "target_accept": 0.9,
        "sampler": toys.DEFAULT_SAMPLER,
    }
    with pytest.raises(ConfigError, match="sampler"):
        toys.define_study(spec, "coverage", 5, method="bayes", sampler="emcee")
    with pytest.raises(ConfigError, match="sampler"):
        toys.define_study(spec, "coverage", 5, sampler="pymc")  # a profile study
    d = toys.define_study(spec, "sbc", 5)
    assert d.mode == "bayesian" and d.truths is None and d.settings["ranks"] == 19
    assert d.spec.pois["sigma"].prior.support == (100.0, 300.0)


def test_sbc_uniformity_and_thinning():
    rng = np.random.default_rng(1)
    uniform = toys.sbc_uniformity(rng.integers(0, 20, 400), 19)
    assert uniform["sbc_uniformity_pvalue"] > 0.001
    assert sum(uniform["rank_bins"]) == 400 and len(uniform["rank_histogram"]) == 20
    assert uniform["rank_bins_expected"] == pytest.approx([80.0] * 5)
    piled = toys.sbc_uniformity(np.zeros(400, int), 19)
    assert piled["sbc_uniformity_pvalue"] < 1e-10
    x = np.arange(400.0)
    thinned = toys.thin(x, 19)
    assert thinned.size == 19 and np.all(np.diff(thinned) >= 21)
    with pytest.raises(ConfigError):
        toys.thin(x, 401)


# --- the command ----------------------------------------------------------------------------------
def test_toys_command(reference, tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["toys", "xsec", "--study", "coverage", "--n", "2", "--seed", str(SEED)]
    code = main([*args, "--out", str(out), "--workers", "0", "--progress", "off"])
    stdout, _ = capsys.readouterr()
    assert code == 0
    assert "68% coverage" in stdout and "coverage.json" in stdout
    doc = json.loads((out / "coverage.json").read_text())
    assert COVERAGE_KEYS <= set(doc) and doc["n_toys"] == 2
    ref = _files(reference[0])
    assert _files(out) == {k: ref[k] for k in sorted(ref)[:2]}
    # run again without --resume: exit 2 and one line naming the fix
    code = main([*args, "--out", str(out), "--workers", "0", "--progress", "off"])
    _, stderr = capsys.readouterr()
    assert code == 2 and "--resume" in stderr
    code = main([*args[:-1], "9", "--out", str(out), "--workers", "0", "--resume"])
    _, stderr = capsys.readouterr()
    assert code == 2 and "seed" in stderr


# --- slow -----------------------------------------------------------------------------------------
@pytest.mark.slow
def test_profile_coverage_of_sigma_at_the_sm_value(spec, tmp_path):
    """200 frequentist toys at σ_SM (nuisances at the truth, global observables re-drawn):
    the Δχ² ≤ 1 / 2.706 intervals cover within 3 binomial standard errors of 68.3% / 90%
    (Wilks). With the global observables held at the truth (``conditional`` toys) the
    intervals over-cover (~85% / ~98%). About 1 minute on 2 cores."""
    doc = toys.run_study(
        spec, "coverage", 200, tmp_path, 20211, mode="frequentist", workers=2, progress=False
    )
    assert doc["n_toys"] == 200 and doc["n_failed"] == 0
    # Wilks' levels written out, and the binomial standard error at the nominal level (not at
    # the observed fraction): sqrt(p (1 - p) / 200) = 0.033 / 0.021
    for tag, nominal in (("68", 0.6827), ("90", 0.90)):
        se = np.sqrt(nominal * (1 - nominal) / 200)
        assert abs(doc[f"coverage_{tag}"] - nominal) < 3 * se, (tag, doc[f"coverage_{tag}"])


@pytest.mark.slow
def test_bayesian_toy_is_reproducible(spec):
    """A NUTS toy gives the same draws after other toys in the same worker. About 30 s."""
    d = toys.define_study(spec, "coverage", 2, SEED, method="bayes", draws=100, tune=100)

    def task(i):
        return toys.ToyTask(
            d.spec, d.study, d.method, d.mode, d.seed, i, d.truth_of(i), d.data_dir, d.flux,
            d.settings,
        )  # fmt: skip

    first = toys.run_toy(task(0))
    toys.run_toy(task(1))
    assert toys.run_toy(task(0)) == first
    assert first["hdi_68"][0] < first["mean"] < first["hdi_68"][1]
    assert first["eti_90"][0] < first["eti_68"][0] < first["eti_68"][1] < first["eti_90"][1]
    assert first["r_hat"] < 1.1


def test_one_poi_spec_fixes_the_other_pois():
    from cevns_bayes.toys import one_poi_spec

    two = load_spec("charge_radius")
    one = one_poi_spec(two, "r2_nu_mu", {"r2_nu_e": -5.0})
    assert list(one.pois) == ["r2_nu_mu"] and one.fixed["r2_nu_e"] == -5.0
    assert one.pois["r2_nu_mu"] == two.pois["r2_nu_mu"] and one.nuisances == two.nuisances
    assert one.name == "charge_radius__r2_nu_mu"
    # without a value the other POI sits at its registry nominal (no new physics)
    assert one_poi_spec(two, "r2_nu_e").fixed["r2_nu_mu"] == 0.0
    with pytest.raises(ConfigError, match="--poi 'sigma' is not a POI"):
        one_poi_spec(two, "sigma")
    with pytest.raises(ConfigError, match="--fix r2_nu_mu: only the other POIs"):
        one_poi_spec(two, "r2_nu_mu", {"r2_nu_mu": 1.0})
    assert (
        main(
            [
                "toys",
                "charge_radius",
                "--study",
                "coverage",
                "--n",
                "1",
                "--out",
                "x",
                "--fix",
                "r2_nu_e=1",
            ]
        )
        == 2
    )


def test_folded_draws_are_unfolded_with_the_image_probabilities():
    """A folded draw goes to image k with probability L_k / Σ L (here 0.8 / 0.2), seeded."""
    from types import SimpleNamespace

    from cevns_bayes.inference.bayes import ReflectionGroup

    group = ReflectionGroup(("x",), np.array([[1.0], [-1.0]]), np.array([-30.0]))
    sampler = SimpleNamespace(group=group)
    folded = {"x": np.full((2, 5000), 5.0)}
    ll = np.broadcast_to(np.log([0.8, 0.2]) + 100.0, (2, 5000, 2))
    out = toys.PosteriorSampler._unfold(sampler, folded, ll, seed=7)
    assert set(np.unique(out["x"])) == {5.0, -65.0}
    frac = np.mean(out["x"] == -65.0)
    assert abs(frac - 0.2) < 4 * np.sqrt(0.2 * 0.8 / 10000)
    again = toys.PosteriorSampler._unfold(sampler, folded, ll, seed=7)
    np.testing.assert_array_equal(out["x"], again["x"])


def test_profile_toys_of_a_folded_spec_find_the_mirror_band(tmp_path):
    """charge_radius (folded about −30) with the truth in the far band, −56: the fit starts at
    0, in the near band; the toy's minimum must be the global one, no higher than a fit of the
    same toy started in either band (the mirror-image refit is what finds it)."""
    spec = toys.one_poi_spec(load_spec("charge_radius"), "r2_nu_mu", {"r2_nu_e": 0.0})
    assert spec.sampler.multimodal == "axis_reflection"
    d = toys.define_study(spec, "coverage", 3, SEED, truths=[-56.0])
    toys.run_study(spec, "coverage", 3, tmp_path, SEED, truths=[-56.0], workers=0, progress=False)
    prof = toys.worker_state(spec, d.data_dir, d.flux, "profile").profile
    for rec in toys.read_toys(tmp_path):
        assert rec["valid"], rec
        toy = toys.generate_toy(spec, prof, d.truth_of(rec["index"]), rec["index"], SEED, d.mode)
        prof.set_observed(toy.counts)
        prof.set_global_observables(toy.global_observables)
        for start in (0.0, -58.0):
            fit = prof.fit(start=dict(prof.nominal, r2_nu_mu=start), hesse=False)
            # MIGRAD's precision along this double well is ~0.01 in NLL; a minimum in the
            # wrong band is 0.1-0.3 higher on these toys
            assert rec["nll_min"] <= fit.nll + 0.02, (start, rec["nll_min"], fit.nll)


@pytest.mark.slow
@pytest.mark.parametrize("sampler", toys.SAMPLERS)
def test_bayesian_toys_of_a_folded_spec_sample_both_bands(sampler):
    """NUTS on the folded density, unfolded: for Asimov data at r2_nu_mu = 0 (r2_nu_e fixed at
    0) the two bands of Q_μ² are nearly mirror images, so each holds about half the draws;
    the unfolded draws reproduce the 1-D profile's band structure. About 40 s each."""
    spec = toys.one_poi_spec(load_spec("charge_radius"), "r2_nu_mu", {"r2_nu_e": 0.0})
    state = toys.worker_state(spec, None, None, "bayes", None, sampler)
    sampler = state.sampler
    start = dict(sampler.start, r2_nu_mu=0.0)
    draws, divergences = sampler.sample(
        state.statistical.expected(start), seed=3, chains=2, draws=500, tune=300
    )
    x = draws["r2_nu_mu"].ravel()
    assert divergences == 0
    assert 0.35 < np.mean(x < -30.0) < 0.65
    # each band is centred on its Δχ² minimum: 0 and its mirror near −58.6
    assert abs(np.median(x[x > -30.0])) < 8.0
    assert abs(np.median(x[x < -30.0]) + 58.6) < 8.0


def test_sbc_range_narrows_the_prior_of_the_truths_and_the_posterior():
    spec = load_spec("light_vector")
    d = toys.define_study(spec, "sbc", 2, SEED, sbc_range=[0.0, 6e-5])
    prior = d.spec.pois["g_zprime"].prior
    assert (prior.kind, prior.lower, prior.upper) == ("flat", 0.0, 6e-5)
    assert d.to_dict()["spec"] != toys.define_study(spec, "sbc", 2, SEED).to_dict()["spec"]
    with pytest.raises(ConfigError, match="inside the prior support"):
        toys.define_study(spec, "sbc", 2, SEED, sbc_range=[0.0, 2e-3])
    with pytest.raises(ConfigError, match="expected LOWER,UPPER"):
        toys.define_study(spec, "sbc", 2, SEED, sbc_range=[0.0])
    with pytest.raises(ConfigError, match="use it with --study sbc"):
        toys.define_study(spec, "coverage", 2, SEED, truths=[1e-5], sbc_range=[0.0, 6e-5])
