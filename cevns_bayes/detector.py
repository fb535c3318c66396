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


def smearing_first_moment(mu_pe: np.ndarray, x_edges_pe: np.ndarray) -> np.ndarray:
    """∫_j (x − x̄_j) P(x | μ_i) dx over reconstructed-PE bins j (x̄_j the bin's centre), shape
    (n_mu, n_bins): the first moment of the gamma law within each bin.

    Exact: x P(x | μ) is μ times the gamma density of shape k + 1 and the same rate, so
    ∫_a^b x P dx = μ [P(k + 1, r b) − P(k + 1, r a)] with P the regularized incomplete gamma
    function. μ = 0 puts its probability at x = 0, −x̄ times it in the bin that holds 0.
    """
    mu = np.asarray(mu_pe, float)[:, None]
    edges = np.asarray(x_edges_pe, float)[None, :]
    centres = 0.5 * (edges[:, 1:] + edges[:, :-1])
    prob = smearing_matrix(mu[:, 0], edges[0])
    out = -centres * prob
    pos = mu[:, 0] > 0
    k, rate = smearing_shape_rate(mu[pos])
    first = np.diff(special.gammainc(k + 1.0, rate * np.clip(edges, 0.0, None)), axis=1)
    out[pos] += mu[pos] * first
    return out


def logistic_efficiency(x_pe, coeffs, xp=np):
    """The release's logistic a / (1 + exp(−b (x − c))) + d at ``x_pe`` (PE), before its clip
    (negative below the turn-on)."""
    a, b, cc, d = coeffs[0], coeffs[1], coeffs[2], coeffs[3]
    return a / (1.0 + xp.exp(-b * (x_pe - cc))) + d


def energy_efficiency(x_pe, coeffs, xp=np):
    """ε_E at reconstructed energy ``x_pe`` (PE), clipped at ≥ 0 (Eq. A7)."""
    return xp.maximum(logistic_efficiency(x_pe, coeffs, xp), 0.0)


def softplus(z, xp=np):
    """ln(1 + eˣ) without overflow: numpy's ``logaddexp`` or pytensor's ``softplus`` (whose
    gradient is the logistic function)."""
    if xp is np:
        return np.logaddexp(0.0, z)
    return xp.softplus(z)


def efficiency_zero_pe(coeffs, xp=np):
    """Where the release's logistic r(x) = a / (1 + exp(−b (x − c))) + d crosses 0 (PE):
    x₀ = c − ln(a/(−d) − 1)/b, for a, b > 0, d < 0 < a + d. ``-inf`` where r has no zero
    because it is positive everywhere (d ≥ 0), ``+inf`` where it is ≤ 0 everywhere
    (a + d ≤ 0)."""
    a, b, cc, d = coeffs[0], coeffs[1], coeffs[2], coeffs[3]
    crosses = (d < 0.0) & (a + d > 0.0)
    # safe arguments in the branches not taken: their gradient is multiplied by 0, not by nan
    ratio = xp.where(crosses, a / xp.where(crosses, -d, 1.0) - 1.0, 1.0)
    x0 = cc - xp.log(ratio) / b
    return xp.where(crosses, x0, xp.where(d >= 0.0, -np.inf, np.inf))


def subbin_average_efficiency(edges_pe, coeffs, xp=np):
    """The exact mean of ε_E = max(r, 0) over each reconstructed-PE sub-bin, a C¹ function
    of the coefficients.

    The release's logistic r(x) = a / (1 + exp(−b (x − c))) + d (Eq. A7 before its clip;
    a, b > 0) has the primitive R(x) = (a/b) ln(1 + e^{b (x − c)}) + d x and a single zero
    x₀ (:func:`efficiency_zero_pe`), below which it is negative. Over [x_a, x_b] the mean of
    max(r, 0) is therefore (R(x_b) − R(ℓ))/(x_b − x_a) with ℓ = min(max(x₀, x_a), x_b): the
    whole sub-bin where r > 0 throughout, 0 where r ≤ 0 throughout, the positive part where
    the turn-on lies inside. There is no quadrature error in ε_E whatever the sub-bin's width.
    The mean is continuous with a continuous derivative as the turn-on moves across sub-bins:
    ℓ moves with x₀ only while r(ℓ) = r(x₀) = 0, so ∂ℓ/∂θ never enters the derivative (the clip
    at a sub-bin centre made a corner in the likelihood whenever the turn-on crossed one).

    Args:
        edges_pe: sub-bin edges (PE), increasing, shape (n + 1,).
        coeffs: (a, b, c, d) of ε_E(x) = a / (1 + exp(−b (x − c))) + d.
        xp: ``numpy`` or ``pytensor.tensor``.

    Returns:
        The mean ε_E of each sub-bin, shape (n,).
    """
    edges = np.asarray(edges_pe, float)
    xa, xb = edges[:-1], edges[1:]
    a, b, cc, d = coeffs[0], coeffs[1], coeffs[2], coeffs[3]
    lo = xp.clip(efficiency_zero_pe(coeffs, xp), xa, xb)
    rise = softplus(b * (xb - cc), xp) - softplus(b * (lo - cc), xp)
    return ((a / b) * rise + d * (xb - lo)) / (xb - xa)


def time_efficiency(t_us):
    """ε_T(t_rec): 1 before 0.52 µs, exp(−0.0494 (t − 0.52)) after (Eq. A1)."""
    t = np.asarray(t_us, float)
    return np.where(
        t < c.TIME_EFFICIENCY_ONSET_US,
        1.0,
        np.exp(-c.TIME_EFFICIENCY_DECAY_PER_US * (t - c.TIME_EFFICIENCY_ONSET_US)),
    )
