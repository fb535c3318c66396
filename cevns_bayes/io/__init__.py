"""Loading and validation of the shipped data: the CsI[Na] release text files, the SNS flux
ROOT files, the 2021-derived flux shapes (text files), their SHA-256 sums, and the published
numbers the results are compared with (:func:`load_published`). Every problem with
an input file raises :class:`~cevns_bayes.errors.DataError` naming the file, the line or
histogram, and what was expected.
"""

from cevns_bayes.io.checksums import HashCheck, check_hashes, sha256_of
from cevns_bayes.io.derived_flux import (
    DERIVED_FILES,
    DERIVED_FLAVORS,
    DerivedFlux2021,
    read_derived_flux_2021,
    read_energy_projections,
    read_joint_shapes,
    read_time_profiles,
)
from cevns_bayes.io.flux import (
    FLAVORS,
    OPTIONAL_FLAVORS,
    SOURCE_2018,
    SOURCE_2021,
    FluxFlavor,
    FluxTables,
    read_flux,
    write_flux_2021_format,
)
from cevns_bayes.io.published import load_published
from cevns_bayes.io.release import (
    RELEASE_FILES,
    BinnedShape,
    EfficiencyCoefficients,
    EventList,
    QuenchingCoefficients,
    ReleaseData,
    load_release,
    read_efficiency_coefficients,
    read_events,
    read_quenching_coefficients,
    read_shape,
)

__all__ = [
    "DERIVED_FILES",
    "DERIVED_FLAVORS",
    "FLAVORS",
    "OPTIONAL_FLAVORS",
    "RELEASE_FILES",
    "SOURCE_2018",
    "SOURCE_2021",
    "BinnedShape",
    "DerivedFlux2021",
    "EfficiencyCoefficients",
    "EventList",
    "FluxFlavor",
    "FluxTables",
    "HashCheck",
    "QuenchingCoefficients",
    "ReleaseData",
    "check_hashes",
    "load_published",
    "load_release",
    "read_derived_flux_2021",
    "read_efficiency_coefficients",
    "read_energy_projections",
    "read_events",
    "read_flux",
    "read_joint_shapes",
    "read_quenching_coefficients",
    "read_shape",
    "read_time_profiles",
    "sha256_of",
    "write_flux_2021_format",
]
