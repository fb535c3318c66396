"""CsI[Na] detector response (release Appendix A): quenching, light yield, smearing, efficiencies.

- Quenching: E_ee = a x + b x² + c x³ + d x⁴ (x = T in MeVnr, E_ee in MeVee); the two PCA
  nuisances move the coefficients from nominal toward the ±1σ sets, linearly per unit nuisance.
- Light yield 13.35 PE/keVee: mean PE = 13350 · E_ee[MeV].
- Smearing: reconstructed PE x given mean μ follows a gamma law of mean μ and shape
  1 + b, b = 0.716 μ (Eq. A3–A5).
- ε_E(x) = a / (1 + exp(−b (x − c))) + d in reconstructed PE, clipped at ≥ 0, one PCA nuisance.
- ε_T(t) = 1 for t < 0.52 µs, exp(−0.0494 (t − 0.52)) after.

Functions taking ``xp`` run on numpy arrays or pytensor tensors.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from cevns_bayes import constants as c


def interpolate_coefficients(nominal, plus, minus, theta, xp=np):
    """Coefficients at nuisance value ``theta``: nominal + θ (plus − nominal) for θ ≥ 0,
    nominal + θ (nominal − minus) for θ < 0 (linear per unit nuisance, exact at ±1)."""
    nominal = np.asarray(nominal, float)
    up = np.asarray(plus, float) - nominal
    down = nominal - np.asarray(minus, float)
    if np.allclose(up, down, rtol=1e-9, atol=0.0):
        return nominal + theta * up
    if xp is np:
        return nominal + theta * np.where(theta >= 0, up, down)
    return nominal + theta * xp.switch(theta >= 0, up, down)


def quenched_energy_mevee(recoil_mevnr, coeffs, xp=np):
    """E_ee (MeVee) of a nuclear recoil of ``recoil_mevnr`` (MeVnr); ``coeffs`` = (a, b, c, d)."""
    x = recoil_mevnr
    a, b, cc, d = coeffs[0], coeffs[1], coeffs[2], coeffs[3]
    return x * (a + x * (b + x * (cc + x * d)))


def mean_pe(recoil_mevnr, coeffs, xp=np):
    """Mean number of photoelectrons of a nuclear recoil (light yield 13.35 PE/keVee)."""
    return c.LIGHT_YIELD_PE_PER_KEVEE * 1e3 * quenched_energy_mevee(recoil_mevnr, coeffs, xp)


def smearing_shape_rate(mu_pe):
    """Gamma shape k = 1 + 0.716 μ and rate k / μ of the reconstructed-PE law of mean μ."""
    mu = np.asarray(mu_pe, float)
    k = 1.0 + c.SMEARING_B_PER_PE * mu
    return k, k / mu


def smearing_pdf(x_pe, mu_pe):
    """Density of reconstructed PE ``x`` for mean PE ``mu`` (Eq. A3), per PE."""
    x = np.asarray(x_pe, float)
    k, rate = smearing_shape_rate(mu_pe)
    with np.errstate(divide="ignore"):
        logp = k * np.log(rate) - special.gammaln(k) + (k - 1.0) * np.log(x) - rate * x
    return np.where(x > 0, np.exp(logp), 0.0)


def smearing_matrix(mu_pe: np.ndarray, x_edges_pe: np.ndarray) -> np.ndarray:
    """P(x in bin j | μ_i): gamma probabilities of reconstructed-PE bins, shape (n_mu, n_bins).

    Exact bin integrals through the regularized incomplete gamma function. μ = 0 puts all the
    probability at x = 0 (in the bin whose lower edge is 0).
    """
    mu = np.asarray(mu_pe, float)[:, None]
    edges = np.asarray(x_edges_pe, float)[None, :]
    out = np.zeros((mu.shape[0], edges.shape[1] - 1))
    pos = mu[:, 0] > 0
    k, rate = smearing_shape_rate(mu[pos])
    cdf = special.gammainc(k, rate * np.clip(edges, 0.0, None))
    out[pos] = np.diff(cdf, axis=1)
    zero_bin = np.nonzero((edges[0, :-1] <= 0.0) & (edges[0, 1:] > 0.0))[0]
    if zero_bin.size:
        out[~pos, zero_bin[0]] = 1.0
    return out


def energy_efficiency(x_pe, coeffs, xp=np):
    """ε_E at reconstructed energy ``x_pe`` (PE), clipped at ≥ 0 (Eq. A7)."""
    a, b, cc, d = coeffs[0], coeffs[1], coeffs[2], coeffs[3]
    eff = a / (1.0 + xp.exp(-b * (x_pe - cc))) + d
    return xp.maximum(eff, 0.0)


def time_efficiency(t_us):
    """ε_T(t_rec): 1 before 0.52 µs, exp(−0.0494 (t − 0.52)) after (Eq. A1)."""
    t = np.asarray(t_us, float)
    return np.where(
        t < c.TIME_EFFICIENCY_ONSET_US,
        1.0,
        np.exp(-c.TIME_EFFICIENCY_DECAY_PER_US * (t - c.TIME_EFFICIENCY_ONSET_US)),
    )
