"""The published numbers every result is compared with: ``cevns_bayes/published.json`` (shipped
with the package, with its citation in ``_source``)."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any


def load_published() -> dict[str, Any]:
    """The published numbers (cevns_bayes/published.json, with its citation)."""
    return json.loads(resources.files("cevns_bayes").joinpath("published.json").read_text())
