"""Analysis binning in (reconstructed PE, t_rec)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cevns_bayes import constants as c
from cevns_bayes.errors import ConfigError

#: The 9 x 11 binning used by public reanalyses (README, *Physics conventions*)
DEFAULT_PE_EDGES = (0, 8, 12, 16, 20, 24, 32, 40, 50, 60)
DEFAULT_T_EDGES_US = (0, 0.125, 0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1, 2, 4, 6)


@dataclass(frozen=True)
class Binning:
    """Bin edges: ``pe_edges`` in reconstructed PE, ``t_edges_us`` in µs (t_rec)."""

    pe_edges: np.ndarray
    t_edges_us: np.ndarray
    name: str = "custom"

    def __post_init__(self) -> None:
        for label, edges in (("pe_edges", self.pe_edges), ("t_edges_us", self.t_edges_us)):
            e = np.asarray(edges, float)
            if e.ndim != 1 or e.size < 2:
                raise ConfigError(f"binning {label}: need at least two edges, got {edges!r}")
            if not np.all(np.isfinite(e)) or np.any(np.diff(e) <= 0):
                raise ConfigError(
                    f"binning {label}: edges must be finite and strictly increasing, got {list(e)}"
                )
            object.__setattr__(self, label, e)
        if self.pe_edges[0] < 0:
            raise ConfigError(
                f"binning pe_edges: lowest edge must be >= 0 PE, got {self.pe_edges[0]}"
            )

    @property
    def shape(self) -> tuple[int, int]:
        """(number of PE bins, number of time bins)."""
        return self.pe_edges.size - 1, self.t_edges_us.size - 1

    @property
    def n_bins(self) -> int:
        return self.shape[0] * self.shape[1]

    def histogram(self, pe: np.ndarray, t_us: np.ndarray) -> np.ndarray:
        """Counts of events per (PE, t) bin; bins are [lo, hi)."""
        counts, _, _ = np.histogram2d(pe, t_us, bins=(self.pe_edges, self.t_edges_us))
        return counts

    @classmethod
    def default(cls) -> Binning:
        return cls(
            np.array(DEFAULT_PE_EDGES, float), np.array(DEFAULT_T_EDGES_US, float), "default"
        )

    @classmethod
    def uniform(
        cls, n_pe: int, n_t: int, pe_max: float = c.ROI_PE_MAX, t_max_us: float = c.ROI_T_MAX_US
    ) -> Binning:
        return cls(
            np.linspace(0.0, pe_max, n_pe + 1),
            np.linspace(0.0, t_max_us, n_t + 1),
            f"uniform_{n_pe}x{n_t}",
        )

    @classmethod
    def fine(cls) -> Binning:
        """30 x 60 = 1800 bins: 2 PE by 0.1 µs."""
        return cls.uniform(30, 60)


def binning_from_name(name: str) -> Binning:
    """``"default"``, ``"fine"`` or ``"uniform:NPExNT"`` (e.g. ``uniform:30x60``)."""
    if name == "default":
        return Binning.default()
    if name == "fine":
        return Binning.fine()
    if name.startswith("uniform:"):
        try:
            n_pe, n_t = (int(v) for v in name.split(":", 1)[1].lower().split("x"))
        except ValueError as err:
            raise ConfigError(
                f"binning {name!r}: expected 'uniform:NPExNT', e.g. uniform:30x60"
            ) from err
        if n_pe < 1 or n_t < 1:
            raise ConfigError(f"binning {name!r}: bin counts must be positive")
        return Binning.uniform(n_pe, n_t)
    raise ConfigError(f"binning {name!r} unknown; expected 'default', 'fine' or 'uniform:NPExNT'")
