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
    with np.errstate(divide="ignore", invalid="ignore"):  # x <= 0: no support, density 0
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


def logistic_efficiency(x_pe, coeffs, xp=np):
    """The release's logistic a / (1 + exp(−b (x − c))) + d at ``x_pe`` (PE), before its clip
    (negative below the turn-on)."""
    a, b, cc, d = coeffs[0], coeffs[1], coeffs[2], coeffs[3]
    return a / (1.0 + xp.exp(-b * (x_pe - cc))) + d


def energy_efficiency(x_pe, coeffs, xp=np):
    """ε_E at reconstructed energy ``x_pe`` (PE), clipped at ≥ 0 (Eq. A7)."""
    return xp.maximum(logistic_efficiency(x_pe, coeffs, xp), 0.0)


def subbin_average_efficiency(edges_pe, coeffs, xp=np):
    """ε_E averaged over each reconstructed-PE sub-bin, a smooth function of the coefficients.

    Within a sub-bin [x_a, x_b] the release's logistic r(x) (Eq. A7 before its clip) is replaced
    by the straight line through r(x_a) and r(x_b), and the clip max(r, 0) is integrated
    exactly under it: the mean is (r_a⁺² − r_b⁺²)/(2 (r_a − r_b)) with r⁺ = max(r, 0), i.e.
    (r_a + r_b)/2 where both ends are positive, 0 where both are negative, and the positive
    part's area where the turn-on lies inside. Unlike the clipped value at the sub-bin centre,
    this is continuous with a continuous derivative as the turn-on moves across sub-bins (the
    clip at a centre makes a corner in the likelihood whenever the turn-on crosses one).

    Args:
        edges_pe: sub-bin edges (PE), increasing, shape (n + 1,).
        coeffs: (a, b, c, d) of ε_E(x) = a / (1 + exp(−b (x − c))) + d.
        xp: ``numpy`` or ``pytensor.tensor``.

    Returns:
        The mean ε_E of each sub-bin, shape (n,).
    """
    r = logistic_efficiency(edges_pe, coeffs, xp)
    ra, rb = r[:-1], r[1:]
    pa, pb = xp.maximum(ra, 0.0), xp.maximum(rb, 0.0)
    dr = rb - ra
    # the fraction (r_b⁺ − r_a⁺)/(r_b − r_a) of the sub-bin's rise that is above 0; 1 for a
    # flat stretch (dr = 0: the logistic saturated to rounding), where both ends agree
    flat = xp.abs(dr) < 1e-300
    frac = xp.where(flat, 1.0, (pb - pa) / xp.where(flat, 1.0, dr))
    return 0.5 * (pa + pb) * frac


def time_efficiency(t_us):
    """ε_T(t_rec): 1 before 0.52 µs, exp(−0.0494 (t − 0.52)) after (Eq. A1)."""
    t = np.asarray(t_us, float)
    return np.where(
        t < c.TIME_EFFICIENCY_ONSET_US,
        1.0,
        np.exp(-c.TIME_EFFICIENCY_DECAY_PER_US * (t - c.TIME_EFFICIENCY_ONSET_US)),
    )
