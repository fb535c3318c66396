"""Posterior sampling with NUTS on the forward graph: model building, sampling, summaries.

The PyMC model wraps :class:`~cevns_bayes.model.ForwardModel` (never a second copy of the
physics): parameters of interest and nuisances get the priors of an
:class:`~cevns_bayes.spec.AnalysisSpec`, the data a Poisson likelihood per (PE, t) bin.

Multimodal posteriors (NSI) — folding by reflections
------------------------------------------------------
The CEvNS rate depends on each flavor's weak charge only through Q_α², so a coupling change that
flips the sign of Q_α leaves the likelihood (nearly; for ``point_reflection`` in the
(ε_ee^u, ε_ee^d) plane exactly) unchanged: the posterior is a set of mirror-image bands that a
gradient sampler cannot cross. With a group G of reflections of the POI box onto itself
(``point_reflection``: x → 2c − x; ``axis_reflection``: each POI reflected about its box
centre independently), NUTS samples the *folded* density

    π_G(x) = Σ_{g ∈ G} π(g x),

and every draw x is then *unfolded* to g x with probability π(g x) / π_G(x).

Why this is exact even though a chain never leaves the band it starts in: π_G is G-invariant,
so its modes come in G-orbits, and a chain confined to one band A samples π_G restricted to A.
If the images gA of that band cover the support once (A is a fundamental domain: true for the
sign-of-Q bands), the unfolded draw has density π(y) / ∫π at every y in every image of A,
so each chain, whichever copy it sits in, returns the full multimodal posterior with the right
mode masses, whether or not the symmetry of π holds (it only has to hold approximately for
π_G to be easy to sample within a band). The maps must send the box onto itself and preserve
volume, which reflections of a box about its centre do. The MCMC diagnostics are computed on
the folded chains mapped to one canonical image (all weak charges positive), which is what the
chains explore; the mode masses are checked against a grid in
:mod:`cevns_bayes.inference.grid`.
"""

from __future__ import annotations

import itertools
import time
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytensor.tensor as pt

from cevns_bayes.model import build_forward_model  # noqa: F401  (the spec -> forward model step)
from cevns_bayes.model.compile import pytensor_mode
from cevns_bayes.model.forward import CEVNS_COMPONENTS, COMPONENTS, ForwardModel
from cevns_bayes.model.statistical import StatisticalModel
from cevns_bayes.physics.flux import FIT_FLAVORS

#: Positions of the CEvNS components in :data:`COMPONENTS`
_CEVNS_INDEX = [COMPONENTS.index(k) for k in CEVNS_COMPONENTS]

#: Nuisances whose ranking by correlation with the POIs picks the pair-plot variables
PAIR_PLOT_NUISANCES = 3


def cross_section_deterministic(spec, model: ForwardModel, p: Mapping, values: Mapping):
    """⟨σ⟩_Φ (1e-40 cm²) implied by the sampled parameters: the POI itself when it is one,
    else the flux average with every physics model at ``p`` (flavor scales included)."""
    if "sigma" in spec.pois:
        return values["sigma"]
    return model.flux_averaged_cross_section(p)["total"]


# --- reflection groups ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ReflectionGroup:
    """Reflections of the POI box onto itself: maps x -> sign * x + shift (per POI)."""

    poi_names: tuple[str, ...]
    signs: np.ndarray  # (n_images, n_poi) of +1 / -1
    centres: np.ndarray  # (n_poi,)

    @property
    def n_images(self) -> int:
        return self.signs.shape[0]

    def apply(self, k: int, x):
        """Image k of the POI values x (numpy (.., n_poi) array or list of tensors)."""
        s = self.signs[k]
        if isinstance(x, np.ndarray):
            return np.where(s > 0, x, 2.0 * self.centres - x)
        return [xi if s[i] > 0 else 2.0 * self.centres[i] - xi for i, xi in enumerate(x)]


def reflection_group(spec) -> ReflectionGroup | None:
    method = spec.sampler.multimodal
    if method == "none":
        return None
    names = tuple(spec.pois)
    centres = np.array([0.5 * (spec.pois[n].prior.lower + spec.pois[n].prior.upper) for n in names])
    if method == "point_reflection":
        signs = np.array([[1.0] * len(names), [-1.0] * len(names)])
    else:  # axis_reflection
        signs = np.array(list(itertools.product([1.0, -1.0], repeat=len(names))))
    return ReflectionGroup(names, signs, centres)


def _canonical_image(group: ReflectionGroup, x: np.ndarray, couplings: str) -> np.ndarray:
    """Index of the image of each draw whose weak charges are all positive (or the first)."""
    from cevns_bayes.inference.modes import weak_charge_sign_label_points

    n = x.shape[0]
    best = np.zeros(n, dtype=int)
    found = np.zeros(n, dtype=bool)
    for k in range(group.n_images):
        labels = weak_charge_sign_label_points(
            group.poi_names, group.apply(k, x), couplings=couplings
        )
        ok = np.array(["-" not in str(lab) for lab in labels]) & ~found
        best[ok] = k
        found |= ok
    return best


# --- the PyMC model -------------------------------------------------------------------------------
def _bin_labels(edges: np.ndarray, unit: str) -> list[str]:
    return [f"{a:g}-{b:g} {unit}" for a, b in zip(edges[:-1], edges[1:])]


def build_pymc_model(
    spec,
    model: ForwardModel,
    observed: np.ndarray | None = None,
    *,
    deterministics: bool = True,
    initial_values: bool = True,
):
    """The PyMC model of ``spec`` on the forward graph of ``model``.

    Coordinates: ``pe_bin``, ``t_bin``, ``component``, ``flavor`` (and ``image`` for folded
    NSI models). Deterministics (:func:`derived_tensors`): ``sigma_1e40cm2`` (⟨σ⟩_Φ),
    ``cevns_count`` and ``counts`` (per component), all in the ROI of the binning with ε_T
    applied, or their per-image versions for folded models. ``deterministics=False`` leaves
    them out: :func:`sample` computes them after sampling, for all draws with one compiled
    function (:class:`DerivedQuantities`), instead of PyMC compiling them per chain.
    ``initial_values=False`` leaves out the POIs' ``initval`` (PyMC's SMC starts every particle
    at an initval instead of drawing it from the prior).
    """
    import pymc as pm

    obs = model.observed if observed is None else np.asarray(observed, float)
    b = model.binning
    coords = {
        "pe_bin": _bin_labels(b.pe_edges, "PE"),
        "t_bin": _bin_labels(b.t_edges_us, "us"),
        "component": list(COMPONENTS),
        "flavor": list(FIT_FLAVORS),
        "pe_edge": np.arange(b.pe_edges.size),
        "t_edge": np.arange(b.t_edges_us.size),
    }
    group = reflection_group(spec)
    if group is not None:
        coords["image"] = np.arange(group.n_images)
    with pm.Model(coords=coords) as pm_model:
        pm.Data("pe_edges", b.pe_edges, dims="pe_edge")
        pm.Data("t_edges_us", b.t_edges_us, dims="t_edge")
        values: dict[str, Any] = {}
        for name, poi in spec.pois.items():
            init = {"initval": poi.initial} if initial_values else {}
            values[name] = poi.prior.pymc(name, **init)
        for name, prior in spec.nuisances.items():
            values[name] = prior.pymc(name)
        derived = derived_tensors(spec, model, values, obs)
        if group is None:
            pm.Poisson("observed", mu=derived.pop("expected")[0], observed=obs, dims=DATA_DIMS)
        else:
            pm.Potential("folded_loglike", pt.logsumexp(derived["image_loglike"][0]))
        if deterministics:
            for name, (tensor, dims) in derived.items():
                pm.Deterministic(name, tensor, dims=dims or None)
    return pm_model


#: dims of a (PE, t) array of counts
DATA_DIMS = ("pe_bin", "t_bin")


def derived_tensors(spec, model: ForwardModel, values: Mapping[str, Any], obs) -> dict:
    """The physics quantities of one parameter point, as ``{name: (tensor, dims)}``.

    Unfolded specs: ``counts`` (per component), ``cevns_count``, ``sigma_1e40cm2`` and
    ``expected`` (the expected counts per bin, the mean of the Poisson likelihood). Folded
    (NSI) specs, per image g x of the folded POIs (see the module docstring):
    ``image_loglike`` (ln L of the image), ``counts_by_image``, ``expected_by_image`` and
    ``sigma_by_image``. The one place these are defined, for the PyMC model's likelihood and
    Deterministics and for :class:`DerivedQuantities`.
    """
    sm = StatisticalModel(spec, model)
    group = reflection_group(spec)
    if group is None:
        p = sm.forward_parameters(values)
        counts = model.component_counts(p)
        return {
            "counts": (counts, ("component",)),
            "cevns_count": (counts[_CEVNS_INDEX].sum(), ()),
            "sigma_1e40cm2": (cross_section_deterministic(spec, model, p, values), ()),
            "expected": (model.total(p), DATA_DIMS),
        }
    x = [values[n] for n in group.poi_names]
    lls, counts, totals, sigmas = [], [], [], []
    for k in range(group.n_images):
        img = dict(values)
        img.update(zip(group.poi_names, group.apply(k, x)))
        p = sm.forward_parameters(img)
        total = model.total(p)
        lls.append(sm.loglike_tensor(img, obs))
        counts.append(model.component_counts(p))
        totals.append(total)
        sigmas.append(cross_section_deterministic(spec, model, p, img))
    return {
        "image_loglike": (pt.stack(lls), ("image",)),
        "counts_by_image": (pt.stack(counts), ("image", "component")),
        "expected_by_image": (pt.stack(totals), ("image", *DATA_DIMS)),
        "sigma_by_image": (pt.stack(sigmas), ("image",)),
    }


class DerivedQuantities:
    """:func:`derived_tensors` of a spec as one compiled function of the parameters, evaluated
    over every draw of a posterior or prior (C backend: it runs once per draw, a few thousand
    times, so compiling it cheaply matters more than its speed)."""

    def __init__(self, spec, model: ForwardModel, obs) -> None:
        from cevns_bayes.model.compile import compile_function

        self.names = tuple(spec.pois) + tuple(spec.nuisances)
        theta = pt.dvector("theta")
        values = {n: theta[i] for i, n in enumerate(self.names)}
        derived = derived_tensors(spec, model, values, obs)
        self.dims = {k: dims for k, (_, dims) in derived.items()}
        self._fn = compile_function([theta], [t for t, _ in derived.values()], hot=False)

    def evaluate(self, dataset) -> dict[str, np.ndarray]:
        """Every quantity at every (chain, draw) of ``dataset`` (an xarray Dataset holding the
        parameters), shape (chain, draw, ...)."""
        x = np.stack([np.asarray(dataset[n].values, float) for n in self.names], axis=-1)
        lead = x.shape[:-1]
        rows = [self._fn(v) for v in x.reshape(-1, x.shape[-1])]
        return {
            name: np.stack([np.asarray(r[j]) for r in rows]).reshape(*lead, *np.shape(rows[0][j]))
            for j, name in enumerate(self.dims)
        }


# --- sampling ---------------------------------------------------------------------------------
@dataclass
class SampleResult:
    """What :func:`sample` returns: the InferenceData and its timings (seconds)."""

    idata: Any
    compile_s: float
    sampling_s: float
    sampler: str


def _progress_default() -> bool:
    import os
    import sys

    return sys.stderr.isatty() and os.environ.get("CI", "").lower() not in ("1", "true")


#: Half-width of the dispersed chain starts, in units of each prior's width (sd)
START_JITTER_WIDTHS = 0.5


def start_points(spec, chains: int, rng: np.random.Generator) -> list[dict[str, float]]:
    """Dispersed starting points, one per chain: every POI and nuisance at its initial value
    plus a uniform jitter of ±:data:`START_JITTER_WIDTHS` prior widths, kept inside the support.

    PyMC's own ``jitter`` adds ±1 in the transformed space, which for a bounded prior can be
    most of its range: a timing offset started at ±0.46 µs can fall into a local mode near
    −0.87 µs (the prompt peak moved out of the window) whose posterior mass is e^−22 of the
    main one, and stay there. Starts scaled by the prior width keep the chains dispersed (r̂
    still compares them) without that.
    """
    priors = {n: (p.prior, p.initial) for n, p in spec.pois.items()}
    priors.update({n: (p, p.default_initial()) for n, p in spec.nuisances.items()})
    out = []
    for _ in range(chains):
        point = {}
        for name, (prior, initial) in priors.items():
            lo, hi = prior.support
            x = initial + START_JITTER_WIDTHS * prior.width * rng.uniform(-1.0, 1.0)
            margin = 0.01 * prior.width
            point[name] = float(min(max(x, lo + margin), hi - margin))
        out.append(point)
    return out


def sample(
    spec,
    model: ForwardModel,
    *,
    observed=None,
    chains=None,
    draws=None,
    tune=None,
    seed=None,
    backend=None,
    target_accept=None,
    cores=None,
    progressbar=None,
    prior_draws: int = 500,
    posterior_predictive: bool = True,
) -> SampleResult:
    """NUTS posterior of ``spec`` with prior, posterior-predictive and observed groups.

    Arguments left ``None`` take the spec's sampler settings. ``backend`` is ``"pymc"`` or
    ``"nutpie"`` (if installed).
    """
    import pymc as pm

    s = spec.sampler
    chains = s.chains if chains is None else chains
    draws = s.draws if draws is None else draws
    tune = s.tune if tune is None else tune
    seed = s.seed if seed is None else seed
    backend = s.backend if backend is None else backend
    target_accept = s.target_accept if target_accept is None else target_accept
    progressbar = _progress_default() if progressbar is None else progressbar
    if cores is None:
        import os

        cores = min(chains, os.cpu_count() or 1)
    obs = model.observed if observed is None else np.asarray(observed, float)
    rng = np.random.default_rng(seed)
    group = reflection_group(spec)

    t0 = time.perf_counter()
    # no Deterministics while sampling: PyMC would compile them once per chain; they are
    # computed for every draw afterwards by one compiled function (DerivedQuantities)
    pm_model = build_pymc_model(spec, model, obs, deterministics=False)
    if backend == "nutpie":
        try:
            import nutpie
        except ImportError as err:
            from cevns_bayes.errors import ConfigError

            raise ConfigError(
                "sampler backend 'nutpie' requested but nutpie is not "
                "installed (pip install 'cevns-bayes[nutpie]')"
            ) from err
        compiled = nutpie.compile_pymc_model(pm_model)
        compile_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        idata = nutpie.sample(
            compiled,
            draws=draws,
            tune=tune,
            chains=chains,
            seed=seed,
            target_accept=target_accept,
            progress_bar=progressbar,
            cores=cores,
            low_rank_modified_mass_matrix=s.mass_matrix == "full",
        )
        sampling_s = time.perf_counter() - t1
    else:
        build_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        with warnings.catch_warnings():
            # a spec asks for mass_matrix = "full" (adapt_full) where its POIs are strongly
            # correlated; PyMC flags that adaptation experimental on every run, and the
            # package checks its chains itself (r̂, ESS, divergences, BFMI; grid references)
            warnings.filterwarnings("ignore", message="QuadPotentialFullAdapt is an experimental")
            idata = pm.sample(
                draws=draws,
                tune=tune,
                chains=chains,
                cores=cores,
                random_seed=int(rng.integers(2**31)),
                target_accept=target_accept,
                init=f"adapt_{s.mass_matrix}",
                initvals=start_points(spec, chains, rng),
                progressbar=progressbar,
                model=pm_model,
                compute_convergence_checks=False,
                compile_kwargs={"mode": pytensor_mode()},
            )
        wall = time.perf_counter() - t1
        # pm.sample compiles logp + gradient and starts the workers before it samples; its
        # "sampling_time" covers the sampling loop only, the rest is counted as compile
        sampling_s = float(idata.sample_stats.attrs.get("sampling_time", wall))
        compile_s = build_s + max(wall - sampling_s, 0.0)
    t2 = time.perf_counter()
    derived = DerivedQuantities(spec, model, obs)
    coords = pm_model.coords
    values = derived.evaluate(idata.posterior)
    expected = values.pop("expected", None)
    idata.posterior = _assign(idata.posterior, values, derived.dims, coords)
    with pm_model, warnings.catch_warnings():
        # folded models carry the likelihood in a Potential: their prior group holds the
        # parameters only (the box prior is reflection-symmetric, so folded = unfolded prior)
        warnings.filterwarnings("ignore", message=".*effect of Potentials.*")
        prior = pm.sample_prior_predictive(
            draws=prior_draws, var_names=list(derived.names), random_seed=int(rng.integers(2**31))
        )
    idata.extend(prior)
    if group is None:
        prior_values = derived.evaluate(idata.prior)
        prior_expected = prior_values.pop("expected")
        idata.prior = _assign(idata.prior, prior_values, derived.dims, coords)
        idata.add_groups(prior_predictive=_predictive(prior_expected, idata.prior, coords, rng))
        if posterior_predictive:
            idata.add_groups(
                posterior_predictive=_predictive(expected, idata.posterior, coords, rng)
            )
    else:
        expected = _unfold(idata, spec, model, group, rng, obs)
    # pointwise ln L (one value per draw and bin) for PSIS-LOO (arviz.loo, arviz.compare)
    if expected is not None:
        ll = _pointwise_loglike(expected, obs, idata.posterior, coords)
        idata.add_groups(log_likelihood=ll)
    if "observed_data" not in idata.groups():
        import xarray as xr

        observed = xr.Dataset({"observed": _as_da(obs, DATA_DIMS, pm_model)})
        idata.add_groups(observed_data=observed)
    idata.posterior.attrs.update(
        {
            "analysis": spec.name,
            "sampler": backend,
            "compile_s": compile_s,
            "sampling_s": sampling_s,
            "derived_s": time.perf_counter() - t2,
        }
    )
    return SampleResult(idata, compile_s, sampling_s, backend)


def _assign(dataset, values: Mapping[str, np.ndarray], dims: Mapping[str, tuple], coords):
    """``dataset`` (dims chain, draw) with ``values`` added as variables of the given dims."""
    import xarray as xr

    new = {}
    for name, v in values.items():
        all_dims = ("chain", "draw", *dims[name])
        new[name] = xr.DataArray(
            v,
            dims=all_dims,
            coords={
                d: dataset[d].values if d in dataset.coords else list(coords[d]) for d in all_dims
            },
        )
    return dataset.assign(new)


def _predictive(expected: np.ndarray, dataset, coords, rng):
    """A predictive group: Poisson counts around the expected counts of every draw."""
    import xarray as xr

    dims = ("chain", "draw", *DATA_DIMS)
    return xr.Dataset(
        {
            "observed": xr.DataArray(
                rng.poisson(expected),
                dims=dims,
                coords={
                    "chain": dataset["chain"].values,
                    "draw": dataset["draw"].values,
                    **{d: list(coords[d]) for d in DATA_DIMS},
                },
            )
        }
    )


def _as_da(values: np.ndarray, dims, pm_model):
    import xarray as xr

    return xr.DataArray(values, dims=dims, coords={d: list(pm_model.coords[d]) for d in dims})


def unfold_draws(group: ReflectionGroup, x: np.ndarray, image_ll: np.ndarray, rng):
    """Each folded draw x[..., :] (POIs last) moved to its image g x with probability
    L(g x) / Σ_g' L(g' x), ``image_ll`` (..., n_images) holding ln L of each image; returns
    the chosen image index and the unfolded draws (module docstring)."""
    w = np.exp(image_ll - image_ll.max(axis=-1, keepdims=True))
    w /= w.sum(axis=-1, keepdims=True)
    u = rng.random(w.shape[:-1])
    chosen = np.minimum((np.cumsum(w, axis=-1) < u[..., None]).sum(axis=-1), group.n_images - 1)
    unfolded = np.empty_like(x)
    for k in range(group.n_images):
        sel = chosen == k
        unfolded[sel] = group.apply(k, x[sel])
    return chosen, unfolded


def _unfold(idata, spec, model, group: ReflectionGroup, rng, obs) -> None:
    """Replace folded POI draws by their unfolded images (see the module docstring)."""
    import xarray as xr

    post = idata.posterior
    names = list(group.poi_names)
    x = np.stack([post[n].values for n in names], axis=-1)  # (chain, draw, poi)
    ll = post["image_loglike"].values  # (chain, draw, image)
    shape = x.shape[:2]
    flat_x = x.reshape(-1, len(names))
    chosen, unfolded = unfold_draws(group, flat_x, ll.reshape(-1, group.n_images), rng)
    canon = _canonical_image(group, flat_x, spec.model.get("couplings", "tree"))
    canonical = np.empty_like(flat_x)
    for k in range(group.n_images):
        sel = canon == k
        canonical[sel] = group.apply(k, flat_x[sel])
    dims = ("chain", "draw")
    coords = {d: post[d] for d in dims}
    idx = np.arange(chosen.size)
    new = {}
    for i, n in enumerate(names):
        new[n] = xr.DataArray(unfolded[:, i].reshape(shape), dims=dims, coords=coords)
        new[f"{n}_folded"] = xr.DataArray(canonical[:, i].reshape(shape), dims=dims, coords=coords)
    new["image"] = xr.DataArray(chosen.reshape(shape), dims=dims, coords=coords)
    counts = post["counts_by_image"].values.reshape(-1, group.n_images, len(COMPONENTS))
    new["counts"] = xr.DataArray(
        counts[idx, chosen].reshape(*shape, len(COMPONENTS)),
        dims=(*dims, "component"),
        coords={**coords, "component": post["component"]},
    )
    sig = post["sigma_by_image"].values.reshape(-1, group.n_images)
    new["sigma_1e40cm2"] = xr.DataArray(sig[idx, chosen].reshape(shape), dims=dims, coords=coords)
    new["cevns_count"] = new["counts"].isel(component=_CEVNS_INDEX).sum("component")
    expected = post["expected_by_image"].values.reshape(-1, group.n_images, *obs.shape)[idx, chosen]
    idata.posterior = post.drop_vars(["expected_by_image"]).assign(new)
    expected = expected.reshape(*shape, *obs.shape)
    draws = rng.poisson(expected)
    ppc = xr.Dataset(
        {
            "observed": xr.DataArray(
                draws,
                dims=(*dims, "pe_bin", "t_bin"),
                coords={
                    **coords,
                    "pe_bin": post["pe_bin"]
                    if "pe_bin" in post.coords
                    else np.arange(obs.shape[0]),
                    "t_bin": post["t_bin"] if "t_bin" in post.coords else np.arange(obs.shape[1]),
                },
            )
        }
    )
    idata.add_groups(posterior_predictive=ppc)
    return expected


def _pointwise_loglike(expected: np.ndarray, obs: np.ndarray, dataset, coords):
    """The ``log_likelihood`` group: ln Poisson(n_bin | μ_bin) of every draw and bin
    (``observed``, dims chain, draw, pe_bin, t_bin), ln n! included."""
    import xarray as xr
    from scipy import stats

    mu = np.maximum(np.asarray(expected, float), 1e-300)
    ll = stats.poisson.logpmf(np.asarray(obs, float)[None, None], mu)
    dims = ("chain", "draw", *DATA_DIMS)
    return xr.Dataset(
        {
            "observed": xr.DataArray(
                ll,
                dims=dims,
                coords={
                    "chain": dataset["chain"].values,
                    "draw": dataset["draw"].values,
                    **{d: list(coords[d]) for d in DATA_DIMS},
                },
            )
        }
    )


# --- summaries --------------------------------------------------------------------------------
def interval_summary(x: np.ndarray) -> dict[str, Any]:
    """Mean, median, sd, HDI and equal-tailed intervals at 68% and 90%."""
    import arviz as az

    x = np.asarray(x, float).ravel()
    out: dict[str, Any] = {
        "mean": float(np.mean(x)),
        "median": float(np.median(x)),
        "sd": float(np.std(x, ddof=1)),
    }
    for prob in (0.68, 0.90):
        tag = f"{int(round(prob * 100))}"
        out[f"hdi_{tag}"] = [float(v) for v in az.hdi(x, hdi_prob=prob)]
        lo, hi = np.quantile(x, [0.5 - prob / 2, 0.5 + prob / 2])
        out[f"eti_{tag}"] = [float(lo), float(hi)]
    return out


def diagnostics(idata, spec, sampler: str) -> dict[str, Any]:
    """r̂, bulk/tail ESS (over POIs and nuisances), divergences and E-BFMI."""
    import arviz as az

    post = idata.posterior
    folded = [f"{n}_folded" for n in spec.pois if f"{n}_folded" in post]
    names = (folded or list(spec.pois)) + list(spec.nuisances)
    summ = az.summary(idata, var_names=names, kind="diagnostics")
    stats = idata.sample_stats
    div_key = "diverging" if "diverging" in stats else None
    divergences = int(stats[div_key].values.sum()) if div_key else 0
    try:
        bfmi = float(np.min(az.bfmi(idata)))
    except (KeyError, ValueError, TypeError):
        bfmi = float("nan")
    return {
        "sampler": sampler,
        "chains": int(post.sizes["chain"]),
        "draws": int(post.sizes["draw"]),
        "tune": int(stats.attrs.get("tuning_steps", spec.sampler.tune)),
        "r_hat_max": float(summ["r_hat"].max()),
        "ess_bulk_min": float(summ["ess_bulk"].min()),
        "ess_tail_min": float(summ["ess_tail"].min()),
        "divergences": divergences,
        "bfmi_min": bfmi,
        "variables": names,
    }


def summarize(result: SampleResult, spec, *, tune: int | None = None) -> dict[str, Any]:
    """The ``summary.json`` document of a sampling run."""

    post = result.idata.posterior
    pois = {
        name: {"units": spec.pois[name].units, "bayes": interval_summary(post[name].values)}
        for name in spec.pois
    }
    counts = {}
    comp = post["counts"]
    for key in ("ssb", "brn", "nin"):
        x = comp.sel(component=key).values
        counts[key] = {"median": float(np.median(x)), "hdi_68": interval_summary(x)["hdi_68"]}
    x = post["cevns_count"].values
    counts["cevns"] = {"median": float(np.median(x)), "hdi_68": interval_summary(x)["hdi_68"]}
    diag = diagnostics(result.idata, spec, result.sampler)
    if tune is not None:
        diag["tune"] = int(tune)
    doc = {
        "model": spec.name,
        "pois": pois,
        "counts": counts,
        "sigma_1e40cm2": interval_summary(post["sigma_1e40cm2"].values),
        "diagnostics": diag,
        "timing_s": {"compile": result.compile_s, "sampling": result.sampling_s},
    }
    # the Bayesian pulls, impacts and correlations (cevns_bayes.inference.impacts)
    from cevns_bayes.inference import impacts as imp

    doc["pulls"] = imp.posterior_pulls(spec, post)
    doc["impacts"] = {name: imp.posterior_impacts(spec, post, name) for name in spec.pois}
    doc["correlation"] = imp.posterior_correlation(spec, post)
    if "image" in post:
        from cevns_bayes.inference.modes import weak_charge_sign_label_points

        x = np.stack([post[n].values.ravel() for n in spec.pois], axis=-1)
        labels = weak_charge_sign_label_points(
            tuple(spec.pois), x, couplings=spec.model.get("couplings", "tree")
        )
        uniq, n = np.unique(labels.astype(str), return_counts=True)
        doc["mode_masses"] = {str(k): float(v) / labels.size for k, v in zip(uniq, n)}
    ess = diag["ess_bulk_min"]
    doc["timing_s"]["ess_bulk_min_per_s"] = ess / result.sampling_s if result.sampling_s else None
    if "log_likelihood" in result.idata.groups():
        doc["loo"] = loo_summary(result.idata)
    return doc


def loo_summary(idata) -> dict[str, Any]:
    """PSIS-LOO over the (PE, t) bins from the ``log_likelihood`` group (arviz.loo): the
    expected log pointwise predictive density, its standard error, the effective number of
    parameters, and the Pareto k diagnostics (k > 0.7: that bin's importance weights are not
    reliable; ArviZ's threshold for this sample size is ``good_k``)."""
    import arviz as az

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the high-k warning is summarised below instead
        loo = az.loo(idata, pointwise=True)
    k = np.asarray(loo.pareto_k).ravel()
    return {
        "elpd_loo": float(loo.elpd_loo),
        "se": float(loo.se),
        "p_loo": float(loo.p_loo),
        "n_bins": int(k.size),
        "pareto_k_max": float(np.max(k)),
        "n_pareto_k_above_0.7": int(np.sum(k > 0.7)),
        "good_k": float(getattr(loo, "good_k", 0.7)),
        **({"pit": loo_pit(idata)} if "posterior_predictive" in idata.groups() else {}),
    }


def loo_pit(idata, seed: int = 0) -> dict[str, Any]:
    """The LOO probability integral transform of each (PE, t) bin, randomized for counts:

        u_i = P(ỹ_i < y_i | y_−i) + V_i P(ỹ_i = y_i | y_−i),   V_i ~ Uniform(0, 1),

    with the leave-one-out predictive of bin i from the posterior-predictive draws weighted by
    their Pareto-smoothed importance weights (``arviz.psislw`` of −ln p(y_i | θ)). For a model
    that predicts the data, the u_i are uniform on [0, 1] (for discrete data only after the
    randomization, which ArviZ's continuous ``loo_pit`` does not do); too many near 0 and 1:
    an underdispersed prediction, a pile near 0.5: overdispersed. Returns the u_i (PE-major),
    the Kolmogorov–Smirnov p-value against uniformity, and the counts in 5 equal bins."""
    import arviz as az
    from scipy import stats as sps

    y = np.asarray(idata.observed_data["observed"].values, float).ravel()

    def per_bin(group) -> np.ndarray:  # (chain, draw, PE, t) -> (bin, sample)
        x = np.asarray(group["observed"].transpose("chain", "draw", *DATA_DIMS).values, float)
        return x.reshape(-1, y.size).T

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        logw, _ = az.psislw(-per_bin(idata.log_likelihood))
    logw = np.asarray(logw)
    w = np.exp(logw - logw.max(axis=1, keepdims=True))
    w /= w.sum(axis=1, keepdims=True)
    yrep = per_bin(idata.posterior_predictive)
    below = np.sum(w * (yrep < y[:, None]), axis=1)
    equal = np.sum(w * (yrep == y[:, None]), axis=1)
    u = below + np.random.default_rng(seed).random(y.size) * equal
    u = np.clip(u, 0.0, 1.0)
    return {
        "values": u.tolist(),
        "ks_pvalue": float(sps.kstest(u, "uniform").pvalue),
        "histogram_5": np.histogram(u, bins=5, range=(0.0, 1.0))[0].tolist(),
    }


def strongest_nuisances(idata, spec, k: int = PAIR_PLOT_NUISANCES) -> list[str]:
    """The k nuisances most correlated (|Pearson r|) with any POI in the posterior."""
    post = idata.posterior
    pois = [post[n].values.ravel() for n in spec.pois]
    scores = []
    for name in spec.nuisances:
        v = post[name].values.ravel()
        r = max(abs(np.corrcoef(v, p)[0, 1]) for p in pois) if np.std(v) > 0 else 0.0
        scores.append((np.nan_to_num(r), name))
    return [n for _, n in sorted(scores, reverse=True)[:k]]
