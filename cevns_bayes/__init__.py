"""cevns-bayes: Bayesian and profile-likelihood reanalysis of COHERENT's CsI[Na] CEvNS data.

The data flow follows the package layout::

    data/ -> cevns_bayes.io (load, validate) -> cevns_bayes.physics (flux, cross section)
          -> cevns_bayes.detector (quenching, smearing, efficiency)
          -> cevns_bayes.model (expected counts as a pytensor graph)
          -> inference -> report / plots
"""

from cevns_bayes.errors import CevnsBayesError, ConfigError, DataError

__version__ = "0.1.0"

__all__ = ["CevnsBayesError", "ConfigError", "DataError", "__version__"]
