"""A plain numpy/scipy negative log-likelihood of the cross-section analysis, for comparison.

This is the NLL of ``models/xsec.toml`` written the way a physicist would write it without this
package: every parameter-dependent quantity is recomputed in numpy on each call and the gradient
is taken by forward finite differences. It serves two purposes:

- a speed baseline for the compiled pytensor graph (:mod:`cevns_bayes.model.forward`);
- an independent cross-check of the physics chain: it shares no code with
  :mod:`cevns_bayes.model.forward`, :mod:`cevns_bayes.detector` or :mod:`cevns_bayes.physics`,
  only the constants (:mod:`cevns_bayes.constants`) and the loaded inputs (release data, flux).

The chain (README, *Physics conventions* and *The forward model*), per flavor
f ∈ (ν_μ, ν̄_μ, ν_e) and isotope i ∈ (¹³³Cs, ¹²⁷I):

    s_f(T_k)     = N_CsI · Φ · Σ_i G_F² M_i/(4π) · Q²_{i,f}(T_k) · K_{i,f}(T_k) · ΔT
    K_{i,f}(T)   = Σ_E p_f(E) (1 − M_i T/(2E²) − T/E)₊                        (precomputed)
    E_f[x]       = ε_E(x) Σ_k s_f(T_k) ∫_{x bin} Gamma(x' | μ(T_k)) dx'       (PE sub-bins x)
    N_f[p, t]    = (σ / ⟨σ⟩_SM(R_n)) · flux_norm · Σ_{x ∈ p} E_f[x]
                   · ∫_{t bin} ε_T(t) φ_f(t − t₀ − δt) dt

plus the steady-state background (AC-window PE histogram × exp(−k t)), and the BRN and NIN
release shapes (PE shape × time shape shifted by δt, with ε_T). The NLL is the binned Poisson
term Σ [μ − n ln μ + ln n!] plus −ln π of each nuisance prior without normalization constants
(½ z² for a (truncated) normal, ½ z² + ln x for a lognormal), the package's convention.

Numerical choices (each documented where it is made): the CEvNS recoil grid is midpoints of
0.5 keV cells up to the recoil whose nominal mean signal exceeds 2 × (top PE edge) + 40 PE, as in
the package; ⟨σ⟩_SM(R_n) is a midpoint sum over 0.025 keV cells to 60 keV, then logarithmic
cells to the kinematic end point; the gamma smearing is integrated exactly (regularized
incomplete gamma function) over sub-bins of 0.05 PE below 24 PE (where ε_E turns on and
bends; ε_E at their centres) and 1 PE above; time integrals use the exact piecewise-linear
CDF of each time histogram at the shifted bin edges.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from scipy import special

from cevns_bayes import constants as c

#: Neutrino flavors of the fit, in the package's order
FLAVORS: tuple[str, ...] = ("nu_mu", "nu_mu_bar", "nu_e")
#: NSI coupling group of each flavor (ν̄_μ shares ε_μμ with ν_μ)
NSI_GROUP = {"nu_mu": "mumu", "nu_mu_bar": "mumu", "nu_e": "ee"}
#: Rate scale parameter of each flavor (flavored analysis; 1 in the xsec analysis)
FLAVOR_SCALE = {"nu_mu": "scale_mu", "nu_mu_bar": "scale_mu", "nu_e": "scale_e"}

#: Nominal value of every forward-model parameter a spec may leave out or fix (the values of the
#: package's parameter registry, cevns_bayes/model/parameters.py: unit normalizations, PCA
#: modes at 0, R_n at its nominal 5.01 / 4.94 fm, no timing offset, SM couplings).
NOMINAL: dict[str, float] = {
    "cevns_norm": 1.0,
    "sin2_theta_w": c.SIN2_THETA_W_LOW_Q2,
    "scale_mu": 1.0,
    "scale_e": 1.0,
    "eps_ee_u": 0.0,
    "eps_ee_d": 0.0,
    "eps_mumu_u": 0.0,
    "eps_mumu_d": 0.0,
    "flux_norm": 1.0,
    "ssb_norm": 1.0,
    "brn_norm": 1.0,
    "nin_norm": 1.0,
    "quench_pca0": 0.0,
    "quench_pca1": 0.0,
    "eff_pca": 0.0,
    "r_n_scale": 1.0,
    "timing_offset_us": 0.0,
}

#: Width of the CEvNS recoil cells, keV (nuclear recoil)
RECOIL_STEP_KEV = 0.5
#: Largest recoil considered for the detector chain, keV (far beyond any recoil below 60 PE)
RECOIL_MAX_KEV = 400.0
#: Width of the reconstructed-PE sub-bins on which ε_E is evaluated (at their centres, clipped
#: as the release defines it), PE: fine below PE_FINE_END, where ε_E turns on and bends, so that
#: this quadrature converges (to < 1e-4 of the counts) and stays a reference for the graph's own
PE_SUBSTEP = 1.0
PE_FINE_SUBSTEP = 0.05
PE_FINE_END = 24.0
#: ⟨σ⟩_SM recoil grid: uniform cells of this width (keV) up to SIGMA_FINE_END_KEV ...
SIGMA_FINE_STEP_KEV = 0.025
SIGMA_FINE_END_KEV = 60.0
#: ... then this many logarithmic cells up to the kinematic end point of the highest energy
SIGMA_LOG_CELLS = 400
#: Klein–Nystrand Yukawa range, fm (Klein & Nystrand, PRC 60, 014903)
KN_YUKAWA_RANGE_FM = 0.7
#: Floor of the expected count inside the logarithm of the Poisson term
MU_FLOOR = 1e-300


# --- physics helpers --------------------------------------------------------------------------
def _spherical_ff(x: np.ndarray) -> np.ndarray:
    """3 j₁(x)/x, the form factor of a uniform sphere; its Taylor series below x = 0.05."""
    x = np.asarray(x, float)
    small = x < 0.05
    xs = np.where(small, 1.0, x)
    closed = 3.0 * (np.sin(xs) - xs * np.cos(xs)) / xs**3
    x2 = x * x
    series = 1.0 - x2 / 10.0 + x2**2 / 280.0 - x2**3 / 15120.0
    return np.where(small, series, closed)


def helm_form_factor(q_fm_inv: np.ndarray, r_rms_fm: float | np.ndarray) -> np.ndarray:
    """Helm form factor F(q) = 3j₁(qR₀)/(qR₀) · exp(−q²s²/2), R₀² = 5/3 (R_rms² − 3s²).

    q in fm⁻¹, R_rms in fm, surface thickness s = 0.9 fm (Lewin & Smith).
    """
    s = c.HELM_SKIN_FM
    r0 = np.sqrt(5.0 / 3.0 * (np.asarray(r_rms_fm, float) ** 2 - 3.0 * s**2))
    return _spherical_ff(q_fm_inv * r0) * np.exp(-0.5 * (q_fm_inv * s) ** 2)


def klein_nystrand_form_factor(q_fm_inv: np.ndarray, r_rms_fm: float | np.ndarray) -> np.ndarray:
    """Klein–Nystrand form factor 3j₁(qR_A)/(qR_A) / (1 + q²a²), R_rms² = 3/5 R_A² + 6a²."""
    a = KN_YUKAWA_RANGE_FM
    r_a = np.sqrt(5.0 / 3.0 * (np.asarray(r_rms_fm, float) ** 2 - 6.0 * a**2))
    return _spherical_ff(q_fm_inv * r_a) / (1.0 + (q_fm_inv * a) ** 2)


FORM_FACTORS = {
    "helm": helm_form_factor,
    "klein_nystrand": klein_nystrand_form_factor,
    "helm_a13": helm_form_factor,
}


def nuclear_radii(isotope, form_factor: str) -> tuple[float, float]:
    """(proton, neutron) rms radii, fm: from the charge radius and the nominal R_n, or for
    ``helm_a13`` the rms radius √(3/5 R₀² + 3 s²) of a Helm density with R₀ = 1.2 A^{1/3} fm
    for both."""
    if form_factor == "helm_a13":
        r0 = c.HELM_A13_FM * (isotope.z + isotope.n) ** (1.0 / 3.0)
        r = math.sqrt(0.6 * r0**2 + 3.0 * c.HELM_SKIN_FM**2)
        return r, r
    return isotope.proton_radius_fm, isotope.neutron_radius_fm


def nucleon_vector_couplings(
    sin2_theta_w: float, convention: str, flavor: str = "nu_mu"
) -> tuple[float, float]:
    """(g_V^p, g_V^n) for a neutrino of ``flavor``: tree level (½ − 2 sin²θ_W, −½);
    radiatively corrected (0.0229, −0.5117); charge-radius corrected (0.0227 + δ_α, −0.5117)
    with δ the same for ν and ν̄ (``giunti``) or of opposite sign for ν̄ (``coherent2021``,
    the legacy one); (0.0227, −0.5117) without δ (``no_charge_radius``). Away from tree
    level g_V^p moves with −2 (sin²θ_W − 0.23857)."""
    shift = -2.0 * (sin2_theta_w - c.SIN2_THETA_W_LOW_Q2)
    lepton = "e" if flavor.startswith("nu_e") else "mu"
    antineutrino = flavor.endswith("_bar")
    if convention == "tree":
        return 0.5 - 2.0 * sin2_theta_w, -0.5
    if convention == "radiative":
        return c.GV_PROTON_RADIATIVE + shift, c.GV_NEUTRON_RADIATIVE
    if convention == "no_charge_radius":
        return c.GV_PROTON_CHARGE_RADIUS_BASE + shift, c.GV_NEUTRON_CHARGE_RADIUS
    if convention == "giunti":
        delta = c.CHARGE_RADIUS_DELTA_CORRECTED[lepton]
    elif convention == "coherent2021":
        delta = c.CHARGE_RADIUS_DELTA_LEGACY[lepton] * (-1.0 if antineutrino else 1.0)
    else:
        raise ValueError(f"unknown couplings convention {convention!r}")
    return c.GV_PROTON_CHARGE_RADIUS_BASE + delta + shift, c.GV_NEUTRON_CHARGE_RADIUS


def momentum_transfer_fm_inv(recoil_mev: np.ndarray, mass_mev: float) -> np.ndarray:
    """|q| = √(2 M T) / ħc in fm⁻¹ for a recoil of T MeV on a nucleus of M MeV."""
    return np.sqrt(2.0 * mass_mev * np.asarray(recoil_mev, float)) / c.HBARC_MEV_FM


def kinematic_table(
    energy_mev: np.ndarray, prob: np.ndarray, recoil_mev: np.ndarray, mass_mev: float
) -> np.ndarray:
    """K(T) = Σ_E p(E) (1 − M T/(2E²) − T/E)₊ at each recoil T (MeV).

    The bracket is positive exactly when T < T_max(E) = 2E²/(M + 2E), which grows with E, so
    the energies contributing at T are a suffix of the energies sorted by T_max:
    K(T) = A(T) − T·B(T) with suffix sums A = Σ p and B = Σ p (M/(2E²) + 1/E).
    """
    keep = prob > 0
    e, p = np.asarray(energy_mev, float)[keep], np.asarray(prob, float)[keep]
    order = np.argsort(e)
    e, p = e[order], p[order]
    t_max = 2.0 * e**2 / (mass_mev + 2.0 * e)
    slope = p * (mass_mev / (2.0 * e**2) + 1.0 / e)
    suffix_p = np.concatenate([np.cumsum(p[::-1])[::-1], [0.0]])
    suffix_slope = np.concatenate([np.cumsum(slope[::-1])[::-1], [0.0]])
    first = np.searchsorted(t_max, recoil_mev, side="right")  # first E with T_max(E) > T
    return np.clip(suffix_p[first] - recoil_mev * suffix_slope[first], 0.0, None)


def cevns_prefactor_cm2_per_mev(mass_mev: float) -> float:
    """G_F² M / (4π) in cm²/MeV (multiplies Q² and the kinematic bracket)."""
    return c.FERMI_CONSTANT_MEV2**2 * mass_mev / (4.0 * math.pi) * c.HBARC_MEV_CM**2


def pca_coefficients(
    nominal: np.ndarray, plus: np.ndarray, minus: np.ndarray, x: float
) -> np.ndarray:
    """Coefficients at a PCA nuisance x (units of 1σ): linear toward the +1σ set for x ≥ 0,
    toward the −1σ set for x < 0 (exact at x = ±1)."""
    step = (plus - nominal) if x >= 0 else (nominal - minus)
    return nominal + x * step


def gamma_bin_probabilities(mu_pe: np.ndarray, edges_pe: np.ndarray) -> np.ndarray:
    """P(x ∈ bin j | μ_k) for the gamma law of mean μ and shape 1 + 0.716 μ, shape (n_μ, n_bins).

    Exact bin integrals: the CDF of Gamma(shape a, rate a/μ) at x is P(a, a x/μ), the regularized
    lower incomplete gamma function. Requires μ > 0.
    """
    shape = 1.0 + c.SMEARING_B_PER_PE * mu_pe
    rate = shape / mu_pe
    cdf = special.gammainc(shape[:, None], rate[:, None] * np.clip(edges_pe, 0.0, None)[None, :])
    return np.diff(cdf, axis=1)


def logistic_efficiency(x_pe: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
    """ε_E(x) = a / (1 + exp(−b (x − c))) + d at reconstructed energy x (PE), clipped at ≥ 0."""
    a, b, cc, d = coeffs
    return np.maximum(a / (1.0 + np.exp(-b * (x_pe - cc))) + d, 0.0)


def rebin_histogram(src_edges: np.ndarray, values: np.ndarray, dst_edges: np.ndarray) -> np.ndarray:
    """Contents of a histogram on new edges, each source bin taken as uniform inside."""
    cumulative = np.concatenate([[0.0], np.cumsum(values)])
    return np.diff(np.interp(dst_edges, src_edges, cumulative))


def _time_efficiency_bin_mean(edges_us: np.ndarray) -> np.ndarray:
    """Mean of exp(−d (t − t_on)) over each bin [t₀, t₁] (µs), the ε_T decay continued to
    every t: used as a weight of the part of a time profile after the ε_T onset."""
    d = c.TIME_EFFICIENCY_DECAY_PER_US
    at = np.exp(-d * (edges_us - c.TIME_EFFICIENCY_ONSET_US))
    return (at[:-1] - at[1:]) / (d * np.diff(edges_us))


# --- the likelihood ---------------------------------------------------------------------------
class BaselineXsecNLL:
    """−ln L(θ) of the cross-section analysis in plain numpy, θ = (sigma, nuisances of the spec).

    Args:
        spec: the analysis spec (:func:`cevns_bayes.spec.load_spec` of ``"xsec"`` or a copy);
            its only POI must be ``sigma`` (1e-40 cm²). Nuisances it leaves out and its
            ``[fixed]`` table hold parameters at fixed values; ``spec.model`` chooses the form
            factor, the couplings and whether ε_T is applied.
        release: the loaded data release (:class:`cevns_bayes.io.ReleaseData`).
        flux: the loaded neutrino flux (per flavor: ``energy_mev``/``energy_prob`` and
            ``time_edges_us``/``time_prob`` relative to the pulse centre).
        binning: the analysis binning (``pe_edges`` in PE, ``t_edges_us`` in µs).
        arrival_time_us: t_rec of the proton-pulse centre, µs.
        observed: observed counts per (PE, t) bin, shape ``binning.shape``.

    Attributes:
        names: parameter order, the spec's POIs then its nuisances.
    """

    names: tuple[str, ...]

    def __init__(
        self,
        spec,
        release,
        flux,
        binning,
        *,
        arrival_time_us: float,
        observed: np.ndarray,
    ) -> None:
        if tuple(spec.pois) != ("sigma",):
            raise ValueError(f"the baseline handles the sigma POI only, got {tuple(spec.pois)}")
        self.names = tuple(spec.pois) + tuple(spec.nuisances)
        unknown = [n for n in (*spec.nuisances, *spec.fixed) if n not in NOMINAL]
        if unknown:
            raise ValueError(f"parameters unknown to the baseline: {unknown}")
        self._fixed = {**NOMINAL, **{k: float(v) for k, v in spec.fixed.items()}}
        self._priors = dict(spec.nuisances)

        options = dict(spec.model)
        self.form_factor = FORM_FACTORS[options.get("form_factor", "helm")]
        self._radii = [nuclear_radii(iso, options.get("form_factor", "helm")) for iso in c.ISOTOPES]
        self.couplings = options.get("couplings", "tree")
        nucleon_vector_couplings(c.SIN2_THETA_W_LOW_Q2, self.couplings)  # validates the name
        self.time_efficiency = bool(options.get("time_efficiency", True))

        self.pe_edges = np.asarray(binning.pe_edges, float)
        self.t_edges_us = np.asarray(binning.t_edges_us, float)
        self.arrival_time_us = float(arrival_time_us)
        self.observed = np.asarray(observed, float)
        shape = (self.pe_edges.size - 1, self.t_edges_us.size - 1)
        if self.observed.shape != shape:
            raise ValueError(f"observed has shape {self.observed.shape}, binning {shape}")
        self._log_n_factorial = float(np.sum(special.gammaln(self.observed + 1.0)))

        self.isotopes = c.ISOTOPES
        self._mass_mev = np.array([iso.mass_mev for iso in self.isotopes])
        self._prefactor = np.array([cevns_prefactor_cm2_per_mev(m) for m in self._mass_mev])
        self._setup_detector(release)
        self._setup_recoil_grid(flux)
        self._setup_sigma_grid(flux)
        self._setup_time(release, flux)
        self._setup_backgrounds(release)

    # --- precomputation (parameter independent) -----------------------------------------------
    def _setup_detector(self, release) -> None:
        """Quenching and efficiency coefficient sets; reconstructed-energy sub-bins (0.05 PE
        below 24 PE, 1 PE above)."""
        q = release.quenching
        self._quench_nominal = np.asarray(q.nominal, float)
        self._quench_modes = [(np.asarray(p, float), np.asarray(m, float)) for p, m in q.modes[:2]]
        e = release.efficiency
        self._eff_sets = tuple(np.asarray(v, float) for v in (e.nominal, e.plus, e.minus))
        # sub-bin edges: a fine grid up to PE_FINE_END and a 1-PE grid above, merged with the
        # analysis edges, so each sub-bin lies in exactly one analysis bin
        lo, hi = self.pe_edges[0], self.pe_edges[-1]
        fine_end = min(max(PE_FINE_END, lo), hi)
        n_fine = int(round((fine_end - lo) / PE_FINE_SUBSTEP))
        grid = np.concatenate(
            [lo + (fine_end - lo) * np.arange(n_fine) / max(n_fine, 1),
             np.arange(fine_end, hi, PE_SUBSTEP)]
        )  # fmt: skip
        sub = np.unique(np.concatenate([grid, self.pe_edges]))
        sub = sub[np.concatenate([[True], np.diff(sub) > 1e-9])]
        self.pe_sub_edges = sub
        self.pe_sub_centres = 0.5 * (sub[1:] + sub[:-1])
        # index of the first sub-bin of each analysis bin (for np.add.reduceat)
        self._sub_bin_starts = np.searchsorted(self.pe_sub_centres, self.pe_edges[:-1])

    def _mean_pe(self, recoil_mev: np.ndarray, coeffs: np.ndarray) -> np.ndarray:
        """Mean PE of recoils of T MeVnr: 13.35 PE/keVee × (a T + b T² + c T³ + d T⁴) MeVee."""
        a, b, cc, d = coeffs
        e_ee_mev = recoil_mev * (a + recoil_mev * (b + recoil_mev * (cc + recoil_mev * d)))
        return c.LIGHT_YIELD_PE_PER_KEVEE * 1e3 * e_ee_mev

    def _setup_recoil_grid(self, flux) -> None:
        """Recoil cell midpoints (MeV) and the events per cell per unit Q², shape (iso, f, T).

        Cells of 0.5 keV; the grid stops at the first recoil whose nominal mean signal exceeds
        2 × (top PE edge) + 40 PE, or where the quenching curve stops rising: such recoils have
        no probability left below the top PE edge (gamma sd ≈ √(μ/0.716)).
        """
        step = RECOIL_STEP_KEV * 1e-3
        t = (np.arange(int(round(RECOIL_MAX_KEV / RECOIL_STEP_KEV))) + 0.5) * step
        mu = self._mean_pe(t, self._quench_nominal)
        mu_keep = 2.0 * self.pe_edges[-1] + 40.0
        ok = (mu <= mu_keep) & np.concatenate([[True], np.diff(mu) > 0])
        n = t.size if ok.all() else int(np.argmin(ok))
        self.recoil_mev = t[:n]
        self._q_recoil = np.stack(
            [momentum_transfer_fm_inv(self.recoil_mev, m) for m in self._mass_mev]
        )
        self._fp_recoil = np.stack(
            [
                self.form_factor(self._q_recoil[i], self._radii[i][0])
                for i in range(len(self.isotopes))
            ]
        )
        kin = np.stack(
            [
                [
                    kinematic_table(flux[f].energy_mev, flux[f].energy_prob, self.recoil_mev, m)
                    for f in FLAVORS
                ]
                for m in self._mass_mev
            ]
        )
        self._events_per_q2 = (
            c.N_MOLECULES * c.FLUENCE_PER_FLAVOR_CM2 * step * self._prefactor[:, None, None] * kin
        )

    def _setup_sigma_grid(self, flux) -> None:
        """Recoil cells (MeV) for ⟨σ⟩_SM and its coefficients per unit Q², in 1e-40 cm².

        Uniform 0.025 keV cells to 60 keV, then logarithmic cells up to T_max of the highest
        flux energy (the tail above 60 keV is ~1e-5 of ⟨σ⟩). Midpoint sums converge to ~2e-6
        relative at this resolution.
        """
        e_max = max(float(np.max(flux[f].energy_mev[flux[f].energy_prob > 0])) for f in FLAVORS)
        t_end = max(2.0 * e_max**2 / (m + 2.0 * e_max) for m in self._mass_mev)
        fine_end = SIGMA_FINE_END_KEV * 1e-3
        edges = np.linspace(0.0, fine_end, int(round(SIGMA_FINE_END_KEV / SIGMA_FINE_STEP_KEV)) + 1)
        if t_end > fine_end:
            edges = np.concatenate([edges, np.geomspace(fine_end, t_end, SIGMA_LOG_CELLS + 1)[1:]])
        t = 0.5 * (edges[1:] + edges[:-1])
        width = np.diff(edges)
        self._q_sigma = np.stack([momentum_transfer_fm_inv(t, m) for m in self._mass_mev])
        self._fp_sigma = np.stack(
            [
                self.form_factor(self._q_sigma[i], self._radii[i][0])
                for i in range(len(self.isotopes))
            ]
        )
        # ⟨σ⟩ per nucleus (½ Cs + ½ I) averaged over the summed flux of the three flavors,
        # per flavor's share (the flavors' Q² differ in the charge-radius conventions)
        total_prob = sum(float(np.sum(flux[f].energy_prob)) for f in FLAVORS)
        kin = np.stack(
            [
                [kinematic_table(flux[f].energy_mev, flux[f].energy_prob, t, m) for f in FLAVORS]
                for m in self._mass_mev
            ]
        )
        self._sigma_per_q2 = (
            0.5 * self._prefactor[:, None, None] * kin * width / total_prob / c.CM2_PER_1E40
        )

    def _setup_time(self, release, flux) -> None:
        """CDFs of the five time sources (ν_μ, ν̄_μ, ν_e, BRN, NIN) on their own histogram
        edges (µs, t_rec at zero offset), plain and weighted by the ε_T decay; time pieces."""
        sources = [
            (flux[f].time_edges_us + self.arrival_time_us, flux[f].time_prob) for f in FLAVORS
        ]
        sources += [(release.brn_t.edges, release.brn_t.values)]
        sources += [(release.nin_t.edges, release.nin_t.values)]
        self._time_sources = []
        for edges, prob in sources:
            edges = np.asarray(edges, float)
            prob = np.asarray(prob, float)
            cdf = np.concatenate([[0.0], np.cumsum(prob)])
            cdf_eps = np.concatenate([[0.0], np.cumsum(prob * _time_efficiency_bin_mean(edges))])
            self._time_sources.append((edges, cdf, cdf_eps))
        # each analysis time bin is split at the ε_T onset; pieces after it get the ε_T weight
        onset = c.TIME_EFFICIENCY_ONSET_US
        edges = self.t_edges_us
        if self.time_efficiency and edges[0] < onset < edges[-1]:
            edges = np.sort(np.concatenate([edges, [onset]]))
        self._piece_edges = edges
        self._piece_after = self.time_efficiency & (edges[:-1] >= onset)
        self._piece_bin = np.searchsorted(self.t_edges_us, edges[:-1], side="right") - 1

    def _setup_backgrounds(self, release) -> None:
        """SSB template (AC-window PE histogram × normalized exp(−k t)), BRN/NIN PE shapes."""
        ac = release.events_ac
        pe_lo, pe_hi = self.pe_edges[0], self.pe_edges[-1]
        t_lo, t_hi = self.t_edges_us[0], self.t_edges_us[-1]
        inside = (ac.pe >= pe_lo) & (ac.pe < pe_hi) & (ac.t_us >= t_lo) & (ac.t_us < t_hi)
        pe_counts, _ = np.histogram(ac.pe[inside], bins=self.pe_edges)
        decay = np.exp(-c.SSB_DECAY_PER_US * self.t_edges_us)
        t_frac = (decay[:-1] - decay[1:]) / (decay[0] - decay[-1])
        self._ssb = pe_counts[:, None] * t_frac[None, :]
        # PE shapes as fractions of all release entries (the files are normalized below 60 PE)
        self._neutron_pe = {}
        for name, shape in (("brn", release.brn_pe), ("nin", release.nin_pe)):
            values = np.asarray(shape.values, float)
            edges = np.asarray(shape.edges, float)
            self._neutron_pe[name] = rebin_histogram(edges, values, self.pe_edges) / values.sum()

    # --- per-call physics ---------------------------------------------------------------------
    def parameters(self, theta: np.ndarray) -> dict[str, float]:
        """All forward-model parameters at θ: the fixed/nominal ones updated with θ."""
        theta = np.asarray(theta, float)
        if theta.shape != (len(self.names),):
            raise ValueError(f"theta must have shape ({len(self.names)},), got {theta.shape}")
        return {**self._fixed, **dict(zip(self.names, theta.tolist()))}

    def _weak_charge_sq(self, p: Mapping[str, float], fp: np.ndarray, fn: np.ndarray, sm: bool):
        """Q² per isotope and flavor, shape (n_iso, n_flavor, n_T); SM couplings if ``sm``."""
        s2w = c.SIN2_THETA_W_LOW_Q2 if sm else p["sin2_theta_w"]
        z = np.array([iso.z for iso in self.isotopes], float)[:, None]
        n = np.array([iso.n for iso in self.isotopes], float)[:, None]
        out = []
        for f in FLAVORS:
            gp, gn = nucleon_vector_couplings(s2w, self.couplings, f)
            eu = 0.0 if sm else p[f"eps_{NSI_GROUP[f]}_u"]
            ed = 0.0 if sm else p[f"eps_{NSI_GROUP[f]}_d"]
            qw = -2.0 * ((gp + 2.0 * eu + ed) * z * fp + (gn + eu + 2.0 * ed) * n * fn)
            out.append(qw**2)
        return np.stack(out, axis=1)

    def _neutron_ff(self, q: np.ndarray, r_n_scale: float) -> np.ndarray:
        return np.stack(
            [
                self.form_factor(q[i], self._radii[i][1] * r_n_scale)
                for i in range(len(self.isotopes))
            ]
        )

    def sigma_sm(self, r_n_scale: float) -> float:
        """SM flux-averaged cross section ⟨σ⟩_Φ per nucleus at R_n × r_n_scale, 1e-40 cm²."""
        fn = self._neutron_ff(self._q_sigma, r_n_scale)
        q2 = self._weak_charge_sq({}, self._fp_sigma, fn, sm=True)
        return float(np.sum(q2 * self._sigma_per_q2))

    def recoil_events(self, p: Mapping[str, float]) -> np.ndarray:
        """SM-normalized CEvNS events per recoil cell per flavor (before detector), (3, n_T)."""
        fn = self._neutron_ff(self._q_recoil, p["r_n_scale"])
        q2 = self._weak_charge_sq(p, self._fp_recoil, fn, sm=False)
        return np.sum(self._events_per_q2 * q2, axis=0)

    def pe_spectra(self, p: Mapping[str, float]) -> np.ndarray:
        """CEvNS events per analysis PE bin per flavor (all times, before normalization),
        shape (3, n_pe): quenching → gamma smearing over the sub-bins → ε_E."""
        coeffs = self._quench_nominal.copy()
        for k, (plus, minus) in enumerate(self._quench_modes):
            x = p[f"quench_pca{k}"]
            coeffs += pca_coefficients(self._quench_nominal, plus, minus, x) - self._quench_nominal
        mu = self._mean_pe(self.recoil_mev, coeffs)
        smear = gamma_bin_probabilities(mu, self.pe_sub_edges)  # (n_T, n_sub)
        eff = logistic_efficiency(
            self.pe_sub_centres, pca_coefficients(*self._eff_sets, p["eff_pca"])
        )
        sub = (self.recoil_events(p) @ smear) * eff[None, :]
        return np.add.reduceat(sub, self._sub_bin_starts, axis=1)

    def time_profiles(self, offset_us: float) -> np.ndarray:
        """Content of each analysis time bin per source (ν_μ, ν̄_μ, ν_e as probabilities, BRN
        and NIN in release counts), with the timing offset (µs) and ε_T; shape (5, n_t)."""
        x = self._piece_edges - offset_us
        eps_shift = math.exp(-c.TIME_EFFICIENCY_DECAY_PER_US * offset_us)
        n_t = self.t_edges_us.size - 1
        out = np.empty((len(self._time_sources), n_t))
        for j, (edges, cdf, cdf_eps) in enumerate(self._time_sources):
            plain = np.diff(np.interp(x, edges, cdf))
            # ∫ e^{−d(t−t_on)} φ(t−δ) dt = e^{−dδ} ∫ e^{−d(s−t_on)} φ(s) ds
            weighted = eps_shift * np.diff(np.interp(x, edges, cdf_eps))
            pieces = np.where(self._piece_after, weighted, plain)
            out[j] = np.bincount(self._piece_bin, weights=pieces, minlength=n_t)
        return out

    def components(self, theta: np.ndarray) -> dict[str, np.ndarray]:
        """Expected counts per component per (PE, t) bin at θ (keys as the package's)."""
        p = self.parameters(theta)
        times = self.time_profiles(p["timing_offset_us"])
        spectra = self.pe_spectra(p)
        cevns_norm = p["sigma"] / self.sigma_sm(p["r_n_scale"])
        out = {"ssb": p["ssb_norm"] * self._ssb}
        for j, name in enumerate(("brn", "nin")):
            out[name] = p[f"{name}_norm"] * np.outer(self._neutron_pe[name], times[3 + j])
        for j, f in enumerate(FLAVORS):
            scale = cevns_norm * p["flux_norm"] * p[FLAVOR_SCALE[f]]
            out[f"cevns_{f}"] = scale * np.outer(spectra[j], times[j])
        return out

    def expected(self, theta: np.ndarray) -> np.ndarray:
        """Total expected counts per (PE, t) bin at θ."""
        return sum(self.components(theta).values())

    def constraint(self, theta: np.ndarray) -> float:
        """Σ −ln π(θ_nuisance) without normalization constants (the package's convention)."""
        p = self.parameters(theta)
        return float(sum(_neg_log_prior(prior, p[name]) for name, prior in self._priors.items()))

    # --- public API ---------------------------------------------------------------------------
    def nll(self, theta: np.ndarray) -> float:
        """−ln L(θ) = Σ [μ − n ln μ + ln n!] + Σ −ln π(nuisances)."""
        mu = self.expected(theta)
        n = self.observed
        poisson = np.sum(mu) - np.sum(n * np.log(np.maximum(mu, MU_FLOOR))) + self._log_n_factorial
        return float(poisson + self.constraint(theta))

    def nll_and_grad(self, theta: np.ndarray, step: float = 1e-6) -> tuple[float, np.ndarray]:
        """NLL and its gradient by forward differences: 1 + len(θ) calls of :meth:`nll`.

        The step of parameter i is ``step · max(1, |θ_i|)`` (relative, as
        ``scipy.optimize.approx_fprime`` with a relative step would use), rounded so that
        θ_i + h is exactly representable.
        """
        theta = np.asarray(theta, float)
        f0 = self.nll(theta)
        grad = np.empty(theta.size)
        for i in range(theta.size):
            shifted = theta.copy()
            shifted[i] = theta[i] + step * max(1.0, abs(theta[i]))
            h = shifted[i] - theta[i]
            grad[i] = (self.nll(shifted) - f0) / h
        return f0, grad


def _neg_log_prior(prior, x: float) -> float:
    """−ln π(x) up to a constant for a spec prior (flat, (truncated) normal, lognormal)."""
    kind = prior.kind
    if kind == "flat":
        return 0.0
    if kind in ("normal", "truncated_normal"):
        return 0.5 * ((x - prior.mu) / prior.sigma) ** 2
    if kind == "lognormal":
        z = (math.log(x) - math.log(prior.median)) / prior.sigma_log
        return 0.5 * z * z + math.log(x)
    raise ValueError(f"prior kind {kind!r} unknown")


def from_model(spec, model: Any) -> BaselineXsecNLL:
    """The baseline for the same inputs as a built ForwardModel: its release, flux, binning,
    arrival time and observed counts (model options are read from ``spec.model``)."""
    for option in ("form_factor", "couplings", "time_efficiency"):
        ours = spec.model.get(option)
        theirs = getattr(model, option, ours)
        if ours is not None and theirs != ours:
            raise ValueError(f"model option {option}={theirs!r} differs from the spec's {ours!r}")
    return BaselineXsecNLL(
        spec,
        model.release,
        model.flux,
        model.binning,
        arrival_time_us=model.arrival_time_us,
        observed=model.observed,
    )
