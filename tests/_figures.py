"""A figure check with content: the PNG decodes, has a plausible size and is not blank.

A byte count says a file was written; this says a figure was drawn: axes, labels and data leave
dark and coloured pixels on the white background, an empty or failed canvas does not.
"""

from pathlib import Path

import numpy as np

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_drawn_png(path: Path, *, min_px: int = 200) -> np.ndarray:
    """Decode ``path`` and check it is a drawn figure; returns the RGB(A) pixels."""
    import matplotlib.image as mpimg

    path = Path(path)
    assert path.read_bytes()[:8] == PNG_MAGIC, f"{path.name}: not a PNG"
    img = mpimg.imread(path)
    h, w = img.shape[:2]
    assert h >= min_px and w >= min_px, f"{path.name}: {w}x{h} px"
    rgb = img[..., :3]
    ink = np.any(rgb < 0.9, axis=-1)  # anything visibly darker than the white background
    frac = float(ink.mean())
    assert 0.005 < frac < 0.9, f"{path.name}: {100 * frac:.2f}% of the pixels drawn"
    # more than black-on-white: data are drawn in colour (or grey levels of a filled band)
    levels = np.unique(np.round(rgb[ink] * 16).astype(int), axis=0)
    assert len(levels) >= 4, f"{path.name}: only {len(levels)} colours"
    return img
