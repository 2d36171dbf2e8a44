"""Plot widgets for landscapes, usable on screen and offscreen (for PNG export).

:class:`LandscapeFigure` draws a 2-D slice as a heatmap in (a, b) coordinates with a colour
bar, contour lines and a centre marker, or a 1-D cut as a curve.
"""
from __future__ import annotations

import html
import math
import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets, sip

from hillwalk.core.errors import HillwalkError
from hillwalk.core.experiment import clip_for_log, display_values, log_floor  # noqa: F401 (the views' log rule, from core)
from hillwalk.core.io.files import check_output_folder, write_bytes_atomically
from hillwalk.core.io.session import (
    PALETTE,  # one colour per optimizer, shared with session files
    draws_equal_scales,  # noqa: F401 (the views' rule, from core)
)
from hillwalk.core.models.objectives import loss_name

from .contours import ContourLines, contour_lines, no_lines
from .pacing import OwnTurnPaint, single_shot_timer
from .panels.markers import HALO_COLOR, HALO_EXTRA_WIDTH, PixelMarkers
from .panels.widgets import run_ending_note

QWIDGETSIZE_MAX = 16777215   # Qt's "no limit" for a widget's or item's size
MAX_FIT_PASSES = 4           # fits of the equal scales' box and of the title for one figure size
DEFAULT_COLORMAP = "CET-R4"  # blue (low) to red (high), as in the CS231n figures, perceptually even
COMPONENT_LABELS = {"total": "loss (data + regularization)", "data": "data loss", "reg": "regularization loss",
                    "accuracy": "training accuracy"}


# for a short axis (the cut's, in a small window)
SHORT_COMPONENT_LABELS = {"total": "total loss", "data": "data loss", "reg": "reg. loss", "accuracy": "accuracy"}


def set_axis_label(axis, text):
    """An AxisItem labelled ``text`` (in black), unless it already is: pyqtgraph lays a
    relabelled axis out again (its ticks too) and the plot's layout with it, and a slice
    sets its figure's labels at every preview and partial result."""
    if axis.labelText != text or not axis.label.isVisibleTo(axis):
        axis.setLabel(text, color="k")
        # pyqtgraph centres the label along the axis only when the axis is resized: a new
        # text of another length on an axis of the same size stayed where the old was
        # centred, partly off the axis
        axis.resizeEvent()


def show_axis(plot, side, shown=True):
    """Show or hide ``plot``'s ``side`` axis, unless it already is (hidden itself, not merely
    with its plot): pyqtgraph's ``AxisItem.show()`` drops the axis's picture, so showing a
    shown axis at every update laid its ticks out again each time."""
    if plot.getAxis(side).isVisibleTo(plot) != shown:
        plot.showAxis(side, shown)


# a landscape figure's title: the largest of these sizes at which it fits (see LandscapeFigure.fit_title)
TITLE_POINT_SIZES = (11, 10, 9, 8)
TITLE_MARGIN_PX = 32   # the figure's width the title leaves besides the left axis and the colour bar: margins
TITLE_ROW_PX = 30      # a title's row at one line (pyqtgraph's)
TITLE_MAX_LINES = 2    # a title wrapped to more is shortened line by line instead
# ... or to one more line where equal scales hold the plot narrower than the figure (a
# square heatmap in a wide panel: the title has only the square's width)
TITLE_MAX_LINES_NARROWED = 3
# a legend's ground where curves may pass under it: their names stay legible
LEGEND_GROUND = pg.mkBrush(255, 255, 255, 210)


def laid_out_lines(document) -> int:
    """The lines a QTextDocument is laid out in (its blocks' lines)."""
    block, lines = document.begin(), 0
    while block.isValid():
        lines += block.layout().lineCount()
        block = block.next()
    return lines


def shortened_lines(document, most, metrics, room) -> list:
    """A wrapped title's lines cut down to ``most``: each of its own lines (a network's
    modes are the second) keeps one line at least, the first as many of its wrapped lines
    as the others leave, the last of them running on to the end of its text; every line is
    then shortened to ``room`` pixels (``metrics``: QFontMetricsF), with an ellipsis where
    it goes on. A title never shrinks to fewer lines than it fits in (shortening each own
    line to one made a narrowed title jump from four lines to one, and equal scales, which
    size the plot by its title's height, then grew the plot back: a relayout loop)."""
    document.size()   # (lays the document out, if it was not yet: its blocks' lines come from that)
    own = []   # per own line of the text, its wrapped lines
    block = document.begin()
    while block.isValid():
        text, layout = block.text(), block.layout()
        # <br> puts U+2028 in the block: the own lines' ends within it
        ends = [index for index, char in enumerate(text) if char == "\u2028"] + [len(text)]
        segments = [[] for _ in ends]
        for line_index in range(layout.lineCount()):
            line = layout.lineAt(line_index)
            segment = next(k for k, end in enumerate(ends) if line.textStart() <= end)
            segments[segment].append(text[line.textStart():line.textStart() + line.textLength()].strip("\u2028 "))
        own.extend(lines for lines in segments if lines)
        block = block.next()
    own = own[:most]
    shortened = []
    for index, lines in enumerate(own):
        keep = most - (len(own) - 1) if index == 0 else 1
        if len(lines) > keep:
            lines = lines[:keep - 1] + [" ".join(lines[keep - 1:])]
        shortened.extend(metrics.elidedText(line, QtCore.Qt.TextElideMode.ElideRight, room) for line in lines)
    return shortened


LOG_TICK_PX = 18   # the height a log axis's label needs


def log_ticks(low, high, max_ticks=None, shown=None):
    """Ticks for a log axis over values from ``low`` to ``high`` (> 0): 1, 2 and 5 times
    powers of ten when the range spans less than three decades (and, given ``max_ticks``,
    that many fit), powers of ten otherwise, every k-th decade (10^0 among them) where more
    than ``max_ticks`` would not fit (seven decades on a 60-px plot overlapped); None
    (pyqtgraph's own ticks) where fewer than two of them lie within ``shown`` (bottom, top:
    the values the axis shows; default ``low`` .. ``high``). Values are in log10 space, as
    pyqtgraph's log mode expects."""
    if not (np.isfinite(low) and np.isfinite(high)) or low <= 0 or high <= 0:
        return None
    bottom, top = (low, high) if shown is None else shown
    first, last = int(np.floor(np.log10(low))), int(np.ceil(np.log10(high)))

    def chosen(multiples):
        values = [m * 10.0 ** k for k in range(first, last + 1) for m in multiples]
        return [v for v in values if low / 1.5 <= v <= high * 1.5]

    ticks = chosen((1, 2, 5)) if last - first <= 3 else chosen((1,))
    if max_ticks is not None and len(ticks) > max_ticks:
        ticks = chosen((1,))
        if len(ticks) > max_ticks:
            every = -(-len(ticks) // max(1, max_ticks))
            ticks = [v for v in ticks if round(np.log10(v)) % every == 0] or ticks[:1]
    if sum(bottom <= v <= top for v in ticks) < 2:
        # a narrow range (0.57 .. 0.93) between its nice values: pyqtgraph's own ticks (a
        # range with one of them inside the data and one just outside, 0.02 .. 0.99, still
        # shows both: what matters is the axis's range)
        return None
    return [[(float(np.log10(v)), f"{v:g}") for v in ticks], []]


def set_title(plot, title, **style):
    """``plot``'s title, unless it already is ``title`` (a new title lays the plot out
    again, see :func:`set_axis_label`)."""
    if plot.titleLabel.text != title or not plot.titleLabel.isVisibleTo(plot):
        plot.setTitle(title, **style)


def name_in_legend(legend, item, name):
    """``item`` (a PlotDataItem) in ``legend`` under ``name``: its row made the first time,
    its text changed after (a figure that keeps its curves across results renames their
    rows instead of building the legend again)."""
    item.opts["name"] = name
    label = legend.getLabel(item)
    if label is None:
        legend.addItem(item, name)
    elif label.text != name:
        label.setText(name)


class FittedAxisLabels(QtCore.QObject):
    """Axis labels chosen by the room their axes have: each axis is given its texts, the
    fullest first, and shows the first that fits along it, chosen again whenever the axis
    is resized. A label longer than its axis is clipped at both ends: the Compare two
    models lab's heatmaps at 1280 x 720 (about 110 px tall) lost the start and end of
    "b: |d2| = 19.5, cos(d1, d2) = 0.0087" and of their colour bar's label."""

    MARGIN = 6   # pixels kept free at the label's ends

    def __init__(self, parent):
        super().__init__(parent)
        self._texts = {}   # axis -> its texts, the fullest first

    def set(self, axis, *texts):
        """Label ``axis`` with the first of ``texts`` that fits (else the last)."""
        if axis not in self._texts:
            # the helper's own method: PyQt disconnects it when the helper goes
            axis.geometryChanged.connect(self._fit_all)
        self._texts[axis] = texts
        self._fit(axis)

    def _fit_all(self):
        for axis in self._texts:
            self._fit(axis)

    def _fit(self, axis):
        texts = self._texts[axis]
        size = axis.size()
        room = size.height() if axis.orientation in ("left", "right") else size.width()
        metrics = QtGui.QFontMetrics(axis.label.font())
        set_axis_label(axis, next((text for text in texts if metrics.horizontalAdvance(text) + self.MARGIN <= room),
                                  texts[-1]))


def second_axis_labels(plane, narrow=False) -> tuple:
    """The second (vertical) axis's labels, fullest first (see :class:`FittedAxisLabels`).
    Every one but the last, "b", keeps the cosine between the directions, down to
    "b: cos = 0.059" on a short axis: a skewed plane is never passed off as orthogonal.
    ``narrow``: the first leaves out the kind of direction, which the other axis names."""
    labels = [plane.describe_axis(2, name_direction=not narrow), plane.describe_axis(2, name_direction=False)]
    if "cosine" in plane.info:
        cosine = f"cos = {plane.info['cosine']:.2g}"
        labels += [f"b: |d2| = {plane.info.get('norm2', 0.0):.3g}, {cosine}", f"b: {cosine}"]
    else:
        labels.append(plane.describe_axis(2, name_direction=False, with_cosine=False))
    return (*labels, "b")


def loss_title(problem, component) -> str:
    """A classifier's slice as its title names it: 'SVM loss (data + regularization)'."""
    return f"{loss_name(problem.loss)} {component_label(component)}"


def component_label(component, short=False) -> str:
    text = str(component)
    if text.startswith("example:"):
        return f"{'loss, ex.' if short else 'loss of example'} {text.split(':', 1)[1]}"
    return (SHORT_COMPONENT_LABELS if short else COMPONENT_LABELS).get(text, text)


def modes_note(info, short=False) -> str:
    """The modes a network with batch norm or dropout was sliced in, short enough for a
    figure's title ("BN eval: running stats, dropout one fixed mask"; with ``short``, for
    a narrow axis label: "BN eval, dropout fixed"), from a plane's recorded ``info``
    (core.landscapes.slices.SliceSpec.mode_info); "" for any other model."""
    parts = []
    if "bn_mode" in info:
        if short:
            parts.append(f"BN {info['bn_mode']}")
        else:
            parts.append("BN " + ("eval: running stats" if info["bn_mode"] == "eval" else "train: full-data stats"))
    mode = info.get("dropout_mode")
    if mode is not None:
        if short:
            parts.append(f"dropout {mode}")
        else:
            parts.append("dropout " + ("off" if mode == "off" else "one fixed mask" if mode == "fixed"
                                       else f"mean of {mode[5:]} masks"))
    return ", ".join(parts)


def color_range(shown):
    """(low, high) of the finite values shown, widened to (low, low + 1) when they are all
    equal and (0, 1) when none is finite, so that a colour scale always has a span."""
    finite = shown[np.isfinite(shown)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    return low, high if high > low else low + 1.0


def grid_transform(alphas, betas):
    """Maps pixel (i, j), spanning [i, i+1] x [j, j+1], so that its centre lands on
    (alphas[i], betas[j]). Isocurves use the same pixel-centre convention."""
    da = (alphas[-1] - alphas[0]) / max(1, alphas.size - 1)
    db = (betas[-1] - betas[0]) / max(1, betas.size - 1)
    transform = QtGui.QTransform()
    transform.translate(alphas[0] - da / 2, betas[0] - db / 2)
    transform.scale(da, db)
    return transform


SCIENTIFIC_BELOW, SCIENTIFIC_FROM = 1e-3, 1e4  # magnitudes outside [1e-3, 1e4) get powers-of-ten labels


def readable_tick_strings(values, scale, spacing):
    """Labels for ticks ``values`` (spaced ``spacing`` apart, times ``scale``) that stay
    short and distinct at any magnitude: decimals with as many places as the spacing
    needs from 1e-3 to 1e4, and ``1.2e6``-style labels beyond, with as many digits as
    tell neighbours apart. (pyqtgraph's own labels run to ``0.00010000`` or ``1000000``
    on a colour bar only 45 px wide, or hide the scale in an ``(x1e+06)``.)"""
    values = [float(v) * scale for v in values]
    spacing = abs(float(spacing) * scale) or 1.0
    largest = max((abs(v) for v in values), default=0.0)
    if largest >= SCIENTIFIC_FROM or 0 < largest < SCIENTIFIC_BELOW:
        decimals = max(0, int(np.floor(np.log10(largest))) - int(np.floor(np.log10(spacing))))
        return [_short_exponent(f"{v:.{decimals}e}") if v != 0 else "0" for v in values]
    places = max(0, int(np.ceil(-np.log10(spacing))))
    return [f"{v:.{places}f}" for v in values]


def _short_exponent(text):
    """'1.5e+06' -> '1.5e6', '2e-04' -> '2e-4'."""
    mantissa, exponent = text.split("e")
    return f"{mantissa}e{int(exponent)}"


def use_readable_ticks(axis):
    """Give an AxisItem :func:`readable_tick_strings` (and no SI prefix in its label)."""
    axis.enableAutoSIPrefix(False)
    # the colour bar builds its own axis, so the method is replaced on the instance
    axis.tickStrings = readable_tick_strings


class MenuOnDemandViewBox(pg.ViewBox):
    """A pyqtgraph view box whose context menu (View All, the axes' options, mouse mode) is
    built at its first right click instead of with the view box.

    pyqtgraph builds the menu in the constructor: two forms of a dozen widgets each, 4-6 ms
    of the window's start per plot, for a menu most sessions never open; until it exists,
    the view's range changes also skip the menu's own update. Once built it is pyqtgraph's
    menu, kept and updated as usual. ``enableMenu`` means what it means for pg.ViewBox."""

    def __init__(self, *args, enableMenu=True, **kwargs):
        super().__init__(*args, enableMenu=False, **kwargs)
        # pyqtgraph keeps the setting in the view's state and builds the menu where the
        # setting is applied (setMenuEnabled): the setting only, the menu on demand
        self.state["enableMenu"] = bool(enableMenu)

    def _menu_on_demand(self):
        """The menu, built now if it is enabled and not built yet (else None)."""
        if self.menu is None and self.menuEnabled():
            self.menu = pg.graphicsItems.ViewBox.ViewBoxMenu.ViewBoxMenu(self)
            self.updateViewLists()   # the link combos list the named views, as for a menu built at once
        return self.menu

    def getMenu(self, ev):
        return self._menu_on_demand()

    def getContextMenus(self, event):
        menu = self._menu_on_demand()
        return menu.actions() if menu is not None else []

    # What "auto range" (the plot's "A" button, View All) shows: None for the items' bounds
    # (pyqtgraph's), or a callable giving ((x0, x1), (y0, y1)) or None (a heatmap's own
    # rectangle: the items' bounds took in the markers' pixel padding and paths far off)
    fixed_bounds = None

    def _fixed(self):
        return self.fixed_bounds() if self.fixed_bounds is not None else None

    def childrenBounds(self, frac=None, orthoRange=(None, None), items=None):
        fixed = self._fixed() if items is None else None
        if fixed is not None:
            return [list(fixed[0]), list(fixed[1])]
        return super().childrenBounds(frac=frac, orthoRange=orthoRange, items=items)

    def suggestPadding(self, axis):
        return 0.0 if self._fixed() is not None else super().suggestPadding(axis)


def _heatmap_range(axis) -> tuple[float, float]:
    """The extent of a heatmap's cells along a grid axis (n,): half a cell past each end."""
    half = (axis[1] - axis[0]) / 2
    return float(axis[0] - half), float(axis[-1] + half)


class LandscapeFigure(pg.GraphicsLayoutWidget):
    """A heatmap (slice) or curve (cut) of a :class:`~core.landscapes.landscape.Landscape`."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setBackground("w")
        self.plot = self.addPlot(viewBox=MenuOnDemandViewBox())
        self.plot.showGrid(x=False, y=False)
        for side in ("bottom", "left"):
            # the labels carry numbers (norms, cosines) that an automatic "(x0.001)" would garble
            self.plot.getAxis(side).enableAutoSIPrefix(False)
        self.image = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(DEFAULT_COLORMAP), interactive=False,
                                        width=18)
        self.colorbar.setImageItem(self.image, insert_in=self.plot)
        self._colormap = DEFAULT_COLORMAP   # the colour map's name the bar shows
        use_readable_ticks(self.colorbar.axis)
        self.colorbar.axis.setWidth(None)  # as wide as its labels need (pyqtgraph fixes 45 px)
        # joined polylines with NaN between lines (gui.contours): "finite" breaks the line there
        self.contour_item = pg.PlotDataItem([], [], connect="finite", pen=pg.mkPen((255, 255, 255, 170), width=1))
        self.contour_lines = no_lines()  # what contour_item shows
        self.contour_item.setZValue(5)
        self.plot.addItem(self.contour_item)
        # The image and thousands of contour vertices stay still while paths animate over
        # them: keep them as cached pixmaps instead of repainting them every frame.
        for item in (self.image, self.contour_item.curve):  # a PlotDataItem draws through .curve
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.curve = self.plot.plot([], [], pen=pg.mkPen("#1f4e9c", width=2))
        # empty until a landscape is shown (show_landscape places it at the centre)
        self.center_marker = PixelMarkers("+", 16, pen=pg.mkPen("k", width=2))
        self.plot.addItem(self.center_marker)
        self.labels = FittedAxisLabels(self)   # the axes' and the colour bar's, by the room they have
        # the title's room is what the left axis and the colour bar leave: fitted again when
        # they change width (an axis widens to its tick labels when it first paints)
        for side_item in (self.plot.getAxis("left"), self.colorbar.axis):
            side_item.geometryChanged.connect(self.fit_title)
        self._title = None          # the title asked for (rich text), see fit_title
        self._title_shown = None    # (title, point size, wrap width or None) the plot shows
        self._title_fitted_for = None   # (title, room in pixels) of the last fit
        self._title_widths = {}         # title -> {point size: its one-line width in pixels}
        self._title_inputs, self._title_passes = None, 0   # (see fit_title)
        self.landscape = None
        self.path_items = []
        self.legend = None
        # equal scales (set_equal_scales): the plot held to the data's shape, centred
        self._equal_scales = False
        self._box_limit = (QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)   # the plot's maximum size
        self._narrowed = False   # the limit holds the plot narrower than the figure (its title too)
        self._fit_inputs, self._fit_passes = None, 0   # the room last fitted, and the passes for it
        self._fitting_box = False
        self.ci.layout.setAlignment(self.plot, QtCore.Qt.AlignmentFlag.AlignCenter)
        self.plot.vb.sigResized.connect(self._fit_box)
        self.plot.vb.fixed_bounds = self._heatmap_bounds   # "A" shows the heatmap as it opened
        self.show_axes(False)  # no placeholder 0..1 axes before there is anything to show

    def show_axes(self, shown):
        """Show or hide the axes and the colour bar (hidden until the first landscape)."""
        for side in ("bottom", "left"):
            show_axis(self.plot, side, shown)   # (at every preview and partial result of a slice)
        self.colorbar.setVisible(shown and (self.landscape is None or not self.landscape.is_cut))

    def fit_legend_columns(self):
        """As many legend entries side by side as the figure's width holds: a legend wider
        than the figure widened the layout past the window, pushing the colour bar (and a
        centred title's end) out of sight."""
        legend = getattr(self, "legend", None)  # resizeEvent comes during __init__ too
        items = legend.items if legend is not None else []
        if not items:
            return
        spacing = 60  # the sample line (20 px), the gaps around it and between entries
        # the text item's own width: the label's geometry is only set by the next layout pass
        widths = sorted((label.item.boundingRect().width() + spacing for _sample, label in items), reverse=True)
        available = self.width() - 20
        columns = 1
        while columns < len(widths) and sum(widths[:columns + 1]) <= available:
            columns += 1
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)
            self._lay_out_again()

    def resizeEvent(self, event):
        super().resizeEvent(event)
        if not hasattr(self, "_box_limit") or sip.isdeleted(self.ci) or sip.isdeleted(self.plot.getAxis("left")):
            return   # (resizeEvent comes during __init__ too, and as the figure goes)
        self._centre_layout()
        self.fit_legend_columns()
        self._fit_box()
        self.fit_title()

    def set_equal_scales(self, equal):
        """Draw a heatmap with a unit of a as long as a unit of b, or fill the figure
        (False). Equal scales show a 2-D function's true geometry: a gradient looks
        perpendicular to the contour lines, as it is, and a ravine rotated 30 degrees looks
        so (filling a wide panel, it looked rotated 8 degrees). The plot (its axes, title
        and colour bar) is then held to the data's shape, centred, and zooming keeps the
        scales equal. A cut is drawn the same either way."""
        equal = bool(equal)
        if equal != self._equal_scales:
            self._equal_scales, self._fit_passes = equal, 0
            self._fit_box()

    @property
    def equal_scales(self) -> bool:
        return self._equal_scales

    def _heatmap_bounds(self):
        """The shown heatmap's rectangle ((a0, a1), (b0, b1)), or None (a cut, nothing yet)."""
        landscape = self.landscape
        if landscape is None or landscape.is_cut:
            return None
        return _heatmap_range(landscape.alphas), _heatmap_range(landscape.betas)

    def _equal_spans(self):
        """The shown heatmap's (a span, b span) where scales are to be equal, else None."""
        landscape = self.landscape
        if not self._equal_scales or landscape is None or landscape.is_cut:
            return None
        # (the landscape's own spans, not the view's: a zoom keeps the box and the scales)
        x_range, y_range = _heatmap_range(landscape.alphas), _heatmap_range(landscape.betas)
        x_span, y_span = x_range[1] - x_range[0], y_range[1] - y_range[0]
        if not (x_span > 0 and y_span > 0 and math.isfinite(x_span / y_span)):
            return None
        return x_span, y_span

    def _fit_box(self):
        """Hold the plot to the size at which its data area has the shown spans' shape, the
        largest that the figure holds (see :meth:`set_equal_scales`); no limit otherwise.
        Called again as the figure, its axes, title or legend change size. The title's
        height depends on the limit's width and the limit on the title's height; the title
        only gains lines as its room narrows (up to its most, see :func:`shortened_lines`),
        and the axis's width changes with its tick labels: the limit is fitted at most
        MAX_FIT_PASSES times for one room."""
        if getattr(self, "_fitting_box", True) or sip.isdeleted(self.ci):
            return   # (resizeEvent comes during __init__ too; the view box's signal as it goes)
        spans = self._equal_spans()
        limit = (QWIDGETSIZE_MAX, QWIDGETSIZE_MAX)
        narrowed = False
        if spans is not None:
            view = self.plot.vb
            # the view's room, not the layout's: the layout is held to the plot's limit
            left, top, right, bottom = self.ci.layout.getContentsMargins()
            room_w, room_h = self.range.width() - left - right, self.range.height() - top - bottom
            if self.legend is not None and self.legend.isVisible() and self.legend.items:
                room_h -= self.legend.height() + self.ci.layout.verticalSpacing()
            # what the plot holds around its data area: axes, title, colour bar
            around_w = self.plot.width() - view.width()
            around_h = self.plot.height() - view.height()
            data_w, data_h = room_w - around_w, room_h - around_h
            # The parts around the data area change with the limit (the axis widens to
            # other tick labels, the title wraps anew), and they change the limit back: in
            # some figures that went on for ever. A few passes a room settle it; after
            # them the limit stays (aspect locking keeps the scales equal if it is a few
            # pixels off the data's shape).
            inputs = (round(room_w), round(room_h), spans)
            passes = self._fit_passes + 1 if inputs == self._fit_inputs else 1
            self._fit_inputs, self._fit_passes = inputs, passes
            if passes > MAX_FIT_PASSES:
                return
            if data_w > 1 and data_h > 1:
                ratio = spans[0] / spans[1]
                narrowed = data_w > data_h * ratio + 1   # (held narrower than the room, by its height)
                if narrowed:
                    data_w = data_h * ratio
                else:
                    data_h = data_w / ratio
                limit = (math.ceil(data_w + around_w), math.ceil(data_h + around_h))
        locked = spans is not None
        if (bool(self.plot.vb.state["aspectLocked"]) == locked
                and all(abs(new - old) <= 1 for new, old in zip(limit, self._box_limit))):
            # (a pixel either way: the axes' fractional widths rounded made the limit go
            # back and forth between two widths, a relayout at every pass)
            return
        self._fitting_box = True
        try:
            self._box_limit, self._narrowed = limit, narrowed
            self.plot.setMaximumSize(*limit)
            self.plot.vb.setAspectLocked(locked, 1.0)
            self._lay_out_again()
        finally:
            self._fitting_box = False
        self.fit_title()

    def fit_title(self):
        """Show the title at the largest of TITLE_POINT_SIZES at which it fits beside the
        colour bar, else at the smallest, wrapped to the room. A title's width is its plot's
        least width: at a fixed 11 pt, a long title widened the layout past a narrow figure
        (a 420 x 260 PNG export), pushing the colour bar and the right of the heatmap out of
        the picture."""
        title = getattr(self, "_title", None)   # resizeEvent comes during __init__ too
        if title is None:
            return
        # the title's column is the data's: the figure's width less the left axis's and the
        # colour bar's (both in the plot's layout) and the margins
        # (the plot's width where equal scales hold it narrower than the figure: the limit
        # is the plot's, within the layout's margins, which TITLE_MARGIN_PX counts)
        left, _top, right, _bottom = self.ci.layout.getContentsMargins()
        room = min(self.width(), self._box_limit[0] + left + right) - TITLE_MARGIN_PX
        for side_item in (self.plot.getAxis("left"), self.colorbar):
            if side_item.isVisible():
                room -= side_item.width()
        room = max(room, 1.0)
        if self._title_fitted_for == (title, room):
            return   # (at every preview of a slice: trying the sizes again relaid the plot out)
        # A new title's lines change the plot's height, its axis's tick labels and so its
        # width, which is the title's room: in a small figure the room went back and forth
        # between two widths for ever. A few fits a figure size settle it.
        inputs = (title, self.width(), self.height(), self._box_limit)
        passes = self._title_passes + 1 if inputs == self._title_inputs else 1
        self._title_inputs, self._title_passes = inputs, passes
        if passes > MAX_FIT_PASSES:
            return
        self._title_fitted_for = (title, room)
        label = self.plot.titleLabel
        shown = self._title_shown
        # the title's width at each size, unwrapped (measured once a title: an axis whose
        # labels widen on a zoom fits the title again, and trying each size relaid it out)
        widths = self._title_widths.setdefault(title, {})
        fitting = next((points for points in TITLE_POINT_SIZES if points in widths and widths[points] <= room), None)
        for points in TITLE_POINT_SIZES if fitting is None else ():
            if points in widths:
                continue   # (measured: too wide)
            self._show_title(title, points, None)
            widths[points] = label.itemRect().width()
            if widths[points] <= room:
                fitting = points
                break
        if fitting is not None:
            self._show_title(title, fitting, None)
        else:
            smallest = TITLE_POINT_SIZES[-1]
            self._show_title(title, smallest, room)
            most = TITLE_MAX_LINES_NARROWED if self._narrowed else TITLE_MAX_LINES
            if laid_out_lines(label.item.document()) > most:
                # a word a line down a tiny picture (200 px): cut to ``most`` lines
                font = QtGui.QFont(label.item.font())
                font.setPointSizeF(smallest)
                lines = shortened_lines(label.item.document(), most, QtGui.QFontMetricsF(font), room)
                self._show_title("<br>".join(html.escape(line) for line in lines), smallest, None)
        if self._title_shown != shown:
            # the title's row is as tall as its lines (pyqtgraph fixes it at 30 px, one line)
            self.plot.layout.setRowFixedHeight(0, max(TITLE_ROW_PX, math.ceil(label.itemRect().height())))
            self._lay_out_again()

    def _lay_out_again(self):
        """Give the layout the view's width again, from sizes measured anew: it was given
        the width when the view was resized, held to its least width then (a wider title's,
        or a legend's of more columns), and kept that width when they narrowed."""
        self.plot.layout.invalidate()
        self.ci.layout.invalidate()
        self.centralWidget.setGeometry(self.range)
        self._centre_layout()

    def _centre_layout(self):
        """Centre the layout in the view where it is held smaller (equal scales): a
        geometry larger than its maximum keeps its top left corner."""
        if sip.isdeleted(self.ci):   # (a resize as the figure goes)
            return
        room, size = self.range, self.ci.size()
        self.ci.setPos(room.x() + max(0.0, (room.width() - size.width()) / 2),
                       room.y() + max(0.0, (room.height() - size.height()) / 2))

    def _show_title(self, title, points, wrap_width):
        """The title at ``points``, wrapped to ``wrap_width`` pixels (None: one line per
        line of the text), unless it is shown so already."""
        if self._title_shown == (title, points, wrap_width):
            return
        label = self.plot.titleLabel
        label.item.setTextWidth(-1 if wrap_width is None else wrap_width)
        # wrapped lines centred, as a one-line title is over its plot
        label.item.document().setDefaultTextOption(QtGui.QTextOption(QtCore.Qt.AlignmentFlag.AlignHCenter))
        self.plot.setTitle(title, color="k", size=f"{points}pt")
        self._title_shown = (title, points, wrap_width)

    def legend_below(self):
        """A legend in its own row under the plot: it never covers the data."""
        if self.legend is None:
            self.legend = pg.LegendItem(labelTextColor="k", brush=(255, 255, 255, 0), horSpacing=18)
            self.addItem(self.legend, row=1, col=0)
            # centred under the plot, which equal scales centre in a wider figure
            self.ci.layout.setAlignment(self.legend, QtCore.Qt.AlignmentFlag.AlignHCenter)
        return self.legend

    def show_landscape(self, landscape, colormap=DEFAULT_COLORMAP, log_scale=False, contours=10, title=None,
                       value_label=None, lines=None, narrow=False):
        """Draw ``landscape`` (replacing what was shown); ``value_label`` names what the
        colours show (default: from the landscape's component). Contour ``lines``
        (:class:`~gui.contours.ContourLines`) may be given precomputed (a GUI traces them
        in a worker); otherwise ``contours`` evenly spaced levels are traced here.
        ``narrow`` (figures side by side): the vertical axis gives the norm and cosine but
        not the direction's kind, which the horizontal axis names, so the label is not cut
        off."""
        self.landscape = landscape
        self.show_axes(True)
        plane = landscape.plane
        # a 2-D function's plane names its values ("f(x, y)"): no data, no regularization
        value_label = value_label or plane.info.get("value_label")
        if title is not None:
            self._title = title
            self.fit_title()
        if landscape.is_cut:
            self._show_cut(landscape, log_scale, value_label)
            return
        self.curve.setData([], [])
        self.image.setVisible(True)
        self.colorbar.setVisible(True)
        shown = display_values(landscape.values, log_scale)
        self.image.setImage(shown, autoLevels=False)
        self.image.setTransform(grid_transform(landscape.alphas, landscape.betas))
        low, high = color_range(shown)
        if colormap != self._colormap:   # (the same map again redraws the bar for nothing)
            self.colorbar.setColorMap(pg.colormap.get(colormap))
            self._colormap = colormap
        self.colorbar.setLevels((low, high))
        labels = (value_label,) if value_label else (component_label(landscape.component),
                                                     component_label(landscape.component, short=True))
        self.labels.set(self.colorbar.axis, *(f"log10 {label}" if log_scale else label for label in labels))
        if lines is None:
            lines = contour_lines(shown, landscape.alphas, landscape.betas, contours)
        self.show_contours(lines)
        minima = plane.info.get("minima")
        if minima is not None:   # a 2-D function: stars at its known minima (none: a saddle), no centre
            points = np.asarray(minima, dtype=np.float64).reshape(-1, 2)
            self.center_marker.setData(points[:, 0], points[:, 1], symbol="star", size=18, brush=pg.mkBrush("w"))
        else:
            self.center_marker.setData([0], [0], symbol="+", size=16, brush=None)
        self.center_marker.setZValue(10)
        if "value_label" in plane.info:   # a 2-D function's own x and y: no directions to describe
            self.labels.set(self.plot.getAxis("bottom"), plane.info["label1"])
            self.labels.set(self.plot.getAxis("left"), plane.info["label2"])
        else:
            self.labels.set(self.plot.getAxis("bottom"), plane.describe_axis(1),
                            plane.describe_axis(1, name_direction=False), "a")
            self.labels.set(self.plot.getAxis("left"), *second_axis_labels(plane, narrow))
        self.plot.setRange(xRange=_heatmap_range(landscape.alphas), yRange=_heatmap_range(landscape.betas),
                           padding=0)
        self._fit_passes = 0   # (a new picture: its axes may need other widths)
        self._fit_box()

    def show_contours(self, lines):
        """Draw contour ``lines`` (:class:`~gui.contours.ContourLines`: x, y arrays (N,)
        with NaN between lines) in (a, b) coordinates."""
        self.contour_lines = ContourLines(*lines)
        self.contour_item.setData(*self.contour_lines)

    def show_paths(self, paths, marker_size=11):
        """Draw optimizer paths in (a, b) coordinates, replacing earlier ones.

        ``paths`` is a list of ``(label, xy array (T, 2), colour, diverged)``; a path ends
        with a dot, or with a cross where the run diverged. The legend shows the labels as
        given (the caller adds how a run ended: :func:`~gui.panels.widgets.run_ending_note`)."""
        for item in self.path_items:
            self.plot.removeItem(item)
        self.path_items = []
        self.legend_below().clear()
        for label, xy, color, diverged in paths:
            xy = np.asarray(xy, dtype=np.float64)
            # a white band under the line, as the app's trails have: an orange path on the
            # colour map's orange and red was all but invisible without it
            halo = pg.PlotDataItem(xy[:, 0], xy[:, 1], pen=pg.mkPen(HALO_COLOR, width=2.5 + HALO_EXTRA_WIDTH))
            halo.setZValue(19)
            self.plot.addItem(halo)
            self.path_items.append(halo)
            line = pg.PlotDataItem(xy[:, 0], xy[:, 1], pen=pg.mkPen(color, width=2.5))
            end = pg.ScatterPlotItem([xy[-1, 0]], [xy[-1, 1]], symbol="x" if diverged else "o", size=marker_size,
                                     pen=pg.mkPen("k", width=1.5), brush=pg.mkBrush(color))
            start = pg.ScatterPlotItem([xy[0, 0]], [xy[0, 1]], symbol="s", size=marker_size - 2,
                                       pen=pg.mkPen("k", width=1), brush=pg.mkBrush("w"))
            for item in (line, start, end):
                item.setZValue(20)
                self.plot.addItem(item)
                self.path_items.append(item)
            self.legend.addItem(line, label)
        self.fit_legend_columns()

    def _show_cut(self, landscape, log_scale, value_label=None):
        self.show_contours(no_lines())
        self.image.setVisible(False)
        self.colorbar.setVisible(False)
        self.plot.setLogMode(False, bool(log_scale))
        values = np.asarray(landscape.values)
        if log_scale:
            values = clip_for_log(values)
        self.curve.setData(landscape.alphas, values)
        center_index = int(np.argmin(np.abs(landscape.alphas)))
        # scatter items are not transformed by the plot's log mode: place them in log10 units
        marker_y = np.log10(values[center_index]) if log_scale else values[center_index]
        self.center_marker.setData([landscape.alphas[center_index]], [marker_y], symbol="+", size=16, brush=None)
        self.labels.set(self.plot.getAxis("bottom"), landscape.plane.describe_axis(1),
                        landscape.plane.describe_axis(1, name_direction=False), "a")
        self.labels.set(self.plot.getAxis("left"), *((value_label,) if value_label else (
            component_label(landscape.component), component_label(landscape.component, short=True))))
        self.plot.enableAutoRange()


# the changed areas of a frame are repainted as a region of at most this many rectangles
# (else as their bounding rectangle)
MAX_DIRTY_RECTS = 32
# how often a figure looks for new items that ignore the view's transform (a new legend or
# text item is tracked, and repainted when it changes, within this many seconds)
UNTRANSFORMED_SEARCH_S = 1.0


class _FrameRepaint(QtCore.QObject):
    """The view's repaint at its phase of the frame after a scene change (see
    repaint_once_a_frame). A child of the view, with real slots: its connections end with
    it, so a scene that outlives its view never calls into a deleted one."""

    def __init__(self, view: pg.GraphicsView, frame_ms: int, phase_ms: int):
        super().__init__(view)
        self._frame_ms = int(frame_ms)
        self._phase_ms = int(phase_ms) % self._frame_ms
        self._timer = single_shot_timer(self, self._repaint)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)   # a coarse timer may drift off its phase
        self._pacer = None   # the window's paint_in_own_turn filter, found at the first repaint
        self._dirty = QtGui.QRegion()   # what the scene reported as changed since the last repaint, viewport pixels
        self._unreported = {}   # the items the scene does not report, at the last repaint (untransformed_items)
        self._candidates, self._candidates_found_at = [], -math.inf   # untransformed_candidates, and when
        view.scene().changed.connect(self._on_scene_changed)

    @property
    def pending(self) -> bool:
        """Whether a repaint is waiting for the view's phase of the frame."""
        return self._timer.isActive()

    @QtCore.pyqtSlot("QList<QRectF>")
    def _on_scene_changed(self, regions):
        self._dirty = self._dirty.united(viewport_region(self.parent(), regions))
        if self._dirty.rectCount() > MAX_DIRTY_RECTS:   # a region of many pieces clips slowly
            self._dirty = QtGui.QRegion(self._dirty.boundingRect())
        if not self._timer.isActive():
            now = time.monotonic()
            delay = milliseconds_to_phase(now * 1000.0, self._frame_ms, self._phase_ms)
            if self._pacer is not None and not sip.isdeleted(self._pacer):
                # not sooner than the figure's own paint cost allows (see earliest_next_paint)
                delay = max(delay, math.ceil(1000.0 * (self._pacer.earliest_next_paint(self.parent()) - now)))
            self._timer.start(delay)

    @QtCore.pyqtSlot()
    def _repaint(self):
        view = self.parent()
        # in the window's queue of figures where it has one (one figure per window paint,
        # see gui.pacing.paint_in_own_turn), else at once
        if self._pacer is None or sip.isdeleted(self._pacer):
            self._pacer = view.window().findChild(OwnTurnPaint, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly)
        # Items that ignore the view's transform (legends, text items) are reported by
        # the scene with no area when they change, and with their old area only when
        # they move: where one shows something else or is elsewhere than at the last
        # repaint, its areas then and now are repainted.
        if time.monotonic() - self._candidates_found_at > UNTRANSFORMED_SEARCH_S:
            # (listing every item of the scene is most of a millisecond: not at every frame)
            self._candidates = untransformed_candidates(view)
            self._candidates_found_at = time.monotonic()
        unreported = untransformed_items(view, self._candidates)
        dirty = self._dirty.united(changed_untransformed_areas(self._unreported, unreported))
        self._dirty, self._unreported = QtGui.QRegion(), unreported
        if self._pacer is not None:
            self._pacer.paint_figure(view, dirty)
        else:
            view.viewport().update(dirty)


def viewport_region(view, scene_rects) -> QtGui.QRegion:
    """The viewport pixels (a QRegion) that ``scene_rects`` (QRectF in scene coordinates)
    cover, with a pixel more on each side (antialiased edges, rounding to whole pixels).
    Mapped in floating point and clipped to the viewport first: a rectangle reaching
    beyond 2^31 pixels (a diverged path on a zoomed plot) overflowed to an empty one in
    integer coordinates."""
    visible = QtCore.QRectF(view.viewport().rect())
    transform = view.viewportTransform()
    region = QtGui.QRegion()
    for rect in scene_rects:
        mapped = transform.mapRect(rect).intersected(visible.adjusted(-2, -2, 2, 2))
        if not mapped.isEmpty():
            region = region.united(mapped.toAlignedRect().adjusted(-1, -1, 1, 1))
    return region


def untransformed_candidates(view) -> list:
    """The items of ``view``'s scene that ignore the view's transform (pyqtgraph's legends
    and text items), the outermost of nested ones."""
    flag = QtWidgets.QGraphicsItem.GraphicsItemFlag.ItemIgnoresTransformations
    return [item for item in view.scene().items()
            if item.flags() & flag and (item.parentItem() is None or not item.parentItem().flags() & flag)]


def untransformed_items(view, candidates) -> dict:
    """The visible ones of ``candidates`` (:func:`untransformed_candidates`) still in
    ``view``'s scene, as ``{id(item): (what it shows, its viewport area as a QRect)}``.
    What it shows is what can change its pixels: each descendant's visibility, position
    and text, and a legend sample's line (its item's pen colour, width and style, and
    whether the item is hidden)."""
    to_viewport = view.viewportTransform()
    scene = view.scene()
    found = {}
    for item in candidates:
        if sip.isdeleted(item) or item.scene() is not scene or not item.isVisible():
            continue
        shows, stack = [], [item]
        while stack:
            part = stack.pop()
            text = part.toPlainText() if isinstance(part, QtWidgets.QGraphicsTextItem) else getattr(part, "text", None)
            shows.append((part.isVisible(), part.x(), part.y(), text if isinstance(text, str) else None))
            sampled = getattr(part, "item", None)   # a legend's sample draws its item's pen, or an eye when hidden
            if isinstance(sampled, QtWidgets.QGraphicsItem):
                pen = getattr(sampled, "opts", {}).get("pen")
                # a QPen's colour as a number, its width and style; any other pen argument (a
                # colour's name, a tuple) as given: compared, not drawn (pg.mkPen was most of
                # this walk)
                shows.append((sampled.isVisible(), (pen.color().rgba(), pen.widthF(), pen.style())
                              if isinstance(pen, QtGui.QPen) else pen))
            stack.extend(part.childItems())
        area = item.boundingRect().united(item.childrenBoundingRect())
        found[id(item)] = (tuple(shows), item.deviceTransform(to_viewport).mapRect(area).toAlignedRect().adjusted(-1, -1, 1, 1))
    return found


def changed_untransformed_areas(before: dict, now: dict) -> QtGui.QRegion:
    """The viewport areas, before and now, of the items of :func:`untransformed_items`
    that changed (what they show, or where), appeared or went."""
    region = QtGui.QRegion()
    for key in before.keys() | now.keys():
        if before.get(key) != now.get(key):
            for _shows, area in filter(None, (before.get(key), now.get(key))):
                region = region.united(area)
    return region


def milliseconds_to_phase(now_ms: float, frame_ms: int, phase_ms: int) -> int:
    """Whole milliseconds from ``now_ms`` to the next time at ``phase_ms`` into a frame of
    ``frame_ms`` (times on one clock: every view's frames start together), at least 1."""
    return max(1, int(math.ceil((phase_ms - now_ms) % frame_ms)))


def repaint_once_a_frame(view: pg.GraphicsView, frame_ms: int, phase_ms: int = 0):
    """Let ``view`` repaint at most once every ``frame_ms`` milliseconds, ``phase_ms`` into
    the frame.

    Qt repaints a graphics view after each batch of scene changes it processes; during a
    race one turn of the event loop holds several (the frame's tick, merged runs, a slice,
    the workers' queued signals), and the heatmap was painted 5-6 times in one turn: 35-50
    ms of the GUI thread for one picture. Here the view does not update itself
    (NoViewportUpdate): a scene change asks for one viewport update at the view's next
    phase of the frame, which shows every change made meanwhile, and repaints only the
    areas the scene reported as changed (a race frame moves heads and short tails: the
    whole heatmap with its axes, image and layers cost 4-5 ms to repaint, the moved parts
    about a quarter of that). Views given different
    phases paint in different turns of the event loop (each window paint paints what is
    dirty by then: views that asked together were painted in one stretch, 25-38 ms of the
    GUI thread with two CPU-bound processes beside the app). Installing it twice does
    nothing more."""
    if view.findChild(_FrameRepaint) is not None:
        return
    view.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.NoViewportUpdate)
    _FrameRepaint(view, frame_ms, phase_ms)


def delete_now(widget):
    """Delete ``widget`` and its children at once rather than at interpreter exit.

    Scripts have no event loop to run ``deleteLater``; widgets left to PyQt's exit
    clean-up occasionally crashed the process (SIGSEGV) after its work was done.
    """
    widget.deleteLater()
    app = QtWidgets.QApplication.instance()
    app.sendPostedEvents(None, QtCore.QEvent.Type.DeferredDelete.value)
    app.processEvents()


def png_bytes(picture, path) -> bytes:
    """The PNG encoding of ``picture`` (a QImage or QPixmap), made in memory.

    Qt's PNG writer reports a failed file write by printing "libpng error: Write Error"
    on stderr and returning False; encoding into memory cannot fail that way, and the
    bytes then go to the disk through Python, where a failure is an OSError.
    """
    if picture.isNull() or picture.width() == 0 or picture.height() == 0:
        raise HillwalkError(f"{path}: the picture is empty (the view has no size on screen); nothing was written")
    data = QtCore.QByteArray()
    buffer = QtCore.QBuffer(data)
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    encoded = picture.save(buffer, "PNG")
    buffer.close()
    if not encoded or data.isEmpty():
        raise HillwalkError(f"{path}: could not encode the picture as PNG; nothing was written")
    return bytes(data)


def save_png(picture, path, what: str = "PNG file") -> Path:
    """Save a QImage or QPixmap as a PNG file, atomically (see :func:`png_bytes`)."""
    return write_bytes_atomically(path, png_bytes(picture, path), what)


def save_widget_png(widget, path, size=(1200, 900)):
    """Render ``widget`` at ``size`` (width, height) and save it as a PNG."""
    path = check_output_folder(path, "PNG file")
    widget.resize(*size)
    widget.show()
    app = pg.mkQApp()
    for _ in range(3):
        app.processEvents()
    # pyqtgraph's axes size themselves to their tick labels when they first paint, and the
    # layout follows in a later turn: a first paint (thrown away) and its layout, then the
    # picture (a colour bar's labels widened it past the figure's edge, once the title took
    # exactly the room left)
    widget.grab()
    for _ in range(3):
        app.processEvents()
    picture = widget.grab()
    widget.hide()
    return save_png(picture, path)


def render_landscape_png(landscape, path, size=(1200, 900), title=None, log_scale=False, contours=10,
                         colormap=DEFAULT_COLORMAP, equal_scales=False):
    """A PNG of a landscape (heatmap with colour bar and contours, or a curve); with
    ``equal_scales`` a heatmap's unit of a is as long as its unit of b."""
    figure = LandscapeFigure()
    try:
        figure.set_equal_scales(equal_scales)
        figure.show_landscape(landscape, colormap=colormap, log_scale=log_scale, contours=contours, title=title)
        return save_widget_png(figure, path, size)
    finally:
        delete_now(figure)



def render_spectrum_png(report, path, size=(1200, 800), title=None):
    """A PNG of a Hessian spectrum (core.labs.tasks.CurvatureReport): the eigenvalue density
    when computed, the largest eigenvalues (orange) and smallest (blue) marked on the axis,
    and lambda_max as a dashed line."""
    figure = pg.GraphicsLayoutWidget()
    try:
        figure.setBackground("w")
        plot = figure.addPlot()
        plot.setLabel("bottom", "eigenvalue", color="k")
        plot.getAxis("bottom").enableAutoSIPrefix(False)   # the eigenvalues as they are, not "(x0.001)"
        legend = plot.addLegend(labelTextColor="k", brush=LEGEND_GROUND)
        height = 1.0
        if report.density is not None:
            plot.setLabel("left", "density", color="k")
            plot.plot(report.density.grid, report.density.density, pen=pg.mkPen("#0072B2", width=2),
                      name="eigenvalue density")
            height = float(np.max(report.density.density)) or 1.0
        else:   # the marks alone: a height axis would mean nothing
            plot.hideAxis("left")
            plot.setYRange(0.0, 0.2 * height, padding=0.05)
        for values, color, name in ((report.top, "#D55E00", "largest eigenvalues"),
                                    (report.bottom, "#0072B2", "smallest eigenvalues")):
            if values.size:
                plot.addItem(pg.ScatterPlotItem(values, np.full(values.size, 0.02 * height), symbol="t", size=12,
                                                brush=color, pen=pg.mkPen("k"), name=name))
        lambda_max = pg.InfiniteLine(report.lambda_max, angle=90,
                                     pen=pg.mkPen("#D55E00", style=QtCore.Qt.PenStyle.DashLine))
        plot.addItem(lambda_max)
        legend.addItem(pg.PlotDataItem(pen=lambda_max.pen), f"lambda_max = {report.lambda_max:.4g}")
        plot.setTitle(title or f"lambda_max {report.lambda_max:.4g}, 2 / lambda_max = {report.largest_stable_lr:.4g}",
                      color="k")
        return save_widget_png(figure, path, size)
    finally:
        delete_now(figure)


def wants_log_scale(values):
    """Log colours when a non-negative surface spans more than two orders of magnitude."""
    finite = values[np.isfinite(values)]
    if finite.size == 0 or finite.min() < 0:
        return False
    positive = finite[finite > 0]
    return positive.size > 0 and finite.max() / positive.min() > 100


def render_race_png(objective, trajectories, path, size=(1000, 800), landscape=None, labels=None,
                    equal_scales=False, colors=None):
    """Paths on a 2-D function's surface (``landscape``, from
    :func:`core.experiment.function_landscape`; with ``equal_scales`` a unit of x as long
    as a unit of y), or loss curves for a classifier; ``labels``: the legend's names
    (default: the trajectories', the method alone); ``colors``: one a trajectory (default:
    the palette's, in turn)."""
    labels = [t.label for t in trajectories] if labels is None else list(labels)
    colors = [PALETTE[k % len(PALETTE)] for k in range(len(trajectories))] if colors is None else list(colors)
    if landscape is not None:
        figure = LandscapeFigure()
        figure.set_equal_scales(equal_scales)
        log_scale = wants_log_scale(landscape.values)
        figure.show_landscape(landscape, log_scale=log_scale, contours=14,
                              title=f"{objective.name}: {objective.formula}", value_label="f(x, y)")
        figure.labels.set(figure.plot.getAxis("bottom"), "x")
        figure.labels.set(figure.plot.getAxis("left"), "y")
        figure.center_marker.setZValue(30)  # the minima (show_landscape's stars) stay visible above the paths
        figure.show_paths([(label + run_ending_note(t), t.thetas.reshape(-1, 2), color, t.diverged_at is not None)
                           for t, label, color in zip(trajectories, labels, colors)])
        a, b = landscape.alphas, landscape.betas
        figure.plot.setRange(xRange=(a[0], a[-1]), yRange=(b[0], b[-1]), padding=0)  # not the far-off points
    else:
        figure = pg.GraphicsLayoutWidget()
        figure.setBackground("w")
        plot = figure.addPlot()
        plot.setTitle("full-data loss against step", color="k")   # (pyqtgraph's default grey is faint on paper)
        plot.setLogMode(False, True)
        plot.addLegend(labelTextColor="k", brush=LEGEND_GROUND)
        # a loss of 0 (an SVM can reach it) where the log axis shows zeros, as the app's curves
        positive = [float(t.loss[t.loss > 0].min()) for t in trajectories if np.any(t.loss > 0)]
        floor = log_floor(min(positive) if positive else None)
        for t, label, color in zip(trajectories, labels, colors):
            plot.plot(t.steps, np.maximum(t.loss, floor), pen=pg.mkPen(color, width=2),
                      name=label + run_ending_note(t))
        plot.setLabel("bottom", "step", color="k")
        plot.setLabel("left", "loss (log scale)", color="k")
    try:
        return save_widget_png(figure, path, size)
    finally:
        delete_now(figure)
