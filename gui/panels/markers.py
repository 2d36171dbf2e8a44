"""Per-method plot items shared by the views that animate the race."""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui
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


HALO_COLOR = (255, 255, 255, 210)   # the white band under a heatmap's trail
HALO_EXTRA_WIDTH = 3                # px wider than the trail

MAX_DRAWN_POINTS = 1500  # a path of 100000 steps is drawn through 1500 of its rows
# A trail is drawn as a settled part, which grows by blocks of this many rows (stroked
# once onto the plot's settled layers, see SettledTrails), and a live tail stroked at every
# frame, at most a block and two rows long.
SETTLED_BLOCK = 16


def drawn_rows(count: int, limit: int = MAX_DRAWN_POINTS):
    """Which of the first ``count`` rows a path's line is drawn through: all of them up to
    ``limit``, else every k-th from row 0 and the last, k the smallest power of two that
    keeps them within ``limit`` (+ 1). A line of 100000 points costs the GUI thread far more
    than a frame to stroke, and a plot a few hundred pixels wide shows no more than a point
    or two per pixel anyway (a halo'd, antialiased line of 4000 points took ~20 ms to
    stroke).

    As a played path grows the rows only extend, but where k doubles (a few times in a
    race: 7 in 100000 steps), and between, its settled part strokes only its new segments
    (see :class:`SettledTrails`). Spaced evenly over the rows so far, every row moved at
    every frame past ``limit``, and each frame stroked every method's whole trail again:
    150-170 ms paints while a 100000-step race played. A path is drawn through at least
    half as many rows as an even spacing would give it."""
    if count <= limit:
        return slice(0, count)
    every = 2
    while (count - 1) // every + 1 > limit:
        every *= 2
    rows = np.arange(0, count, every)
    return rows if rows[-1] == count - 1 else np.append(rows, count - 1)


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


def extent_along(rect, axis):
    """(min, max) of ``rect`` (a QRectF, or None: (None, None)) along ``axis`` (0: x, 1: y),
    as pyqtgraph's ``dataBounds`` gives it."""
    if rect is None:
        return None, None
    return (rect.left(), rect.right()) if axis == 0 else (rect.top(), rect.bottom())


def pixels_in_data_units(item, pixels) -> tuple[float, float]:
    """How far ``pixels`` screen pixels reach along x and along y in ``item``'s (data)
    units, for the view's current scale; (0, 0) before the item is shown in a view."""
    if pixels <= 0:
        return 0.0, 0.0
    pixel_x, pixel_y = item.pixelVectors()
    try:   # (a degenerate view, e.g. of zero size, has no finite pixel)
        return (0.0 if pixel_x is None else pixel_x.length() * pixels,
                0.0 if pixel_y is None else pixel_y.length() * pixels)
    except OverflowError:
        return 0.0, 0.0


def polyline_path(x, y) -> QtGui.QPainterPath:
    """The polyline through the points (x, y) (finite arrays (R,), R >= 2) as a path, with
    the points written straight into the polygon's memory (a trail's tail of 18 points: 7
    us against 19 for pg.arrayToQPath). Element for element the path arrayToQPath makes,
    but for 30001, 40001, ... points (arrayToQPath leaves the last one out). (A single
    point would be a lone move here and an empty path there: TrailLine keeps arrayToQPath's
    for it. With the lone move a diverged run's one-point tail left a stale column of the
    heatmap once in five runs of a check against a fresh paint, never with the empty path.)"""
    polygon = pg.functions.create_qpolygonf(x.size)
    points = pg.functions.ndarray_from_qpolygonf(polygon)   # (R, 2), the polygon's memory
    points[:, 0] = x
    points[:, 1] = y
    path = QtGui.QPainterPath()
    path.addPolygon(polygon)
    return path


class PixelMarker(pg.GraphicsObject):
    """One marker: pyqtgraph's symbol ``symbol`` ``size`` pixels across, centred on its
    position (data coordinates), the same size at any zoom.

    A head used to be a ScatterPlotItem of one spot, whose paint does much in Python: 0.3
    ms per item per repaint, with 16 of them (a head and a ring per method) most of a race
    frame's painting. This item's paint is one ``drawPath``. It starts hidden, is shown
    where :meth:`place` puts it, and its path is rebuilt only when its look or the view's
    scale changes.

    The path is kept in data units (the symbol's pixels mapped back through the view's
    scale), not drawn with Qt's ItemIgnoresTransformations: the scene reports the area of
    such an item as its size in pixels taken as data units (thousands of pixels on a plot
    of range 1), and a figure repaints only the areas its scene reports as changed (see
    gui.figures.repaint_once_a_frame). Exports draw it as a vector path."""

    def __init__(self, symbol="o", size=12.0, pen=None, brush=None):
        super().__init__()
        # a head moves at every frame: no Python itemChange call for its position (it is
        # no part of the data's bounds, see RunMarkers.sync)
        self.setFlag(self.GraphicsItemFlag.ItemSendsGeometryChanges, False)
        self.symbol, self.size = None, None
        self._pen = pg.mkPen(pen) if pen is not None else pg.mkPen("k", width=1.5)
        self._brush = pg.mkBrush(brush) if brush is not None else QtGui.QBrush()
        self._pixel_path = QtGui.QPainterPath()   # the symbol in pixels, centred on (0, 0)
        self._local = None                         # (path, bounding rect) in data units, for the view's scale
        self.set_look(symbol, size)
        self.setVisible(False)

    def place(self, x, y):
        """Show the marker at (x, y), data coordinates."""
        self.setPos(float(x), float(y))
        self.setVisible(True)

    def set_look(self, symbol, size):
        if (symbol, size) != (self.symbol, self.size):
            self._shape_changes()
            self.symbol, self.size = symbol, float(size)
            self._pixel_path = QtGui.QTransform.fromScale(self.size, self.size).map(Symbols[symbol])

    def pen(self):
        return QtGui.QPen(self._pen)

    def setPen(self, pen):
        self._shape_changes()   # (the pen's width is part of the area)
        self._pen = pg.mkPen(pen)

    def brush(self):
        return QtGui.QBrush(self._brush)

    def setBrush(self, brush):
        self._brush = pg.mkBrush(brush)
        self.update()

    def _shape_changes(self):
        """Called before the area changes: the scene repaints the old area and the new one
        (prepareGeometryChange schedules that repaint itself)."""
        self.prepareGeometryChange()
        self._local = None

    def viewTransformChanged(self):
        super().viewTransformChanged()
        self._shape_changes()

    def _local_shape(self):
        """(path, bounding rect) of the symbol in this item's (data) units, or None before
        the item is shown in a view."""
        if self._local is None:
            to_device = self.deviceTransform_()
            if to_device is None:
                return None
            # the view's scale only: pixels of offset from the position -> data units
            scale = QtGui.QTransform(to_device.m11(), to_device.m12(), to_device.m21(), to_device.m22(), 0, 0)
            from_pixels, invertible = scale.inverted()
            if not invertible:
                return None
            margin = self._pen.widthF() / 2 + 1   # the pen's half width and antialiasing, pixels
            pixel_rect = self._pixel_path.boundingRect().adjusted(-margin, -margin, margin, margin)
            self._local = (from_pixels.map(self._pixel_path), from_pixels.mapRect(pixel_rect))
        return self._local

    def boundingRect(self):
        local = self._local_shape()
        return local[1] if local is not None else QtCore.QRectF()

    def _begin_paint(self, painter):
        """The symbol's (path, bounding rect) in data units with ``painter`` set up to draw
        it, or None before the item is shown in a view."""
        local = self._local_shape()
        if local is not None:
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            painter.setPen(self._pen)
            painter.setBrush(self._brush)
        return local

    def paint(self, painter, option, widget=None):
        local = self._begin_paint(painter)
        if local is not None:
            painter.drawPath(local[0])


_UNCHANGED = object()


class PixelMarkers(PixelMarker):
    """Markers at several points (data coordinates), one look for all: pyqtgraph's symbol
    ``symbol``, ``size`` pixels across at any zoom, as :class:`PixelMarker` draws one.

    For still markers that the heads pass over at every frame of a race (the centre, a test
    function's minima, a cut's end points). A ScatterPlotItem's paint is Python (0.6 ms a
    paint of the heatmap); Qt's pixel cache of one went stale where a pan brought a point
    its paint had left out (outside the view) into view. Here a paint is one ``drawPath``
    a point, and the path is in data units, exact after a pan, a zoom or on any screen.

    The subset of ScatterPlotItem's interface the figures use: ``setData(x, y, symbol=,
    size=, brush=)`` ((R,) arrays; non-finite points are not drawn; none hides the item),
    ``getData()``, ``setSymbol``, ``setSize``, ``setBrush``, ``setPen``. Its data bounds are
    its points (a view fitting itself includes them, as it did the scatter's)."""

    def __init__(self, symbol="o", size=12.0, pen=None, brush=None):
        super().__init__(symbol, size, pen, brush)
        self._x, self._y = np.zeros(0), np.zeros(0)
        self._drawn = np.zeros((0, 2))   # the finite points
        self._extent = None              # their (x min, y min, x max, y max), or None

    def setData(self, x, y, symbol=None, size=None, brush=_UNCHANGED):
        """Show the markers at (x, y), arrays (R,); ``symbol``, ``size`` and ``brush`` (None:
        no fill) change the look when given."""
        self._shape_changes()
        self._x = np.array(x, dtype=float).reshape(-1)
        self._y = np.array(y, dtype=float).reshape(-1)
        points = np.column_stack([self._x, self._y])
        self._drawn = points[np.isfinite(points).all(axis=1)]
        # (once here: Qt asks for the bounding rect several times a paint)
        self._extent = (*self._drawn.min(axis=0), *self._drawn.max(axis=0)) if len(self._drawn) else None
        self.set_look(symbol if symbol is not None else self.symbol, size if size is not None else self.size)
        if brush is not _UNCHANGED:
            self.setBrush(brush)
        self.setVisible(len(self._drawn) > 0)
        self.informViewBoundsChanged()

    def getData(self):
        return self._x.copy(), self._y.copy()

    def setSymbol(self, symbol):
        self.set_look(symbol, self.size)

    def setSize(self, size):
        self.set_look(self.symbol, size)

    def setBrush(self, brush):
        super().setBrush(brush if brush is not None else QtGui.QBrush())

    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        """(min, max) of the finite coordinates along ``ax`` (0: x, 1: y), as a
        ScatterPlotItem gives them; (None, None) without any (the symbols' size is
        :meth:`pixelPadding`). The whole extent whatever ``frac`` and ``orthoRange`` ask."""
        values = (self._x, self._y)[ax]
        values = values[np.isfinite(values)]
        if not values.size:
            return None, None
        return float(values.min()), float(values.max())

    def pixelPadding(self):
        # a ScatterPlotItem's (its widest spot's size and pen, times 0.7072): a view fitting
        # itself to a figure with a centre marker frames it as it did with the scatter
        return (self.size + self._pen.widthF()) * 0.7072

    def boundingRect(self):
        local = self._local_shape()
        if local is None or self._extent is None:
            return QtCore.QRectF()
        x_min, y_min, x_max, y_max = self._extent
        rect = local[1]
        return QtCore.QRectF(rect.left() + x_min, rect.top() + y_min, rect.width() + (x_max - x_min),
                             rect.height() + (y_max - y_min))

    def paint(self, painter, option, widget=None):
        local = self._begin_paint(painter)
        if local is not None:
            for x, y in self._drawn.tolist():
                painter.drawPath(local[0].translated(x, y))


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
        self._padding = None                       # cached: that padding (x, y) in data units, for the view's scale

    # ---------------------------------------------------------------- look
    def setPen(self, *args, **kwargs):
        self.prepareGeometryChange()   # (the pens' widths are part of the area)
        self.opts["pen"] = pg.mkPen(*args, **kwargs)
        self._bounding_rect = self._padding = None

    def setShadowPen(self, *args, **kwargs):
        self.prepareGeometryChange()
        self.opts["shadowPen"] = None if args and args[0] is None else pg.mkPen(*args, **kwargs)
        self._bounding_rect = self._padding = None

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
        # (before the change: the scene repaints the old area and the new one, and
        # prepareGeometryChange schedules that repaint itself)
        self.prepareGeometryChange()
        x, y = (self._log_mapped(values) if log else values for values, log in zip(self._given, self._log))
        self._x, self._y = (x, y) if x.size else (None, None)
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.all() and x.size >= 2:
            self._path = polyline_path(x, y)
            self._data_rect = self._path.boundingRect()
        elif finite.any():
            # "finite": where a coordinate is not finite the line breaks (for finite points
            # the same path as "all"); the path then holds only finite points
            self._path = pg.arrayToQPath(x, y, connect="finite")
            self._data_rect = self._path.boundingRect()
        else:
            self._path = QtGui.QPainterPath()
            self._data_rect = None
        self._bounding_rect = None
        self.informViewBoundsChanged()
        self.sigPlotChanged.emit(self)

    @staticmethod
    def _log_mapped(values):
        with np.errstate(divide="ignore", invalid="ignore"):
            mapped = np.log10(values)
        mapped[~np.isfinite(mapped)] = np.nan
        return mapped

    # ---------------------------------------------------------------- bounds
    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        """(min, max) of the drawn points along axis ``ax`` (0: x, 1: y), (None, None)
        without points; the whole extent whatever ``frac`` and ``orthoRange`` ask (a
        trail is never the thing a view fits itself to)."""
        return extent_along(self._data_rect, ax)

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
            if self._padding is None:
                self._padding = pixels_in_data_units(self, self.pixelPadding())
            pad_x, pad_y = self._padding
            self._bounding_rect = rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)
        return self._bounding_rect

    def viewTransformChanged(self):
        super().viewTransformChanged()
        self.prepareGeometryChange()
        self._bounding_rect = self._padding = None   # the padding is in pixels

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


class _SettledPart:
    """One method's settled trail in a :class:`SettledTrails`: the points as given and as
    drawn ((R,) arrays), and how many of them the layers already hold."""

    def __init__(self, color, line_width, style=QtCore.Qt.PenStyle.SolidLine):
        self.color, self.style = color, style
        self.pen = pg.mkPen(color, width=line_width, style=style)
        self.given = (np.empty(0), np.empty(0))
        self.drawn = (np.empty(0), np.empty(0))
        self.rect = None   # QRectF of the drawn points' finite extent, or None
        self.in_layers = 0


class SettledTrails(pg.GraphicsObject):
    """The settled parts of every method's trail on one plot, kept as two pixel layers of
    the plot's viewport (the halos, then the lines) to which a growing trail only adds
    its new segments.

    A trail's settled part grows by a block of rows every few frames. Each part used to be
    an item cached as a pixmap, and a grown part was re-stroked whole: 8 paths of 1000
    steps took 38 ms of the GUI thread each time they grew together. Here the new
    segments are stroked onto the layers, and a paint draws the two layers.

    The halos are stroked opaque and the layer is drawn at the halo pen's opacity, so
    that where two increments' halos overlap (at their shared point) the halo is not
    darker. Every halo lies under every line (a method's halo never hides another's
    line). The layers are drawn again in full when the view's transform, size or pixel
    ratio changes, a part shrinks or changes (a scrub back, a new run), or a colour
    changes; an export strokes the paths as vectors.

    ``set_part(entry_id, x, y)`` takes (R,) arrays (non-finite points are gaps; on a log
    axis (``setLogMode``) the log10 of the values is drawn, as by :class:`TrailLine`)."""

    def __init__(self, line_width, halo_pen=None):
        super().__init__()
        self.line_width = line_width
        self.halo_pen = halo_pen
        # the halos are stroked opaque: their layer carries the pen's opacity
        self._opaque_halo = None
        if halo_pen is not None:
            self._opaque_halo = QtGui.QPen(halo_pen)
            color = self._opaque_halo.color()
            color.setAlpha(255)
            self._opaque_halo.setColor(color)
        self._parts: dict[int, _SettledPart] = {}
        self._log = (False, False)
        self._halos = self._lines = None   # QImage layers, viewport pixels
        self._layer_key = None              # the transform, size and pixel ratio they were drawn for
        self._data_rect = None
        self._bounding_rect = None
        self._padding = None   # cached: the pens' padding (x, y) in data units, for the view's scale

    # ---------------------------------------------------------------- parts
    def set_color(self, entry_id, color, style=QtCore.Qt.PenStyle.SolidLine):
        """The colour (and dash ``style``) of a part's line."""
        part = self._parts.get(entry_id)
        if part is None:
            part = self._parts[entry_id] = _SettledPart(color, self.line_width, style)
        if part.color != color or part.style != style:
            part.color, part.style = color, style
            part.pen = pg.mkPen(color, width=self.line_width, style=style)
            self._layer_key = None   # restroke everything (a colour is under others' lines)
            self.update()

    def set_part(self, entry_id, x, y):
        """Show the settled trail of ``entry_id`` through (x, y), arrays (R,). When it extends
        what the part showed, only the new segments are stroked at the next paint."""
        x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
        part = self._parts.get(entry_id)
        if part is None:   # (not setdefault: it would make a part, and its pen, at every call)
            part = self._parts[entry_id] = _SettledPart("k", self.line_width)
        old_x, old_y = part.given
        # compared byte for byte (a NaN equals itself; a zero of the other sign does not,
        # and only restrokes): np.array_equal with equal_nan cost 10-20 us a call, at 16
        # calls a frame
        extends = (old_x.size <= x.size and old_x.tobytes() == x[:old_x.size].tobytes()
                   and old_y.tobytes() == y[:old_y.size].tobytes())
        if extends and old_x.size == x.size:
            return   # the same points
        part.given = (x.copy(), y.copy())   # (the caller may reuse its arrays)
        part.drawn = self._mapped(*part.given)
        part.rect = _finite_rect(*part.drawn)
        if not extends:
            self._layer_key = None
            self._data_changed()
        else:   # only where the new segments go (from the last point already shown)
            new_x, new_y = (values[max(0, old_x.size - 1):] for values in part.drawn)
            self._data_changed(self._padded(_finite_rect(new_x, new_y)))

    def remove(self, entry_id):
        if self._parts.pop(entry_id, None) is not None:
            self._layer_key = None
            self._data_changed()

    def color_of(self, entry_id):
        """The colour a part's line is drawn in, or None for an unknown entry."""
        part = self._parts.get(entry_id)
        return part.color if part is not None else None

    def part_points(self, entry_id):
        """The points (x, y) of one part as given (arrays (R,), not log-mapped), or
        (None, None) for an unknown entry."""
        part = self._parts.get(entry_id)
        return part.given if part is not None else (None, None)

    def part_extent(self, entry_id, axis=1):
        """(min, max) of one part's drawn points (log10 on a log axis) along ``axis`` (0: x,
        1: y), over the points whose coordinates are both finite; (None, None) without any."""
        part = self._parts.get(entry_id)
        return extent_along(part.rect if part is not None else None, axis)

    def part_data(self, entry_id):
        """The drawn points (x, y) of one part, arrays (R,) (empty when it has none)."""
        part = self._parts.get(entry_id)
        return part.drawn if part is not None else (np.empty(0), np.empty(0))

    def setLogMode(self, x_mode, y_mode):
        if (bool(x_mode), bool(y_mode)) != self._log:
            self._log = (bool(x_mode), bool(y_mode))
            for part in self._parts.values():
                part.drawn = self._mapped(*part.given)
                part.rect = _finite_rect(*part.drawn)
            self._layer_key = None
            self._data_changed()

    def _mapped(self, x, y):
        return tuple(TrailLine._log_mapped(values) if log else values for values, log in zip((x, y), self._log))

    def _data_changed(self, dirty=None):
        """The parts changed: repaint ``dirty`` (a QRectF in data units), or all of the
        item; tell the view when the data's extent changed (for its auto range)."""
        rect = None
        for part in self._parts.values():
            if part.rect is not None:
                rect = part.rect if rect is None else rect.united(part.rect)
        if rect != self._data_rect:
            self._data_rect = rect
            self.informViewBoundsChanged()
        if dirty is None:
            self.update()
        elif not dirty.isNull() and self.scene() is not None:
            # the scene's area, not the item's: a scene reports a changed item as all of its
            # bounding rect (which is the whole view) to the figure's frame repaint
            self.scene().update(self.mapRectToScene(dirty))

    def _padded(self, rect):
        """``rect`` (data units, or None) grown by the widest pen's half width (pixels)."""
        if rect is None:
            return QtCore.QRectF()
        if self._padding is None:
            self._padding = pixels_in_data_units(self, self.pixelPadding() + 1)   # (and a pixel of antialiasing)
        pad_x, pad_y = self._padding
        return rect.adjusted(-pad_x, -pad_y, pad_x, pad_y)

    # ---------------------------------------------------------------- bounds
    def dataBounds(self, ax, frac=1.0, orthoRange=None):
        """(min, max) of every part's drawn points along axis ``ax``, (None, None) without any."""
        return extent_along(self._data_rect, ax)

    def pixelPadding(self):
        widths = [self.line_width] + ([self.halo_pen.widthF()] if self.halo_pen is not None else [])
        return max(widths) * 0.7072

    def boundingRect(self):
        """The view's visible area: the layers cover the viewport, and an area that does
        not change with the data lets a grown part repaint only its new segments (a new
        bounding rect repaints the whole of the old and the new one)."""
        if self._bounding_rect is None:
            view_rect = self.viewRect()
            if view_rect is None:
                return QtCore.QRectF()   # (not in a view yet)
            self._bounding_rect = QtCore.QRectF(view_rect)
        return self._bounding_rect

    def viewTransformChanged(self):
        super().viewTransformChanged()
        self.prepareGeometryChange()
        self._bounding_rect = self._padding = None

    # ---------------------------------------------------------------- paint
    def _pending(self):
        """[(part, first point not yet in the layers' strokes)] of the parts with new segments."""
        pending = []
        for part in self._parts.values():
            first = max(0, part.in_layers - 1)   # (from the last point already drawn)
            if part.drawn[0].size - first >= 2:
                pending.append((part, first))
        return pending

    def _stroke_new_segments(self, painter, which, pending):
        """Stroke what each part added since its layers were drawn, with its halo (``which``
        "halo") or line pen, a block of SETTLED_BLOCK rows at a time, every part's block k
        before any part's block k + 1. That is the order in which a race adds them, so
        the layers show the same pixels however they were reached: played, scrubbed to, or
        drawn at once after a resize. ``pending`` is :meth:`_pending`'s list."""
        last_block = max((part.drawn[0].size - 2) // SETTLED_BLOCK for part, _first in pending)
        # a dashed line goes on where its previous piece's pattern stopped: the pen's dash
        # offset is the length drawn before the piece (pixels, in pen widths)
        lengths = {id(part): _drawn_lengths(part.drawn, painter.transform()) for part, _first in pending
                   if which == "line" and part.style != QtCore.Qt.PenStyle.SolidLine}
        for block in range(min(first // SETTLED_BLOCK for _part, first in pending), last_block + 1):
            for part, first in pending:
                x, y = part.drawn
                start, stop = max(block * SETTLED_BLOCK, first), min((block + 1) * SETTLED_BLOCK, x.size - 1)
                if stop > start:
                    pen = self._opaque_halo if which == "halo" else part.pen
                    if id(part) in lengths:
                        pen = QtGui.QPen(pen)
                        pen.setDashOffset(lengths[id(part)][start] / max(pen.widthF(), 1.0))
                    painter.setPen(pen)
                    painter.drawPath(pg.arrayToQPath(x[start:stop + 1], y[start:stop + 1], connect="finite"))

    def paint(self, painter, option, widget=None):
        if not self._parts:
            return
        if self._exportOpts is not False:   # an export: whole paths as vectors, the halos under the lines
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, self._exportOpts.get("antialias", True))
            for which in ("halo", "line"):
                for part in self._parts.values():
                    pen = self.halo_pen if which == "halo" else part.pen
                    if pen is not None and part.drawn[0].size:
                        painter.setPen(pen)
                        painter.drawPath(pg.arrayToQPath(*part.drawn, connect="finite"))
            return
        view = self.getViewWidget()
        to_viewport = self.deviceTransform_() if view is not None else None
        if to_viewport is None:
            return   # (not shown yet)
        viewport = view.viewport()
        ratio = viewport.devicePixelRatioF()
        key = (tuple(getattr(to_viewport, f"m{i}{j}")() for i in (1, 2, 3) for j in (1, 2, 3)),
               viewport.width(), viewport.height(), ratio)
        if key != self._layer_key:
            self._lines = self._new_layer(viewport.size(), ratio)
            self._halos = self._new_layer(viewport.size(), ratio) if self.halo_pen is not None else None
            for part in self._parts.values():
                part.in_layers = 0
            self._layer_key = key
        pending = self._pending()
        for layer, which in ((self._halos, "halo"), (self._lines, "line")):
            if not pending or layer is None:
                continue   # (nothing new, or no halos)
            layer_painter = QtGui.QPainter(layer)
            layer_painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing, True)
            layer_painter.setTransform(to_viewport)
            self._stroke_new_segments(layer_painter, which, pending)
            layer_painter.end()
        for part in self._parts.values():
            part.in_layers = part.drawn[0].size
        from_viewport, invertible = to_viewport.inverted()
        if not invertible:
            return
        painter.save()
        painter.setTransform(from_viewport, True)   # viewport pixels, wherever the painter draws
        if self.halo_pen is not None:
            opacity = painter.opacity()
            painter.setOpacity(opacity * self.halo_pen.color().alphaF())
            painter.drawImage(QtCore.QPointF(0, 0), self._halos)
            painter.setOpacity(opacity)
        painter.drawImage(QtCore.QPointF(0, 0), self._lines)
        painter.restore()

    @staticmethod
    def _new_layer(size, ratio):
        layer = QtGui.QImage(max(1, round(size.width() * ratio)), max(1, round(size.height() * ratio)),
                             QtGui.QImage.Format.Format_ARGB32_Premultiplied)
        layer.setDevicePixelRatio(ratio)
        layer.fill(QtCore.Qt.GlobalColor.transparent)
        return layer


def _drawn_lengths(points, transform):
    """The length in device pixels of the line through ``points`` ((x, y), arrays (R,)) from
    its first point to each point, under ``transform`` (a QTransform without rotation: a
    plot's); a gap (a non-finite point) adds nothing. Array (R,)."""
    x, y = points
    dx = np.diff(x) * transform.m11()
    dy = np.diff(y) * transform.m22()
    steps = np.hypot(dx, dy)
    steps[~np.isfinite(steps)] = 0.0
    return np.concatenate(([0.0], np.cumsum(steps)))


def _finite_rect(x, y):
    """The extent (QRectF) of the points (x, y) ((R,) arrays) whose coordinates are both
    finite, or None."""
    finite = np.isfinite(x) & np.isfinite(y)
    if not finite.any():
        return None
    x, y = x[finite], y[finite]
    left, top = float(x.min()), float(y.min())
    return QtCore.QRectF(left, top, float(x.max()) - left, float(y.max()) - top)


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
        # the rest of every trail, as layers that grow with the trails
        self.settled = SettledTrails(trail_width, self._halo_pen() if halo else None)
        self.settled.setZValue(z_value)
        plot.addItem(self.settled)
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
                self.settled.remove(entry_id)
                self._colors.pop(entry_id, None)
                self.plot.removeItem(self.heads.pop(entry_id))
                if entry_id in self.rings:
                    self.plot.removeItem(self.rings.pop(entry_id))
        for entry_id, entry in wanted.items():
            if entry_id not in self.trails:
                trail = TrailLine()
                head = PixelMarker("o", self.head_size)
                markers = [head]
                if self.with_rings:
                    self.rings[entry_id] = PixelMarker("o", self.head_size)
                    markers.append(self.rings[entry_id])
                trail.setZValue(self.z_value)   # (above the settled trails: added after them)
                self.plot.addItem(trail)
                for item in markers:   # pixel-sized: no part of the data's bounds
                    # above the trails and the race's start marker: a method that has barely
                    # moved from the start still shows where it is
                    item.setZValue(self.z_value + HEAD_Z_ABOVE_TRAILS)
                    self.plot.addItem(item, ignoreBounds=True)
                self.trails[entry_id], self.heads[entry_id] = trail, head
            if self._colors.get(entry_id) == entry.color:
                continue   # a new pen re-lays the item out: only when the colour changes
            self._colors[entry_id] = entry.color
            self.trails[entry_id].setPen(pg.mkPen(entry.color, width=self.trail_width))
            if self.halo:
                self.trails[entry_id].setShadowPen(self._halo_pen())
            self.settled.set_color(entry_id, entry.color)
            self.heads[entry_id].setBrush(pg.mkBrush(entry.color))
            if entry_id in self.rings:
                self.rings[entry_id].setPen(pg.mkPen(entry.color, width=2, style=QtCore.Qt.PenStyle.DashLine))
        return wanted

    def _halo_pen(self):
        return pg.mkPen(HALO_COLOR, width=self.trail_width + HALO_EXTRA_WIDTH)

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
        multiple of SETTLED_BLOCK before the final two go to the settled layers, which stroke
        only what was added since (see :class:`SettledTrails`); the rest (at least two rows)
        to the live tail. The two share a row, so the line is unbroken."""
        x, y = np.asarray(x), np.asarray(y)
        split = max(0, (x.size - 2) // SETTLED_BLOCK * SETTLED_BLOCK)
        self.settled.set_part(entry_id, x[:split + 1] if split else x[:0], y[:split + 1] if split else y[:0])
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
        self.settled.set_part(entry_id, [], [])
        self.heads[entry_id].setVisible(False)
        if entry_id in self.rings:
            self.rings[entry_id].setVisible(False)
