"""The 2-D slice as a rotatable 3-D surface (pyqtgraph.opengl), with the race's paths on it.

OpenGL is not everywhere: the offscreen platform has none, PyOpenGL may be missing, and a
remote desktop may refuse a context. The panel then says so in place of the plot; nothing
else in the app depends on it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from ..figures import color_range, component_label, display_values, readable_tick_strings, use_readable_ticks
from .markers import rows_up_to

HEIGHT_SHARE = 0.6   # the surface's height as a share of its (a, b) footprint's width
PATH_LIFT = 0.02     # paths float this share of the height above the surface, to stay visible
SEGMENT_PIECES = 8   # each step of a path is drawn as this many pieces along the surface
TICK_SHARE = 0.025   # tick marks are this share of the footprint's width long
AXIS_COLOR = (0.2, 0.2, 0.2, 1.0)


def nice_ticks(low, high, count=5):
    """About ``count`` round values (1, 2 or 5 times a power of ten apart) in [low, high]."""
    span = float(high) - float(low)
    if not (np.isfinite(span) and span > 0):
        return np.array([float(low)])
    raw = span / max(1, count)
    power = 10.0 ** np.floor(np.log10(raw))
    step = power * min((m for m in (1, 2, 5, 10) if m * power >= raw), default=10)
    first = np.ceil(low / step) * step
    ticks = np.arange(first, high + step * 1e-9, step)
    return np.round(ticks / step) * step  # no 0.30000000000000004


def opengl_unavailable_reason() -> str | None:
    """Why the 3-D view cannot be drawn here, or None when it can."""
    app = QtGui.QGuiApplication.instance()
    platform = app.platformName() if app is not None else ""
    if platform in ("offscreen", "minimal"):
        return (f"The '{platform}' display platform has no OpenGL, so the 3-D view is off. Run Hillwalk on a "
                "desktop (or under xvfb-run) to rotate the surface.")
    try:
        import OpenGL.GL  # noqa: F401  (PyOpenGL: pyqtgraph.opengl draws through it)
        import pyqtgraph.opengl  # noqa: F401
    except ImportError as error:
        return f"The 3-D view needs PyOpenGL ({error}); install it with 'pip install PyOpenGL'."
    context = QtGui.QOpenGLContext()
    if not context.create():
        return "No OpenGL context could be created on this display, so the 3-D view is off."
    return None


def surface_heights(landscape, log_scale):
    """Heights (nb, na) to draw and the range they span: log10 of the values on a log
    scale (non-positive values clipped as the heatmap does), the values otherwise."""
    values = display_values(landscape.values, log_scale)
    low, high = color_range(values)
    return np.where(np.isfinite(values), values, high), low, high


def _tick_texts(values):
    """Short, distinct labels for round tick values of any magnitude."""
    spacing = float(values[1] - values[0]) if len(values) > 1 else 1.0
    return readable_tick_strings(values, 1.0, spacing)


def bilinear(landscape_axes, heights, a, b):
    """Heights at points (a, b) by bilinear interpolation on the grid (clamped to it)."""
    alphas, betas = landscape_axes
    a = np.clip(a, alphas[0], alphas[-1])
    b = np.clip(b, betas[0], betas[-1])
    i = np.clip(np.searchsorted(alphas, a) - 1, 0, alphas.size - 2)
    j = np.clip(np.searchsorted(betas, b) - 1, 0, betas.size - 2)
    u = (a - alphas[i]) / (alphas[i + 1] - alphas[i])
    v = (b - betas[j]) / (betas[j + 1] - betas[j])
    return ((1 - u) * (1 - v) * heights[j, i] + u * (1 - v) * heights[j, i + 1]
            + (1 - u) * v * heights[j + 1, i] + u * v * heights[j + 1, i + 1])


def follow_surface(a, b, pieces=SEGMENT_PIECES):
    """The path with ``pieces - 1`` points inserted evenly into each segment, so that its
    drawn line follows the surface between recorded steps instead of cutting through it."""
    if a.size < 2:
        return a, b
    t = np.arange(pieces) / pieces
    fine_a = (a[:-1, None] + t * np.diff(a)[:, None]).ravel()
    fine_b = (b[:-1, None] + t * np.diff(b)[:, None]).ravel()
    return np.append(fine_a, a[-1]), np.append(fine_b, b[-1])


class Surface3DPanel(QtWidgets.QWidget):
    """A tab: the slice's surface, coloured like the heatmap, with every method's path."""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.view = None
        self.surface = None
        self.paths = {}
        self.heads = {}
        self._geometry = None    # (alphas, betas, heights, low, scale, shift_x, shift_y) of the surface
        layout = QtWidgets.QVBoxLayout(self)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.reason = opengl_unavailable_reason()
        if self.reason is not None:
            self.placeholder = QtWidgets.QLabel(self.reason)
            self.placeholder.setObjectName("surfacePlaceholder")
            self.placeholder.setAlignment(QtCore.Qt.AlignmentFlag.AlignCenter)
            self.placeholder.setWordWrap(True)
            self.placeholder.setStyleSheet("font-size: 14pt; color: #555; padding: 40px")
            layout.addWidget(self.placeholder, 1)
            return
        import pyqtgraph.opengl as gl

        self.gl = gl
        self.view = gl.GLViewWidget()
        self.view.setObjectName("surfaceView")
        self.view.setBackgroundColor("w")
        self.view.setCameraPosition(distance=4.2, elevation=32, azimuth=-60)
        self.view.setToolTip("Drag to rotate, scroll to zoom, middle-drag (or Ctrl-drag) to pan")
        self._axis_items = []    # the axes' lines and labels, rebuilt with the surface
        # the colour bar is a 2-D plot beside the 3-D view: it stays upright while the view turns
        self.colorbar_widget = pg.GraphicsLayoutWidget()
        self.colorbar_widget.setObjectName("surfaceColorBar")
        self.colorbar_widget.setBackground("w")
        self.colorbar_widget.setFixedWidth(110)
        self.colorbar = pg.ColorBarItem(values=(0, 1), colorMap=pg.colormap.get(state.view.colormap),
                                        interactive=False, width=16)
        use_readable_ticks(self.colorbar.axis)
        self.colorbar.axis.setWidth(None)
        self.colorbar_widget.addItem(self.colorbar)
        row = QtWidgets.QHBoxLayout()
        row.addWidget(self.view, 1)
        row.addWidget(self.colorbar_widget)
        layout.addLayout(row, 1)
        layout.addWidget(self.status)
        state.landscape_ready.connect(self._on_landscape)
        state.view_changed.connect(self.redraw)
        state.runs_updated.connect(self.draw_paths)
        state.frame_changed.connect(lambda _frame: self.draw_paths())
        state.optimizers_changed.connect(self.draw_paths)

    @property
    def available(self) -> bool:
        return self.view is not None

    def showEvent(self, event):
        super().showEvent(event)
        if self.available and self._geometry is None:
            self.redraw()

    def _on_landscape(self, final):
        if final and self.isVisible():
            self.redraw()
        elif final:
            self._geometry = None  # drawn when the tab is next shown

    def redraw(self):
        """Rebuild the surface from the current 2-D slice, then the paths."""
        landscape = self.state.landscape
        if not self.available or landscape is None:
            return
        if landscape.is_cut:
            self.status.setText("The 3-D view shows 2-D slices; the Landscape panel is set to a 1-D cut.")
            return
        view = self.state.view
        heights, low, high = surface_heights(landscape, view.log_scale)
        alphas, betas = landscape.alphas, landscape.betas
        width = max(alphas[-1] - alphas[0], betas[-1] - betas[0])
        scale = HEIGHT_SHARE * width / (high - low)
        # Centre the footprint on the origin of the scene so that the camera orbits it.
        x = alphas - 0.5 * (alphas[0] + alphas[-1])
        y = betas - 0.5 * (betas[0] + betas[-1])
        z = (heights - low) * scale
        colors = pg.colormap.get(view.colormap).map((heights - low) / (high - low), mode="float")
        # The surface wants z[i, j] at (x[i], y[j]) and one colour per vertex in that order,
        # flattened (the mesh indexes its vertex colours by flat vertex number).
        colors = colors.reshape(heights.shape + (4,)).transpose(1, 0, 2).reshape(-1, 4)
        if self.surface is None:
            self.surface = self.gl.GLSurfacePlotItem(x=x, y=y, z=z.T, colors=colors, shader=None, smooth=False,
                                                     computeNormals=False)
            self.view.addItem(self.surface)
        else:
            self.surface.setData(x=x, y=y, z=z.T, colors=colors)
        self.view.opts["distance"] = 1.9 * width
        self.view.opts["center"] = QtGui.QVector3D(0.0, 0.0, 0.5 * HEIGHT_SHARE * width)  # orbit the middle
        self._geometry = (alphas, betas, heights, low, scale, x[0] - alphas[0], y[0] - betas[0])
        unit = "log10 " if view.log_scale else ""
        self.colorbar.setColorMap(pg.colormap.get(view.colormap))
        self.colorbar.setLevels((low, high))
        self.colorbar.axis.setLabel(f"{unit}{component_label(landscape.component)}", color="k")
        self._draw_axes(x, y, low, high, scale, shift=(x[0] - alphas[0], y[0] - betas[0]), log_scale=view.log_scale)
        self.status.setText(f"Height: {unit}{landscape.component} from {low:.4g} to {high:.4g} "
                            f"(scaled to {HEIGHT_SHARE:g} of the footprint). Paths are drawn on the surface at "
                            "their (a, b) position; off-plane parts of a path show where the slice says, not "
                            "their true loss. Drag to rotate, scroll to zoom.")
        self.draw_paths()

    def _draw_axes(self, x, y, low, high, scale, shift, log_scale):
        """Axes along the footprint's front (a) and left (b) edges and a vertical height
        axis at its back-left corner, each with ticks and numbers, and their names.

        ``x``, ``y`` are the scene coordinates of the grid (a and b shifted by ``shift``);
        heights map to ``(h - low) * scale``."""
        for item in self._axis_items:
            self.view.removeItem(item)
        self._axis_items = []
        gl = self.gl
        x0, x1, y0, y1 = float(x[0]), float(x[-1]), float(y[0]), float(y[-1])
        tick = TICK_SHARE * max(x1 - x0, y1 - y0)
        top = (high - low) * scale
        segments = [(x0, y0, 0), (x1, y0, 0), (x0, y0, 0), (x0, y1, 0), (x0, y1, 0), (x0, y1, top)]
        labels = []
        for a in nice_ticks(x0 - shift[0], x1 - shift[0]):
            px = a + shift[0]
            segments += [(px, y0, 0), (px, y0 - tick, 0)]
            labels.append(((px, y0 - 3 * tick, 0), f"{a:g}"))
        for b in nice_ticks(y0 - shift[1], y1 - shift[1]):
            py = b + shift[1]
            segments += [(x0, py, 0), (x0 - tick, py, 0)]
            labels.append(((x0 - 3.5 * tick, py, 0), f"{b:g}"))
        heights = nice_ticks(low, high)
        for height, text in zip(heights, _tick_texts(heights)):
            pz = (height - low) * scale
            segments += [(x0, y1, pz), (x0 - tick, y1, pz)]
            labels.append(((x0 - 2 * tick, y1, pz), text))
        lines = gl.GLLinePlotItem(pos=np.array(segments, dtype=float), mode="lines", color=AXIS_COLOR, width=1.5,
                                  antialias=True)
        self._axis_items.append(lines)
        font = QtGui.QFont()
        font.setPointSize(9)
        name_font = QtGui.QFont(font)
        name_font.setBold(True)
        for position, text in labels:
            # "additive" blending, the text item's default, turns dark text on white into white
            self._axis_items.append(gl.GLTextItem(pos=np.array(position), text=text, color=QtGui.QColor(40, 40, 40),
                                                  font=font, glOptions="translucent"))
        names = (((0.5 * (x0 + x1), y0 - 7 * tick, 0), "a"), ((x0 - 7 * tick, 0.5 * (y0 + y1), 0), "b"),
                 ((x0, y1, top + 2 * tick), "log10 value" if log_scale else "value"))
        for position, text in names:
            self._axis_items.append(gl.GLTextItem(pos=np.array(position), text=text, color=QtGui.QColor(0, 0, 0),
                                                  font=name_font, glOptions="translucent"))
        for item in self._axis_items:
            self.view.addItem(item)

    def draw_paths(self):
        """Each method's trail up to the current frame, lifted onto the surface."""
        if not self.available or self._geometry is None:
            return
        alphas, betas, heights, low, scale, shift_x, shift_y = self._geometry
        lift = PATH_LIFT * HEIGHT_SHARE * max(alphas[-1] - alphas[0], betas[-1] - betas[0])
        colors = {entry.id: entry.color for entry in self.state.optimizers if entry.enabled}
        seen = set()
        for entry_id, run in self.state.runs.items():
            if entry_id not in colors or run.a.size == 0:
                continue
            upto = rows_up_to(run, self.state.frame)
            a, b = run.a[:upto], run.b[:upto]
            keep = np.isfinite(a) & np.isfinite(b)
            a, b = a[keep], b[keep]
            if a.size == 0:
                continue
            a, b = follow_surface(a, b)
            z = (bilinear((alphas, betas), heights, a, b) - low) * scale + lift
            points = np.c_[a + shift_x, b + shift_y, z]
            color = QtGui.QColor(colors[entry_id]).getRgbF()
            if entry_id not in self.paths:
                self.paths[entry_id] = self.gl.GLLinePlotItem(pos=points, color=color, width=3, antialias=True)
                self.heads[entry_id] = self.gl.GLScatterPlotItem(pos=points[-1:], color=color, size=12)
                self.view.addItem(self.paths[entry_id])
                self.view.addItem(self.heads[entry_id])
            else:
                self.paths[entry_id].setData(pos=points, color=color)
                self.heads[entry_id].setData(pos=points[-1:], color=color)
            seen.add(entry_id)
        for entry_id in [k for k in self.paths if k not in seen]:
            self.view.removeItem(self.paths.pop(entry_id))
            self.view.removeItem(self.heads.pop(entry_id))

    def render_image(self, width=800, height=600):
        """The view as a QImage (for tests and exports); None when there is no OpenGL."""
        if not self.available:
            return None
        array = self.view.renderToArray((width, height))
        return pg.functions.makeQImage(array.transpose(1, 0, 2), copy=True)
