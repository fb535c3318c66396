"""The forward model: expected counts per component per (PE, t_rec) bin as a pytensor graph.

Everything that does not depend on a parameter is computed once here in numpy; the graph holds
only what the parameters move:

=====================  =====================================================================
parameter              what it changes in the graph
=====================  =====================================================================
r_n_scale              neutron form factor F_n(T) on the recoil grid (Helm or Klein–Nystrand)
physics models         the weak charge Q(q), extra rate terms, per-flavor scales: sin²θ_W,
                       NSI ε, the flavored scales, ⟨σ⟩_Φ and any registered plug-in
                       (:mod:`cevns_bayes.physics.plugins`)
quench_pca0/1          mean PE μ(T) of each recoil → gamma smearing (table interpolation)
eff_pca                ε_E on the reconstructed-PE sub-bins
timing_offset_us       shift of the neutrino, BRN and NIN time profiles (ε_T stays in t_rec)
*_norm, scale_*        multipliers
=====================  =====================================================================

CEvNS chain, per flavor f (ν_μ, ν̄_μ, ν_e) and isotope i (133Cs, 127I), on a recoil grid T_k:

    s_f(T_k) = N_CsI · Φ · Σ_i G_F² M_i/(4π) · [Q²_{i,f}(T_k) · K_{i,f}(T_k) + Σ_m A^m K^m] · ΔT
    K_{i,f}(T) = Σ_E p_f(E) (1 − M_i T/(2E²) − T/E)₊              (precomputed)
    Q_{i,f}    = Q^SM_{i,f}(q; R_n) + Σ_models ΔQ_{i,f}(q)        (physics models' hooks)
    E_f[p]    = Σ_{x ∈ p} ε_E(x) Σ_k s_f(T_k) P(x | μ(T_k))        (x: reconstructed-PE sub-bins)
    N_f[p, t] = E_f[p] · ∫_{t bin} ε_T(t) φ_f(t − t₀ − δt) dt

P(x | μ) is the gamma law integrated exactly over each sub-bin, tabulated on a fine μ grid and
interpolated linearly in μ (tabulation step ``mu_step_pe``). ε_E(x) enters as the exact mean of
the release's clipped curve over each sub-bin (closed form: the logistic's primitive is a
softplus and its zero crossing is analytic), with a first-moment correction: each sub-bin above
the lowest turn-on is integrated as ε̄ ∫P + s ∫(x − x̄)P, s the slope from its two halves'
exact means, so that the counts are C¹ in eff_pca and exact for ε_E or the spectrum linear
within a sub-bin. With the 9 × 11 binning there are 20 PE sub-bins (39 smearing columns): one
of 4.65 PE below the lowest turn-on (ε_E = 0 for every eff_pca in [−3, 3]), 0.45–0.48 PE
across the turn-on's range (4.65–9.35 PE), then one per analysis bin (two for 24–32 PE)
(:meth:`ForwardModel._pe_sub_edges`). The time integrals use cumulative tables on a 2 ns
grid, interpolated at the shifted bin edges by cubic Hermite polynomials, so that they are
smooth in the timing offset. The accuracy of each against a direct computation is a test
(``tests/test_forward.py``: ε_E within 1e-3 of every bin's counts, 2.7e-4 measured).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytensor
import pytensor.tensor as pt
from pytensor.gradient import disconnected_grad

from cevns_bayes import constants as c
from cevns_bayes import detector
from cevns_bayes.errors import ConfigError
from cevns_bayes.model.binning import Binning
from cevns_bayes.model.compile import compile_function
from cevns_bayes.model.parameters import CORE_PARAMETERS, get_parameter, parameter_owner
from cevns_bayes.physics import cross_section as xs
from cevns_bayes.physics import plugins
from cevns_bayes.physics.flux import FIT_FLAVORS, NeutrinoFlux

COMPONENTS = ("ssb", "brn", "nin", "cevns_nu_mu", "cevns_nu_mu_bar", "cevns_nu_e")
CEVNS_COMPONENTS = COMPONENTS[3:]
#: Components that are a PE shape times a time profile (row order of ``ForwardModel.factors``)
OUTER_COMPONENTS = ("cevns_nu_mu", "cevns_nu_mu_bar", "cevns_nu_e", "brn", "nin")
#: Parameters scaling each isotope's neutron radius (¹³³Cs, ¹²⁷I, the order of
#: ``constants.ISOTOPES``) on top of the common ``r_n_scale``
ISOTOPE_RADIUS_SCALES = ("r_n_scale_cs", "r_n_scale_i")
#: Degrees of the Chebyshev series in r_n_scale of ⟨σ⟩_SM(R_n) and of the neutron form factors
SIGMA_SM_CHEBYSHEV_DEGREE = 16
FORM_FACTOR_CHEBYSHEV_DEGREE = 16
#: How far the series in r_n_scale reach beyond its allowed range, on each side: their basis
#: cos(k arccos x) has a derivative that is singular at x = ±1, so the allowed range maps onto
#: |x| ≤ 0.83 where it is regular
RN_SERIES_MARGIN = 0.1
#: Recoil cells above the ROI's reach are dropped while together they give less than this
#: fraction of the SM CEvNS counts of every PE bin (:meth:`ForwardModel._recoil_cells_needed`)
RECOIL_TAIL_TOLERANCE = 1e-6
#: Bound on the relative error of a moment-corrected PE sub-bin above the turn-on, below which
#: a sub-bin may be wider than ``pe_substep`` (:meth:`ForwardModel._pe_sub_edges`)
PE_SUBBIN_TOLERANCE = 5e-4
#: A bound (/PE²) on |S″/S| of the smeared CEvNS spectrum S(x) above the turn-on (its
#: logarithmic slope is at most 0.2 /PE there), in the sub-bin error bound
SPECTRUM_CURVATURE = 0.04


class RnSeries:
    """A function of the neutron-radius scale alone as a Chebyshev series in r_n_scale.

    Whatever depends on R_n only (⟨σ⟩_SM, the neutron form factor on a fixed recoil grid) is
    tabulated once at the Chebyshev nodes of the parameter's allowed range (widened by
    :data:`RN_SERIES_MARGIN`) and evaluated in the graph as one small matrix product
    ``basis(r) @ coefficients``, with ``basis_k = cos(k arccos x)``: no special functions and
    a gradient of two matrix products, whatever the form factor. The accuracy against the
    direct computation is a test.
    """

    def __init__(self, fn, degree: int) -> None:
        """``fn(r)``: the exact values at an array of r_n_scale values ``r`` (n,), an array of
        shape (n, ...)."""
        par = get_parameter("r_n_scale")
        self.lo = float(par.lower) - RN_SERIES_MARGIN
        self.hi = float(par.upper) + RN_SERIES_MARGIN
        self.degree = int(degree)
        x = np.cos(np.pi * (np.arange(degree + 1) + 0.5) / (degree + 1))
        values = np.asarray(fn(self.to_r(x)), float)
        self.shape = values.shape[1:]
        flat = values.reshape(degree + 1, -1)
        self.coef = np.polynomial.chebyshev.chebfit(x, flat, degree)  # (degree + 1, n)

    def to_r(self, x):
        return self.lo + 0.5 * (x + 1.0) * (self.hi - self.lo)

    def to_x(self, r):
        return (2.0 * r - (self.lo + self.hi)) / (self.hi - self.lo)

    def numeric(self, r) -> np.ndarray:
        """The series at r_n_scale values ``r`` in numpy, shape (n, ...)."""
        x = self.to_x(np.atleast_1d(np.asarray(r, float)))
        return np.polynomial.chebyshev.chebval(x, self.coef).T.reshape(x.size, *self.shape)

    def graph(self, r_n_scale, coef=None):
        """The series at the scalar tensor ``r_n_scale``, shape ``self.shape``; ``coef`` is
        the coefficient table as it sits in the graph (default a constant)."""
        k = np.arange(self.degree + 1, dtype=float)
        basis = pt.cos(k * pt.arccos(self.to_x(r_n_scale)))
        out = pt.dot(basis, self.coef if coef is None else coef)
        return out.reshape(self.shape) if len(self.shape) != 1 else out


def rebin_uniform_density(
    src_edges: np.ndarray, values: np.ndarray, dst_edges: np.ndarray
) -> np.ndarray:
    """Re-bin histogram contents onto new edges, taking each source bin as uniform inside."""
    cum = np.concatenate([[0.0], np.cumsum(values)])
    return np.diff(np.interp(dst_edges, src_edges, cum))


def _cumulative_on_grid(
    edges: np.ndarray, prob: np.ndarray, grid: np.ndarray, weight=None
) -> np.ndarray:
    """∫_{-∞}^{g} w(t) p(t) dt at each grid point for a histogram ``prob`` on ``edges``."""
    p = prob if weight is None else prob * weight(0.5 * (edges[1:] + edges[:-1]))
    cum = np.concatenate([[0.0], np.cumsum(p)])
    return np.interp(grid, edges, cum, left=0.0, right=cum[-1])


def table_variable(values: np.ndarray, name: str):
    """A large parameter-independent table as a pytensor shared variable.

    Shared, not a constant, so that the numba backend passes it to the compiled graph as an
    argument and can cache the compiled code on disk (a graph with large constants inlined
    cannot be cached: :mod:`cevns_bayes.model.compile`). Read-only: nothing updates it. Its
    type carries the table's shape, so that the graph's slices and broadcasts of it are
    resolved when it is built (no shape arithmetic and checks left for every call).
    """
    values = np.ascontiguousarray(values, dtype=float)
    return pytensor.shared(values, name=name, borrow=True, shape=values.shape)


def fit_arrival_time_us(
    flux: NeutrinoFlux, nin_t_edges_us: np.ndarray, nin_t_values: np.ndarray
) -> float:
    """Arrival time (µs, t_rec frame) of the pulse centre that best matches the release's NIN.

    Neutrino-induced neutrons follow the delayed (μ-decay) ν_e time profile: the release's NIN
    time histogram, simulated by the collaboration with its own flux and timing, fixes where our
    flux's pulse centre sits in t_rec. Least-squares shape fit over a 1 ns grid of shifts; the
    ``timing_offset_us`` nuisance then measures departures from this point.
    """
    f = flux["nu_e"]
    cum = np.concatenate([[0.0], np.cumsum(f.time_prob)])
    data = np.asarray(nin_t_values, float)
    best = (np.inf, 0.0)
    for shift in np.arange(-0.5, 2.0, 0.001):
        model = np.diff(np.interp(nin_t_edges_us - shift, f.time_edges_us, cum))
        norm = model @ model
        if norm <= 0:
            continue
        amp = (model @ data) / norm
        chi2 = float(np.sum((data - amp * model) ** 2))
        if chi2 < best[0]:
            best = (chi2, float(shift))
    return best[1]


class ForwardModel:
    """Expected counts per component per (PE, t_rec) bin, as a differentiable pytensor graph.

    Args:
        release: :class:`cevns_bayes.io.ReleaseData`.
        flux: :class:`cevns_bayes.physics.flux.NeutrinoFlux`.
        binning: analysis binning (default 9 x 11).
        form_factor: ``"helm"``, ``"klein_nystrand"`` or ``"helm_a13"`` (both nuclei, protons
            and neutrons; radii from :func:`xs.nuclear_radii_fm`).
        couplings: ``"tree"``, ``"radiative"``, ``"giunti"`` or ``"coherent2021"`` (see
            :func:`xs.nucleon_couplings`; the last two depend on the flavor).
        time_efficiency: apply ε_T to CEvNS, BRN and NIN (False gives the paper's convention
            for quoting event counts).
        physics: the physics models (:mod:`cevns_bayes.physics.plugins`; names or
            instances, registered or not) whose parameters the graph understands; ``None``
            takes the built-in ones (⟨σ⟩_Φ, sin²θ_W, the flavored scales, NSI).
        arrival_time_us: t_rec of the flux's time zero; ``None`` takes the flux's own
            (0 for the 2021 time axis) or, for times relative to a modelled pulse, fits the
            pulse centre to the release's NIN time shape (:func:`fit_arrival_time_us`).
        recoil_step_kev, recoil_tail_tolerance, pe_substep, pe_subbin_tolerance, mu_step_pe,
            time_step_us: numerical resolution.
    """

    def __init__(
        self,
        release,
        flux: NeutrinoFlux,
        binning: Binning | None = None,
        *,
        form_factor: str = "helm",
        couplings: str = "tree",
        time_efficiency: bool = True,
        physics=None,
        arrival_time_us: float | None = None,
        recoil_step_kev: float = 0.5,
        recoil_tail_tolerance: float = RECOIL_TAIL_TOLERANCE,
        pe_substep: float = 0.5,
        pe_subbin_tolerance: float = PE_SUBBIN_TOLERANCE,
        mu_step_pe: float = 0.05,
        time_step_us: float = 0.002,
    ) -> None:
        self.release = release
        self.flux = flux
        self.binning = binning if binning is not None else Binning.default()
        self.form_factor = form_factor
        self.form_factor_fn = xs.form_factor(form_factor)
        self.isotopes = c.ISOTOPES
        radii = np.array([xs.nuclear_radii_fm(iso, form_factor) for iso in self.isotopes])
        #: nominal proton and neutron rms radii per isotope, fm (form-factor convention)
        self.proton_radii_fm, self.neutron_radii_fm = radii[:, 0], radii[:, 1]
        for f in FIT_FLAVORS:  # validates the name
            xs.nucleon_couplings(c.SIN2_THETA_W_LOW_Q2, couplings, f)
        self.couplings = couplings
        self._set_physics(physics)
        self.time_efficiency = bool(time_efficiency)
        if arrival_time_us is None:
            arrival_time_us = flux.arrival_time_us
        if arrival_time_us is None:
            arrival_time_us = fit_arrival_time_us(flux, release.nin_t.edges, release.nin_t.values)
        self.arrival_time_us = float(arrival_time_us)
        self.recoil_tail_tolerance = float(recoil_tail_tolerance)
        self._precompute_recoil(recoil_step_kev * 1e-3)
        self._precompute_sigma_grid()
        self._precompute_sigma_sm()
        self.pe_subbin_tolerance = float(pe_subbin_tolerance)
        self._precompute_detector(pe_substep, mu_step_pe)
        self._precompute_time(time_step_us)
        self._precompute_backgrounds()
        self.observed = self.binning.histogram(release.events_c.pe, release.events_c.t_us)
        self._compiled: dict[tuple[str, ...], object] = {}

    def _set_physics(self, physics) -> None:
        if physics is None:
            physics = plugins.BUILTIN_MODELS
        models = []
        for m in physics:
            m = plugins.get_physics_model(m) if isinstance(m, str) else m
            if not isinstance(m, plugins.PhysicsModel):
                raise ConfigError(f"physics: expected a physics model or its name, got {m!r}")
            if m.name not in (x.name for x in models):
                models.append(m)
        #: the physics models in the graph (:mod:`cevns_bayes.physics.plugins`)
        self.physics: tuple[plugins.PhysicsModel, ...] = tuple(models)
        names = [p.name for p in CORE_PARAMETERS]
        for m in self.physics:
            names += [p.name for p in m.parameters]
        #: every parameter the graph understands: the core, then the physics models'
        self.parameter_names: tuple[str, ...] = tuple(names)

    # ------------------------------------------------------------------ precomputation
    def _kinematic_table(self, t_mev: np.ndarray) -> np.ndarray:
        """K[i, f, k] = Σ_E p_f(E) (1 − M T/(2E²) − T/E)₊ for each isotope, flavor, recoil."""
        out = np.empty((len(self.isotopes), len(FIT_FLAVORS), t_mev.size))
        for i, iso in enumerate(self.isotopes):
            for j, name in enumerate(FIT_FLAVORS):
                f = self.flux[name]
                keep = f.energy_prob > 0
                e, p = f.energy_mev[keep], f.energy_prob[keep]
                out[i, j] = p @ xs.kinematic_factor(e[:, None], t_mev[None, :], iso.mass_mev)
        return out

    def _precompute_recoil(self, step_mev: float) -> None:
        qc = self.release.quenching
        t_long = (np.arange(int(0.4 / step_mev)) + 0.5) * step_mev
        mu_nom = detector.mean_pe(t_long, qc.nominal)
        mu_keep = 2.0 * self.binning.pe_edges[-1] + 40.0
        rising = np.concatenate([[True], np.diff(mu_nom) > 0])
        n = int(np.argmax(~((mu_nom <= mu_keep) & rising))) or t_long.size
        self.recoil_step_mev = step_mev
        self.mu_keep_pe = mu_keep
        t = t_long[:n]
        q = np.stack([xs.momentum_transfer_fm_inv(t, iso.mass_mev) for iso in self.isotopes])
        fp = np.stack(
            [self.form_factor_fn(q[i], self.proton_radii_fm[i]) for i in range(len(self.isotopes))]
        )
        kin = self._kinematic_table(t)
        pref = np.array([xs.prefactor_cm2_per_mev(iso.mass_mev) for iso in self.isotopes])
        # events per recoil cell per unit Q²: N_CsI · Φ · prefactor · K · ΔT
        rate_coeff = c.N_MOLECULES * c.FLUENCE_PER_FLAVOR_CM2 * step_mev * pref[:, None, None] * kin
        keep = self._recoil_cells_needed(t, q, fp, rate_coeff, mu_nom[:n])
        # contiguous copies: a strided constant in a graph keeps numba from caching it
        self.recoil_mev = np.ascontiguousarray(t[:keep])
        self._q_det = np.ascontiguousarray(q[:, :keep])
        self._fp_det = np.ascontiguousarray(fp[:, :keep])
        self._rate_coeff = np.ascontiguousarray(rate_coeff[..., :keep])
        self._charge_sm_det = self._sm_charge_pieces(self._fp_det)
        self._moment_det = self._moment_tables(
            self.recoil_mev,
            c.N_MOLECULES * c.FLUENCE_PER_FLAVOR_CM2 * step_mev * pref[:, None, None],
        )
        # F_n depends on R_n alone on this fixed grid: a series in r_n_scale (RnSeries)
        self._fn_det_series = RnSeries(self.neutron_form_factor_exact, FORM_FACTOR_CHEBYSHEV_DEGREE)
        self._fn_det_coef = table_variable(self._fn_det_series.coef, "neutron_form_factor_coef")
        # and per isotope, for analyses that free each nucleus' radius (ISOTOPE_RADIUS_SCALES)
        self._fn_det_series_iso = [
            RnSeries(
                lambda r, i=i: self.neutron_form_factor_exact(r)[:, i],
                FORM_FACTOR_CHEBYSHEV_DEGREE,
            )
            for i in range(len(self.isotopes))
        ]

    def _recoil_cells_needed(self, t, q, fp, rate_coeff, mu_nom) -> int:
        """How many recoil cells (from T = 0) the ROI needs.

        The decay-in-flight tail of the flux reaches recoils far above the πDAR end point
        (≈ 45 keV), whose light almost never falls below the top PE edge. Cells are dropped
        from the top as long as all the dropped ones together put less than
        ``recoil_tail_tolerance`` (default :data:`RECOIL_TAIL_TOLERANCE`; 0 keeps them all) of
        the SM CEvNS counts of any PE bin into that bin. That share is computed with the
        nominal R_n and a light yield 20% below nominal (the quenching nuisances move it by a
        few % per σ), so that no allowed parameter value brings the dropped cells back.
        """
        fn = np.stack(
            [self.form_factor_fn(q[i], self.neutron_radii_fm[i]) for i in range(len(self.isotopes))]
        )
        q2 = self._weak_charge_sq_sm(fp, fn)
        rate = np.einsum("ifk,ifk->k", rate_coeff, q2)
        in_bins = detector.smearing_matrix(0.8 * mu_nom, self.binning.pe_edges)  # (n_T, n_pe)
        contrib = rate[:, None] * in_bins
        tail = np.cumsum(contrib[::-1], axis=0)[::-1]  # tail[k]: cells k and above, per bin
        ok = np.all(tail <= self.recoil_tail_tolerance * contrib.sum(axis=0), axis=1)
        beyond = np.nonzero(ok)[0]
        return int(beyond[0]) if beyond.size else t.size

    def _precompute_sigma_grid(self) -> None:
        """Recoil cells for the flux-averaged cross section: fine to 60 keV, log above."""
        e_max = max(
            float(np.max(self.flux[f].energy_mev[self.flux[f].energy_prob > 0]))
            for f in FIT_FLAVORS
        )
        t_end = max(float(xs.max_recoil_mev(e_max, iso.mass_mev)) for iso in self.isotopes)
        fine = np.arange(0.0, 0.060 + 1e-12, 5e-5)
        edges = fine
        if t_end > fine[-1]:
            edges = np.concatenate([fine, np.geomspace(fine[-1], t_end, 200)[1:]])
        t = 0.5 * (edges[1:] + edges[:-1])
        w = np.diff(edges)
        self._sig_q = np.stack(
            [xs.momentum_transfer_fm_inv(t, iso.mass_mev) for iso in self.isotopes]
        )
        self._sig_fp = np.stack(
            [
                self.form_factor_fn(self._sig_q[i], self.proton_radii_fm[i])
                for i in range(len(self.isotopes))
            ]
        )
        kin = self._kinematic_table(t)
        pref = np.array([xs.prefactor_cm2_per_mev(iso.mass_mev) for iso in self.isotopes])
        weight = np.array([np.sum(self.flux[f].energy_prob) for f in FIT_FLAVORS])
        # per-nucleus average over Cs and I, per unit flux of each flavor, in 1e-40 cm^2
        self._sig_coeff = (
            0.5
            * pref[:, None, None]
            * kin
            * w[None, None, :]
            / weight[None, :, None]
            / c.CM2_PER_1E40
        )
        self._sig_coeff_t = table_variable(self._sig_coeff, "sigma_grid_coeff")
        self._flavor_weight = weight
        self._sig_t = t
        self._charge_sm_sig = self._sm_charge_pieces(self._sig_fp)
        self._moment_sig = self._moment_tables(
            t,
            0.5 * pref[:, None, None] * w[None, None, :] / weight[None, :, None] / c.CM2_PER_1E40,
        )

    def _sm_charge_pieces(self, fp: np.ndarray):
        """Q^SM = a + b F_n on a recoil grid with proton form factors ``fp`` (n_iso, n_T):
        ``a = −2 g_V^p Z F_p`` (n_iso, n_flavor or 1, n_T) and ``b = −2 g_V^n N`` (n_iso, 1, 1),
        at the nominal sin²θ_W in the spec's couplings convention (flavor axis of length 1
        where the convention does not depend on the flavor)."""
        flavors = FIT_FLAVORS if self.couplings in xs.FLAVOR_DEPENDENT_COUPLINGS else (None,)
        gp = np.empty(len(flavors))
        for j, f in enumerate(flavors):
            gp[j], gn = xs.nucleon_couplings(c.SIN2_THETA_W_LOW_Q2, self.couplings, f)
        z = np.array([iso.z for iso in self.isotopes], float)[:, None, None]
        n = np.array([iso.n for iso in self.isotopes], float)[:, None, None]
        a = -2.0 * gp[None, :, None] * z * fp[:, None, :]
        return np.ascontiguousarray(a), -2.0 * gn * n

    def _moment_tables(self, t_mev: np.ndarray, scale: np.ndarray) -> dict:
        """``scale`` × K^m[i, f, k] for every moment of the physics models (name →
        (n_iso, n_flavor, n_T) array; :func:`~cevns_bayes.physics.plugins.kinematic_moment`)."""
        out = {}
        for m in self.physics:
            for key, moment in m.moments().items():
                table = np.empty((len(self.isotopes), len(FIT_FLAVORS), t_mev.size))
                for i, iso in enumerate(self.isotopes):
                    for j, name in enumerate(FIT_FLAVORS):
                        f = self.flux[name]
                        table[i, j] = plugins.kinematic_moment(
                            moment.kernel, name, f.energy_mev, f.energy_prob, t_mev, iso.mass_mev
                        )
                out[(m.name, key)] = np.ascontiguousarray(scale * table)
        return out

    def sigma_sm_exact(self, r_n_scale, isotope: int | None = None) -> np.ndarray:
        """⟨σ⟩_SM per flavor (1e-40 cm², shape (n, 3)) at each R_n scale, on the full recoil
        grid in numpy (the reference for the Chebyshev series the graph uses); ``isotope``
        (an index) keeps that nucleus' share of the Cs/I average only."""
        r = np.atleast_1d(np.asarray(r_n_scale, float))[:, None]
        per = np.zeros((r.shape[0], len(FIT_FLAVORS)))
        for i in range(len(self.isotopes)):
            if isotope is not None and i != isotope:
                continue
            fn = self.form_factor_fn(self._sig_q[i][None, :], self.neutron_radii_fm[i] * r)
            qw = self._sm_weak_charges(i, self._sig_fp[i][None, :], fn)  # (n, 3, n_T)
            per += np.einsum("nfk,fk->nf", qw**2, self._sig_coeff[i])
        return per

    def _sm_weak_charges(self, i: int, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        """SM weak charge Q of isotope ``i`` per fit flavor (numpy): shape
        ``fn.shape[:-1] + (3, n_T)`` (the flavors differ only in the flavor-dependent
        couplings conventions)."""
        iso = self.isotopes[i]
        return np.stack(
            [
                xs.weak_charge(
                    iso.z, iso.n, fp, fn, c.SIN2_THETA_W_LOW_Q2, convention=self.couplings, flavor=f
                )
                for f in FIT_FLAVORS
            ],
            axis=-2,
        )

    def _weak_charge_sq_sm(self, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
        """SM Q² per isotope, flavor and recoil cell (numpy, shape (n_iso, 3, n_T)) for form
        factors ``fp``, ``fn`` of shape (n_iso, n_T)."""
        return np.stack([self._sm_weak_charges(i, fp[i], fn[i]) ** 2 for i in range(fp.shape[0])])

    def neutron_form_factor_exact(self, r_n_scale) -> np.ndarray:
        """F_n per isotope on the detector's recoil grid (numpy, shape (n, n_iso, n_T)) at each
        R_n scale: the reference for the series the graph uses."""
        r = np.atleast_1d(np.asarray(r_n_scale, float))[:, None]
        return np.stack(
            [
                self.form_factor_fn(self._q_det[i][None, :], self.neutron_radii_fm[i] * r)
                for i in range(len(self.isotopes))
            ],
            axis=1,
        )

    def _precompute_sigma_sm(self, degree: int = SIGMA_SM_CHEBYSHEV_DEGREE) -> None:
        """⟨σ⟩_SM depends on one parameter, R_n: a series in r_n_scale (:class:`RnSeries`)
        replaces the recoil-grid integral in the graph (accuracy: a test)."""
        self._sigma_sm_series = RnSeries(self.sigma_sm_exact, degree)
        self._sigma_sm_series_iso = [
            RnSeries(lambda r, i=i: self.sigma_sm_exact(r, isotope=i), degree)
            for i in range(len(self.isotopes))
        ]

    def _radius_scales(self, p: Mapping):
        """The neutron-radius scale of each isotope (tensors), or None when every isotope takes
        the common ``r_n_scale``: ``r_n_scale × r_n_scale_<isotope>``."""
        if not any(name in p for name in ISOTOPE_RADIUS_SCALES):
            return None
        common = self._param(p, "r_n_scale")
        return [common * self._param(p, name) for name in ISOTOPE_RADIUS_SCALES]

    def _sigma_sm_per_flavor(self, p: Mapping):
        """⟨σ⟩_SM per flavor at the neutron radii of ``p`` (tensor, shape (3,))."""
        scales = self._radius_scales(p)
        if scales is None:
            return self._sigma_sm_series.graph(self._param(p, "r_n_scale"))
        return sum(series.graph(r) for series, r in zip(self._sigma_sm_series_iso, scales))

    def _efficiency_sets(self) -> list[np.ndarray]:
        ec = self.release.efficiency
        return [np.asarray(x, float) for x in (ec.nominal, ec.plus, ec.minus)]

    def _threshold_window_pe(self) -> tuple[float, float]:
        """Where ε_E can turn on: the range (PE) of the zero crossing x₀ of the release's
        logistic (:func:`~cevns_bayes.detector.efficiency_zero_pe`) over eff_pca in [−3, 3]."""
        sets = self._efficiency_sets()
        zeros = np.array(
            [
                float(detector.efficiency_zero_pe(detector.interpolate_coefficients(*sets, t)))
                for t in np.linspace(-3.0, 3.0, 601)
            ]
        )
        zeros = zeros[np.isfinite(zeros)]
        if not zeros.size:
            return (np.inf, -np.inf)
        return (float(zeros.min()), float(zeros.max()))

    def _pe_sub_edges(self, pe_substep: float) -> np.ndarray:
        """Edges of the reconstructed-PE sub-bins over which ε_E is averaged.

        ε_E is the exact mean over each sub-bin (:func:`~cevns_bayes.detector.
        subbin_average_efficiency`) with the first-moment correction (:meth:`smearing_columns`,
        :meth:`_pe_moment_subbins`), so the only error left is the covariance of ε_E and the
        smeared spectrum S within a sub-bin beyond their linear parts:

        - below the lowest turn-on x₀ over eff_pca in [−3, 3] (:meth:`_threshold_window_pe`,
          4.65 PE) ε_E is 0: one sub-bin per analysis bin piece, exact there (a turn-on inside
          it, beyond eff_pca = ±3, is still exact in ε_E; only the covariance error remains);
        - across the turn-on's range (4.65–9.35 PE) ε_E has a kink, which the linear
          correction does not follow: ``pe_substep`` wide (default 0.5 PE; the error scales as
          h³ and is ≤ 2.7e-4 of a bin's counts at 0.5 PE, 5.7e-4 at 0.7 PE, 1.0e-3 at 0.9 PE);
        - above it ε_E is smooth and the error of a sub-bin of width h is ≈ |ε_E″ S″| h⁵/720,
          at most |ε_E″| κ² h⁴/720 of its counts with κ² = :data:`SPECTRUM_CURVATURE` a bound
          on |S″/S|: the fewest equal sub-bins of the piece for which that bound, with ε_E″
          over the piece and eff_pca in [−3, 3], stays below ``pe_subbin_tolerance`` (default
          :data:`PE_SUBBIN_TOLERANCE`).

        ``pe_subbin_tolerance = 0`` keeps every sub-bin ``pe_substep`` wide, without merging
        or moments (the reference of the accuracy test, with 0.02-PE sub-bins).
        """
        sets = self._efficiency_sets()
        z_lo, z_hi = self._threshold_window_pe()
        tol = self.pe_subbin_tolerance
        edges = [float(self.binning.pe_edges[0])]
        for lo, hi in zip(self.binning.pe_edges[:-1], self.binning.pe_edges[1:]):
            cuts = sorted({lo, hi, min(max(z_lo, lo), hi), min(max(z_hi, lo), hi)})
            for a, b in zip(cuts[:-1], cuts[1:]):
                n_fine = max(int(np.ceil((b - a) / pe_substep - 1e-9)), 1)
                if tol <= 0 or a >= z_lo and b <= z_hi:
                    n = n_fine
                elif b <= z_lo:
                    n = 1  # ε_E = 0 for every eff_pca in [−3, 3]
                else:
                    # above the turn-on: ε_E is smooth; the fewest sub-bins within the bound
                    # the logistic's curvature a b² σ(1 − σ)(1 − 2σ) where it is above 0
                    x = np.linspace(a, b, 201)
                    d2 = 0.0
                    for theta in np.linspace(-3.0, 3.0, 13):
                        ca, cb, cc, cd = detector.interpolate_coefficients(*sets, theta)
                        sig = 1.0 / (1.0 + np.exp(-cb * (x - cc)))
                        curv = np.abs(ca * cb**2 * sig * (1.0 - sig) * (1.0 - 2.0 * sig))
                        on = ca * sig + cd > 0.0
                        d2 = max(d2, float(np.max(curv[on], initial=0.0)))
                    n = next(
                        (m for m in range(1, n_fine) if d2 * SPECTRUM_CURVATURE * ((b - a) / m) ** 4
                         / 720.0 <= tol),
                        n_fine,
                    )  # fmt: skip
                edges.extend(a + (b - a) * np.arange(1, n + 1) / n)
        return np.array(edges)

    def _pe_moment_subbins(self, edges: np.ndarray) -> np.ndarray:
        """Which sub-bins carry the first-moment correction (boolean, one per sub-bin): all
        above the lowest turn-on (none with ``pe_subbin_tolerance = 0``)."""
        z_lo, _ = self._threshold_window_pe()
        return (edges[1:] > z_lo) & (self.pe_subbin_tolerance > 0)

    def smearing_columns(self, mu_pe: np.ndarray) -> np.ndarray:
        """The exact smearing columns at means ``mu_pe`` (numpy, shape (n_mu, n_columns)), one
        per ε_E edge interval (``self._eff_edges``), so that the CEvNS counts of analysis bin p
        are Σ_{columns of p} ε̄_col · column (:meth:`pe_spectra`).

        A sub-bin j without the moment correction is one column, its gamma probability
        P_j = ∫_j P(x | μ) dx. A moment-corrected one, of width h, is integrated as
        ε̄_j P_j + s_j M_j, with M_j = ∫_j (x − x̄_j) P(x | μ) dx
        (:func:`~cevns_bayes.detector.smearing_first_moment`), ε̄_j its mean ε_E and
        s_j = 2 (ε̄_R − ε̄_L)/h the slope from the exact means of its halves: exact for a
        linear ε_E against any spectrum, and for any ε_E against a spectrum linear within the
        sub-bin. Since ε̄_j = (ε̄_L + ε̄_R)/2 this is ε̄_L (P_j/2 − 2 M_j/h) + ε̄_R (P_j/2 +
        2 M_j/h): two columns, one per half, each weighted by its half's exact mean.
        """
        prob = detector.smearing_matrix(mu_pe, self.pe_sub_edges)
        moment = detector.smearing_first_moment(mu_pe, self.pe_sub_edges)
        width = np.diff(self.pe_sub_edges)
        cols = []
        for j in range(width.size):
            if self.pe_sub_moment[j]:
                tilt = 2.0 * moment[:, j] / width[j]
                cols += [0.5 * prob[:, j] - tilt, 0.5 * prob[:, j] + tilt]
            else:
                cols.append(prob[:, j])
        return np.stack(cols, axis=1)

    def _precompute_detector(self, pe_substep: float, mu_step: float) -> None:
        pe_edges = self.binning.pe_edges
        sub = self._pe_sub_edges(pe_substep)
        self.pe_sub_edges = sub
        self.pe_sub_centres = 0.5 * (sub[1:] + sub[:-1])
        self.pe_sub_moment = self._pe_moment_subbins(sub)
        # ε_E is the exact mean over each sub-bin, or over each half of a moment-corrected one
        self._eff_edges = np.unique(np.concatenate([sub, self.pe_sub_centres[self.pe_sub_moment]]))
        centres = 0.5 * (self._eff_edges[1:] + self._eff_edges[:-1])
        which = np.searchsorted(pe_edges, centres, side="right") - 1
        self._sub_to_bin = np.zeros((centres.size, pe_edges.size - 1))
        self._sub_to_bin[np.arange(which.size), which] = 1.0
        mu_max = 1.5 * self.mu_keep_pe
        self._mu_step = mu_step
        self._mu_grid = np.arange(0.0, mu_max + mu_step, mu_step)
        table = self.smearing_columns(self._mu_grid)
        self._smear_table_t = table_variable(table, "smear_table")
        self._smear_delta_t = table_variable(
            np.vstack([np.diff(table, axis=0), np.zeros((1, table.shape[1]))]), "smear_delta"
        )
        qc = self.release.quenching
        self._quench_nominal = np.asarray(qc.nominal, float)
        self._quench_modes = [(np.asarray(p, float), np.asarray(m, float)) for p, m in qc.modes]
        if len(self._quench_modes) < 2:
            raise ConfigError(
                f"the quenching file must provide two PCA modes (found {len(self._quench_modes)})"
            )
        ec = self.release.efficiency
        self._eff = (
            np.asarray(ec.nominal, float),
            np.asarray(ec.plus, float),
            np.asarray(ec.minus, float),
        )

    def _precompute_time(self, step: float) -> None:
        t_edges = self.binning.t_edges_us
        lo_b = get_parameter("timing_offset_us").lower
        hi_b = get_parameter("timing_offset_us").upper
        g0 = t_edges[0] - hi_b - 0.05
        g1 = t_edges[-1] - lo_b + 0.05
        self._tgrid0 = g0
        self._tgrid_step = step
        grid = g0 + step * np.arange(int(np.ceil((g1 - g0) / step)) + 2)
        onset = c.TIME_EFFICIENCY_ONSET_US
        decay = c.TIME_EFFICIENCY_DECAY_PER_US

        def eps_after(t):
            return np.exp(-decay * (t - onset))

        sources = []
        for name in FIT_FLAVORS:
            f = self.flux[name]
            sources.append((f.time_edges_us + self.arrival_time_us, f.time_prob))
        for shape in (self.release.brn_t, self.release.nin_t):
            sources.append((np.asarray(shape.edges, float), np.asarray(shape.values, float)))
        self._time_sources = (*FIT_FLAVORS, "brn", "nin")
        self._cum = np.stack([_cumulative_on_grid(e, p, grid) for e, p in sources])
        self._cum_eps = np.stack([_cumulative_on_grid(e, p, grid, eps_after) for e, p in sources])

        # one row-major lookup table for a cubic Hermite (Catmull–Rom) interpolation of the
        # cumulative profiles: per grid point i, without and with ε_T, the value C_i, the step
        # C_{i+1} − C_i, and the slopes m_i, m_{i+1} (central differences), so that the
        # interpolation at every shifted edge is a single gather of contiguous rows. The slope
        # in τ is continuous where an edge crosses a grid point (linear interpolation would
        # make a corner in the likelihood there)
        def step_of(cum):
            return np.diff(cum, axis=1, append=cum[:, -1:])

        def slope_of(cum):
            return np.gradient(cum, axis=1)

        def next_of(x):
            return np.concatenate([x[:, 1:], x[:, -1:]], axis=1)

        # row layout (4, 2k) per grid point: C, ΔC, m, m_next, each without then with ε_T
        blocks = []
        for part in (lambda x: x, step_of, slope_of, lambda x: next_of(slope_of(x))):
            blocks += [part(self._cum), part(self._cum_eps)]
        self._time_rows = table_variable(
            np.concatenate([b.T for b in blocks], axis=1), "time_cdf_rows"
        )
        # pieces of time bins: before / after the ε_T onset
        lo, hi, after, bin_of = [], [], [], []
        for j in range(t_edges.size - 1):
            a, b = t_edges[j], t_edges[j + 1]
            if self.time_efficiency and a < onset < b:
                lo += [a, onset]
                hi += [onset, b]
                after += [0.0, 1.0]
                bin_of += [j, j]
            else:
                lo.append(a)
                hi.append(b)
                after.append(1.0 if (self.time_efficiency and a >= onset) else 0.0)
                bin_of.append(j)
        self._piece_lo = np.array(lo)
        self._piece_hi = np.array(hi)
        self._piece_after = np.array(after)
        self._piece_to_bin = np.zeros((len(lo), t_edges.size - 1))
        self._piece_to_bin[np.arange(len(lo)), bin_of] = 1.0
        # time bin j = Σ over its pieces of (C(hi) − C(lo)), from the table without ε_T before
        # the onset and with it after: one constant matrix on the interpolated edge values
        # (upper edges, then lower ones), its first n_t rows for the plain columns, the next
        # n_t for the ε_T-weighted ones
        diff = np.hstack([np.eye(len(lo)), -np.eye(len(lo))])
        self._edges_to_bins = np.vstack(
            [
                self._piece_to_bin.T @ ((1.0 - self._piece_after)[:, None] * diff),
                self._piece_to_bin.T @ (self._piece_after[:, None] * diff),
            ]
        )

    def _precompute_backgrounds(self) -> None:
        b = self.binning
        pe_lo, pe_hi = b.pe_edges[0], b.pe_edges[-1]
        t_lo, t_hi = b.t_edges_us[0], b.t_edges_us[-1]
        ac = self.release.events_ac
        sel = (ac.pe >= pe_lo) & (ac.pe < pe_hi) & (ac.t_us >= t_lo) & (ac.t_us < t_hi)
        self.n_ac_region = int(np.count_nonzero(sel))
        pe_hist, _ = np.histogram(ac.pe[sel], bins=b.pe_edges)
        k = c.SSB_DECAY_PER_US
        t_cdf = -np.exp(-k * b.t_edges_us)
        t_frac = np.diff(t_cdf) / (t_cdf[-1] - t_cdf[0])
        self._ssb = pe_hist[:, None] * t_frac[None, :]
        # BRN / NIN PE shapes: PDFs normalized to 1 below 60 PE, time files to all PE (release)
        self._neutron_pe = {}
        for name, shape in (("brn", self.release.brn_pe), ("nin", self.release.nin_pe)):
            values = np.asarray(shape.values, float)
            self._neutron_pe[name] = (
                rebin_uniform_density(np.asarray(shape.edges, float), values, b.pe_edges)
                / values.sum()
            )
        self._neutron_pe_rows = np.stack([self._neutron_pe["brn"], self._neutron_pe["nin"]])

    # ------------------------------------------------------------------ graph pieces
    @staticmethod
    def _param(p: Mapping, name: str):
        if name in p:
            return p[name]
        return pt.constant(get_parameter(name).nominal, dtype="float64")

    def _neutron_form_factor(self, q, p: Mapping):
        """F_n per isotope at momenta ``q`` (n_iso, n) from the form factor itself (the
        cross-section grid; the detector grid uses the series)."""
        scales = self._radius_scales(p) or [self._param(p, "r_n_scale")] * len(self.isotopes)
        return pt.stack(
            [
                self.form_factor_fn(q[i], self.neutron_radii_fm[i] * scales[i], xp=pt)
                for i in range(len(self.isotopes))
            ]
        )

    def _context(self, p: Mapping, grid: str, fn) -> plugins.PhysicsContext:
        """The :class:`~cevns_bayes.physics.plugins.PhysicsContext` of the detector's
        (``"det"``) or the cross-section (``"sig"``) recoil grid, F_n given."""
        q, fp, t = (
            (self._q_det, self._fp_det, self.recoil_mev)
            if grid == "det"
            else (self._sig_q, self._sig_fp, self._sig_t)
        )
        return plugins.PhysicsContext(
            p,
            FIT_FLAVORS,
            isotopes=self.isotopes,
            z=np.array([iso.z for iso in self.isotopes], float)[:, None, None],
            n=np.array([iso.n for iso in self.isotopes], float)[:, None, None],
            mass_mev=np.array([iso.mass_mev for iso in self.isotopes], float)[:, None, None],
            recoil_mev=t[None, None, :],
            q_fm_inv=q[:, None, :],
            f_p=fp[:, None, :],
            f_n=fn[:, None, :],
            couplings=self.couplings,
        )

    def _rate(self, p: Mapping, grid: str, fn):
        """Σ over isotopes of the rate coefficients times Q² plus the physics models' extra
        terms, per flavor and recoil cell (shape (n_flavor, n_T)), on the detector's
        (``"det"``: events per cell) or the cross-section grid (``"sig"``: 1e-40 cm² per cell
        per nucleus; module docstring of :mod:`cevns_bayes.physics.plugins`)."""
        a, b = self._charge_sm_det if grid == "det" else self._charge_sm_sig
        coeff = self._rate_coeff if grid == "det" else self._sig_coeff_t
        moments = self._moment_det if grid == "det" else self._moment_sig
        ctx = self._context(p, grid, fn)
        charge = a + b * fn[:, None, :]
        for m in self.physics:
            dq = m.charge(ctx)
            if dq is not None:
                charge = charge + dq
        q2 = charge**2
        rate = pt.sum(coeff * q2, axis=0)
        for m in self.physics:
            for key, amp in m.rate_terms(ctx, q2).items():
                if key == plugins.CEVNS_MOMENT:
                    table = coeff
                else:
                    if (m.name, key) not in moments:
                        raise ConfigError(
                            f"physics model {m.name!r}: rate term {key!r} is not among its "
                            f"moments ({', '.join(m.moments()) or 'none'})"
                        )
                    table = moments[(m.name, key)]
                rate = rate + pt.sum(table * amp, axis=0)
        return rate

    def flavor_scales(self, p: Mapping):
        """The product of the physics models' flavor scales, shape (n_flavor,) (ones when no
        model scales a flavor)."""
        ctx = plugins.PhysicsContext(
            p,
            FIT_FLAVORS,
            sigma_sm=lambda: self.flux_averaged_cross_section(p, sm=True)["total"],
        )
        scale = pt.ones(len(FIT_FLAVORS))
        for m in self.physics:
            x = m.flavor_scale(ctx)
            if x is not None:
                scale = scale * x
        return scale

    def recoil_counts(self, p: Mapping):
        """CEvNS events per recoil cell per flavor before the detector, shape (3, n_T) (the
        flavor scales apart: :meth:`factors`)."""
        scales = self._radius_scales(p)
        if scales is None:
            fn = self._fn_det_series.graph(self._param(p, "r_n_scale"), self._fn_det_coef)
        else:
            fn = pt.stack([s.graph(r) for s, r in zip(self._fn_det_series_iso, scales)])
        return self._rate(p, "det", fn)

    def mean_pe(self, p: Mapping):
        """Mean PE of each recoil cell at the quenching nuisances in ``p``."""
        coeffs = self._quench_nominal
        for k, (plus, minus) in enumerate(self._quench_modes[:2]):
            coeffs = (
                coeffs
                + detector.interpolate_coefficients(
                    self._quench_nominal, plus, minus, self._param(p, f"quench_pca{k}"), xp=pt
                )
                - self._quench_nominal
            )
        return detector.mean_pe(self.recoil_mev, coeffs, xp=pt)

    def energy_efficiency(self, p: Mapping):
        """ε_E per smearing column (:meth:`smearing_columns`): the exact mean of each PE
        sub-bin, or of each half of a moment-corrected one (C¹ in eff_pca: see
        :func:`~cevns_bayes.detector.subbin_average_efficiency`)."""
        theta = self._param(p, "eff_pca")
        # one scalar per coefficient (not a vector to index): the graph fuses into few nodes
        coeffs = [
            detector.interpolate_coefficients(*(float(x[i]) for x in self._eff), theta, xp=pt)
            for i in range(4)
        ]
        return detector.subbin_average_efficiency(self._eff_edges, coeffs, xp=pt)

    def pe_spectra(self, p: Mapping):
        """Expected CEvNS counts per analysis PE bin per flavor (all times), shape (3, n_pe)."""
        s = self.recoil_counts(p)
        u = self.mean_pe(p) / self._mu_step
        u_c = pt.clip(u, 0.0, self._mu_grid.size - 1.0)
        idx = pt.cast(pt.floor(disconnected_grad(u_c)), "int64")
        idx = pt.minimum(idx, self._mu_grid.size - 2)
        w = u_c - idx
        sub = pt.dot(s, self._smear_table_t[idx]) + pt.dot(s * w[None, :], self._smear_delta_t[idx])
        return pt.dot(sub * self.energy_efficiency(p)[None, :], self._sub_to_bin)

    def time_profiles(self, p: Mapping):
        """Fraction of each time source per analysis t bin (with ε_T when enabled).

        Sources are ν_μ, ν̄_μ, ν_e (probabilities) then BRN, NIN (counts per the release's
        exposure normalization); shape (5, n_t).
        """
        tau = self._param(p, "timing_offset_us")
        n = self._cum.shape[1]
        k = self._cum.shape[0]
        # interpolate the cumulative tables at every piece's upper and lower edge at once
        edges = np.concatenate([self._piece_hi, self._piece_lo])
        u = (edges - tau - self._tgrid0) / self._tgrid_step
        u_c = pt.clip(u, 0.0, n - 1.0)
        idx = pt.minimum(pt.cast(pt.floor(disconnected_grad(u_c)), "int64"), n - 2)
        w = u_c - idx
        rows = self._time_rows[idx].reshape((edges.size, 4, 2 * k))
        # cubic Hermite basis on [i, i + 1]: C_i + h01 ΔC + h10 m_i + h11 m_{i+1}
        basis = pt.stack(
            [pt.ones_like(w), w * w * (3.0 - 2.0 * w), w * (1.0 - w) ** 2, w * w * (w - 1.0)],
            axis=1,
        )
        values = pt.sum(rows * basis[:, :, None], axis=1)  # (2 n_pieces, 2k): plain, with ε_T
        per_bin = pt.dot(self._edges_to_bins, values)
        n_t = self._piece_to_bin.shape[1]
        shift = pt.exp(-c.TIME_EFFICIENCY_DECAY_PER_US * tau)
        return (per_bin[:n_t, :k] + shift * per_bin[n_t:, k:]).T

    def factors(self, p: Mapping):
        """The outer-product factors of the model at parameters ``p``.

        Every component but the SSB is a PE shape times a time profile: returns
        ``(pe, t, ssb)`` with ``pe`` (5, n_pe) the PE factors of ν_μ, ν̄_μ, ν_e, BRN and NIN with
        their normalizations folded in, ``t`` (5, n_t) their time profiles, and ``ssb``
        (n_pe, n_t) the steady-state background, so that component j is
        ``outer(pe[j], t[j])`` and the total is ``pe.T @ t + ssb`` (one matrix product).
        """
        times = self.time_profiles(p)
        spectra = self.pe_spectra(p)
        norm = self._param(p, "cevns_norm") * self._param(p, "flux_norm")
        flavor_norm = norm * self.flavor_scales(p)
        neutron_norm = pt.stack([self._param(p, f"{name}_norm") for name in ("brn", "nin")])
        pe = pt.concatenate(
            [spectra * flavor_norm[:, None], self._neutron_pe_rows * neutron_norm[:, None]]
        )
        ssb = self._param(p, "ssb_norm") * pt.constant(self._ssb)
        return pe, times, ssb

    def components(self, p: Mapping) -> dict:
        """Expected counts per component, each a (n_pe, n_t) tensor, at parameters ``p``.

        ``p`` maps parameter names (see :mod:`cevns_bayes.model.parameters`) to scalar tensors;
        a missing name takes its nominal value.
        """
        pe, t, ssb = self.factors(p)
        out = {"ssb": ssb}
        for j, name in enumerate(OUTER_COMPONENTS):
            out[name] = pt.outer(pe[j], t[j])
        return {k: out[k] for k in COMPONENTS}

    def component_counts(self, p: Mapping):
        """Expected counts per component summed over the binning, shape (6,) in
        :data:`COMPONENTS` order (each outer product sums to the product of its factors' sums)."""
        pe, t, ssb = self.factors(p)
        outer = pe.sum(axis=1) * t.sum(axis=1)
        return pt.concatenate([ssb.sum()[None], outer[3:], outer[:3]])

    def total(self, p: Mapping):
        """Expected counts per (PE, t) bin summed over the components: one matrix product of
        the factors (:meth:`factors`), the form every likelihood uses."""
        pe, t, ssb = self.factors(p)
        return pt.dot(pe.T, t) + ssb

    def flux_averaged_cross_section(self, p: Mapping, sm: bool = False) -> dict:
        """⟨σ⟩ in 1e-40 cm² per nucleus (Cs/I average): ``total`` over the three flavors'
        flux, ``mu`` over ν_μ + ν̄_μ, ``e`` over ν_e, and per flavor, with every physics model
        at ``p`` (their flavor scales included). ``sm=True`` is the SM (the spec's couplings,
        sin²θ_W nominal, no physics model) at the R_n in ``p``: a function of R_n alone,
        evaluated from its precomputed Chebyshev series."""
        if sm:
            per = self._sigma_sm_per_flavor(p)
        else:
            fn = self._neutron_form_factor(self._sig_q, p)
            per = pt.sum(self._rate(p, "sig", fn), axis=1) * self.flavor_scales(p)
        w = self._flavor_weight
        out = {f: per[j] for j, f in enumerate(FIT_FLAVORS)}
        out["total"] = pt.sum(per * w) / w.sum()
        out["mu"] = (per[0] * w[0] + per[1] * w[1]) / (w[0] + w[1])
        out["e"] = per[2]
        return out

    # ------------------------------------------------------------------ numeric helpers
    def check_parameters(self, names) -> None:
        """A :class:`ConfigError` for a name the graph does not understand."""
        for name in names:
            if name not in self.parameter_names:
                owner = parameter_owner(name)  # unknown anywhere: that error
                raise ConfigError(
                    f"parameter {name!r} belongs to the physics model {owner!r}, which this "
                    f"forward model was not built with (its models: "
                    f"{', '.join(m.name for m in self.physics)})"
                )

    def evaluate(self, values: Mapping[str, float] | None = None) -> dict[str, np.ndarray]:
        """Numeric components and ⟨σ⟩ at the given parameter values (nominal otherwise)."""
        values = dict(values or {})
        self.check_parameters(values)
        names = tuple(sorted(values))
        if names not in self._compiled:
            theta = pt.dvector("theta")
            p = {n: theta[i] for i, n in enumerate(names)}
            comps = self.components(p)
            sig = self.flux_averaged_cross_section(p)
            sig_sm = self.flux_averaged_cross_section(p, sm=True)
            outs = [comps[k] for k in COMPONENTS] + [
                sig["total"],
                sig["mu"],
                sig["e"],
                sig_sm["total"],
            ]
            self._compiled[names] = compile_function(
                [theta], outs, hot=False, on_unused_input="ignore"
            )
        vec = np.array([float(values[n]) for n in names], float)
        res = self._compiled[names](vec)
        out = {k: np.asarray(v) for k, v in zip(COMPONENTS, res[: len(COMPONENTS)])}
        out["cevns"] = sum(out[k] for k in CEVNS_COMPONENTS)
        out["sigma_total_1e40cm2"] = float(res[-4])
        out["sigma_mu_1e40cm2"] = float(res[-3])
        out["sigma_e_1e40cm2"] = float(res[-2])
        out["sigma_sm_total_1e40cm2"] = float(res[-1])
        return out
