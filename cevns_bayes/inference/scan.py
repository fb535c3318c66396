"""The order in which the grid scans (Laplace posterior grid, 2-D profile scan) visit cells."""

from __future__ import annotations


def serpentine_order(shape: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Cells of a 1-D or 2-D grid row by row, every other row backwards (each cell next to
    the one before it, so a fit can start from its neighbour's result)."""
    if len(shape) == 1:
        return [(i,) for i in range(shape[0])]
    out = []
    for i in range(shape[0]):
        cols = range(shape[1]) if i % 2 == 0 else range(shape[1] - 1, -1, -1)
        out.extend((i, j) for j in cols)
    return out
