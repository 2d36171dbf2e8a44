"""Contour lines of a gridded function: vectorized marching squares.

Returns line segments in data coordinates, ready to draw as disconnected pairs. Saddle
cells are resolved by the mean of their four corners.
"""
from __future__ import annotations

import numpy as np

# Crossed edges for each corner code (bit 1: (i, j) above the level, 2: (i+1, j), 4: (i+1, j+1),
# 8: (i, j+1)). Edges: 0 bottom, 1 right, 2 top, 3 left. Saddles 5 and 10 are handled apart.
_PAIRS = {1: (3, 0), 2: (0, 1), 3: (3, 1), 4: (1, 2), 6: (0, 2), 7: (2, 3), 8: (2, 3), 9: (0, 2), 11: (1, 2),
          12: (1, 3), 13: (0, 1), 14: (0, 3)}


def contour_segments(values, xs, ys, level):
    """Segments of the contour ``values == level``.

    Parameters
    ----------
    values : array (ny, nx)
        ``values[j, i]`` at ``(xs[i], ys[j])``; NaN cells are skipped.
    xs : array (nx,) ; ys : array (ny,)
    level : float

    Returns
    -------
    array (K, 2, 2): K segments, each two (x, y) end points.
    """
    v = np.asarray(values, dtype=np.float64)
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    a, b, c, d = v[:-1, :-1], v[:-1, 1:], v[1:, 1:], v[1:, :-1]
    code = ((a > level) * 1 + (b > level) * 2 + (c > level) * 4 + (d > level) * 8).astype(np.int8)
    valid = np.isfinite(a) & np.isfinite(b) & np.isfinite(c) & np.isfinite(d)
    code[~valid] = 0
    x0, x1 = xs[None, :-1], xs[None, 1:]
    y0, y1 = ys[:-1, None], ys[1:, None]
    with np.errstate(divide="ignore", invalid="ignore"):
        edges = [
            (x0 + (level - a) / (b - a) * (x1 - x0), np.broadcast_to(y0, a.shape)),   # bottom: a -> b
            (np.broadcast_to(x1, a.shape), y0 + (level - b) / (c - b) * (y1 - y0)),   # right: b -> c
            (x0 + (level - d) / (c - d) * (x1 - x0), np.broadcast_to(y1, a.shape)),   # top: d -> c
            (np.broadcast_to(x0, a.shape), y0 + (level - a) / (d - a) * (y1 - y0)),   # left: a -> d
        ]
    pieces = []

    def add(mask, first, second):
        if mask.any():
            p, q = edges[first], edges[second]
            pieces.append(np.stack([np.c_[p[0][mask], p[1][mask]], np.c_[q[0][mask], q[1][mask]]], axis=1))

    for cell_code, (first, second) in _PAIRS.items():
        add(code == cell_code, first, second)
    center_above = (a + b + c + d) / 4 > level
    for cell_code in (5, 10):
        saddle = code == cell_code
        # code 5 (bottom-left and top-right above): if the centre is above, they connect and the
        # lines cut off bottom-right and top-left; code 10 mirrors it.
        cut_bottom_right = saddle & (center_above if cell_code == 5 else ~center_above)
        cut_bottom_left = saddle & ~(center_above if cell_code == 5 else ~center_above)
        add(cut_bottom_right, 0, 1)
        add(cut_bottom_right, 2, 3)
        add(cut_bottom_left, 3, 0)
        add(cut_bottom_left, 1, 2)
    if not pieces:
        return np.zeros((0, 2, 2))
    segments = np.concatenate(pieces)
    return segments[np.all(np.isfinite(segments), axis=(1, 2))]


def contour_levels(values, count):
    """``count`` levels evenly spaced strictly inside the range of the finite values."""
    finite = np.asarray(values)[np.isfinite(values)]
    if count <= 0 or finite.size == 0 or finite.min() == finite.max():
        return []
    return list(np.linspace(finite.min(), finite.max(), count + 2)[1:-1])


def contour_set(values, xs, ys, count):
    """All segments of ``count`` evenly spaced levels, as one array (K, 2, 2)."""
    parts = [contour_segments(values, xs, ys, level) for level in contour_levels(values, count)]
    return np.concatenate(parts) if parts else np.zeros((0, 2, 2))
