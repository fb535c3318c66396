"""A light sterile neutrino (3+1): ν_α → ν_s disappearance seen by neutral-current CEvNS.

With one sterile state and |U_τ4| = 0 (docs/physics.md §9), a neutrino of flavor α and
energy E reaches the detector as an active neutrino with probability 1 − P_αs,

    P_αs = 4 |U_α4|² |U_s4|² sin²(1.267 Δm²_41[eV²] L[m] / E[MeV]),
    |U_s4|² = 1 − |U_e4|² − |U_μ4|²,

and CEvNS, flavor-blind at tree level, loses the fraction P_αs of the rate energy by energy
(ν̄_μ oscillates with the same |U_μ4| as ν_μ: no CP phase enters a two-state disappearance
probability). The kinematic moment of flavor f becomes
K_f(T; Δm²) = Σ_E φ_f(E) (1 − P) (1 − M T/(2E²) − T/E), i.e. the CEvNS moment minus
4 |U_α4|² |U_s4|² S_f(T; Δm²) with the oscillation moment

    S_f(T; Δm²) = Σ_E φ_f(E) ⟨sin²(1.267 Δm² L / E)⟩_L (1 − M T/(2E²) − T/E).

**Baseline.** L₀ = 19.3 m, the distance from the SNS mercury target to the CsI[Na] detector
(COHERENT, Science 357, 1123 (2017) and the 2021 data release, Appendix A:
:data:`cevns_bayes.constants.BASELINE_CM`). The average ⟨·⟩_L is over L = L₀ + s + d with s
uniform in ±:data:`SOURCE_HALF_WIDTH_M` (where the pions stop and decay at rest in the target:
the stopping region is of the order of the target's ≈ 50 cm depth) and d uniform in
±:data:`DETECTOR_HALF_WIDTH_M` (the 33 cm long crystal, taken along the line of sight: the
largest spread it can give). Both are assumptions of this package, not published numbers; the
convolution of two boxes (a trapezoid of L) averages in closed form,

    ⟨sin²(kL)⟩ = ½ [1 − cos(2kL₀) sinc(2ka) sinc(2kb)],   k = 1.267 Δm²/E,  sinc x = sin x / x,

which tends to ½ once the oscillation length is shorter than the source and detector
(Δm² ≳ 300 eV² at 30 MeV).

**Implementation.** S_f is a flux average whose kernel depends on Δm², but the forward model
precomputes moments with fixed kernels (:class:`~cevns_bayes.physics.plugins.Moment`), and
each costs ≈ 0.2 s to tabulate: one moment per Δm² node is not affordable at the density the
oscillations need (≈ 100 periods in Δm² below 300 eV²). So the energy axis is cut into
:data:`ENERGY_BANDS_MEV` (2 MeV wide over the πDAR spectra, the 29.7–29.8 MeV bin of the
prompt ν_μ line alone, wide bands for the decay-in-flight tail) and each band b is one moment,
M_b(T) = Σ_{E∈b} φ_f(E) (1 − M T/(2E²) − T/E), with the band's mean oscillation weight

    w_b(Δm²) = (1/|b|) ∫_b ⟨sin²(1.267 Δm² L/E)⟩_L dE     (the line: its value at 29.75 MeV),

so S_f ≈ Σ_b w_b(Δm²) M_b. The w_b and ∂w_b/∂ln Δm² are tabulated (numpy, once) on
:data:`N_NODES` nodes log-spaced over :data:`DM2_RANGE_EV2`, and :meth:`SterileNeutrino.
rate_terms` interpolates them with cubic Hermite polynomials in ln Δm² (C¹, exact at the
nodes, the node spacing 0.0023 in ln Δm² far below the oscillation period); Δm² is clipped
into the node range. The amplitude of band b's moment is −4 |U_α4|² |U_s4|² Q² w_b.
The approximation is the band average (the flux varies within a band; the 1/E dependence of
the phase across the prompt line's 0.1 MeV bin is dropped): against the direct sum over the
flux energies (tests/test_sterile.py) the rate change agrees to ≈ 1e-3 of the SM rate below a
few eV² and to ≈ 1% of it (of order 1e-2 × 4|U|²|U_s|²) in the oscillating region.

**Exclusion curves.** With |U_μ4| = 0, P_es = sin²2θ_ee sin²(...) with
sin²2θ_ee = 4 |U_e4|² (1 − |U_e4|²) (:func:`sin2_2theta`), monotonic for |U_e4|² ≤ ½, so an
upper limit on ``ue4_sq`` (``models/sterile.toml``) is one on sin²2θ_ee; likewise ``umu4_sq``
with |U_e4| = 0 (``models/sterile_mumu.toml``) for sin²2θ_μμ. :meth:`SterileNeutrino.
derived_limits` gives those conversions to ``cevns-bayes scan``.
"""

from __future__ import annotations

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.model.parameters import Parameter
from cevns_bayes.physics.plugins import Moment, PhysicsModel, register_physics_model

#: the oscillation phase constant: 1.267 Δm²[eV²] L[m] / E[MeV] (ħc and unit conversions)
PHASE = 1.267
#: baseline from the target centre to the detector centre, m
BASELINE_M = c.BASELINE_CM / 100.0
#: half-width of the (uniform) spread of the neutrino production point along the line of sight
SOURCE_HALF_WIDTH_M = 0.25
#: half-width of the (uniform) spread of the interaction point along the line of sight
DETECTOR_HALF_WIDTH_M = 0.165
#: the range of Δm²_41 (eV²) the interpolation covers (the parameter's bounds)
DM2_RANGE_EV2 = (0.1, 1000.0)
#: interpolation nodes, log-spaced over DM2_RANGE_EV2
N_NODES = 4001
#: the energy bands (MeV) of the oscillation moments: 2 MeV over the πDAR spectra, the prompt
#: line's bin alone, wider bands for the decay-in-flight tail (module docstring)
ENERGY_BANDS_MEV = np.concatenate(
    [[0.0, 5.0], np.arange(10.0, 28.1, 2.0), [29.7, 29.8], np.arange(32.0, 54.1, 2.0)]
    + [[80.0, 150.0, 320.0]]
)
#: the band holding the prompt ν_μ line (πDAR: (m_π² − m_μ²)/(2 m_π) = 29.79 MeV; the release
#: flux puts it in its 29.7–29.8 MeV bin), whose weight is taken at the bin centre
LINE_BAND = (29.7, 29.8)
#: quadrature points per band for the band averages
_BAND_POINTS = 400
#: which |U_α4|² each flavor's disappearance uses
MIXING_OF = {"nu_mu": "umu4_sq", "nu_mu_bar": "umu4_sq", "nu_e": "ue4_sq"}


def _sinc(x):
    x = np.asarray(x, float)
    small = np.abs(x) < 1e-4
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x**2 / 6.0, np.sin(safe) / safe)


def _dsinc(x):
    """d sinc(x) / dx."""
    x = np.asarray(x, float)
    small = np.abs(x) < 1e-4
    safe = np.where(small, 1.0, x)
    return np.where(small, -x / 3.0, (safe * np.cos(safe) - np.sin(safe)) / safe**2)


def averaged_sin2(e_mev, dm2_ev2, *, a=SOURCE_HALF_WIDTH_M, b=DETECTOR_HALF_WIDTH_M):
    """⟨sin²(1.267 Δm² L/E)⟩ over the trapezoidal L distribution (module docstring; numpy)."""
    k = PHASE * np.asarray(dm2_ev2, float) / np.asarray(e_mev, float)
    return 0.5 * (1.0 - np.cos(2.0 * k * BASELINE_M) * _sinc(2.0 * k * a) * _sinc(2.0 * k * b))


def averaged_sin2_dlog(e_mev, dm2_ev2, *, a=SOURCE_HALF_WIDTH_M, b=DETECTOR_HALF_WIDTH_M):
    """∂⟨sin²⟩/∂ ln Δm² (= k ∂/∂k at fixed E; numpy)."""
    k = PHASE * np.asarray(dm2_ev2, float) / np.asarray(e_mev, float)
    s = _sinc(2.0 * k * a) * _sinc(2.0 * k * b)
    ds = 2.0 * a * _dsinc(2.0 * k * a) * _sinc(2.0 * k * b) + 2.0 * b * _sinc(2.0 * k * a) * _dsinc(
        2.0 * k * b
    )
    phase = 2.0 * k * BASELINE_M
    return -0.5 * k * (-2.0 * BASELINE_M * np.sin(phase) * s + np.cos(phase) * ds)


def sin2_2theta(u_sq):
    """sin²2θ_αα = 4 |U_α4|² (1 − |U_α4|²) (with the other active mixings zero)."""
    u = np.asarray(u_sq, float)
    return 4.0 * u * (1.0 - u)


def band_weights(dm2_ev2, *, derivative: bool = False) -> np.ndarray:
    """w_b(Δm²) (or ∂w_b/∂ln Δm²) of every band (module docstring), shape (n_dm2, n_band)."""
    fn = averaged_sin2_dlog if derivative else averaged_sin2
    dm2 = np.atleast_1d(np.asarray(dm2_ev2, float))
    edges = ENERGY_BANDS_MEV
    out = np.empty((dm2.size, edges.size - 1))
    for b in range(edges.size - 1):
        lo, hi = edges[b], edges[b + 1]
        if (lo, hi) == LINE_BAND:
            out[:, b] = fn(0.5 * (lo + hi), dm2)
            continue
        e = lo + (hi - lo) * (np.arange(_BAND_POINTS) + 0.5) / _BAND_POINTS
        e = np.maximum(e, 1e-3)
        for start in range(0, dm2.size, 500):
            part = dm2[start : start + 500]
            out[start : start + 500, b] = fn(e[None, :], part[:, None]).mean(axis=1)
    return out


def _cevns_kinematics(e, t, mass):
    return np.clip(1.0 - mass * t / (2.0 * e**2) - t / e, 0.0, None)


class _BandKernel:
    """kernel(E, T, M, flavor) = the CEvNS kinematic factor inside energy band [lo, hi), 0
    outside (a picklable callable for :class:`Moment`)."""

    def __init__(self, lo: float, hi: float) -> None:
        self.lo, self.hi = float(lo), float(hi)

    def __call__(self, e_mev, t_mev, mass_mev, flavor):
        inside = (e_mev >= self.lo) & (e_mev < self.hi)
        return np.where(inside, _cevns_kinematics(e_mev, t_mev, mass_mev), 0.0)


def hermite_interpolate(log_x, nodes_log, values, derivs):
    """Cubic Hermite interpolation in ln x on evenly spaced nodes (pytensor): ``values`` and
    ``derivs`` (∂/∂ln x) are (n_nodes, n) tables (arrays or shared variables); returns the
    (n,) interpolant at ``log_x``.
    The interval index carries no gradient (piecewise constant); the result is C¹."""
    import pytensor.tensor as pt
    from pytensor.gradient import disconnected_grad

    n = len(nodes_log)
    u0, h = float(nodes_log[0]), float(nodes_log[1] - nodes_log[0])
    s = (log_x - u0) / h
    j = pt.cast(pt.clip(pt.floor(disconnected_grad(s)), 0.0, n - 2.0), "int64")
    tau = s - j
    v, d = values, derivs
    h00 = 2 * tau**3 - 3 * tau**2 + 1
    h10 = tau**3 - 2 * tau**2 + tau
    h01 = -2 * tau**3 + 3 * tau**2
    h11 = tau**3 - tau**2
    return h00 * v[j] + h * h10 * d[j] + h01 * v[j + 1] + h * h11 * d[j + 1]


class SterileNeutrino(PhysicsModel):
    """3+1 sterile neutrino: NC disappearance (module docstring)."""

    name = "sterile"
    description = "3+1 light sterile neutrino: active-to-sterile disappearance at 19.3 m"
    parameters = (
        Parameter(
            "dm2_41_ev2",
            1.0,
            "eV2",
            "mass-squared splitting Delta m^2_41 (interpolated on log-spaced nodes)",
            lower=DM2_RANGE_EV2[0],
            upper=DM2_RANGE_EV2[1],
            label=r"$\Delta m^2_{41}$ [eV$^2$]",
        ),
        Parameter(
            "ue4_sq",
            0.0,
            "",
            "active-sterile mixing |U_e4|^2",
            lower=0.0,
            upper=0.5,
            label=r"$|U_{e4}|^2$",
        ),
        Parameter(
            "umu4_sq",
            0.0,
            "",
            "active-sterile mixing |U_mu4|^2",
            lower=0.0,
            upper=0.5,
            label=r"$|U_{\mu4}|^2$",
        ),
    )

    def __init__(self) -> None:
        self.nodes = np.geomspace(*DM2_RANGE_EV2, N_NODES)
        self.nodes_log = np.log(self.nodes)
        self._tables = None  # (w_b, ∂w_b/∂ln Δm²) on the nodes, computed on first use
        edges = ENERGY_BANDS_MEV
        self._moments = {
            f"band_{b}": Moment(
                _BandKernel(edges[b], edges[b + 1]),
                f"CEvNS kinematics for {edges[b]:g} <= E < {edges[b + 1]:g} MeV",
            )
            for b in range(edges.size - 1)
        }

    def tables(self):
        """w_b and ∂w_b/∂ln Δm² on the nodes, (N_NODES, n_band) each, as pytensor shared
        variables (not constants: a graph with large constants inlined compiles slowly and
        cannot be cached by the numba backend)."""
        if self._tables is None:
            import pytensor

            self._tables = tuple(
                pytensor.shared(
                    np.ascontiguousarray(band_weights(self.nodes, derivative=d)),
                    name=f"sterile_band_{'dweights' if d else 'weights'}",
                    borrow=True,
                )
                for d in (False, True)
            )
        return self._tables

    def moments(self):
        return self._moments

    def rate_terms(self, ctx, q2):
        import pytensor.tensor as pt

        if not (ctx.given("ue4_sq") or ctx.given("umu4_sq")):
            return {}  # no mixing: the SM exactly, and no interpolation in the graph
        ue, um = ctx.value("ue4_sq"), ctx.value("umu4_sq")
        us = 1.0 - ue - um
        coef = {"ue4_sq": 4.0 * ue * us, "umu4_sq": 4.0 * um * us}
        rows = {f: coef[MIXING_OF[f]] for f in ctx.flavors}
        base = -ctx.per_flavor(rows) * q2  # −4|U_α4|²|U_s4|² Q², per flavor
        lo, hi = DM2_RANGE_EV2
        log_dm2 = pt.log(pt.clip(ctx.value("dm2_41_ev2"), lo, hi))
        w = hermite_interpolate(log_dm2, self.nodes_log, *self.tables())
        return {key: w[b] * base for b, key in enumerate(self._moments)}

    def derived_limits(self, name: str):
        """Quantities an upper limit on ``name`` converts to (label → monotonic function),
        used by ``cevns-bayes scan``: sin²2θ_ee from |U_e4|², sin²2θ_μμ from |U_μ4|²."""
        if name == "ue4_sq":
            return {"sin2_2theta_ee": sin2_2theta}
        if name == "umu4_sq":
            return {"sin2_2theta_mumu": sin2_2theta}
        return {}


#: the registered instance
MODEL = register_physics_model(SterileNeutrino(), replace=True)

__all__ = [
    "BASELINE_M",
    "DETECTOR_HALF_WIDTH_M",
    "DM2_RANGE_EV2",
    "MODEL",
    "N_NODES",
    "SOURCE_HALF_WIDTH_M",
    "SterileNeutrino",
    "averaged_sin2",
    "averaged_sin2_dlog",
    "ENERGY_BANDS_MEV",
    "band_weights",
    "hermite_interpolate",
    "sin2_2theta",
]
