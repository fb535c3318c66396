"""cevns-bayes: Bayesian and profile-likelihood reanalysis of COHERENT's CsI[Na] CEvNS data.

The data flow follows the package layout::

    data/ -> cevns_bayes.io (load, validate) -> cevns_bayes.physics (flux, cross section)
          -> cevns_bayes.detector (quenching, smearing, efficiency)
          -> cevns_bayes.model (expected counts as a pytensor graph; the statistical model)
          -> cevns_bayes.inference (NUTS, profile likelihood, grid)
          -> cevns_bayes.workflows (runs that write results; figures from cevns_bayes.plots)
          -> cevns_bayes.report

In three lines::

    import cevns_bayes
    model = cevns_bayes.load_analysis("xsec")        # a shipped spec name or a TOML path
    idata = cevns_bayes.sample(model, draws=1000)     # arviz.InferenceData
    result = cevns_bayes.profile(model)               # best fit, scans, intervals

A physics model of one's own is a :class:`PhysicsModel` registered with
:func:`register_physics_model` (:mod:`cevns_bayes.physics.plugins`); a spec then frees its
parameters like any other. The models beyond the SM of docs/physics.md §9 (light vector and
scalar mediators, magnetic moments, charge radii) are registered on import
(:mod:`cevns_bayes.physics.bsm`).
"""

# first, before pytensor and ArviZ are imported: their warnings a user can do nothing about
import cevns_bayes._environment  # noqa: F401  (applies its settings on import)

# the models beyond the SM (light mediators, magnetic moments, charge radii) register on import;
# they are not built into every forward graph
import cevns_bayes.physics.bsm  # noqa: F401
from cevns_bayes.errors import CevnsBayesError, ConfigError, DataError
from cevns_bayes.model.parameters import Parameter
from cevns_bayes.physics import sterile as _sterile  # noqa: F401  (registers "sterile")
from cevns_bayes.physics.plugins import (
    Moment,
    PhysicsContext,
    PhysicsModel,
    get_physics_model,
    physics_model_names,
    register_physics_model,
    unregister_physics_model,
)

__version__ = "0.1.0"

__all__ = [
    "CevnsBayesError",
    "ConfigError",
    "DataError",
    "Moment",
    "Parameter",
    "PhysicsContext",
    "PhysicsModel",
    "__version__",
    "get_physics_model",
    "load_analysis",
    "physics_model_names",
    "profile",
    "pymc_model",
    "register_physics_model",
    "sample",
    "unregister_physics_model",
]


def load_analysis(spec, **forward_options):
    """The :class:`~cevns_bayes.model.statistical.StatisticalModel` of an analysis: a shipped
    spec name (``cevns-bayes sample --list``), a path to a TOML spec, or an ``AnalysisSpec``;
    ``forward_options`` override the spec's forward-model options (e.g. ``flux="analytic"``)."""
    from cevns_bayes.model.statistical import load_analysis as _load

    return _load(spec, **forward_options)


def sample(model, **options):
    """NUTS posterior of a statistical model (:func:`cevns_bayes.api.sample`)."""
    from cevns_bayes.api import sample as _sample

    return _sample(model, **options)


def profile(model, **options):
    """Profile-likelihood fit, scans and intervals (:func:`cevns_bayes.api.profile`)."""
    from cevns_bayes.api import profile as _profile

    return _profile(model, **options)


def pymc_model(model, **options):
    """The PyMC model of a statistical model (:func:`cevns_bayes.api.pymc_model`)."""
    from cevns_bayes.api import pymc_model as _pymc_model

    return _pymc_model(model, **options)
