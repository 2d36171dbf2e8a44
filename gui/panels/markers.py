"""Per-method plot items shared by the views that animate the race."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets
from pyqtgraph.graphicsItems.ScatterPlotItem import Symbols

OFF_PLANE_RING_PX = 44    # extra diameter of the off-plane ring, in pixels, for a point wholly off the plane
OFF_PLANE_SHOWN_FROM = 0.005  # shares below this draw no ring (an in-plane run is exactly 0)


def rows_up_to(run, frame) -> int:
    """How many recorded rows of ``run`` the animation shows at ``frame`` (at least 1)."""
    return max(1, int(np.searchsorted(run.steps, frame, side="right")))


# heads and rings this far above their trails' z value (the heatmap's trails are at 20, its
# start marker at 25, the cut's end markers at 26, the crosshair at 30)
HEAD_Z_ABOVE_TRAILS = 7
class DrawnFrom:
    """What each entry's plot items were last drawn from, so that they are set again only
    when it changed: the others' increments and the frames past a run's end come at every
    update, and setting a path re-strokes it. ``sources`` (the run, the plane) are compared
    by identity, ``key`` (rows shown, scale, ...) by equality."""

    def __init__(self):
        self._drawn: dict[int, tuple] = {}

    def changed(self, entry_id, sources, key) -> bool:
        """Whether the entry's items must be drawn again; records what they will show."""
        previous = self._drawn.get(entry_id)
        if (previous is not None and len(previous[0]) == len(sources)
                and all(old is new for old, new in zip(previous[0], sources)) and previous[1] == key):
            return False
        self._drawn[entry_id] = (tuple(sources), key)
        return True

    def forget(self, entry_id):
        self._drawn.pop(entry_id, None)

    def keep_only(self, entry_ids):
        self._drawn = {entry_id: drawn for entry_id, drawn in self._drawn.items() if entry_id in entry_ids}


MAX_DRAWN_POINTS = 1500  # a path of 100000 steps is drawn through 1500 of its rows
# A trail is drawn as a settled part, cached as pixels and redrawn only when it grows by
# this many rows, and a live tail stroked at every frame: playing a race then re-strokes
# a few dozen points per path instead of the whole path (8 paths of 1000 steps: the
# frame's strokes were most of its 32 ms).
SETTLED_BLOCK = 64


def drawn_rows(count: int, limit: int = MAX_DRAWN_POINTS):
    """Which of the first ``count`` rows a path's line is drawn through: all of them up to
    ``limit``, else ``limit`` evenly spaced rows, the first and the last included. A line of
    100000 points costs the GUI thread far more than a frame to stroke, and a plot a few
    hundred pixels wide shows no more than a point or two per pixel anyway (a halo'd,
    antialiased line of 4000 points took ~20 ms to stroke)."""
    if count <= limit:
        return slice(0, count)
    return np.unique(np.linspace(0, count - 1, limit).round().astype(np.int64))


def finite_rows(*columns) -> np.ndarray:
    """Boolean mask (R,) of the rows where every column (arrays of shape (R,)) is finite:
    a diverged run records inf or NaN, which the plot items must not be given."""
    mask = np.ones(np.shape(columns[0]), dtype=bool)
    for column in columns:
        mask &= np.isfinite(column)
    return mask


def last_finite_row(upto, *columns) -> int | None:
    """Index of the last row before ``upto`` where every column is finite, or None."""
    rows = np.flatnonzero(finite_rows(*(np.asarray(c)[:upto] for c in columns)))
    return int(rows[-1]) if rows.size else None


def off_plane_ring_size(share, head_size) -> float:
    """Diameter (px) of the ring drawn around a head whose point lies ``share`` (0..1) of
    its distance from the centre off the plane: the head itself at 0, growing linearly."""
    return head_size + OFF_PLANE_RING_PX * float(np.clip(share, 0.0, 1.0))


class PixelMarker(QtWidgets.QGraphicsPathItem):
    """One marker drawn by Qt itself: pyqtgraph's symbol ``symbol`` ``size`` pixels across,
    centred on its position (data coordinates), the same size at any zoom.

    A head used to be a ScatterPlotItem of one spot, whose paint runs in Python: 0.3 ms per
    item per repaint, with 16 of them (a head and a ring per method) most of a race frame's
    painting. This item's path is drawn by Qt (its paint only turns antialiasing on); it
    starts hidden, is shown where :meth:`place` puts it, and its path is rebuilt only when
    its look changes (:meth:`set_look`). Exports draw it as a vector path."""

    def __init__(self, symbol="o", size=12.0, pen=None, brush=None):
        super().__init__()
        self.setFlag(QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations)
        self.symbol, self.size = None, None
        self.setPen(pg.mkPen(pen) if pen is not None else pg.mkPen("k", width=1.5))
        self.setBrush(pg.mkBrush(brush) if brush is not None else QtGui.QBrush())
        self.set_look(symbol, size)
        self.setVisible(False)

    def place(self, x, y):
        """Show the marker at (x, y), data coordinates."""
        self.setPos(float(x), float(y))
        self.setVisible(True)

    def paint(self, painter, option, widget=None):
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
        super().paint(painter, option, widget)

    def set_look(self, symbol, size):
        if (symbol, size) != (self.symbol, self.size):
            self.symbol, self.size = symbol, float(size)
            self.setPath(QtGui.QTransform.fromScale(self.size, self.size).map(Symbols[symbol]))


class TrailLine(pg.GraphicsObject):
    """A polyline through (x, y) data points, stroked with a pen over an optional wider
    shadow pen (the halo), as pyqtgraph's PlotCurveItem strokes one, pixel for pixel.

    A race frame sets 16 trails (8 methods on the heatmap and on the cut). Through a
    PlotDataItem each set cost ~0.25 ms of Python (datasets, display copies, bounds by
    nanmin/nanmax, signals): 4 ms of each figure's 4 ms of work per frame. Here a set
    builds the path once (pyqtgraph's ``arrayToQPath``) and takes its bounds from it.

    ``setData(x, y)`` takes (R,) arrays; a point with a coordinate that is not finite is a
    gap in the line (a diverged run records inf or NaN). On a log axis (``setLogMode``,
    called by the plot) the values are drawn as their log10, non-positive ones as gaps, as
    a PlotDataItem draws them. ``getData()`` gives the drawn (x, y); ``opts`` holds what a
    legend's sample reads.

    Signals
    -------
    sigPlotChanged(item) : the data changed
    """

    sigPlotChanged = QtCore.pyqtSignal(object)

    def __init__(self):
        super().__init__()
        self.opts = {"pen": pg.mkPen(None), "shadowPen": None, "antialias": pg.getConfigOption("antialias"),
                     "symbol": None, "fillLevel": None}
        self._given = (np.empty(0), np.empty(0))   # as given (the log mapping is applied to these)
        self._log = (False, False)
        self._x, self._y = None, None              # as drawn
        self._path = QtGui.QPainterPath()
        self._data_rect = None                     # QRectF of the drawn points' finite extent, or None
        self._bounding_rect = None                 # cached: data rect padded by the pens' half widths

    # ---------------------------------------------------------------- look
    def setPen(self, *args, **kwargs):
        self.opts["pen"] = pg.mkPen(*args, **kwargs)
        self._geometry_changed()

    def setShadowPen(self, *args, **kwargs):
        self.opts["shadowPen"] = None if args and args[0] is None else pg.mkPen(*args, **kwargs)
        self._geometry_changed()

    # ---------------------------------------------------------------- data
    def setData(self, x, y):
        """Draw the line through the points (x, y), arrays (R,)."""
        self._given = (np.array(x, dtype=float), np.array(y, dtype=float))   # (copies: the caller may reuse its arrays)
        self._rebuild()

    def getData(self):
        """The drawn points (x, y), arrays (R,) (log10 of the values on a log axis), or
        (None, None) when there are none."""
        return self._x, self._y

    def setLogMode(self, x_mode, y_mode):
        if (bool(x_mode), bool(y_mode)) != self._log:
            self._log = (bool(x_mode), bool(y_mode))
            self._rebuild()

    def _rebuild(self):
        x, y = (self._log_mapped(values) if log else values for values, log in zip(self._given, self._log))
        self._x, self._y = (x, y) if x.size else (None, None)
        if x.size and (np.isfinite(x) & np.isfinite(y)).any():
            # "finite": where a coordinate is not finite the line breaks (for finite points
            # the same path as "all"); the path then holds only finite points
            self._path = pg.arrayToQPath(x, y, connect="finite")
            self._data_rect = self._path.boundingRect()
        else:
            self._path = QtGui.QPainterPath()
            self._data_rect = None
        self._geometry_changed()
        self.sigPlotChanged.emit(self)

    @staticmethod
    def _log_mapped(values):
        with np.errstate(divide="ignore", invalid="ignore"):
            mapped = np.log10(values)
        mapped[~np.isfinite(mapped)] = np.nan
        return mapped

    def _geometry_changed(self):
        self._bounding_rect = None
        self.prepareGeometryChange()
        self.informViewBoundsChanged()
        self.update()

    # ---------------------------------------------------------------- bounds
    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        """(min, max) of the drawn points along axis ``ax`` (0: x, 1: y), (None, None)
        without points; the whole extent whatever ``frac`` and ``orthoRange`` ask (a
        trail is never the thing a view fits itself to)."""
        rect = self._data_rect
        if rect is None:
            return None, None
        return (rect.left(), rect.right()) if ax == 0 else (rect.top(), rect.bottom())

    def pixelPadding(self):
        """Half the widest pen's width, in pixels (the pens are cosmetic)."""
        widths = [pen.widthF() * 0.7072 for pen in (self.opts["pen"], self.opts["shadowPen"])
                  if pen is not None and pen.style() != QtCore.Qt.PenStyle.NoPen]
        return max(widths, default=0.0)

    def boundingRect(self):
        if self._bounding_rect is None:
            rect = self._data_rect
            if rect is None:
                return QtCore.QRectF()
            padding = self.pixelPadding()
            pad_x = pad_y = 0.0
            if padding > 0:
                pixel_x, pixel_y = self.pixelVectors()
                try:   # (a degenerate view, e.g. of zero size, has no finite pixel)
                    pad_x = 0.0 if pixel_x is None else pixel_x.length() * padding
                    pad_y = 0.0 if pixel_y is None else pixel_y.length() * padding
                except OverflowError:
                    pad_x = pad_y = 0.0
            self._bounding_rect = rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)
        return self._bounding_rect

    def viewTransformChanged(self):
        super().viewTransformChanged()
        self._bounding_rect = None   # the padding is in pixels
        self.prepareGeometryChange()

    # ---------------------------------------------------------------- paint
    def paint(self, painter, option, widget=None):
        if self._x is None:
            return
        export = self._exportOpts
        antialias = export.get("antialias", True) if export is not False else self.opts["antialias"]
        painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, antialias)
        for pen in (self.opts["shadowPen"], self.opts["pen"]):
            if pen is not None and pen.style() != QtCore.Qt.PenStyle.NoPen:
                painter.setPen(pen)
                painter.drawPath(self._path)


class RunMarkers:
    """A trail (line) and a head (marker) per enabled optimizer entry, on one plot.

    ``sync(entries)`` creates, recolours and removes items to match the entries;
    ``trails``/``heads`` map entry ids to the items. With ``halo`` each trail is drawn
    over a white band, so that any colour stays visible on any colour map; with
    ``rings`` each head gets a dashed ring (``rings[entry_id]``) whose size shows how far
    off the plane the point is (:func:`off_plane_ring_size`)."""

    def __init__(self, plot, trail_width=2.5, head_size=12, z_value=20, halo=False, rings=False):
        self.plot = plot
        self.trail_width, self.head_size, self.z_value = trail_width, head_size, z_value
        self.halo, self.with_rings = halo, rings
        self.trails: dict[int, TrailLine] = {}     # the live tail (the legend shows it)
        self.settled: dict[int, TrailLine] = {}    # the rest of the trail, cached
        self._settled_given: dict[int, tuple] = {}       # what each settled part was given (x, y)
        self._colors: dict[int, str] = {}                 # the colour each entry's items were given
        self.heads: dict[int, PixelMarker] = {}
        self.rings: dict[int, PixelMarker] = {}
        self.drawn = DrawnFrom()   # what each entry's trail and head show (the panels key it)

    def sync(self, entries):
        """Match the items to ``entries`` (the enabled OptimizerEntry objects)."""
        wanted = {entry.id: entry for entry in entries}
        self.drawn.keep_only(wanted)
        for entry_id in list(self.trails):
            if entry_id not in wanted:
                self.plot.removeItem(self.trails.pop(entry_id))
                self.plot.removeItem(self.settled.pop(entry_id))
                self._settled_given.pop(entry_id, None)
                self._colors.pop(entry_id, None)
                self.plot.removeItem(self.heads.pop(entry_id))
                if entry_id in self.rings:
                    self.plot.removeItem(self.rings.pop(entry_id))
        for entry_id, entry in wanted.items():
            if entry_id not in self.trails:
                trail, settled = TrailLine(), TrailLine()
                settled.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
                head = PixelMarker("o", self.head_size)
                markers = [head]
                if self.with_rings:
                    self.rings[entry_id] = PixelMarker("o", self.head_size)
                    markers.append(self.rings[entry_id])
                for item in (settled, trail):
                    item.setZValue(self.z_value)
                    self.plot.addItem(item)
                for item in markers:   # pixel-sized: no part of the data's bounds
                    # above the trails and the race's start marker: a method that has barely
                    # moved from the start still shows where it is
                    item.setZValue(self.z_value + HEAD_Z_ABOVE_TRAILS)
                    self.plot.addItem(item, ignoreBounds=True)
                self.trails[entry_id], self.settled[entry_id], self.heads[entry_id] = trail, settled, head
            if self._colors.get(entry_id) == entry.color:
                continue   # a new pen re-lays the item out: only when the colour changes
            self._colors[entry_id] = entry.color
            for part in (self.trails[entry_id], self.settled[entry_id]):
                part.setPen(pg.mkPen(entry.color, width=self.trail_width))
                if self.halo:
                    part.setShadowPen(pg.mkPen((255, 255, 255, 210), width=self.trail_width + 3))
            self.heads[entry_id].setBrush(pg.mkBrush(entry.color))
            if entry_id in self.rings:
                self.rings[entry_id].setPen(pg.mkPen(entry.color, width=2, style=QtCore.Qt.PenStyle.DashLine))
        return wanted

    def show_ring(self, entry_id, a, b, share):
        """The off-plane ring of one head at (a, b); hidden for a point (nearly) in the plane."""
        ring = self.rings.get(entry_id)
        if ring is None:
            return
        if share < OFF_PLANE_SHOWN_FROM or not np.isfinite(share):
            ring.setVisible(False)
        else:
            ring.set_look("o", off_plane_ring_size(share, self.head_size))
            ring.place(a, b)

    def set_trail(self, entry_id, x, y):
        """Draw the trail through the points (x, y) (arrays (R,)): rows up to the last
        multiple of SETTLED_BLOCK before the final two go to the cached settled part, which
        is redrawn only when they change; the rest (at least two rows) to the live tail.
        The two share a row, so the line is unbroken."""
        x, y = np.asarray(x), np.asarray(y)
        split = max(0, (x.size - 2) // SETTLED_BLOCK * SETTLED_BLOCK)
        settled = self.settled[entry_id]
        # compared with what it was given, not with getData() (which is what it displays:
        # on a log axis the logarithms)
        old_x, old_y = self._settled_given.get(entry_id, (None, None))
        if split == 0:
            if old_x is not None:
                settled.setData([], [])
                self._settled_given.pop(entry_id, None)
        elif old_x is None or old_x.size != split + 1 or not (
                np.array_equal(old_x, x[:split + 1], equal_nan=True)
                and np.array_equal(old_y, y[:split + 1], equal_nan=True)):
            self._settled_given[entry_id] = (x[:split + 1].copy(), y[:split + 1].copy())
            settled.setData(x[:split + 1], y[:split + 1])
        self.trails[entry_id].setData(x[split:], y[split:])

    def move_head(self, entry_id, x, y, symbol="o", size=None):
        """Put the head at (x, y) with ``symbol`` (pyqtgraph's names) ``size`` pixels across
        (the head size by default)."""
        head = self.heads[entry_id]
        head.set_look(symbol, self.head_size if size is None else size)
        head.place(x, y)

    def head_position(self, entry_id):
        """Where the head is drawn, (x, y), or None when it is hidden."""
        head = self.heads[entry_id]
        if not head.isVisible():
            return None
        return float(head.pos().x()), float(head.pos().y())

    def clear(self, entry_id):
        self.drawn.forget(entry_id)
        self.trails[entry_id].setData([], [])
        self.settled[entry_id].setData([], [])
        self._settled_given.pop(entry_id, None)
        self.heads[entry_id].setVisible(False)
        if entry_id in self.rings:
            self.rings[entry_id].setVisible(False)
