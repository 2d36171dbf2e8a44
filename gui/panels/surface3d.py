"""The 2-D slice as a rotatable 3-D surface (pyqtgraph.opengl), with the race's paths on it.

OpenGL is not everywhere: the offscreen platform has none, PyOpenGL may be missing, and a
remote desktop may refuse a context. The panel then says so in place of the plot; nothing
else in the app depends on it.
"""
from __future__ import annotations

import numpy as np
import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from ..figures import color_range, display_values
from .markers import rows_up_to

HEIGHT_SHARE = 0.6   # the surface's height as a share of its (a, b) footprint's width
PATH_LIFT = 0.02     # paths float this share of the height above the surface, to stay visible
SEGMENT_PIECES = 8   # each step of a path is drawn as this many pieces along the surface


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
        layout.addWidget(self.view, 1)
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
        self.status.setText(f"Height: {unit}{landscape.component} from {low:.4g} to {high:.4g} "
                            f"(scaled to {HEIGHT_SHARE:g} of the footprint). Paths are drawn on the surface at "
                            "their (a, b) position; off-plane parts of a path show where the slice says, not "
                            "their true loss. Drag to rotate, scroll to zoom.")
        self.draw_paths()

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
