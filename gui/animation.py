"""The race as an animated GIF, in two halves so that the GUI thread never waits for it.

1. :func:`render_race_background` (GUI thread, once): the still picture (heatmap, colour
   bar, contours, axes, labels, legend) drawn by pyqtgraph into a ``QImage``, with the map
   from plane (a, b) coordinates to its pixels (:class:`PlaneToPixels`). Only this half
   needs widgets.
2. :func:`write_race_gif` (any thread: a worker in the app, the main thread in
   ``main.py race``): each frame's paths, markers and step label drawn with ``QPainter``
   onto a copy of that image (``QImage`` and ``QPainter`` are safe off the GUI thread),
   quantized to one palette with Pillow, and the GIF written to a temporary file in the
   target folder that replaces the target only when it is complete.

Which rows each frame shows, and whether a request fits the limits and the memory budget,
comes from :mod:`core.io.animation_frames`, shared with the command line.
:class:`RaceGifExport` runs the halves in the app as jobs of the state's job slots.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PIL import Image
from PyQt6 import QtCore, QtGui, QtWidgets, sip

from hillwalk.core.errors import HillwalkError
from hillwalk.core.io.animation_frames import RaceFrames, check_gif_request, race_frames
from hillwalk.core.io.files import atomic_output, check_output_folder

from .contours import landscape_contours
from .figures import DEFAULT_COLORMAP, TITLE_POINT_SIZES, LandscapeFigure, delete_now
from .panels.markers import HALO_COLOR, HALO_EXTRA_WIDTH
from .panels.widgets import run_ending_note
from .workers import Cancelled

GIF_JOB_KIND = "export:gif"
TRAIL_WIDTH = 2.5         # the paths' look, as LandscapeFigure.show_paths draws them
MARKER_SIZE = 11
START_MARKER_SIZE = MARKER_SIZE - 2
TITLE_SIDE_PX = 6         # the frame title's margin at each side of the picture
# Stored frame delays are in hundredths of a second (GIF), so a delay is a multiple of 10 ms.
GIF_DELAY_UNIT_MS = 10
# The background is rendered in strips of about this many pixels, one per GUI event-loop
# turn: 30 rows at 4000 px wide, 4 strips at 800 x 600.
STRIP_PIXELS = 120_000
MAX_LAYOUT_RESTARTS = 2
# Qt's painter misbehaves on coordinates near the integer limits; a diverged path can
# leave the picture by any amount, and anything past this is clipped away anyway.
FAR_OUTSIDE_PX = 1e6


@dataclass
class PathToDraw:
    """One method's path in plane coordinates, for drawing.

    ``steps``, ``a`` and ``b`` are (T,) arrays: the step of each recorded row and its
    plane coordinates; ``diverged_at`` and ``escaped_at`` where the run stopped early (the
    legend says so)."""

    label: str
    steps: np.ndarray
    a: np.ndarray
    b: np.ndarray
    color: str
    diverged_at: int | None = None
    escaped_at: int | None = None


@dataclass(frozen=True)
class PlaneToPixels:
    """Where plane coordinates land in the background image: ``x = x0 + x_per_a * a``,
    ``y = y0 + y_per_b * b`` in pixels (y grows downwards, so ``y_per_b`` < 0)."""

    x0: float
    x_per_a: float
    y0: float
    y_per_b: float

    def __call__(self, a, b):
        """Pixel coordinates (x, y), each shaped like ``a`` and ``b``."""
        return self.x0 + self.x_per_a * np.asarray(a, float), self.y0 + self.y_per_b * np.asarray(b, float)


@dataclass
class RaceBackground:
    """The still picture of a race GIF and where its moving parts go.

    Attributes
    ----------
    image : QImage (width x height, RGBX8888)
        Heatmap, colour bar, contours, axes, labels and legend; the title row left blank.
    to_pixels : PlaneToPixels
    plot_rect : QRectF
        The plot area in pixels: paths are clipped to it.
    title_rect : QRectF
        The title row in pixels, where each frame writes :func:`frame_title`.
    title : str
    title_pixel_size : int
        The title font's size in pixels (the largest of the figure's title sizes at which
        it fits, see :func:`fit_frame_title`); ``title`` is shortened where even the
        smallest does not fit.
    """

    image: QtGui.QImage
    to_pixels: PlaneToPixels
    plot_rect: QtCore.QRectF
    title_rect: QtCore.QRectF
    title: str
    title_pixel_size: int

    @property
    def size(self) -> tuple[int, int]:
        return self.image.width(), self.image.height()


def check_race_gif(landscape, paths, path, size, fps, frames) -> Path:
    """Refuse a race GIF that cannot be made, before any work; returns the target path.

    Raises HillwalkError for a name not ending in .gif, a missing folder, no 2-D slice, no
    path, or a size, frame rate, frame count or memory estimate out of bounds."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise HillwalkError(f"{path}: the animation is written as GIF; give a file name ending in .gif")
    check_output_folder(path, "animation")  # a read-only folder is refused before the frames are drawn
    width, height = size
    check_gif_request(width, height, fps, frames)
    if landscape is None or landscape.betas is None:
        raise HillwalkError("the race animation needs a 2-D slice (not a cut) under it; wait for the slice "
                            "or switch the landscape from a cut to a slice")
    if not paths or not any(np.size(p.steps) for p in paths):
        raise HillwalkError("there is no path to animate; enable at least one optimizer and let it run")
    return path


def plan_race_frames(paths, frames: int) -> RaceFrames:
    """The frames of ``paths`` (list of PathToDraw); see core.io.animation_frames.race_frames."""
    return race_frames([p.steps for p in paths], frames, [p.diverged_at is not None for p in paths])


def new_canvas(size) -> QtGui.QImage:
    """A white RGBX8888 image of ``size`` (width, height) for the background (any thread:
    filling a large one takes a while, so the app does it in the worker). RGBX bytes are
    what Pillow and the palette mapping read without conversion."""
    image = QtGui.QImage(int(size[0]), int(size[1]), QtGui.QImage.Format.Format_RGBX8888)
    image.fill(QtGui.QColor("white"))
    return image


def race_background_steps(landscape, paths, size, title=None, log_scale=False, colormap=DEFAULT_COLORMAP,
                          contours=10, lines=None, canvas=None, dispose=delete_now, equal_scales=False):
    """Draw the still part of the race GIF with pyqtgraph, a slice at a time (GUI thread only).

    A generator: each ``next()`` does one piece of work small enough for one GUI frame
    (building the figure, showing the slice, the legend and size, rendering a strip of
    ``STRIP_PIXELS`` pixels), so
    that the app can run the pieces from its event loop; it returns the
    :class:`RaceBackground` (``StopIteration.value``). Closing it early disposes of the figure.

    Parameters
    ----------
    landscape : Landscape (2-D slice)
    paths : list of PathToDraw (named in the legend)
    size : (width, height) in pixels
    lines : ContourLines (gui.contours), or None to trace ``contours`` levels here
    canvas : QImage from :func:`new_canvas` to draw on, or None for a new one
    equal_scales : bool
        A unit of a as long as a unit of b (see ``LandscapeFigure.set_equal_scales``)
    dispose : callable(widget)
        How to get rid of the offscreen figure: ``delete_now`` (the default) for scripts,
        which have no event loop to run ``deleteLater``; the app passes a plain
        ``deleteLater``, as ``delete_now`` processes events, which would re-enter the
        caller in the middle of its work.
    """
    width, height = size
    image = new_canvas(size) if canvas is None else canvas
    figure = LandscapeFigure()
    # drawn offscreen: on a desktop the figure must not flash up as a window
    figure.setAttribute(QtCore.Qt.WidgetAttribute.WA_DontShowOnScreen)
    # ... and shown only to be laid out: with updates on, the event loop would paint the
    # whole figure at once (700 ms at 4000 px), which the strips below are here to avoid
    figure.setUpdatesEnabled(False)
    try:
        # rendered once, strip by strip: a cache would render the whole image and contours
        # for the first strip
        for item in (figure.image, figure.contour_item.curve):
            item.setCacheMode(QtWidgets.QGraphicsItem.CacheMode.NoCache)
        figure.set_equal_scales(equal_scales)
        yield
        # a blank title keeps the title row, where every frame writes its own title and step
        figure.show_landscape(landscape, colormap=colormap, log_scale=log_scale, contours=contours, title=" ",
                              lines=lines)
        yield
        # the legend names every path; the paths themselves are drawn frame by frame
        figure.show_paths([(p.label + run_ending_note(p), np.c_[p.a[:1], p.b[:1]], p.color, p.diverged_at is not None)
                           for p in paths if np.size(p.steps)])
        for item in figure.path_items:
            item.setData([], [])
        figure.resize(width, height)
        figure.show()
        yield
        view_box = figure.plot.vb
        rows = max(1, STRIP_PIXELS // width)
        top, plot_area, restarts = 0, view_box.sceneBoundingRect(), 0
        while top < height:
            strip = min(rows, height - top)
            painter = QtGui.QPainter(image)
            try:
                _paint_view(figure, painter, QtCore.QPoint(0, top), QtGui.QRegion(0, top, width, strip))
            finally:
                painter.end()
            top += strip
            # Axes size themselves to their tick labels when they first paint, which can move
            # the plot area; apply such layout requests now (only those: nothing else of the
            # app runs here) and start again if the picture moved, so strips never disagree.
            QtWidgets.QApplication.sendPostedEvents(None, QtCore.QEvent.Type.LayoutRequest.value)
            if view_box.sceneBoundingRect() != plot_area and restarts < MAX_LAYOUT_RESTARTS:
                top, plot_area, restarts = 0, view_box.sceneBoundingRect(), restarts + 1
                image.fill(QtGui.QColor("white"))
            yield
        # the viewport is the whole figure (pyqtgraph's views have no frame or scroll bars),
        # so the viewport's transform takes scene coordinates to the image's pixels
        scene_to_pixels = figure.viewportTransform()

        def pixel(a, b):
            return scene_to_pixels.map(view_box.mapViewToScene(QtCore.QPointF(a, b)))

        origin, unit_a, unit_b = pixel(0.0, 0.0), pixel(1.0, 0.0), pixel(0.0, 1.0)
        to_pixels = PlaneToPixels(origin.x(), unit_a.x() - origin.x(), origin.y(), unit_b.y() - origin.y())
        plot_rect = scene_to_pixels.mapRect(view_box.sceneBoundingRect())
        # the title row across the whole picture, and the title at the largest size at
        # which it fits with the last step's number (else shortened): centred in the blank
        # label's own rectangle it ran off both sides of a 400 px GIF
        row = scene_to_pixels.mapRect(figure.plot.titleLabel.sceneBoundingRect())
        title_rect = QtCore.QRectF(0.0, row.top(), float(width), row.height())
        last_step = max((int(np.max(p.steps)) for p in paths if np.size(p.steps)), default=0)
        title, title_pixel_size = fit_frame_title(title or "", last_step, width - 2 * TITLE_SIDE_PX,
                                                  figure.logicalDpiY())
    finally:
        figure.hide()
        dispose(figure)
    return RaceBackground(image, to_pixels, plot_rect, title_rect, title, title_pixel_size)


def frame_title(title: str, step) -> str:
    """A frame's title: "softmax on digits · step 300" (without the dot it ran on as one
    phrase, "softmax on digits step 300"), or "step 300" without a title."""
    return f"{title} · step {int(step)}" if title else f"step {int(step)}"


def fit_frame_title(title: str, last_step: int, room_px: float, dpi: float) -> tuple[str, int]:
    """(the title, its font's pixel size) for frames that read :func:`frame_title`: the
    largest of TITLE_POINT_SIZES at which the last step's is at most ``room_px`` wide, else
    the smallest with the title shortened (an ellipsis) to fit."""
    font = QtGui.QFont()
    for points in TITLE_POINT_SIZES:
        font.setPixelSize(max(1, round(points * dpi / 72)))
        metrics = QtGui.QFontMetricsF(font)
        if metrics.horizontalAdvance(frame_title(title, last_step)) <= room_px:
            return title, font.pixelSize()
    room_for_title = max(0.0, room_px - metrics.horizontalAdvance(frame_title("", last_step) + " · "))
    return metrics.elidedText(title, QtCore.Qt.TextElideMode.ElideRight, room_for_title), font.pixelSize()


def _paint_view(figure, painter, target_offset, region):
    """Paint ``region`` of the figure's view (viewport pixels) at ``target_offset``.

    Through the viewport's own paint event, as on screen and in ``QWidget.grab``:
    ``QGraphicsView.render`` takes another road, on which the first figure a process
    paints came out with its axes out of step with the heatmap."""
    QtWidgets.QWidget.render(figure.viewport(), painter, target_offset, region)


def render_race_background(landscape, paths, size, title=None, log_scale=False, colormap=DEFAULT_COLORMAP,
                           contours=10, lines=None, equal_scales=False) -> RaceBackground:
    """:func:`race_background_steps` all at once (scripts, tests)."""
    steps = race_background_steps(landscape, paths, size, title, log_scale, colormap, contours, lines,
                                  equal_scales=equal_scales)
    while True:
        try:
            next(steps)
        except StopIteration as finished:
            return finished.value


def image_pixels(image: QtGui.QImage) -> np.ndarray:
    """A (height, width, 4) uint8 view (no copy) of a 32-bit QImage's pixels; valid while
    ``image`` lives."""
    bits = image.bits()
    bits.setsize(image.sizeInBytes())
    rows = np.frombuffer(bits, dtype=np.uint8).reshape(image.height(), image.bytesPerLine())
    return rows[:, :4 * image.width()].reshape(image.height(), image.width(), 4)


class FramePainter:
    """Draws frames over a background into one reusable buffer (any thread).

    Restoring the background is a NumPy copy and the drawing touches only the paths' and
    the title's pixels: the Qt calls, which hold Python's GIL while they run, stay short,
    so the GUI thread is not kept waiting by a worker drawing 4000-pixel frames.
    """

    def __init__(self, background: RaceBackground):
        self.background = background
        self.background_pixels = image_pixels(background.image)       # (H, W, 4) RGBX, a view
        self.pixels = np.empty_like(self.background_pixels)            # (H, W, 4) RGBX, the frame
        height, width = self.pixels.shape[:2]
        self.image = QtGui.QImage(sip.voidptr(self.pixels.ctypes.data), width, height, 4 * width,
                                  QtGui.QImage.Format.Format_RGBX8888)  # shares self.pixels' memory

    def draw(self, paths, rows, ended, step) -> np.ndarray:
        """The frame's (H, W, 4) RGBX pixels (this painter's buffer: copy to keep them):
        the background with each path's first ``rows[p]`` rows, its start square, its head
        (a dot, or a cross where it diverged: ``ended[p]``) and the title with the step.

        Parameters
        ----------
        paths : list of P PathToDraw ; rows : (P,) int ; ended : (P,) bool ; step : int
        """
        background = self.background
        np.copyto(self.pixels, self.background_pixels)
        painter = QtGui.QPainter(self.image)
        try:
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            painter.setClipRect(background.plot_rect)
            outline = pg.mkPen("k", width=1.5)
            halo = pg.mkPen(HALO_COLOR, width=TRAIL_WIDTH + HALO_EXTRA_WIDTH)
            for path, count, stopped in zip(paths, rows, ended):
                if count < 1:
                    continue
                x, y = background.to_pixels(path.a[:count], path.b[:count])
                keep = np.isfinite(x) & np.isfinite(y)
                if not keep.any():
                    continue
                x = np.clip(x[keep], -FAR_OUTSIDE_PX, FAR_OUTSIDE_PX)
                y = np.clip(y[keep], -FAR_OUTSIDE_PX, FAR_OUTSIDE_PX)
                line = QtGui.QPolygonF([QtCore.QPointF(px, py) for px, py in zip(x, y)])
                painter.setBrush(QtCore.Qt.BrushStyle.NoBrush)
                # a white band under the trail, as the app draws it: an orange path on the
                # colour map's orange and red was all but invisible without it
                painter.setPen(halo)
                painter.drawPolyline(line)
                painter.setPen(pg.mkPen(path.color, width=TRAIL_WIDTH))
                painter.drawPolyline(line)
                _draw_symbol(painter, "s", x[0], y[0], START_MARKER_SIZE, pg.mkPen("k", width=1), pg.mkBrush("w"))
                _draw_symbol(painter, "x" if stopped else "o", x[-1], y[-1], MARKER_SIZE, outline,
                             pg.mkBrush(path.color))
            painter.setClipping(False)
            font = QtGui.QFont()
            font.setPixelSize(background.title_pixel_size)
            painter.setFont(font)
            painter.setPen(QtGui.QColor("black"))
            painter.drawText(background.title_rect, QtCore.Qt.AlignmentFlag.AlignCenter,
                             frame_title(background.title, step))
        finally:
            painter.end()
        return self.pixels


def draw_race_frame(background: RaceBackground, paths, rows, ended, step) -> QtGui.QImage:
    """One frame as a QImage of its own (see :meth:`FramePainter.draw`)."""
    painter = FramePainter(background)
    painter.draw(paths, rows, ended, step)
    return painter.image.copy()


def _draw_symbol(painter, symbol, x, y, size, pen, brush):
    painter.save()
    painter.translate(float(x), float(y))
    pg.graphicsItems.ScatterPlotItem.drawSymbol(painter, symbol, size, pen, brush)
    painter.restore()


def _packed(pixels) -> np.ndarray:
    """(H, W) uint32 view of (H, W, 4) uint8 RGBX pixels (one number a colour)."""
    return pixels.view(np.uint32)[..., 0]


class PaletteMapper:
    """One 256-colour palette for every frame, and frames mapped to it with NumPy.

    The palette is the background's colours (Pillow's fast octree on a sample of its
    pixels) plus the paths' colours, black and white (the markers), so frames do not
    flicker between palettes. Pixels are mapped through a table of the nearest palette
    entry for every colour at 5 bits a channel (32^3 entries), with NumPy, which releases
    Python's GIL on large arrays where Pillow's RGBX-to-RGB conversion would hold it; the
    background is mapped once, and a frame maps only the pixels that differ from it
    (paths, markers, title).
    """

    SAMPLE_PIXELS = 250_000
    LEVELS_BITS = 5
    ROWS_AT_ONCE = 256  # the background is mapped in bands, so its temporaries stay small
    CHUNK = 4096  # table entries matched at once: (CHUNK, 256, 3) int32 is 12 MB

    def __init__(self, background_pixels, extra_colors):
        height, width = background_pixels.shape[:2]
        extras = []
        for color in list(extra_colors) + ["black", "white"]:
            rgb = QtGui.QColor(color).getRgb()[:3]
            if rgb not in extras:
                extras.append(rgb)
        stride = max(1, int(np.sqrt(height * width / self.SAMPLE_PIXELS)))
        sample = np.ascontiguousarray(background_pixels[::stride, ::stride, :3])
        octree = Image.fromarray(sample).quantize(256 - len(extras), method=Image.Quantize.FASTOCTREE)
        values = octree.getpalette()[:3 * (256 - len(extras))] + [v for rgb in extras for v in rgb]
        values += [0] * (768 - len(values))
        self.palette_values = values
        self.table = self._nearest_table(np.array(values, dtype=np.int32).reshape(256, 3))
        self.background_packed = _packed(background_pixels)
        self.background_indices = self._lookup_background(background_pixels)

    def _nearest_table(self, palette) -> np.ndarray:
        """(32^3,) uint8: the palette entry nearest each colour at the table's precision."""
        levels = 1 << self.LEVELS_BITS
        step = 256 // levels
        centers = np.arange(levels, dtype=np.int32) * step + step // 2
        red, green, blue = np.meshgrid(centers, centers, centers, indexing="ij")
        colors = np.stack([red.ravel(), green.ravel(), blue.ravel()], axis=1)
        table = np.empty(colors.shape[0], dtype=np.uint8)
        for start in range(0, colors.shape[0], self.CHUNK):
            difference = colors[start:start + self.CHUNK, None, :] - palette[None, :, :]
            table[start:start + self.CHUNK] = np.argmin((difference * difference).sum(axis=2), axis=1)
        return table

    def _lookup(self, pixels) -> np.ndarray:
        """Palette indices, shaped like ``pixels`` without its last axis, of RGBX ``pixels`` (..., 4)."""
        shift, bits = 8 - self.LEVELS_BITS, self.LEVELS_BITS
        keys = (pixels[..., 0] >> shift).astype(np.uint16) << (2 * bits)
        keys |= (pixels[..., 1] >> shift).astype(np.uint16) << bits
        keys |= (pixels[..., 2] >> shift).astype(np.uint16)
        return self.table[keys]

    def _lookup_background(self, pixels) -> np.ndarray:
        indices = np.empty(pixels.shape[:2], dtype=np.uint8)
        for top in range(0, pixels.shape[0], self.ROWS_AT_ONCE):
            indices[top:top + self.ROWS_AT_ONCE] = self._lookup(pixels[top:top + self.ROWS_AT_ONCE])
        return indices

    def frame(self, pixels) -> Image.Image:
        """A palette ("P") image of (H, W, 4) RGBX ``pixels`` over the background."""
        rows, columns = np.nonzero(_packed(pixels) != self.background_packed)
        indices = self.background_indices.copy()
        if rows.size:
            indices[rows, columns] = self._lookup(pixels[rows, columns])
        image = Image.frombuffer("P", (indices.shape[1], indices.shape[0]), indices, "raw", "P", 0, 1)
        image.putpalette(self.palette_values)
        return image


class _ProgressFile:
    """A writable file that reports each write (so that writing the file, after the last
    frame is drawn, can be cancelled too)."""

    def __init__(self, handle, on_write):
        self.handle, self.on_write = handle, on_write

    def write(self, data):
        self.on_write()
        return self.handle.write(data)

    def __getattr__(self, name):
        return getattr(self.handle, name)


def write_race_gif(background: RaceBackground, paths, plan: RaceFrames, path, fps, report=None,
                   should_stop=None):
    """Draw the frames of ``plan`` over ``background`` and write them as a GIF to ``path``.

    Safe on any thread. The GIF goes to a temporary file beside ``path`` that replaces
    ``path`` only when complete; on an error or a cancel it is removed and an existing
    ``path`` is left as it was.

    Parameters
    ----------
    paths : list of P PathToDraw, in the order of ``plan``'s columns
    plan : RaceFrames
    report : callable(fraction, text) or None
        Progress; in a worker it raises :class:`~gui.workers.Cancelled` once cancelled.
    should_stop : callable() -> bool, or None

    Returns
    -------
    (Path, number of frames)
    """
    path = Path(path)
    report = report or (lambda fraction, text="": None)
    should_stop = should_stop or (lambda: False)

    def check_cancel():
        if should_stop():
            raise Cancelled()

    painter = FramePainter(background)
    palette = PaletteMapper(painter.background_pixels, [p.color for p in paths])
    count = plan.count

    def frames():
        for index in range(count):
            check_cancel()
            report(0.05 + 0.85 * index / count, f"GIF frame {index + 1} of {count}")
            pixels = painter.draw(paths, plan.rows[index], plan.ended[index], plan.steps[index])
            yield palette.frame(pixels)

    def on_write():
        check_cancel()
        report(0.95, "writing the GIF")

    delay = GIF_DELAY_UNIT_MS * round(1000 / (GIF_DELAY_UNIT_MS * fps))
    # atomic_output: a full disk, a read-only folder or a cancel removes the temporary and
    # leaves an existing file of that name as it was (one HillwalkError for a failed write)
    with atomic_output(path, "GIF animation") as temporary, open(temporary, "wb") as handle:
        sequence = frames()
        first = next(sequence)
        first.save(_ProgressFile(handle, on_write), format="GIF", save_all=True, append_images=sequence,
                   duration=delay, loop=0, optimize=False)
    report(1.0, "GIF written")
    return path, count



def render_race_gif(landscape, paths, path, size=(800, 600), fps=15, frames=60, title=None, log_scale=False,
                    colormap=DEFAULT_COLORMAP, contours=10, report=None, should_stop=None, equal_scales=False):
    """Write the race over ``landscape`` as an animated GIF, on this thread (GUI thread:
    it renders the background with pyqtgraph). The app uses :class:`RaceGifExport`.

    Parameters
    ----------
    landscape : Landscape (a 2-D slice)
    paths : list of PathToDraw
    size : (width, height) in pixels ; fps : frames per second ; frames : how many frames
    equal_scales : a unit of a as long as a unit of b (see ``LandscapeFigure.set_equal_scales``)

    Returns
    -------
    Path of the file and the number of frames written.
    """
    path = check_race_gif(landscape, paths, path, size, fps, frames)
    plan = plan_race_frames(paths, frames)
    background = render_race_background(landscape, paths, size, title, log_scale, colormap, contours,
                                        equal_scales=equal_scales)
    return write_race_gif(background, paths, plan, path, fps, report, should_stop)


class _BackgroundHandoff:
    """Carries the background from the GUI thread to the worker waiting for it."""

    POLL_S = 0.02  # how often the waiting worker checks whether it was cancelled

    def __init__(self):
        self._ready = threading.Event()
        self.background = None
        self.error = None

    def deliver(self, background=None, error=None):
        self.background, self.error = background, error
        self._ready.set()

    def wait(self, should_stop) -> RaceBackground:
        while not self._ready.wait(self.POLL_S):
            if should_stop():
                raise Cancelled()
        if self.error is not None:
            raise self.error
        return self.background


class RaceGifExport(QtCore.QObject):
    """One race GIF export in the app: one job of ``state.jobs`` (kind ``export:gif``).

    The worker traces the contour lines, plans the frames and prepares a blank canvas,
    then hands them to the GUI thread, which renders the background into the canvas a
    strip per event-loop turn (:func:`race_background_steps`) while the worker waits;
    the worker then draws and writes the frames (:func:`write_race_gif`). Progress and
    errors travel the state's usual road (progress bar, error dialog); the status bar's
    Cancel or a new export stops it at any point. ``running`` is False once it has ended,
    with ``result`` (path, frames) set if the file was written, ``error`` if it failed.
    """

    written = QtCore.pyqtSignal(str, int)    # path, frames
    ended = QtCore.pyqtSignal()              # written, failed or cancelled

    def __init__(self, state, landscape, paths, path, size, fps, frames, title, log_scale, colormap, contours,
                 parent=None, equal_scales=False):
        super().__init__(parent)
        self.path = check_race_gif(landscape, paths, path, size, fps, frames)
        self.state = state
        self.landscape, self.paths, self.size, self.fps, self.frames = landscape, list(paths), size, fps, frames
        self.title, self.log_scale, self.colormap, self.contours = title, log_scale, colormap, contours
        self.equal_scales = equal_scales
        self.running = False
        self.result = None
        self.error = None
        self._worker = None
        self._handoff = _BackgroundHandoff()
        self._background_steps = None

    def start(self):
        """Start the job; returns self."""
        landscape, paths, path, size, fps, frames = (self.landscape, self.paths, self.path, self.size, self.fps,
                                                     self.frames)
        log_scale, contours, handoff = self.log_scale, self.contours, self._handoff
        connected = threading.Event()

        def job(report, should_stop):
            # the pool may run the job before start() below has connected to the worker's
            # signals; a partial result sent before that would be lost
            connected.wait()
            report(0.0, "GIF: tracing the contour lines", force=True)
            lines = landscape_contours(landscape, log_scale, contours, should_stop)
            if lines is None:
                raise Cancelled()
            plan = plan_race_frames(paths, frames)
            canvas = new_canvas(size)
            report(0.02, "GIF: drawing the background", partial=(lines, canvas))
            background = handoff.wait(should_stop)
            return write_race_gif(background, paths, plan, path, fps, report, should_stop)

        self.running = True
        # bound methods of this QObject (not lambdas): the worker's signals reach them queued,
        # on the GUI thread that owns this object
        self._worker = self.state.jobs.start(GIF_JOB_KIND, job)
        self._worker.signals.partial.connect(self._on_worker_partial)
        self._worker.signals.finished.connect(self._on_worker_finished)
        self._worker.signals.failed.connect(self._on_worker_failed)
        self._worker.signals.done.connect(self._on_worker_done)
        connected.set()
        return self

    def _is_live(self) -> bool:
        return self._worker is not None and not self._worker.cancelled

    @QtCore.pyqtSlot(int, object)
    def _on_worker_partial(self, job_id, partial):
        if not self._is_live():
            return
        lines, canvas = partial
        self._background_steps = race_background_steps(
            self.landscape, self.paths, self.size, self.title, self.log_scale, self.colormap, self.contours,
            lines, canvas, dispose=lambda figure: figure.deleteLater(), equal_scales=self.equal_scales)
        QtCore.QTimer.singleShot(0, self._render_background_piece)

    def _render_background_piece(self):
        """One piece of the background per event-loop turn; the last hands it to the worker."""
        steps = self._background_steps
        if steps is None:
            return
        if not self._is_live():
            self._drop_background()
            return
        try:
            next(steps)
        except StopIteration as finished:
            self._background_steps = None
            self._handoff.deliver(background=finished.value)
            return
        except Exception as error:  # carried to the worker, which reports it like its own
            self._background_steps = None
            self._handoff.deliver(error=error)
            return
        QtCore.QTimer.singleShot(0, self._render_background_piece)

    def _drop_background(self):
        if self._background_steps is not None:
            self._background_steps.close()  # disposes of the offscreen figure
            self._background_steps = None

    @QtCore.pyqtSlot(int, object)
    def _on_worker_finished(self, job_id, result):
        if self._is_live():
            written, count = result
            self.result = (Path(written), int(count))
            self.written.emit(str(written), int(count))

    @QtCore.pyqtSlot(int, str, bool)
    def _on_worker_failed(self, job_id, message, user_error):
        if self._is_live():
            self.error = message  # the state shows it (error dialog and status bar)

    @QtCore.pyqtSlot(int)
    def _on_worker_done(self, job_id):
        self._drop_background()
        if self.running:
            self.running = False
            self.ended.emit()
