"""Where the shipped release files live.

The repository ships the public release under ``data/`` (see ``data/PROVENANCE.md``). The
environment variable ``CEVNS_BAYES_DATA_ROOT`` points the package at another copy of that tree.
"""

from __future__ import annotations

import os
from pathlib import Path

#: Root of the shipped data tree (holds ``SHA256SUMS`` and one folder per release).
DATA_ROOT = Path(
    os.environ.get("CEVNS_BAYES_DATA_ROOT", Path(__file__).resolve().parents[1] / "data")
)
#: Folder of the COHERENT CsI[Na] 2021 release files (the default ``--data-dir``).
DEFAULT_DATA_DIR = DATA_ROOT / "coherent-csi-2021"
#: The shipped 2018 SNS flux file (GEANT4 histograms): the energy spectra of the default
#: ``2021-derived`` flux, and a flux source of its own (``--flux`` with this path).
FLUX_2018_FILE = DATA_ROOT / "sns-flux-2018" / "nuEnergyAndTime.root"
#: Folder of the 2021 flux shapes as projected by public code (time profiles, energy projections
#: and coarse 2D shapes; see ``data/PROVENANCE.md``: their energy labels are not to be trusted).
DERIVED_FLUX_2021_DIR = DATA_ROOT / "sns-flux-2021-derived"
#: SHA-256 sums of the shipped files, relative to ``DATA_ROOT``.
SHA256SUMS = DATA_ROOT / "SHA256SUMS"
#: Folder of the analysis specs (TOML).
MODELS_DIR = Path(__file__).resolve().parents[1] / "models"
