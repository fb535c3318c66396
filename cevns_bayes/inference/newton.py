"""A quasi-Newton minimiser for the many small fits of pseudo-experiments.

A profile-coverage toy is two fits (the free fit and the fit at the true POI) and the error of
the free fit. With MIGRAD + HESSE that is ≈ 600 evaluations of −ln L and its gradient per xsec
toy: MIGRAD builds its curvature from the gradients as it goes (≈ 150–200 per fit), HESSE then
differentiates numerically (≈ 250). The toys of one study are fits of one model to data sets
that differ by Poisson noise, so the curvature hardly changes from toy to toy; this fitter
starts each fit from a known curvature and needs ≈ 10–20 gradients per fit:

* a fit on new data starts from the Hessian at the nominal parameters on their Asimov data
  (computed once, so no fit depends on the fits before it: a toy's result is the same on
  whichever worker and after whichever toys it runs); the fit at the true POI starts from the
  Hessian of the free fit on the same data;
* the Hessian at a minimum is computed by central differences of the analytic gradient
  (2 P gradients, steps of 5% of each parameter's error, :data:`FD_STEP`): the covariance and
  the errors of the fit (HESSE's job);
* between, the steps are Newton steps on that matrix, updated by BFGS from the gradients, with
  a backtracking (Armijo) line search, bounds by projection (a parameter at a bound whose
  gradient points outward is held there for the step) and eigenvalues shifted positive where
  the matrix is not positive definite (in units where its diagonal is 1);
* convergence: the estimated distance to the minimum EDM = ½ gᵀ H⁻¹ g below ``edm_goal``
  (1e-7 NLL units, 10³ below MIGRAD's goal at its default tolerance) on the finite-difference
  Hessian at the point (the iterations go on from it when it says otherwise), or, for a fit
  whose errors are not asked for, on the BFGS-updated curvature;
* ``valid`` is False when it does not converge in ``max_iter`` iterations, when the line search
  cannot decrease the NLL before EDM is reached, or when the Hessian at the end is not positive
  definite on the free parameters: the fits MIGRAD marks invalid, counted the same way.

:meth:`NewtonFitter.fit` is a drop-in for :meth:`ProfileLikelihood.fit` (same arguments, a
:class:`~cevns_bayes.inference.profile.FitResult`). The toys (``cevns-bayes toys --fitter
newton``, the default of profile studies) were checked against MIGRAD toy by toy
(``tests/test_newton.py``).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from cevns_bayes.inference.profile import FitResult, ProfileLikelihood

#: the EDM below which a fit has converged (NLL units; MIGRAD's goal is 1e-4 at tol = 0.1)
EDM_GOAL = 1e-7
MAX_ITER = 100
ARMIJO = 1e-4
#: finite-difference step of the Hessian, in units of each parameter's error. Not smaller:
#: the cubic interpolation of the 2-ns time tables ripples −ln L in the timing offset
#: (second differences of ±1.3e-3 per ns², against a smooth curvature of 4e-5 per ns²), and
#: a step of 0.16 ns (1e-3 of its error) measured the ripple, not the curvature
FD_STEP = 0.05


class NewtonFitter:
    """Quasi-Newton fits of a :class:`ProfileLikelihood` (module docstring); shares its data,
    its global observables and its evaluation counter."""

    def __init__(
        self, prof: ProfileLikelihood, *, edm_goal: float = EDM_GOAL, max_iter: int = MAX_ITER
    ) -> None:
        self.prof = prof
        self.names = prof.names
        self.edm_goal = float(edm_goal)
        self.max_iter = int(max_iter)
        lo = [b[0] if b[0] is not None else -np.inf for b in prof.bounds]
        hi = [b[1] if b[1] is not None else np.inf for b in prof.bounds]
        self.lower, self.upper = np.array(lo, float), np.array(hi, float)
        #: the starting curvature of a fit on new data: the Hessian at the nominal parameters
        #: on their Asimov data, computed once (so a fit does not depend on the fits before it)
        self.reference: np.ndarray | None = None
        # the exact Hessian of the last fit and the data it was computed on: the start of the
        # next fit on the same data (the fit at the true POI after the free fit of a toy)
        self._last: tuple[bytes, np.ndarray] | None = None
        # parameter scales of a first fit's finite differences: the prior widths of the
        # nuisances, 1e-3 of a POI's box (or 1% of its start where the box is unbounded)
        scales = []
        for name in self.names:
            p = prof.statistical_model.parameters[name]
            if p.role == "nuisance" and p.prior.kind in ("normal", "truncated_normal"):
                scales.append(float(p.prior.sigma))
            elif np.isfinite(p.upper - p.lower):
                scales.append(1e-3 * float(p.upper - p.lower))
            else:
                scales.append(max(1e-2 * abs(p.initial), 1e-6))
        self.first_scale = np.array(scales, float)

    # --- derivatives ---------------------------------------------------------------------------
    def hessian(self, x: np.ndarray, free: np.ndarray, scale: np.ndarray) -> np.ndarray:
        """Central differences of the analytic gradient in the ``free`` directions (steps
        ``FD_STEP × scale``, one-sided at a bound); fixed rows and columns are the identity."""
        prof = self.prof
        n = x.size
        h = np.eye(n)
        cols = {}
        for j in np.flatnonzero(free):
            step = FD_STEP * scale[j]
            up, down = x.copy(), x.copy()
            up[j] = min(x[j] + step, self.upper[j])
            down[j] = max(x[j] - step, self.lower[j])
            g_up = prof.value_and_grad(up)[1]
            g_down = prof.value_and_grad(down)[1]
            cols[j] = (g_up - g_down) / (up[j] - down[j])
        for j, col in cols.items():
            h[:, j] = np.where(free, col, h[:, j])
        sub = np.ix_(free, free)
        h[sub] = 0.5 * (h[sub] + h[sub].T)
        return h

    def _scale(self, b: np.ndarray) -> np.ndarray:
        d = np.abs(np.diag(b))
        return 1.0 / np.sqrt(np.where(d > 0, d, 1.0))

    # --- the fit ----------------------------------------------------------------------------------
    def fit(
        self,
        fixed: Mapping[str, float] | None = None,
        start: Mapping[str, float] | None = None,
        *,
        hesse: bool = True,
        cevns: bool = True,
        strategy: int = 1,  # accepted for the ProfileLikelihood.fit signature; unused
    ) -> FitResult:
        """Minimize the NLL with the parameters in ``fixed`` held at their values.

        ``hesse=False`` (a fit whose errors are not wanted, e.g. at the true POI) stops on the
        EDM of the curvature carried along (BFGS-updated from an exact one) instead of
        computing the finite-difference Hessian at the end: as close to the minimum in the
        toy-by-toy checks, at half the cost of a toy."""
        prof = self.prof
        fixed = prof.check_fixed(fixed)
        x = np.clip(prof.vector({**(start or {}), **fixed}), self.lower, self.upper)
        is_fixed = np.array([n in fixed for n in self.names])
        prof.cevns_on = 1.0 if cevns else 0.0
        n0 = prof.nfcn
        try:
            x, f, b, converged, exact = self._minimize(x, is_fixed, need_exact=hesse)
        finally:
            prof.cevns_on = 1.0
        free = ~is_fixed
        free_names = tuple(n for n, k in zip(self.names, free) if k)
        cov, errors, positive = None, {}, not free_names
        if free_names:
            sub = b[np.ix_(free, free)]
            try:
                np.linalg.cholesky(sub)
                positive = True
                cov = np.linalg.inv(sub)
                cov = 0.5 * (cov + cov.T)
            except np.linalg.LinAlgError:
                cov = None
            if cov is not None and exact:
                errors = {n: float(np.sqrt(cov[i, i])) for i, n in enumerate(free_names)}
        return FitResult(
            {n: float(v) for n, v in zip(self.names, x)},
            float(f),
            bool(converged and positive),
            errors,
            cov if (hesse and exact) else None,
            free_names if (hesse and exact) else (),
            prof.nfcn - n0,
            tuple(fixed),
        )

    def _data_key(self) -> bytes:
        return self.prof.observed.tobytes() + self.prof.global_shift.tobytes()

    def reference_curvature(self) -> np.ndarray:
        """The Hessian at the nominal parameters on their own expected counts (no global
        observable shift), by finite differences; computed on first use."""
        if self.reference is None:
            prof = self.prof
            observed = prof.observed.copy()
            shifts = dict(zip(prof.nuisance_names, prof.global_shift))
            x0 = np.clip(prof.start, self.lower, self.upper)
            try:
                prof.set_observed(prof.expected(dict(zip(self.names, x0)))[0])
                prof.set_global_observables(None)
                self.reference = self.hessian(x0, np.ones(x0.size, bool), self.first_scale)
            finally:
                prof.set_observed(observed)
                prof.set_global_observables(shifts)
        return self.reference

    def _start_curvature(self, x: np.ndarray, free: np.ndarray) -> np.ndarray:
        if self._last is not None and self._last[0] == self._data_key():
            b = self._last[1].copy()
        else:
            b = self.reference_curvature().copy()
        return _pin(b, ~free)

    def _minimize(self, x: np.ndarray, is_fixed: np.ndarray, *, need_exact: bool):
        prof = self.prof
        free_all = ~is_fixed
        b = self._start_curvature(x, free_all)
        f, g = prof.value_and_grad(x)
        exact = False
        converged = False
        for _ in range(self.max_iter):
            at_lo = (x <= self.lower) & (g > 0)
            at_hi = (x >= self.upper) & (g < 0)
            active = free_all & ~at_lo & ~at_hi
            if not np.any(active):
                converged = True
                break
            step, edm, positive = _newton_step(g[active], b[np.ix_(active, active)])
            if positive and edm < self.edm_goal:
                if exact or not need_exact:
                    converged = True
                    break
                # confirm with the exact (finite-difference) curvature at this point
                b = self.hessian(x, free_all, self._scale(b))
                exact = True
                continue
            d = np.zeros_like(x)
            d[active] = step
            slope = float(g @ d)
            t, accepted = 1.0, False
            while t > 1e-12:
                x_new = np.clip(x + t * d, self.lower, self.upper)
                f_new, g_new = prof.value_and_grad(x_new)
                if np.isfinite(f_new) and f_new <= f + ARMIJO * t * min(slope, 0.0):
                    accepted = True
                    break
                t *= 0.5
            if not accepted:
                if not exact:  # the carried curvature may be poor here: retry on the exact one
                    b = self.hessian(x, free_all, self._scale(b))
                    exact = True
                    continue
                # no decrease along the exact Newton step: at the minimum to rounding when the
                # EDM is tiny, else a failed fit
                converged = bool(positive and edm < 1e2 * self.edm_goal)
                break
            s_vec, y_vec = x_new - x, g_new - g
            x, f, g = x_new, f_new, g_new
            exact = False
            sy = float(s_vec @ y_vec)
            if sy > 1e-12 * np.linalg.norm(s_vec) * np.linalg.norm(y_vec):
                bs = b @ s_vec
                b = b - np.outer(bs, bs) / float(s_vec @ bs) + np.outer(y_vec, y_vec) / sy
                b = _pin(b, is_fixed)
        if converged and exact:
            self._last = (self._data_key(), b.copy())
        return x, f, b, converged, exact


def _pin(b: np.ndarray, fixed: np.ndarray) -> np.ndarray:
    """``b`` with the rows and columns of the ``fixed`` parameters those of the identity."""
    b[fixed, :] = 0.0
    b[:, fixed] = 0.0
    b[fixed, fixed] = 1.0
    return b


def _newton_step(g: np.ndarray, h: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """The Newton step −H⁻¹ g, with H's eigenvalues shifted positive where it is not positive
    definite (in units where H's diagonal is 1), the EDM ½ gᵀ H⁻¹ g, and whether H was
    positive definite."""
    scale = np.sqrt(np.maximum(np.abs(np.diag(h)), 1e-300))
    hs = h / np.outer(scale, scale)
    gs = g / scale
    w, v = np.linalg.eigh(0.5 * (hs + hs.T))
    positive = bool(w.min() > 1e-10 * max(w.max(), 1e-300))
    lam = w if positive else np.abs(w) + max(1e-3, 1e-6 * np.abs(w).max())
    c = v.T @ gs
    step_s = -(v @ (c / lam))
    edm = 0.5 * float(c @ (c / lam))
    return step_s / scale, edm, positive
