"""Expected counts as a pytensor graph (:class:`ForwardModel`), its parameters, binning and
likelihood, and :func:`build_model`, the one place that turns files and options into a model."""

from __future__ import annotations

from pathlib import Path

from cevns_bayes import constants as c
from cevns_bayes.model.binning import Binning, binning_from_name
from cevns_bayes.model.forward import CEVNS_COMPONENTS, COMPONENTS, ForwardModel
from cevns_bayes.model.parameters import CORE_PARAMETERS, Parameter, get_parameter, parameter_names
from cevns_bayes.paths import DEFAULT_DATA_DIR, DERIVED_FLUX_2021_DIR, FLUX_2018_FILE
from cevns_bayes.physics.flux import (
    ANALYTIC_FLUX,
    DEFAULT_FLUX_SOURCE,
    DERIVED_2021_FLUX,
    FLUX_SOURCES,
)


def load_flux(
    flux: str | Path = DEFAULT_FLUX_SOURCE,
    *,
    pulse_shape: str = "gaussian",
    pulse_fwhm_ns: float = c.PROTON_PULSE_FWHM_NS,
):
    """A :class:`~cevns_bayes.physics.flux.NeutrinoFlux` from a flux source.

    ``flux`` is ``"2021-derived"`` (the default: the per-flavor time profiles of the 2021
    ``snsFlux2D.root``, pulse included, with the shipped 2018 file's energy spectra),
    ``"analytic"`` (the πDAR spectra with a modelled pulse), or the path of a ROOT file in the
    2018 (TH1D, convolved here with a modelled pulse) or 2021 (TH2D, pulse included) format.
    The pulse options apply to the sources without the pulse only.
    """
    from cevns_bayes.io import read_derived_flux_2021, read_flux
    from cevns_bayes.physics.flux import analytic_flux, flux_from_tables, flux_from_time_profiles

    if str(flux) == ANALYTIC_FLUX:
        return analytic_flux(pulse_shape=pulse_shape, pulse_fwhm_ns=pulse_fwhm_ns)
    if str(flux) == DERIVED_2021_FLUX:
        derived = read_derived_flux_2021(DERIVED_FLUX_2021_DIR)
        return flux_from_time_profiles(
            derived.time_edges_ns, derived.time_prob, read_flux(FLUX_2018_FILE)
        )
    return flux_from_tables(read_flux(flux), pulse_shape=pulse_shape, pulse_fwhm_ns=pulse_fwhm_ns)


def build_model(
    data_dir: str | Path = DEFAULT_DATA_DIR,
    flux: str | Path = DEFAULT_FLUX_SOURCE,
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


def build_forward_model(
    spec, *, data_dir=None, flux=None, release=None, neutrino_flux=None, **overrides
):
    """The forward model an analysis spec asks for (binning and model options).

    ``overrides`` replace model options of the spec (e.g. ``time_efficiency=False``) or add
    ForwardModel options (e.g. ``arrival_time_us``). The graph holds the built-in physics
    models and any other the spec uses (:attr:`~cevns_bayes.spec.AnalysisSpec.physics_models`),
    so that specs with the same options can share one forward model.
    """
    from cevns_bayes.physics.plugins import BUILTIN_MODELS

    builtin = tuple(m.name for m in BUILTIN_MODELS)
    physics = builtin + tuple(m for m in spec.physics_models if m not in builtin)
    opts = {**dict(spec.model), "physics": physics, **overrides}
    return build_model(
        data_dir or DEFAULT_DATA_DIR,
        flux or DEFAULT_FLUX_SOURCE,
        spec.binning,
        pulse_shape=opts.pop("pulse_shape", "gaussian"),
        pulse_fwhm_ns=opts.pop("pulse_fwhm_ns", 378.0),
        release=release,
        neutrino_flux=neutrino_flux,
        **opts,
    )


__all__ = [
    "build_forward_model",
    "ANALYTIC_FLUX",
    "DEFAULT_FLUX_SOURCE",
    "DERIVED_2021_FLUX",
    "FLUX_SOURCES",
    "CEVNS_COMPONENTS",
    "COMPONENTS",
    "CORE_PARAMETERS",
    "parameter_names",
    "Binning",
    "ForwardModel",
    "Parameter",
    "binning_from_name",
    "build_model",
    "get_parameter",
    "load_flux",
]
