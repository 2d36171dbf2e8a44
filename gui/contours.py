"""Contour lines of a slice, traced by contourpy (the engine behind Matplotlib's contours).

On the GUI side because ``core/`` stays NumPy-only. The lines come back joined, as one pair
of x, y arrays with a NaN row between lines, which pyqtgraph draws in one item with
``connect="finite"``. The state's contour job, ``main.py render`` (through
:class:`~gui.figures.LandscapeFigure`) and the race GIF's background all trace with
:func:`landscape_contours`, so the lines agree everywhere.

Plain function of arrays: safe to call from a worker thread.
"""
from __future__ import annotations

from typing import NamedTuple

import contourpy
import numpy as np

from hillwalk.core.errors import HillwalkError
from hillwalk.core.experiment import display_values


class ContourLines(NamedTuple):
    """Polylines of every level in plane coordinates: ``x``, ``y`` arrays (N,) with a NaN
    between two lines (a closed line repeats its first point at its end). Unpacks as
    ``x, y`` for ``PlotDataItem.setData(*lines)``."""

    x: np.ndarray
    y: np.ndarray


def no_lines() -> ContourLines:
    """The empty set of lines (two arrays of shape (0,))."""
    return ContourLines(np.zeros(0), np.zeros(0))


def contour_levels(values, count):
    """``count`` levels evenly spaced strictly inside the range of the finite ``values``
    (any shape); none when ``count`` is 0 or the finite values are all equal or absent."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if count <= 0 or finite.size == 0 or finite.min() == finite.max():
        return []
    return list(np.linspace(finite.min(), finite.max(), count + 2)[1:-1])


def _generator(values, xs, ys):
    # Choices, deliberately:
    # - "threaded" with one thread, not the default "serial": both trace the same lines, but
    #   serial holds the GIL for the whole call, so a worker tracing a rugged 2001 x 2001
    #   grid with 100 levels froze the GUI thread for all of its 2.7 s, while threaded
    #   marches with the GIL released (longest gap ~27 ms; benchmarks/bench_contours.py).
    #   One thread: the app's other workers (slices, runs) share a few cores, and a
    #   401 x 401 slice takes milliseconds anyway.
    # - LineType.ChunkCombinedNan: each level comes back as one (N, 2) array of joined lines
    #   with NaN separators, which is the drawing format; chunk_size=0 keeps the grid one
    #   chunk, so that no line is cut at a chunk border.
    # - corner_mask=False: a cell with any non-finite corner is skipped whole, as the old
    #   marching squares did; with corner masking contourpy would trace the triangle of the
    #   three finite corners, linearly and not on the bilinear surface of the other cells.
    #   (contourpy masks NaN and inf in z itself.)
    # - linear interpolation along cell edges (z_interp Linear, quad_as_tri=False): the
    #   vertices lie on the bilinear interpolant of the grid, and the saddle cells are
    #   resolved by the mean of their four corners. A log colour scale is handled by tracing
    #   the displayed values (log10), not by ZInterp.Log.
    return contourpy.contour_generator(
        xs, ys, values, name="threaded", thread_count=1, line_type=contourpy.LineType.ChunkCombinedNan,
        chunk_size=0, corner_mask=False, quad_as_tri=False, z_interp=contourpy.ZInterp.Linear)


def contour_lines(values, xs, ys, count, should_stop=None):
    """The contour lines of ``count`` evenly spaced levels (:func:`contour_levels`) of a
    gridded function; see :func:`trace_levels` for the arguments and the result."""
    return trace_levels(values, xs, ys, contour_levels(values, count), should_stop)


def trace_levels(values, xs, ys, levels, should_stop=None):
    """The contour lines of a gridded function at the given levels.

    Parameters
    ----------
    values : array (ny, nx)
        ``values[j, i]`` at ``(xs[i], ys[j])``; cells with a non-finite corner are skipped.
    xs : array (nx,) ; ys : array (ny,)
    levels : sequence of floats (empty: no lines)
    should_stop : callable() -> bool, optional, checked between levels

    Returns
    -------
    :class:`ContourLines` (x, y arrays (N,) with NaN separators), level after level; None
    when stopped.
    """
    values = np.asarray(values, dtype=np.float64)
    if len(levels) == 0 or min(values.shape) < 2:
        return no_lines()
    generator = _generator(values, np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64))
    parts = []
    separator = np.full((1, 2), np.nan)
    for level in levels:
        if should_stop is not None and should_stop():
            return None
        points = generator.lines(level)[0][0]  # the one chunk's (N, 2), or None without lines
        if points is None or not len(points):
            continue
        if parts:
            parts.append(separator)
        parts.append(points)
    if not parts:
        return no_lines()
    joined = np.concatenate(parts)
    return ContourLines(np.ascontiguousarray(joined[:, 0]), np.ascontiguousarray(joined[:, 1]))


def landscape_contours(landscape, log_scale, count, should_stop=None):
    """:func:`contour_lines` of a slice as the heatmap colours it (log10 on a log scale);
    None when stopped."""
    if landscape.betas is None:
        raise HillwalkError("contour lines need a 2-D slice, not a cut")
    return contour_lines(display_values(landscape.values, log_scale), landscape.alphas, landscape.betas, count,
                         should_stop)


class TracedContours:
    """The contour lines a worker traced for a lab's side-by-side figures (see
    ``AppState.request_figure_contours``), kept per figure name while they fit the
    landscape that figure shows and the view's colour scale and line count."""

    def __init__(self):
        # name -> (landscape, log scale, count, ContourLines)
        self._entries = {}

    def lines_for(self, name, landscape, view):
        """The lines traced for this very ``landscape`` and view, or None (ask a worker)."""
        entry = self._entries.get(name)
        if entry is not None and entry[0] is landscape and entry[1:3] == (view.log_scale, view.contours):
            return entry[3]
        return None

    def accept(self, traced, shown, view) -> dict:
        """Keep the entries of a worker's ``traced`` ({name: (landscape, log scale,
        count, lines)}) that fit ``shown`` ({name: landscape drawn now}) and the view;
        returns {name: lines} to draw (late answers for older landscapes are dropped)."""
        fresh = {}
        for name, entry in traced.items():
            landscape, log_scale, count, lines = entry
            if shown.get(name) is landscape and (log_scale, count) == (view.log_scale, view.contours):
                self._entries[name] = entry
                fresh[name] = lines
        return fresh
