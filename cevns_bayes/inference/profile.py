"""Profile likelihood on the forward graph, minimized with iminuit.

The negative log-likelihood is the binned Poisson term of the forward graph plus the constraint
terms that correspond to the spec's nuisance priors (−ln π(θ), a Gaussian penalty for a
(truncated) normal prior); parameters of interest are unconstrained inside their prior box.
It and its gradient are compiled once; MIGRAD uses the analytic gradient.

Conventions (Wilks' theorem, as in the paper):

- 1-D intervals: Δχ² = −2 Δln L ≤ 1 (68.27%, quoted as "68%") and ≤ 2.706 (90%);
- 2-D regions: Δχ² = 2.30, 6.18, 11.83 (1, 2, 3 σ) and 4.61 (90%);
- significance of CEvNS: √(Δχ²) between the best fit and the best fit with no CEvNS;
- goodness of fit: the Poisson deviance 2 Σ [μ − n + n ln(n/μ)] at the best fit, with
  n_bins − n_POI degrees of freedom (nuisances are constrained by their priors, the paper's
  82.6/98 on 99 bins counts them the same way).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytensor
import pytensor.tensor as pt
from scipy import optimize, stats

from cevns_bayes.errors import ConfigError
from cevns_bayes.inference.impacts import correlation, profile_impacts, profile_pulls
from cevns_bayes.model.compile import compile_function
from cevns_bayes.model.forward import CEVNS_COMPONENTS, COMPONENTS
from cevns_bayes.model.likelihood import log_factorial_sum
from cevns_bayes.model.parameters import get_parameter
from cevns_bayes.model.statistical import StatisticalModel

DCHI2_1D = {"68": 1.0, "90": float(stats.chi2.ppf(0.90, 1))}
DCHI2_2D = {
    "1sigma": float(stats.chi2.ppf(stats.chi2.cdf(1, 1), 2)),
    "2sigma": float(stats.chi2.ppf(stats.chi2.cdf(4, 1), 2)),
    "3sigma": float(stats.chi2.ppf(stats.chi2.cdf(9, 1), 2)),
    "90": float(stats.chi2.ppf(0.90, 2)),
}


@dataclass
class FitResult:
    """A minimum of the NLL: values of every free parameter, errors and covariance."""

    values: dict[str, float]
    nll: float
    valid: bool
    errors: dict[str, float] = field(default_factory=dict)
    covariance: np.ndarray | None = None  # over ``cov_names``
    cov_names: tuple[str, ...] = ()
    nfcn: int = 0
    fixed: tuple[str, ...] = ()


@dataclass
class Scan1D:
    poi: str
    grid: np.ndarray
    nll: np.ndarray
    nll_min: float
    best: float
    nuisances: list[dict[str, float]]

    @property
    def delta_chi2(self) -> np.ndarray:
        return 2.0 * (self.nll - self.nll_min)


class ProfileLikelihood:
    """NLL(θ) and ∂NLL/∂θ of an analysis spec, over θ = POIs then nuisances.

    The observed counts are an input of the compiled function, not a constant of the graph:
    :meth:`set_observed` swaps in other data (a toy, an Asimov set) without recompiling.
    """

    def __init__(
        self, spec, model=None, observed: np.ndarray | None = None, *, hot: bool = True
    ) -> None:
        """``spec`` and its forward ``model``, or a :class:`StatisticalModel` alone.
        ``hot=False`` compiles with the C backend: for a few fits of a one-off model variant
        (:func:`~cevns_bayes.model.compile.compile_function`)."""
        sm = spec if isinstance(spec, StatisticalModel) else StatisticalModel(spec, model)
        self.statistical_model = sm
        self.spec = spec = sm.spec
        self.model = model = sm.forward
        self.names: tuple[str, ...] = sm.parameter_names
        self.poi_names = sm.poi_names
        self.nuisance_names = sm.nuisance_names
        theta, values = sm.symbolic_vector()
        cevns_on = pt.dscalar("cevns_on")
        counts_in = pt.dmatrix("observed")
        shift_in = pt.dvector("global_observable_shift")
        # −Σ ln n! is added outside the graph (set_observed): it does not depend on θ
        nll = -sm.loglike_tensor(values, counts_in, with_factorials=False, signal_scale=cevns_on)
        nll = nll - sm.log_constraint_tensor(values, shift_in)
        grad = pytensor.grad(nll, theta)
        p = sm.forward_parameters(values, signal_scale=cevns_on)
        comps = model.components(p)
        total = sum(comps[k] for k in COMPONENTS)
        counts = model.component_counts(p)
        # compiled on first use: a likelihood used only for its expected counts never
        # compiles the NLL graph, and the other way round
        self._graphs = {
            "nll": ([theta, cevns_on, counts_in, shift_in], [nll, grad], hot),
            "expected": (
                [theta, cevns_on],
                [total, counts, *(comps[k] for k in COMPONENTS)],
                False,
            ),
        }
        self._compiled: dict[str, Any] = {}
        self.bounds = sm.bounds()
        self.start = sm.vector()
        self.nominal = dict(zip(self.names, self.start))
        self._cache: tuple[bytes, float, float, np.ndarray] | None = None
        self.cevns_on = 1.0
        self.nfcn = 0
        self.observed = np.zeros(model.observed.shape)
        self.set_observed(model.observed if observed is None else observed)
        self.global_shift = np.zeros(len(self.nuisance_names))

    def _function(self, which: str):
        if which not in self._compiled:
            inputs, outputs, hot = self._graphs[which]
            # a spec without nuisances leaves the global-observable shift unused
            fn = compile_function(inputs, outputs, hot=hot, on_unused_input="ignore")
            # value_and_grad hands the NLL graph arrays of the right type and shape itself, so
            # pytensor's per-call input checks are skipped on the hot path
            fn.trust_input = which == "nll"
            self._compiled[which] = fn
        return self._compiled[which]

    def set_observed(self, counts) -> None:
        """Use ``counts`` (shape of the binning) as the data from now on."""
        counts = np.ascontiguousarray(counts, dtype=float)
        if counts.shape != self.observed.shape:
            raise ConfigError(
                f"observed counts have shape {counts.shape}; the binning has {self.observed.shape}"
            )
        self.observed = counts
        self._log_factorials = log_factorial_sum(counts)
        self._cache = None

    def set_global_observables(self, shifts: Mapping[str, float] | None) -> None:
        """Move the centres of the nuisance constraints (their global observables) by
        ``shifts`` (units of :func:`~cevns_bayes.model.statistical.prior_logp_tensor`'s
        ``centre_shift``); ``None`` puts them all back at the spec's prior centres."""
        vec = np.zeros(len(self.nuisance_names))
        for name, value in (shifts or {}).items():
            if name not in self.nuisance_names:
                raise ConfigError(
                    f"global observable {name!r}: not a nuisance of {self.spec.name} "
                    f"(expected one of {', '.join(self.nuisance_names)})"
                )
            vec[self.nuisance_names.index(name)] = float(value)
        self.global_shift = vec
        self._cache = None

    # --- NLL with a one-entry cache so MIGRAD's value and gradient calls share an evaluation
    def _eval(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        key = theta.tobytes()
        if self._cache is not None and self._cache[0] == key and self._cache[1] == self.cevns_on:
            return self._cache[2], self._cache[3]
        value, grad = self.value_and_grad(theta)
        self._cache = (key, self.cevns_on, value, grad)
        return value, grad

    def value_and_grad(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        """NLL and its gradient at ``theta`` (one evaluation of the compiled graph, no cache)."""
        theta = np.ascontiguousarray(theta, dtype=float)
        if theta.shape != (len(self.names),):
            raise ConfigError(
                f"theta has shape {theta.shape}; expected ({len(self.names)},): "
                + ", ".join(self.names)
            )
        value, grad = self._function("nll")(
            theta, np.asarray(self.cevns_on, float), self.observed, self.global_shift
        )
        self.nfcn += 1
        return float(value) + self._log_factorials, grad

    def nll(self, theta) -> float:
        return self._eval(np.asarray(theta, float))[0]

    def grad(self, theta) -> np.ndarray:
        return self._eval(np.asarray(theta, float))[1]

    def vector(self, values: Mapping[str, float]) -> np.ndarray:
        return np.array([values.get(n, self.nominal[n]) for n in self.names], float)

    def expected(self, values: Mapping[str, float], cevns: bool = True):
        """Expected counts per bin and per component at ``values``."""
        total, counts, *_ = self._function("expected")(self.vector(values), 1.0 if cevns else 0.0)
        return np.asarray(total), dict(zip(COMPONENTS, np.asarray(counts)))

    def components(self, values: Mapping[str, float]) -> dict[str, np.ndarray]:
        """Expected counts per component per (PE, t) bin at ``values``."""
        _, _, *comps = self._function("expected")(self.vector(values), 1.0)
        return {k: np.asarray(v) for k, v in zip(COMPONENTS, comps)}

    # --- minimization --------------------------------------------------------------------------
    def check_fixed(self, fixed: Mapping[str, float] | None) -> dict[str, float]:
        """``fixed`` as a dict, or a :class:`ConfigError` naming a parameter that is not free."""
        fixed = dict(fixed or {})
        for n in fixed:
            if n not in self.names:
                raise ConfigError(f"cannot fix {n!r}: not a free parameter of {self.spec.name}")
        return fixed

    def fit(
        self,
        fixed: Mapping[str, float] | None = None,
        start: Mapping[str, float] | None = None,
        *,
        hesse: bool = True,
        cevns: bool = True,
        strategy: int = 1,
    ) -> FitResult:
        """MIGRAD (then HESSE) with the parameters in ``fixed`` held at their values."""
        from iminuit import Minuit

        fixed = self.check_fixed(fixed)
        x0 = self.vector({**(start or {}), **fixed})
        self.cevns_on = 1.0 if cevns else 0.0
        m = Minuit(self.nll, x0, grad=self.grad, name=self.names)
        m.errordef = Minuit.LIKELIHOOD
        m.strategy = strategy
        m.limits = self.bounds
        for n in fixed:
            m.fixed[n] = True
        n0 = self.nfcn
        m.migrad()
        if not m.valid:
            m.migrad()
        free = tuple(n for n in self.names if n not in fixed)
        cov = None
        errors = {}
        if hesse and free:
            m.hesse()
            if m.covariance is not None:
                cov = np.array([[m.covariance[a, b] for b in free] for a in free])
            errors = {n: float(m.errors[n]) for n in free}
        self.cevns_on = 1.0
        return FitResult(
            {n: float(m.values[n]) for n in self.names},
            float(m.fval),
            bool(m.valid),
            errors,
            cov,
            free,
            self.nfcn - n0,
            tuple(fixed),
        )

    def minos(self, best: FitResult, poi: str, cl: float = 0.6827) -> tuple[float, float]:
        """MINOS interval of one POI at confidence level ``cl`` (1 dof)."""
        from iminuit import Minuit

        m = Minuit(self.nll, self.vector(best.values), grad=self.grad, name=self.names)
        m.errordef = Minuit.LIKELIHOOD
        m.limits = self.bounds
        m.migrad()
        m.minos(poi, cl=cl)
        me = m.merrors[poi]
        return float(m.values[poi] + me.lower), float(m.values[poi] + me.upper)

    def scan(
        self,
        poi: str,
        grid: Sequence[float],
        best: FitResult,
        *,
        fix_nuisances: bool = False,
        fixed: Mapping[str, float] | None = None,
    ) -> Scan1D:
        """Profile NLL of ``poi`` on ``grid``, walking outward from the best fit so each point
        starts from its neighbour's nuisances. ``fix_nuisances`` holds them at nominal."""
        grid = np.asarray(grid, float)
        base = dict(fixed or {})
        if fix_nuisances:
            base.update({n: self.nominal[n] for n in self.nuisance_names})
        nll = np.empty(grid.size)
        nuis: list[dict[str, float]] = [{}] * grid.size
        i0 = int(np.argmin(np.abs(grid - best.values[poi])))
        for direction in (range(i0, grid.size), range(i0 - 1, -1, -1)):
            start = dict(best.values)
            for i in direction:
                r = self.fit({**base, poi: grid[i]}, start, hesse=False)
                nll[i] = r.nll
                nuis[i] = r.values
                start = r.values
        ref = best.nll
        if fix_nuisances:
            ref = min(self.fit(base, best.values, hesse=False).nll, float(nll.min()))
        return Scan1D(poi, grid, nll, min(ref, float(nll.min())), best.values[poi], nuis)

    def interval(
        self, scan: Scan1D, level: float, best: FitResult, *, fixed=None, refine: bool = True
    ) -> tuple[float, float]:
        """Where Δχ² crosses ``level`` on each side of the minimum (nan if it does not).

        The crossing is bracketed on the scan and, with ``refine``, solved by root finding
        on the profile itself.
        """
        d = scan.delta_chi2
        i0 = int(np.argmin(d))
        out = []
        for side in (-1, 1):
            idx = range(i0, -1, -1) if side < 0 else range(i0, d.size)
            prev = None
            found = float("nan")
            for i in idx:
                if prev is not None and d[i] >= level > d[prev]:
                    a, b = scan.grid[prev], scan.grid[i]
                    lin = a + (level - d[prev]) * (b - a) / (d[i] - d[prev])
                    found = lin
                    if refine:
                        start = scan.nuisances[prev]

                        def f(x, start=start):
                            r = self.fit({**(fixed or {}), scan.poi: x}, start, hesse=False)
                            return 2.0 * (r.nll - scan.nll_min) - level

                        try:
                            found = optimize.brentq(
                                f, min(a, b), max(a, b), xtol=1e-4 * abs(b - a) + 1e-12
                            )
                        except ValueError:
                            found = lin
                    break
                prev = i
            if np.isnan(found):
                # no crossing: the region reaches the end of the scan; if that end is the
                # parameter's bound, the bound is the limit (e.g. a scale allowed down to 0)
                lo_b, hi_b = self.bounds[self.names.index(scan.poi)]
                bound = lo_b if side < 0 else hi_b
                end = scan.grid[0] if side < 0 else scan.grid[-1]
                if bound is not None and abs(end - bound) <= 1e-9 * max(1.0, abs(bound)):
                    found = float(bound)
            out.append(found)
        return out[0], out[1]

    def significance(self, best: FitResult) -> tuple[float, FitResult]:
        """√Δχ² of the no-CEvNS hypothesis (the POIs, then without effect, held fixed)."""
        r0 = self.fit(
            {n: best.values[n] for n in self.poi_names}, best.values, hesse=False, cevns=False
        )
        return float(np.sqrt(max(2.0 * (r0.nll - best.nll), 0.0))), r0

    def goodness_of_fit(self, best: FitResult) -> dict[str, float]:
        mu, _ = self.expected(best.values)
        n = self.observed
        with np.errstate(divide="ignore", invalid="ignore"):
            term = np.where(n > 0, n * np.log(n / mu), 0.0)
        chi2 = float(2.0 * np.sum(mu - n + term))
        ndof = int(n.size - len(self.poi_names))
        return {"chi2": chi2, "ndof": ndof, "pvalue": float(stats.chi2.sf(chi2, ndof))}

    def fitted_counts(self, best: FitResult, expected_fn=None) -> dict[str, dict[str, float]]:
        """Counts per component at the best fit with errors propagated from HESSE."""
        expected_fn = expected_fn or (lambda v: self.expected(v)[1])
        base = expected_fn(best.values)
        names = best.cov_names
        jac = np.zeros((len(COMPONENTS) + 1, len(names)))

        def vec(counts):
            return np.array(
                [counts[k] for k in COMPONENTS] + [sum(counts[k] for k in CEVNS_COMPONENTS)]
            )

        for j, n in enumerate(names):
            h = 1e-4 * max(abs(best.errors.get(n, 1.0)), 1e-6)
            up = dict(best.values)
            dn = dict(best.values)
            up[n] += h
            dn[n] -= h
            jac[:, j] = (vec(expected_fn(up)) - vec(expected_fn(dn))) / (2 * h)
        cov = best.covariance if best.covariance is not None else np.zeros((0, 0))
        var = np.einsum("ij,jk,ik->i", jac, cov, jac) if cov.size else np.zeros(jac.shape[0])
        v = vec(base)
        keys = list(COMPONENTS) + ["cevns"]
        return {
            k: {"value": float(v[i]), "error": float(np.sqrt(max(var[i], 0.0)))}
            for i, k in enumerate(keys)
        }


def scan_range(best: FitResult, poi: str, bounds, n_err: float = 4.0) -> tuple[float, float]:
    err = best.errors.get(poi) or 1.0
    lo = best.values[poi] - n_err * err
    hi = best.values[poi] + n_err * err
    blo, bhi = bounds
    return (max(lo, blo) if blo is not None else lo, min(hi, bhi) if bhi is not None else hi)


def profile_scan_2d(
    prof: ProfileLikelihood,
    axes: Sequence[np.ndarray],
    *,
    progressbar: bool = False,
    workers: int | None = None,
) -> dict[str, Any]:
    """Profile NLL over a 2-D POI grid (serpentine, warm starts); −2Δln L map and best point.

    The rows of the first axis are split in contiguous blocks over ``workers`` forked
    processes (default: every core), each walking its block from the nominal nuisances.
    """
    from cevns_bayes.inference.scan import serpentine_order
    from cevns_bayes.parallel import default_workers, map_forked
    from cevns_bayes.progress import point_counter

    a, b = (np.asarray(x, float) for x in axes)
    names = prof.poi_names
    shape = (a.size, b.size)
    bar = point_counter(a.size * b.size, progressbar)
    n_blocks = default_workers(a.size) if workers is None else max(1, min(workers, a.size))
    blocks = [r for r in np.array_split(np.arange(a.size), n_blocks) if r.size]

    def block(rows: np.ndarray) -> tuple[np.ndarray, int]:
        out = np.full((rows.size, b.size), np.nan)
        start, n0 = dict(prof.nominal), prof.nfcn
        for i, j in serpentine_order(out.shape):
            r = prof.fit({names[0]: a[rows[i]], names[1]: b[j]}, start, hesse=False)
            out[i, j] = r.nll
            start = r.values
        return out, prof.nfcn - n0

    finished = []

    def progress(rows, _part):
        finished.append(rows.size * b.size)
        bar(sum(finished))

    parts = map_forked(block, blocks, workers=len(blocks), on_result=progress)
    nll = np.concatenate([p[0] for p in parts])
    if len(parts) > 1:  # evaluations made in forked workers count too
        prof.nfcn += sum(p[1] for p in parts)
    i, j = np.unravel_index(np.nanargmin(nll), shape)
    return {"axes": [a, b], "nll": nll, "grid_best": (float(a[i]), float(b[j]))}


@dataclass
class ProfileResult:
    """What :func:`run_profile` finds.

    Attributes:
        document: the JSON-ready summary ``profile.json`` holds (best fit, intervals per POI,
            significance, goodness of fit, fitted counts, settings, timings).
        best: the global best fit.
        scans: POI -> profile scan with every nuisance profiled.
        scans_no_syst: POI -> scan with the nuisances fixed at their prior centres.
        scan_2d: for two POIs, ``{"axes": [x, y], "delta_chi2": (nx, ny)}``; else None.
        likelihood: the :class:`ProfileLikelihood` the fits ran on.
    """

    document: dict[str, Any]
    best: FitResult
    scans: dict[str, Scan1D]
    scans_no_syst: dict[str, Scan1D]
    scan_2d: dict[str, Any] | None
    likelihood: ProfileLikelihood

    def interval(self, poi: str, cl: str = "68") -> tuple[float, float]:
        """The profile-likelihood interval of ``poi`` at ``cl`` ("68" or "90")."""
        try:
            return tuple(self.document["pois"][poi]["profile"][f"ci_{cl}"])
        except KeyError:
            raise ConfigError(
                f"no {cl}% interval of {poi!r}; POIs: {', '.join(self.document['pois'])}"
            ) from None

    def __repr__(self) -> str:
        parts = [
            f"{n} = {self.best.values[n]:.4g} [{lo:.4g}, {hi:.4g}] (68%)"
            for n in self.document["pois"]
            for lo, hi in [self.interval(n)]
        ]
        return f"ProfileResult({self.document['model']}: " + "; ".join(parts) + ")"


def run_profile(
    spec,
    model=None,
    *,
    model_no_time_eff=None,
    observed=None,
    scan_points: int = 41,
    grid_points: int = 41,
    progressbar: bool = False,
) -> dict[str, Any]:
    """Best fit, scans and intervals of every POI, significance and goodness of fit.

    ``spec`` and its forward ``model``, or a :class:`StatisticalModel` alone;
    ``model_no_time_eff`` (the same model without ε_T) adds the fitted counts in the paper's
    convention. Returns a :class:`ProfileResult`.
    """
    t0 = time.perf_counter()
    sm = spec if isinstance(spec, StatisticalModel) else StatisticalModel(spec, model)
    spec, model = sm.spec, sm.forward
    prof = ProfileLikelihood(sm, observed=observed)
    compile_s = time.perf_counter() - t0
    two_d = None
    if len(prof.poi_names) == 2:
        axes = [_box_axis(spec, n, grid_points) for n in prof.poi_names]
        two_d = profile_scan_2d(prof, axes, progressbar=progressbar)
        start = dict(prof.nominal)
        start.update(zip(prof.poi_names, two_d["grid_best"]))
        best = prof.fit(start=start)
        if best.nll > float(np.nanmin(two_d["nll"])):  # keep the better of grid and MIGRAD
            best = prof.fit(dict(zip(prof.poi_names, two_d["grid_best"])), start)
    else:
        best = prof.fit()
        cand = [
            prof.fit(start={**prof.nominal, prof.poi_names[0]: v})
            for v in _box_axis(spec, prof.poi_names[0], 5)
        ]
        best = min([best, *cand], key=lambda r: r.nll)
        best = prof.fit(start=best.values)
    pois: dict[str, Any] = {}
    arrays: dict[str, Any] = {"scans": {}, "scans_no_syst": {}}
    for name in prof.poi_names:
        bounds = prof.bounds[prof.names.index(name)]
        lo, hi = scan_range(best, name, bounds)
        if two_d is not None:
            lo, hi = (v if v is not None else w for v, w in zip(bounds, (lo, hi)))
        grid = np.linspace(lo, hi, scan_points)
        scan = prof.scan(name, grid, best)
        ci68 = prof.interval(scan, DCHI2_1D["68"], best)
        ci90 = prof.interval(scan, DCHI2_1D["90"], best)
        fixed_nuis = {n: prof.nominal[n] for n in prof.nuisance_names}
        best_ns = prof.fit(fixed_nuis, best.values)
        scan_ns = prof.scan(name, grid, best_ns, fix_nuisances=True)
        ci68_ns = prof.interval(scan_ns, DCHI2_1D["68"], best_ns, fixed=fixed_nuis)
        entry = {
            "units": _units(name),
            "profile": {
                "best": best.values[name],
                "ci_68": list(ci68),
                "ci_90": list(ci90),
                "hesse_error": best.errors.get(name),
                "allowed_68": _segments(scan, DCHI2_1D["68"]),
                "allowed_90": _segments(scan, DCHI2_1D["90"]),
            },
            "profile_no_syst": {"best": best_ns.values[name], "ci_68": list(ci68_ns)},
        }
        lo_b = bounds[0]
        if name == "sigma" or lo_b == 0.0:
            # how strongly the data exclude a vanishing POI (σ = 0 or a scale = 0), profiled
            r0 = prof.fit({name: 0.0}, best.values, hesse=False)
            entry["profile"]["zero_excluded_sigma"] = float(
                np.sqrt(max(2.0 * (r0.nll - best.nll), 0.0))
            )
        if two_d is None:
            try:
                entry["profile"]["minos_68"] = list(prof.minos(best, name))
            except RuntimeError:
                entry["profile"]["minos_68"] = None
        pois[name] = entry
        arrays["scans"][name] = scan
        arrays["scans_no_syst"][name] = scan_ns
    signif, no_cevns = prof.significance(best)
    gof = prof.goodness_of_fit(best)
    doc: dict[str, Any] = {
        "model": spec.name,
        "pois": pois,
        "significance_sigma": signif,
        "chi2": gof["chi2"],
        "ndof": gof["ndof"],
        "gof_pvalue": gof["pvalue"],
        "fitted_counts": prof.fitted_counts(best),
        "best_fit": best.values,
        "best_fit_errors": best.errors,
        "nll_min": best.nll,
        "fit_valid": best.valid,
    }
    # the standard checks of a fit (cevns_bayes.inference.impacts)
    t_imp = time.perf_counter()
    doc["pulls"] = profile_pulls(spec, best)
    doc["impacts"] = {name: profile_impacts(prof, best, name) for name in spec.pois}
    doc["correlation"] = correlation(best.cov_names, best.covariance)
    impacts_s = time.perf_counter() - t_imp
    if model_no_time_eff is not None:
        prof_nt = ProfileLikelihood(spec, model_no_time_eff, observed)
        doc["fitted_counts_before_time_efficiency"] = prof.fitted_counts(
            best, expected_fn=lambda v: prof_nt.expected(v)[1]
        )
    if two_d is not None:
        d2 = 2.0 * (two_d["nll"] - min(best.nll, float(np.nanmin(two_d["nll"]))))
        arrays["scan_2d"] = {"axes": two_d["axes"], "delta_chi2": d2}
        doc["contour_levels_delta_chi2"] = DCHI2_2D
    doc["timing_s"] = {
        "compile": compile_s,
        "impacts": impacts_s,
        "total": time.perf_counter() - t0,
    }
    doc["model_settings"] = _conventions(model)
    doc["settings"] = {
        "scan_points": scan_points,
        "grid_points": grid_points if two_d else None,
        "dchi2_1d": DCHI2_1D,
        "nll_evaluations": prof.nfcn,
    }
    return ProfileResult(
        document=doc,
        best=best,
        scans=arrays["scans"],
        scans_no_syst=arrays["scans_no_syst"],
        scan_2d=arrays.get("scan_2d"),
        likelihood=prof,
    )


def _conventions(model) -> dict[str, Any]:
    """The forward model's physics conventions, for the result files (what a comparison with
    the paper rests on)."""
    return {
        "flux_source": model.flux.source,
        "proton_pulse": model.flux.pulse,
        "arrival_time_us": float(model.arrival_time_us),
        "couplings": model.couplings,
        "form_factor": model.form_factor,
        "time_efficiency": model.time_efficiency,
    }


def _box_axis(spec, name: str, n: int) -> np.ndarray:
    prior = spec.pois[name].prior
    lo, hi = prior.support
    if not (np.isfinite(lo) and np.isfinite(hi)):
        lo, hi = prior.center - 6 * prior.width, prior.center + 6 * prior.width
    return np.linspace(lo, hi, n)


def _segments(scan: Scan1D, level: float) -> list[list[float]]:
    """Allowed region(s) Δχ² ≤ level of the scan (a union of intervals), each end
    interpolated linearly between the grid points that bracket the crossing (an end at the
    grid's edge stays there): every band, not only the best fit's."""
    from cevns_bayes.inference.limits import allowed_intervals

    return allowed_intervals(scan.grid, scan.delta_chi2, level)


def _units(name: str) -> str:
    return get_parameter(name).unit
