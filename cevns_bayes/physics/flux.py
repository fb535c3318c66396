"""The SNS pion-decay-at-rest neutrino flux: energy spectra and arrival-time profiles per flavor.

Four sources, best first:

1. the official 2021 ``snsFlux2D.root`` (time x energy, already convolved with the proton pulse),
   for users who have it;
2. ``2021-derived`` (the default): the per-flavor production-time profiles of that file, 10 ns
   bins with the pulse included (:func:`flux_from_time_profiles`), with the energy spectra of
   the 2018 file (0.1 MeV bins), which the file's own 1 MeV energy projections match once their
   labels are moved down by 1 MeV (L1 distance 0.004 per flavor; README, *Flux*);
3. the shipped 2018 GEANT4 histograms (``nuEnergyAndTime.root``), whose times hold the pion and
   muon decays but not the proton pulse: they are convolved here with a modelled pulse;
4. the analytic πDAR spectra (monoenergetic ν_μ at 29.8 MeV, Michel ν_e and ν̄_μ spectra), with
   the modelled pulse.

Every source is turned into the same :class:`NeutrinoFlux`: per flavor, energies (MeV) with
probabilities, and the probability of the neutrino arriving in each bin of a fine time grid
(µs). The 2021 time axis is the t_rec frame of the release (its delayed profile matches the
release's NIN time histogram with no shift), so its ``arrival_time_us`` is 0; the times of
sources 3 and 4 are relative to the centre of the modelled pulse, whose t_rec the forward model
fits to the NIN histogram. The absolute normalization, 0.0848 ν per flavor per POT, lives in
:mod:`cevns_bayes.constants`.

The proton pulse
----------------
The release gives only its FWHM averaged over the run, 378 ns, not its shape. The default is a
Gaussian of that FWHM: a pulse averaged over months of running is smooth and close to symmetric,
and a Gaussian adds no information beyond the published width. ``"triangle"`` (FWHM = half the
base) and ``"box"`` (width = FWHM) bracket the shape uncertainty; the width itself is a setting
(``pulse_fwhm_ns``) so its effect can be measured (the difference budget does). The zero point is
not modelled here: the neutrino timing offset nuisance absorbs it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError

#: Flavors that enter the CsI fit (ν̄_e is a 1e-3 contamination, left out as in the paper)
FIT_FLAVORS = ("nu_mu", "nu_mu_bar", "nu_e")
#: Time step of the fine arrival-time grid, ns
TIME_STEP_NS = 4.0
PULSE_SHAPES = ("gaussian", "triangle", "box")
#: ``--flux`` names of the built-in flux sources (anything else is a ROOT file's path)
ANALYTIC_FLUX = "analytic"
DERIVED_2021_FLUX = "2021-derived"
FLUX_SOURCES = (DERIVED_2021_FLUX, ANALYTIC_FLUX)
#: The default flux: the 2021 flux's time profiles with the 2018 energy spectra
DEFAULT_FLUX_SOURCE = DERIVED_2021_FLUX


@dataclass(frozen=True)
class FlavorFlux:
    """One flavor's normalized flux.

    Attributes:
        energy_mev: neutrino energies, MeV (bin centres or quadrature nodes).
        energy_prob: probability of each energy; sums to 1 (or slightly less if the source
            histogram has entries outside its range).
        time_edges_us: edges of the fine arrival-time grid, µs, relative to the pulse centre.
        time_prob: probability of arriving in each time bin.
    """

    energy_mev: np.ndarray
    energy_prob: np.ndarray
    time_edges_us: np.ndarray
    time_prob: np.ndarray

    @property
    def mean_energy_mev(self) -> float:
        return float(np.sum(self.energy_mev * self.energy_prob) / np.sum(self.energy_prob))


@dataclass(frozen=True)
class NeutrinoFlux:
    """Normalized per-flavor spectra and time profiles, plus where they came from.

    Attributes:
        flavors: flavor -> :class:`FlavorFlux`.
        source: what the flux was made from.
        pulse: the pulse model (``"in file"`` when the times already include it).
        arrival_time_us: t_rec (µs) of the time axis' zero when the source fixes it (0 for the
            2021 time axis, which is the release's t_rec frame); None when the times are
            relative to a modelled pulse's centre, whose t_rec the forward model fits.
    """

    flavors: dict[str, FlavorFlux]
    source: str
    pulse: str
    arrival_time_us: float | None = None

    def __getitem__(self, flavor: str) -> FlavorFlux:
        return self.flavors[flavor]


# --- proton pulse ------------------------------------------------------------------------------
def proton_pulse(
    shape: str = "gaussian", fwhm_ns: float = c.PROTON_PULSE_FWHM_NS, step_ns: float = TIME_STEP_NS
) -> tuple[np.ndarray, np.ndarray]:
    """Discretized proton-on-target time distribution, centred on 0.

    Returns (offsets_ns, weights) with weights summing to 1, on a grid of ``step_ns``.
    """
    if shape not in PULSE_SHAPES:
        raise ConfigError(f"pulse shape {shape!r} unknown; expected one of {PULSE_SHAPES}")
    if not (np.isfinite(fwhm_ns) and fwhm_ns > 0):
        raise ConfigError(f"pulse FWHM must be a positive number of ns, got {fwhm_ns!r}")
    half_range = 4.0 * fwhm_ns
    n = int(np.ceil(half_range / step_ns))
    t = np.arange(-n, n + 1) * step_ns
    if shape == "gaussian":
        sigma = fwhm_ns / (2.0 * np.sqrt(2.0 * np.log(2.0)))
        w = np.exp(-0.5 * (t / sigma) ** 2)
    elif shape == "triangle":
        w = np.clip(1.0 - np.abs(t) / fwhm_ns, 0.0, None)
    else:  # box
        w = (np.abs(t) <= 0.5 * fwhm_ns).astype(float)
    return t, w / w.sum()


def _convolve_with_pulse(
    time_edges_ns: np.ndarray, time_prob: np.ndarray, shape: str, fwhm_ns: float
) -> tuple[np.ndarray, np.ndarray]:
    """Convolve a production-time histogram (uniform bins) with the proton pulse."""
    step = float(time_edges_ns[1] - time_edges_ns[0])
    if not np.allclose(np.diff(time_edges_ns), step, rtol=1e-6):
        raise ConfigError("flux time histogram must have uniform bins to convolve with the pulse")
    offsets, weights = proton_pulse(shape, fwhm_ns, step)
    out = np.convolve(time_prob, weights)  # length n + m - 1
    first_edge = time_edges_ns[0] + offsets[0]
    edges = first_edge + step * np.arange(out.size + 1)
    return edges, out


# --- sources -----------------------------------------------------------------------------------
def flux_from_tables(
    tables, *, pulse_shape: str = "gaussian", pulse_fwhm_ns: float = c.PROTON_PULSE_FWHM_NS
) -> NeutrinoFlux:
    """Build the flux from a file read by :func:`cevns_bayes.io.read_flux`.

    Files whose times exclude the proton pulse (the 2018 format) are convolved with it; files
    that include it (the 2021 format) are used as they are.
    """
    flavors = {}
    for name in FIT_FLAVORS:
        f = tables.flavors[name]
        e_edges = np.asarray(f.energy_edges_mev, float)
        t_edges = np.asarray(f.time_edges_ns, float)
        t_prob = np.asarray(f.time_prob, float)
        if not tables.pulse_convolved:
            t_edges, t_prob = _convolve_with_pulse(t_edges, t_prob, pulse_shape, pulse_fwhm_ns)
        flavors[name] = FlavorFlux(
            energy_mev=0.5 * (e_edges[1:] + e_edges[:-1]),
            energy_prob=np.asarray(f.energy_prob, float),
            time_edges_us=t_edges * 1e-3,
            time_prob=t_prob,
        )
    if tables.pulse_convolved:
        return NeutrinoFlux(flavors, tables.source, "in file", arrival_time_us=0.0)
    pulse = f"{pulse_shape}, FWHM {pulse_fwhm_ns:g} ns"
    return NeutrinoFlux(flavors=flavors, source=tables.source, pulse=pulse)


#: ``NeutrinoFlux.source`` of :func:`flux_from_time_profiles`
SOURCE_2021_DERIVED = "2021-derived time profiles x 2018 energy spectra"


def delayed_tail_fraction(time_edges_ns: np.ndarray, time_prob: np.ndarray) -> float:
    """Probability beyond the last time bin of a profile that ends in the μ-decay exponential.

    The 2021 projections stop at 15 µs and were renormalised to 1 over 0–15 µs, which drops the
    tail of the delayed flavors (≈ 0.14%). Past the pulse the profile falls as exp(−t/τ_μ), so
    the tail holds density(last bin) × τ_μ of the probability (2e-6 for ν_μ, whose slow
    tail after the prompt peak holds 0.08% of it past 1 µs).
    """
    width = float(time_edges_ns[-1] - time_edges_ns[-2])
    return float(time_prob[-1]) / width * c.MUON_LIFETIME_NS


def flux_from_time_profiles(
    time_edges_ns: np.ndarray,
    time_prob: dict[str, np.ndarray],
    energy_tables,
    *,
    source: str = SOURCE_2021_DERIVED,
) -> NeutrinoFlux:
    """A flux whose times are measured production-time profiles (pulse included, t_rec frame).

    Args:
        time_edges_ns: edges of the profiles' time bins, ns (the 2021 projections: 0–15000 ns
            in 10 ns).
        time_prob: flavor -> probability per time bin, each normalised to 1 over its range; the
            μ-decay tail beyond the last bin (:func:`delayed_tail_fraction`) is put back, so
            the in-range probabilities sum to 1 − tail.
        energy_tables: the energy spectra, a file read by :func:`cevns_bayes.io.read_flux`
            (the 2018 file's 0.1 MeV spectra for the ``2021-derived`` source).
        source: the description kept in :attr:`NeutrinoFlux.source`.

    No pulse is modelled and no arrival time fitted: ``arrival_time_us`` is 0.
    """
    edges = np.asarray(time_edges_ns, float)
    flavors = {}
    for name in FIT_FLAVORS:
        if name not in time_prob:
            raise ConfigError(f"time profiles lack flavor {name!r} (have {sorted(time_prob)})")
        prob = np.asarray(time_prob[name], float)
        if prob.shape != (edges.size - 1,):
            raise ConfigError(f"time profile of {name}: {prob.size} bins for {edges.size} edges")
        prob = prob / prob.sum()
        prob = prob / (1.0 + delayed_tail_fraction(edges, prob))
        e = energy_tables.flavors[name]
        e_edges = np.asarray(e.energy_edges_mev, float)
        flavors[name] = FlavorFlux(
            energy_mev=0.5 * (e_edges[1:] + e_edges[:-1]),
            energy_prob=np.asarray(e.energy_prob, float),
            time_edges_us=edges * 1e-3,
            time_prob=prob,
        )
    return NeutrinoFlux(flavors, source, "in file", arrival_time_us=0.0)


def prompt_numu_energy_mev() -> float:
    """Energy of the ν_μ from π⁺ → μ⁺ ν_μ at rest: (m_π² − m_μ²) / (2 m_π) ≈ 29.79 MeV."""
    return (c.CHARGED_PION_MASS_MEV**2 - c.MUON_MASS_MEV**2) / (2.0 * c.CHARGED_PION_MASS_MEV)


def michel_nu_e_pdf(e_mev: np.ndarray) -> np.ndarray:
    """ν_e spectrum from μ⁺ decay at rest, per MeV: 192 E²/m_μ³ (1/2 − E/m_μ), E ≤ m_μ/2."""
    e = np.asarray(e_mev, float)
    m = c.MUON_MASS_MEV
    return np.where((e >= 0) & (e <= m / 2), 192.0 * e**2 / m**3 * (0.5 - e / m), 0.0)


def michel_nu_mu_bar_pdf(e_mev: np.ndarray) -> np.ndarray:
    """ν̄_μ spectrum from μ⁺ decay at rest, per MeV: 64 E²/m_μ³ (3/4 − E/m_μ), E ≤ m_μ/2."""
    e = np.asarray(e_mev, float)
    m = c.MUON_MASS_MEV
    return np.where((e >= 0) & (e <= m / 2), 64.0 * e**2 / m**3 * (0.75 - e / m), 0.0)


def analytic_flux(
    *,
    pulse_shape: str = "gaussian",
    pulse_fwhm_ns: float = c.PROTON_PULSE_FWHM_NS,
    energy_step_mev: float = 0.05,
    t_max_ns: float = 20000.0,
) -> NeutrinoFlux:
    """The analytic πDAR flux: exact spectra, decay-time profiles convolved with the pulse.

    Prompt ν_μ: a line at :func:`prompt_numu_energy_mev`, times exponential with τ_π.
    Delayed ν_e, ν̄_μ: Michel spectra, times τ_π ⊗ τ_μ (difference of two exponentials).
    """
    step = TIME_STEP_NS
    edges = np.arange(0.0, t_max_ns + step, step)
    tau_pi, tau_mu = c.PION_LIFETIME_NS, c.MUON_LIFETIME_NS
    cdf_pi = 1.0 - np.exp(-edges / tau_pi)
    # CDF of the sum of two exponential times
    cdf_mu = 1.0 - (tau_mu * np.exp(-edges / tau_mu) - tau_pi * np.exp(-edges / tau_pi)) / (
        tau_mu - tau_pi
    )
    p_prompt = np.diff(cdf_pi)
    p_delayed = np.diff(cdf_mu)

    m_half = c.MUON_MASS_MEV / 2.0
    n_e = int(round(m_half / energy_step_mev))
    e_edges = np.linspace(0.0, m_half, n_e + 1)
    e_mid = 0.5 * (e_edges[1:] + e_edges[:-1])

    # exact integrals of the Michel densities over each bin (Simpson is exact for cubics)
    def _bin_prob(pdf):
        lo, hi = e_edges[:-1], e_edges[1:]
        return (hi - lo) / 6.0 * (pdf(lo) + 4.0 * pdf(0.5 * (lo + hi)) + pdf(hi))

    flavors = {}
    for name, e, pe, pt in (
        ("nu_mu", np.array([prompt_numu_energy_mev()]), np.array([1.0]), p_prompt),
        ("nu_mu_bar", e_mid, _bin_prob(michel_nu_mu_bar_pdf), p_delayed),
        ("nu_e", e_mid, _bin_prob(michel_nu_e_pdf), p_delayed),
    ):
        t_edges, t_prob = _convolve_with_pulse(edges, pt, pulse_shape, pulse_fwhm_ns)
        flavors[name] = FlavorFlux(e, pe, t_edges * 1e-3, t_prob)
    return NeutrinoFlux(
        flavors, source="analytic-pidar", pulse=f"{pulse_shape}, FWHM {pulse_fwhm_ns:g} ns"
    )
