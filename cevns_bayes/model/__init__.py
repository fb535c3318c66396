"""Expected counts as a pytensor graph (:class:`ForwardModel`), its parameters, binning and
likelihood, and :func:`build_model`, the one place that turns files and options into a model."""

from __future__ import annotations

from pathlib import Path

from cevns_bayes import constants as c
from cevns_bayes.model.binning import Binning, binning_from_name
from cevns_bayes.model.forward import CEVNS_COMPONENTS, COMPONENTS, ForwardModel
from cevns_bayes.model.parameters import PARAMETER_NAMES, PARAMETERS, Parameter, get_parameter
from cevns_bayes.paths import DEFAULT_DATA_DIR, DEFAULT_FLUX

ANALYTIC_FLUX = "analytic"


def load_flux(
    flux: str | Path = DEFAULT_FLUX,
    *,
    pulse_shape: str = "gaussian",
    pulse_fwhm_ns: float = c.PROTON_PULSE_FWHM_NS,
):
    """A :class:`~cevns_bayes.physics.flux.NeutrinoFlux` from a ROOT file of either format, or
    the analytic πDAR flux when ``flux == "analytic"``."""
    from cevns_bayes.io import read_flux
    from cevns_bayes.physics.flux import analytic_flux, flux_from_tables

    if str(flux) == ANALYTIC_FLUX:
        return analytic_flux(pulse_shape=pulse_shape, pulse_fwhm_ns=pulse_fwhm_ns)
    return flux_from_tables(read_flux(flux), pulse_shape=pulse_shape, pulse_fwhm_ns=pulse_fwhm_ns)


def build_model(
    data_dir: str | Path = DEFAULT_DATA_DIR,
    flux: str | Path = DEFAULT_FLUX,
    binning: Binning | str | None = None,
    *,
    pulse_shape: str = "gaussian",
    pulse_fwhm_ns: float = c.PROTON_PULSE_FWHM_NS,
    release=None,
    neutrino_flux=None,
    **options,
) -> ForwardModel:
    """Read the release and the flux, and build the forward model.

    ``options`` go to :class:`ForwardModel` (``form_factor``, ``couplings``,
    ``time_efficiency``, ``arrival_time_us``, resolutions). ``release`` / ``neutrino_flux``
    reuse already loaded inputs.
    """
    from cevns_bayes.io import load_release

    if isinstance(binning, str):
        binning = binning_from_name(binning)
    if release is None:
        release = load_release(data_dir)
    if neutrino_flux is None:
        neutrino_flux = load_flux(flux, pulse_shape=pulse_shape, pulse_fwhm_ns=pulse_fwhm_ns)
    return ForwardModel(release, neutrino_flux, binning, **options)


__all__ = [
    "ANALYTIC_FLUX",
    "CEVNS_COMPONENTS",
    "COMPONENTS",
    "PARAMETERS",
    "PARAMETER_NAMES",
    "Binning",
    "ForwardModel",
    "Parameter",
    "binning_from_name",
    "build_model",
    "get_parameter",
    "load_flux",
]
