"""Hillwalk's main window: the slice and the race in the centre, the cut and the curves
below, control panels in docks, a transport bar, menus and a status bar."""
from __future__ import annotations

import html
import importlib
import importlib.resources
import json
import time
from collections.abc import Mapping
from pathlib import Path

import pyqtgraph as pg
from PyQt6 import QtCore, QtGui, QtWidgets

from hillwalk.core.errors import HillwalkError
from hillwalk.core.io.animation_frames import GIF_MAX_FPS, GIF_MAX_SIDE, GIF_MIN_FPS

from .figures import draws_equal_scales, repaint_once_a_frame
from .pacing import DeferredSlot, StagedDrawing, paint_in_own_turn, single_shot_timer
from .panels.curves import CurvesPanel
from .panels.cut import CutPanel
from .panels.data import DataPanel
from .panels.heatmap import HeatmapPanel
from .panels.landscape import LandscapePanel
from .panels.model import ModelPanel
from .panels.optimizers import OptimizersPanel
from .panels.widgets import LayoutFence
from .state import AppState, objective_summary

FRAME_INTERVAL_MS = 30
CURVES_FRAMES = 2   # the curves paint every CURVES_FRAMES frames (see __init__)
COMPACT_WIDTH = 1400  # narrower windows stack the four docks as tabs in one column
MAX_DOCK_WIDTH = 360  # px: a dock never takes more, so that 1024 px leave the views room
SCENE_START_LATEST_MS = 100   # the initial scene starts after the first paint, or this long after the window is built
# A window idle for PREBUILT_LAB_QUIET_S builds its next unbuilt lab page, and one every
# PREBUILT_LAB_INTERVAL_MS while it stays idle (see _prebuild_next_lab); the 3-D surface's
# is left to its first showing (an OpenGL view, and about 3 ms to build).
PREBUILT_LAB_INTERVAL_MS = 500
PREBUILT_LAB_QUIET_S = 1.0
NOT_PREBUILT_LABS = ("3D surface",)
TINY_WIDTH, TINY_DOCK_WIDTH = 1000, 200  # below 1000 px docks may narrow to 200 px and scroll sideways
SPEEDS = [("1 step / frame", 1), ("2 steps / frame", 2), ("5 steps / frame", 5), ("10 steps / frame", 10)]

# m-hat and v-hat are m and v with a combining circumflex (U+0302) in italics: Qt's
# rich text drops the combining mark on the upright face of the default font.
FORMULAS = """<h3>Losses (mean over the N training examples, plus lambda R(W))</h3>
<p><b>Scores</b> s = W x, with x extended by a constant 1 (the bias trick); W is C x (D+1).</p>
<p><b>Multiclass SVM</b>: L<sub>i</sub> = sum<sub>j != y<sub>i</sub></sub> max(0, s<sub>j</sub> - s<sub>y<sub>i</sub></sub> + delta)</p>
<p><b>Softmax</b>: L<sub>i</sub> = -log( e<sup>s<sub>y<sub>i</sub></sub></sup> / sum<sub>j</sub> e<sup>s<sub>j</sub></sup> ) (natural log)</p>
<p><b>Regularizers</b>: L2 = sum W<sup>2</sup> (gradient 2W); L1 = sum |W|; elastic net = beta sum W<sup>2</sup> + sum |W|.
The bias column is left out unless "regularize the bias column" is ticked.</p>
<h3>Updates (as in torch.optim; g is the gradient, t counts from 1)</h3>
<p><b>SGD</b>: x -= lr g<br><b>Momentum</b>: v = mu v + g; x -= lr v<br>
<b>Nesterov</b>: v = mu v + g; x -= lr (g + mu v)<br>
<b>AdaGrad</b>: G += g<sup>2</sup>; x -= lr g / (sqrt(G) + eps)<br>
<b>RMSProp</b>: E = alpha E + (1 - alpha) g<sup>2</sup>; x -= lr g / (sqrt(E) + eps)<br>
<b>Adam</b>: m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g<sup>2</sup>; x -= lr <i>m&#770;</i> / (sqrt(<i>v&#770;</i>) + eps) with
the bias-corrected <i>m&#770;</i> = m / (1 - b1<sup>t</sup>), <i>v&#770;</i> = v / (1 - b2<sup>t</sup>)<br>
<b>Random search</b>: keep the best of start + lr randn; <b>random local search</b>: move to x + lr randn only if the loss drops.</p>
<h3>The picture</h3>
<p>The heatmap shows L(W + a d1 + b d2). The default race optimizes within the plane only, so every path
lies exactly on the slice. Untick "optimize within the plane only" to race the full model: its iterates are
then projected onto the plane (least squares) and lie mostly off it; a dashed ring round each marker grows
with the share of the point's distance from the centre that is off the plane, and the line below the
heatmap gives the percentages.</p>"""


# found through the package (an installed package's files are plain files on disk)
PRESETS_DIR = Path(str(importlib.resources.files("hillwalk.resources").joinpath("presets")))


# Labs that changed their title: sessions name the page they were saved on by its title.
RENAMED_LABS = {"Linear vs network": "Compare two models"}


def preset_paths():
    """The shipped preset sessions, in their numbered order."""
    return sorted(PRESETS_DIR.glob("*.hillwalk.json"))


def about_text() -> str:
    """What Help > About says: Hillwalk's version (from the installed package) and the
    versions of Python, Qt, PyQt6, pyqtgraph and NumPy."""
    import platform

    import numpy

    import hillwalk

    return (f"<b>Hillwalk {hillwalk.__version__}</b><br>A lab for loss functions, loss landscapes and "
            "optimizers, after Stanford's CS231n.<br><br>"
            f"Python {platform.python_version()} &middot; Qt {QtCore.qVersion()} &middot; "
            f"PyQt6 {QtCore.PYQT_VERSION_STR} &middot; pyqtgraph {pg.__version__} &middot; NumPy {numpy.__version__}"
            "<br>MIT licence")


def preset_title(path) -> str:
    try:
        return json.loads(Path(path).read_text()).get("title") or Path(path).stem
    except (OSError, ValueError):
        return Path(path).stem


def width_for_whole_texts(panel) -> int:
    """The width ``panel`` needs to show every combo box's longest item whole.

    The panels' combo boxes ask for room for about 14 characters (so that no single long
    item widens the window); a dock exactly that wide cut their texts off, so the dock is
    widened by what the widest item lacks."""
    lacking = 0
    for box in panel.findChildren(QtWidgets.QComboBox):
        texts = [box.itemText(k) for k in range(box.count())]
        if not texts:
            continue
        option = QtWidgets.QStyleOptionComboBox()
        box.initStyleOption(option)
        text_width = max(box.fontMetrics().horizontalAdvance(text) for text in texts)
        whole = box.style().sizeFromContents(QtWidgets.QStyle.ContentsType.CT_ComboBox, option,
                                             QtCore.QSize(text_width, box.fontMetrics().height()), box).width()
        lacking = max(lacking, whole - box.sizeHint().width())
    return panel.sizeHint().width() + lacking


class FlowLayout(QtWidgets.QLayout):
    """Lays its items out left to right and wraps them onto further rows, like words in a
    line of text (Qt's flow-layout example)."""

    def __init__(self, parent=None, spacing=2):
        super().__init__(parent)
        self._items = []
        self.setSpacing(spacing)
        self.setContentsMargins(0, 0, 0, 0)

    def addItem(self, item):
        self._items.append(item)

    def count(self):
        return len(self._items)

    def itemAt(self, index):
        return self._items[index] if 0 <= index < len(self._items) else None

    def takeAt(self, index):
        return self._items.pop(index) if 0 <= index < len(self._items) else None

    def expandingDirections(self):
        return QtCore.Qt.Orientation(0)

    def hasHeightForWidth(self):
        return True

    def heightForWidth(self, width):
        return self._place(QtCore.QRect(0, 0, width, 0), move=False)

    def setGeometry(self, rect):
        super().setGeometry(rect)
        self._place(rect, move=True)

    def sizeHint(self):
        return self.minimumSize()

    def minimumSize(self):
        size = QtCore.QSize()
        for item in self._items:
            size = size.expandedTo(item.minimumSize())
        return size

    def _place(self, rect, move):
        """Position the items in ``rect`` (when ``move``); the height they need."""
        x, y, row_height = rect.x(), rect.y(), 0
        for item in self._items:
            hint = item.sizeHint()
            if x + hint.width() > rect.right() + 1 and row_height > 0:
                x, y, row_height = rect.x(), y + row_height + self.spacing(), 0
            if move:
                item.setGeometry(QtCore.QRect(QtCore.QPoint(x, y), hint))
            x += hint.width() + self.spacing()
            row_height = max(row_height, hint.height())
        return y + row_height - rect.y()


# The labs' pages: name -> (module under gui.panels, class)
LAB_CLASSES = {"Loss": ("lab_loss", "LossLab"), "Gradient check": ("lab_gradcheck", "GradientCheckLab"),
               "Step size": ("lab_stepsize", "StepSizeLab"), "Sanity checks": ("lab_sanity", "SanityLab"),
               "SVM vs softmax": ("lab_compare", "LossComparisonLab"),
               "Hinge anatomy": ("lab_hinge", "HingeAnatomyLab"),
               "Decision regions": ("lab_regions", "DecisionRegionsLab"),
               "Compare two models": ("lab_models", "CompareModelsLab"),
               "Initialization": ("lab_init", "InitializationLab"), "Curvature": ("lab_curvature", "CurvatureLab"),
               "Babysitting": ("lab_babysit", "BabysittingLab"), "Hyperparameters": ("lab_search", "SearchLab"),
               "3D surface": ("surface3d", "Surface3DPanel")}


def lab_class(module, name):
    """The class ``name`` of ``gui.panels.<module>``, imported on first use."""
    return getattr(importlib.import_module(f"{__package__}.panels.{module}"), name)


class LazyPage(QtWidgets.QWidget):
    """A page of the stack whose lab is built by ``build()`` the first time the page is
    shown or the lab is asked for (:meth:`ensure`); the lab then fills the page."""

    def __init__(self, build, parent=None):
        super().__init__(parent)
        self._build = build
        self.lab = None
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

    def ensure(self):
        if self.lab is None:
            self.lab = self._build()
            for view in self.lab.findChildren(pg.GraphicsView):
                repaint_once_a_frame(view, FRAME_INTERVAL_MS)
            self.layout().addWidget(self.lab)
            if self.isVisible():
                self.lab.show()   # now, so that it tells the state it is shown at once
            self.updateGeometry()
        return self.lab

    def showEvent(self, event):
        self.ensure()
        super().showEvent(event)

    def minimumSizeHint(self):
        return self.lab.minimumSizeHint() if self.lab is not None else super().minimumSizeHint()

    def sizeHint(self):
        return self.lab.sizeHint() if self.lab is not None else super().sizeHint()


class LabPages(Mapping):
    """The labs by name (``window.labs["Curvature"]``), each built on first access."""

    def __init__(self, pages):
        self._pages = pages

    def __getitem__(self, name):
        return self._pages[name].ensure()

    def __iter__(self):
        return iter(self._pages)

    def __len__(self):
        return len(self._pages)

    def built(self):
        """The labs built so far (name -> lab), without building the others."""
        return {name: page.lab for name, page in self._pages.items() if page.lab is not None}


class PageStack(QtWidgets.QStackedWidget):
    """A QStackedWidget as small as its current page allows: a plain one is as wide as
    its widest page (a lab needing 557 px), which kept the whole window from narrowing."""

    def __init__(self, parent=None):
        super().__init__(parent)
        # the layout would otherwise impose the largest page's minimum on the widget
        self.layout().setSizeConstraint(QtWidgets.QLayout.SizeConstraint.SetNoConstraint)
        self.currentChanged.connect(lambda _index: self.updateGeometry())

    def minimumSizeHint(self):
        page = self.currentWidget()
        return page.minimumSizeHint() if page is not None else super().minimumSizeHint()

    def sizeHint(self):
        page = self.currentWidget()
        return page.sizeHint() if page is not None else super().sizeHint()


class PageStrip(QtWidgets.QWidget):
    """Tab-like buttons, one per page of a QStackedWidget, wrapping onto as many rows as
    the width needs; ``group_label_before`` puts a caption before the button of a page
    index (e.g. "Labs:")."""

    def __init__(self, pages: QtWidgets.QStackedWidget, names, group_label_before=None, parent=None):
        super().__init__(parent)
        self.setObjectName("pageStrip")
        self.pages = pages
        self.buttons: list[QtWidgets.QToolButton] = []
        self.group = QtWidgets.QButtonGroup(self)
        self.group.setExclusive(True)
        layout = FlowLayout(self, spacing=3)
        size_policy = self.sizePolicy()
        size_policy.setHeightForWidth(True)
        self.setSizePolicy(size_policy)
        for index, name in enumerate(names):
            if group_label_before and index in group_label_before:
                caption = QtWidgets.QLabel(group_label_before[index])
                caption.setContentsMargins(8, 0, 2, 0)
                layout.addWidget(caption)
            button = QtWidgets.QToolButton()
            button.setText(name)
            button.setCheckable(True)
            button.setAutoRaise(True)
            button.setObjectName(f"page:{name}")
            button.setToolButtonStyle(QtCore.Qt.ToolButtonStyle.ToolButtonTextOnly)
            # the chosen page's name is bold (wider): room for it, or its first letter is clipped
            bold = QtGui.QFont(button.font())
            bold.setBold(True)
            button.setMinimumWidth(QtGui.QFontMetrics(bold).horizontalAdvance(name) + 20)
            self.group.addButton(button, index)
            layout.addWidget(button)
            self.buttons.append(button)
        self.setStyleSheet("QToolButton { padding: 3px 6px; border: 1px solid transparent; border-radius: 3px }"
                           "QToolButton:checked { background: palette(base); border: 1px solid palette(mid);"
                           " font-weight: bold }")
        self.group.idClicked.connect(pages.setCurrentIndex)
        pages.currentChanged.connect(self._on_page_changed)
        self._on_page_changed(pages.currentIndex())

    def _on_page_changed(self, index):
        if 0 <= index < len(self.buttons):
            self.buttons[index].setChecked(True)

    def hasHeightForWidth(self):
        return True

    def heightForWidth(self, width):
        return self.layout().heightForWidth(width)

    def sizeHint(self):
        width = max(self.width(), 200)
        return QtCore.QSize(width, self.layout().heightForWidth(width))

    def resizeEvent(self, event):
        super().resizeEvent(event)
        # the row count changes with the width: let the parent layout give the new height
        height = self.layout().heightForWidth(event.size().width())
        if height != self.minimumHeight():
            self.setMinimumHeight(height)


class MainWindow(QtWidgets.QMainWindow):
    """The Hillwalk window.

    Parameters
    ----------
    settings : QSettings or None
        Where geometry and the last settings are kept; None keeps nothing (tests, screenshots).
    autostart : bool
        Start computing the scene at once.
    """

    def __init__(self, settings: QtCore.QSettings | None = None, autostart: bool = True, parent=None):
        super().__init__(parent)
        self.setWindowTitle("Hillwalk")
        self.settings = settings
        self.state = AppState(self)
        self.error_dialog = None
        self.about_box = None

        self.heatmap = HeatmapPanel(self.state)
        self.cut_panel = CutPanel(self.state)
        self.curves = CurvesPanel(self.state)
        lower = QtWidgets.QSplitter(QtCore.Qt.Orientation.Horizontal)
        lower.addWidget(self.cut_panel)
        lower.addWidget(self.curves)
        lower.setSizes([500, 500])
        central = QtWidgets.QSplitter(QtCore.Qt.Orientation.Vertical)
        central.addWidget(self.heatmap)
        central.addWidget(lower)
        central.setSizes([660, 340])
        # The pages (the landscape, then the labs) are stacked; a strip of tab-like buttons
        # that wraps onto a second row picks one, so every lab is reachable without the
        # scroll arrows a single tab bar needed, at any window width.
        self.tabs = PageStack()
        self.tabs.setObjectName("centralPages")
        # A lab's page is built when it is first shown (or asked for), and its module is
        # imported then: building all 13 took 0.74 s of the window's start (46 plots), and
        # importing their modules 40 ms, for pages most sessions never open.
        self.lab_pages = {name: LazyPage(lambda where=where: lab_class(*where)(self.state))
                          for name, where in LAB_CLASSES.items()}
        self.labs = LabPages(self.lab_pages)
        self.page_names = ["Landscape and race", *self.lab_pages]
        self.tabs.addWidget(central)
        for page in self.lab_pages.values():
            self.tabs.addWidget(page)
        self.page_strip = PageStrip(self.tabs, self.page_names, group_label_before={1: "Labs:"})
        container = QtWidgets.QWidget()
        container_layout = QtWidgets.QVBoxLayout(container)
        container_layout.setContentsMargins(0, 2, 0, 0)
        container_layout.setSpacing(2)
        container_layout.addWidget(self.page_strip)
        container_layout.addWidget(self._build_caption())
        container_layout.addWidget(self.tabs, 1)
        self.setCentralWidget(container)
        # (frame, phase) in ms: the three figures paint at three phases of the frame, each
        # in a turn of its own; the curves, the costliest to paint (three plots, every
        # method's curves restroked as they grow), every other frame
        frames = {self.heatmap.figure: (FRAME_INTERVAL_MS, 0),
                  self.cut_panel.plot_widget: (FRAME_INTERVAL_MS, FRAME_INTERVAL_MS // 3),
                  self.curves.graphics: (CURVES_FRAMES * FRAME_INTERVAL_MS, 2 * FRAME_INTERVAL_MS // 3)}
        for view in container.findChildren(pg.GraphicsView):
            repaint_once_a_frame(view, *frames.get(view, (FRAME_INTERVAL_MS, 0)))

        self.data_panel = DataPanel(self.state)
        self.model_panel = ModelPanel(self.state)
        self.landscape_panel = LandscapePanel(self.state)
        self.optimizers_panel = OptimizersPanel(self.state)
        self.docks = {}
        for name, panel in (("Data", self.data_panel), ("Model", self.model_panel),
                            ("Landscape", self.landscape_panel), ("Optimizers", self.optimizers_panel)):
            dock = QtWidgets.QDockWidget(name, self)
            dock.setObjectName(f"{name.lower()}Dock")
            scroll = QtWidgets.QScrollArea()
            scroll.setWidget(panel)
            scroll.setWidgetResizable(True)
            scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
            scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
            # As wide as the panel wants (whole combo texts) plus a vertical scroll bar:
            # a dock squeezed below that clipped its controls.
            scrollbar = self.style().pixelMetric(QtWidgets.QStyle.PixelMetric.PM_ScrollBarExtent)
            scroll.setMinimumWidth(min(width_for_whole_texts(panel) + scrollbar + 4, MAX_DOCK_WIDTH))
            dock.setWidget(scroll)
            self.docks[name] = dock
        self._dock_widths = {name: dock.widget().minimumWidth() for name, dock in self.docks.items()}
        self._tiny = False
        # The default arrangement follows the window's width until the user moves a dock
        # or a saved arrangement is restored.
        self._auto_dock_layout = True
        self._arranging_docks = False
        self._compact_docks = None
        self._arrange_docks(compact=False)
        for dock in self.docks.values():
            dock.dockLocationChanged.connect(self._on_dock_moved)
            dock.topLevelChanged.connect(self._on_dock_moved)

        self._build_transport()
        self._build_status_bar()
        self._build_menus()

        self.timer = QtCore.QTimer(self)
        self.timer.setInterval(FRAME_INTERVAL_MS)
        self.timer.timeout.connect(self._on_tick)
        self.timer.start()

        self.state.error.connect(self.show_error)
        self.state.session_opened.connect(self._on_session_opened)
        self.state.status.connect(lambda text: self.status_message.setText(text))
        self.state.progress.connect(self._on_progress)
        self.state.busy_changed.connect(self._on_busy)
        self.state.frame_changed.connect(self._on_frame_changed)
        self.state.runs_updated.connect(self._on_runs_updated)
        self.state.playing_changed.connect(self._on_playing_changed)
        self.state.race_changed.connect(self._on_runs_updated)
        self.heatmap.readout.connect(lambda text: self.readout.setText(text))
        # the views that follow the state a little later, and the window's paint in a turn
        # of the event loop of its own (see gui.pacing)
        self._deferred_redraws = self.findChildren(DeferredSlot)
        self._window_paint = paint_in_own_turn(self)

        if settings is not None:
            self._restore()
        # A lab's page is built when first shown: 15-90 ms of the GUI thread idle, 60-400 ms
        # on a loaded machine, while the person who clicked its tab waits. A window idle for
        # a second builds them ahead, one per PREBUILT_LAB_INTERVAL_MS (hidden: they compute
        # nothing until shown), so that a lab opens at once.
        self._prebuild_timer = QtCore.QTimer(self)
        self._prebuild_timer.setInterval(PREBUILT_LAB_INTERVAL_MS)
        self._prebuild_timer.timeout.connect(self._prebuild_next_lab)
        self._idle_since = None   # when the window was first seen idle (monotonic seconds)
        self._prebuild_timer.start()
        self._scene_start_pending = autostart
        # a window not shown starts at the latest SCENE_START_LATEST_MS after it was built
        # (or, once shown, after it was shown)
        self._scene_start_latest = single_shot_timer(self, self._start_scene, SCENE_START_LATEST_MS)
        if autostart:
            # computed once the window has painted: started with the window, the worker's
            # first steps (the data, the objective) held the interpreter during the window's
            # first layout and paint, 20 ms of its start (benchmarks/startup_time.py)
            paint_in_own_turn(self).window_painted.connect(self._start_scene)
            self._scene_start_latest.start()

    def _start_scene(self):
        """Compute the initial scene, once (see __init__), unless a new problem or a
        session was asked for meanwhile (that request computes the scene)."""
        if not self._scene_start_pending:
            return
        self._scene_start_pending = False
        self._scene_start_latest.stop()
        paint_in_own_turn(self).window_painted.disconnect(self._start_scene)
        state = self.state
        if state.objective is None and not state.jobs.is_live("problem") and not state.jobs.is_live("session"):
            state.start()

    def is_idle(self) -> bool:
        """Nothing computing, playing or drawing, and no mouse button, menu or dialog held:
        a moment a person is not waiting on the window."""
        app = QtWidgets.QApplication
        return (self.isVisible() and not self.state.playing and self.scene_complete() and not self._window_paint.pending
                and app.mouseButtons() == QtCore.Qt.MouseButton.NoButton and app.activePopupWidget() is None
                and app.activeModalWidget() is None)

    def _prebuild_next_lab(self):
        """Build the next lab page not built yet (in the strip's order), if the window is idle."""
        waiting = [page for name, page in self.lab_pages.items() if page.lab is None and name not in NOT_PREBUILT_LABS]
        if not waiting:
            self._prebuild_timer.stop()
        elif not self.is_idle():
            self._idle_since = None
        elif self._idle_since is None:
            self._idle_since = time.monotonic()
        elif time.monotonic() - self._idle_since >= PREBUILT_LAB_QUIET_S:
            # (not at once when a computation ends: a person may be about to change the next
            # setting, and would wait for the build)
            waiting[0].ensure()

    # ================================================================= building
    def _build_transport(self):
        bar = QtWidgets.QToolBar("Transport")
        bar.setObjectName("transportBar")
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)
        style = self.style()
        self.play_action = QtGui.QAction(style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaPause), "Pause", self)
        self.play_action.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Space))
        self.play_action.setToolTip("Play or pause the race (Space)")
        self.play_action.triggered.connect(lambda: self.state.set_playing(not self.state.playing))
        self.step_action = QtGui.QAction(style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaSeekForward),
                                         "Step", self)
        self.step_action.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_Right))
        self.step_action.setToolTip("One step forward (Right arrow); pauses the race")
        self.step_action.triggered.connect(self.step_once)
        self.reset_action = QtGui.QAction(style.standardIcon(QtWidgets.QStyle.StandardPixmap.SP_MediaSkipBackward),
                                          "Reset", self)
        self.reset_action.setShortcut(QtGui.QKeySequence(QtCore.Qt.Key.Key_R))
        self.reset_action.setToolTip("Back to step 0 (R)")
        self.reset_action.triggered.connect(self.state.reset_playback)
        for action in (self.play_action, self.step_action, self.reset_action):
            action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
            bar.addAction(action)
        self.speed = QtWidgets.QComboBox()
        self.speed.setObjectName("speedCombo")
        for text, value in SPEEDS:
            self.speed.addItem(text, value)
        self.speed.setCurrentIndex(1)
        self.speed.setToolTip("Animation speed")
        bar.addWidget(self.speed)
        self.scrub = QtWidgets.QSlider(QtCore.Qt.Orientation.Horizontal)
        self.scrub.setObjectName("scrubSlider")
        self.scrub.setRange(0, self.state.race.steps)
        self.scrub.setMinimumWidth(120)
        self.scrub.setToolTip("Scrub through the recorded steps")
        self.scrub.valueChanged.connect(self._on_scrub)
        bar.addWidget(self.scrub)
        self.step_label = QtWidgets.QLabel("step 0")
        self.step_label.setObjectName("stepLabel")
        # a fixed size, room for the longest race: its text changes at every frame, and a
        # label whose size may change asks the window to lay itself out again each time
        widest = self.step_label.fontMetrics().horizontalAdvance("step 100000 / 100000")
        self.step_label.setFixedSize(max(110, widest + 8), self.step_label.sizeHint().height())
        bar.addWidget(self.step_label)

    def _build_status_bar(self):
        bar = self.statusBar()
        self.status_message = QtWidgets.QLabel("Starting…")
        self.status_message.setObjectName("statusMessage")
        self.readout = QtWidgets.QLabel("")
        self.readout.setObjectName("readout")
        self.progress_bar = QtWidgets.QProgressBar()
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 1000)
        self.progress_bar.setFormat("%p%")
        self.progress_bar.setMaximumWidth(180)
        self.progress_bar.setVisible(False)
        self.cancel_button = QtWidgets.QPushButton("Cancel")
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Stop the computations under way; the last finished picture stays")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_work)
        # its words change with every progress report: fenced, they never lay the window out
        bar.addWidget(LayoutFence(self.status_message), 1)
        bar.addPermanentWidget(self.readout)
        bar.addPermanentWidget(self.progress_bar)
        bar.addPermanentWidget(self.cancel_button)

    def _build_menus(self):
        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        self.open_action = file_menu.addAction("Open data file…", self.data_panel.choose_file)
        self.open_action.setShortcut(QtGui.QKeySequence.StandardKey.Open)
        file_menu.addAction("Open CIFAR-10 folder…", self.data_panel.choose_folder)
        file_menu.addSeparator()
        self.open_session_action = file_menu.addAction("Open session…", self.open_session_dialog)
        self.save_session_action = file_menu.addAction("Save session…", self.save_session_dialog)
        self.save_session_action.setShortcut(QtGui.QKeySequence.StandardKey.Save)
        self.recent_menu = file_menu.addMenu("Recent sessions")
        self._refresh_recent()
        file_menu.addSeparator()
        export_menu = file_menu.addMenu("Export")
        self.export_png_action = export_menu.addAction("Heatmap as PNG…", lambda: self.export_view_dialog("png"))
        self.export_svg_action = export_menu.addAction("Heatmap as SVG…", lambda: self.export_view_dialog("svg"))
        for which, title in (("cut", "Cut"), ("curves", "Curves")):
            for kind in ("png", "svg"):
                export_menu.addAction(f"{title} as {kind.upper()}…",
                                      lambda w=which, k=kind: self.export_view_dialog(k, w))
        self.export_tab_actions = {kind: export_menu.addAction(f"Current lab tab as {kind.upper()}…",
                                                               lambda k=kind: self.export_tab_dialog(k))
                                   for kind in ("png", "svg")}
        export_menu.addSeparator()
        self.export_slice_actions = {kind: export_menu.addAction(f"Slice as {kind.upper()}…",
                                                                 lambda k=kind: self.export_data_dialog("slice", k))
                                     for kind in ("npz", "csv")}
        self.export_paths_actions = {kind: export_menu.addAction(f"Paths as {kind.upper()}…",
                                                                 lambda k=kind: self.export_data_dialog("paths", k))
                                     for kind in ("csv", "npz")}
        self.export_gif_action = export_menu.addAction("Race as animated GIF…", self.export_gif_dialog)
        file_menu.addSeparator()
        quit_action = file_menu.addAction("Quit", self.close)
        quit_action.setShortcut(QtGui.QKeySequence.StandardKey.Quit)
        self.presets_menu = menu.addMenu("&Presets")
        for path in preset_paths():
            title = preset_title(path)
            action = self.presets_menu.addAction(title, lambda p=path: self.open_session(p))
            action.setToolTip(str(path))
        self.labs_menu = menu.addMenu("&Labs")
        for name in self.page_names:
            self.labs_menu.addAction(name, lambda n=name: self.show_lab("" if n == self.page_names[0] else n))
        view_menu = menu.addMenu("&View")
        for dock in self.docks.values():
            view_menu.addAction(dock.toggleViewAction())
        view_menu.addSeparator()
        # menu items, not boxes in the panels: the Curves panel shares 800 pixels with the cut view
        self.curves_by_work_action = self._view_toggle(
            view_menu, "Curves against gradient evaluations", "curvesByWorkAction",
            "Draw the loss, accuracy and gradient curves against the gradients evaluated so far instead of the "
            "step: a second-order step's line search costs several, so methods compare per unit of work",
            lambda on: self.state.set_view(curves_x="gradients" if on else "step"))
        self.readout_curvature_action = self._view_toggle(
            view_menu, "Readout: curvature at the crosshair", "readoutCurvatureAction",
            "The status bar's readout adds the slice's two principal curvatures under the mouse: the "
            "eigenvalues of the Hessian restricted to the plane (two exact Hessian-vector products)",
            lambda on: self.state.set_view(readout_curvature=on))
        self.state.view_changed.connect(self._sync_view_actions)
        self._sync_view_actions()
        view_menu.addSeparator()
        self.reset_scene_action = view_menu.addAction("Reset to the default scene", self.reset_to_default_scene)
        self.reset_scene_action.setObjectName("resetSceneAction")
        self.reset_scene_action.setToolTip("Every setting back to the scene Hillwalk opens with the first time "
                                           "(the last settings are kept across launches otherwise)")
        help_menu = menu.addMenu("&Help")
        help_menu.addAction("Formulas…", self.show_formulas)
        help_menu.addAction("About Hillwalk", self.show_about)

    @staticmethod
    def _view_toggle(menu, text, name, tooltip, on_toggled):
        """A checkable menu item for a view setting (shown in force by _sync_view_actions)."""
        action = menu.addAction(text)
        action.setObjectName(name)
        action.setCheckable(True)
        action.setToolTip(tooltip)
        action.toggled.connect(on_toggled)
        return action

    def _sync_view_actions(self):
        for action, checked in ((self.curves_by_work_action, self.state.view.curves_x == "gradients"),
                                (self.readout_curvature_action, self.state.view.readout_curvature)):
            was = action.blockSignals(True)
            action.setChecked(checked)
            action.blockSignals(was)

    # ================================================================= playback
    def _on_tick(self):
        state = self.state
        if not state.playing:
            return
        target = min(state.frame + int(self.speed.currentData()), state.available_frames, state.race.steps)
        if target > state.frame:
            state.set_frame(target)
        elif state.frame >= state.race.steps or (state.runs and state.frame >= state.max_frame
                                                 and all(r.finished or r.diverged_at is not None
                                                         for r in state.runs.values())):
            state.set_playing(False)  # the end of the race

    def step_once(self):
        self.state.set_playing(False)
        self.state.set_frame(min(self.state.frame + 1, max(self.state.available_frames, self.state.frame)))

    def _on_frame_changed(self, frame):
        was = self.scrub.blockSignals(True)
        self.scrub.setValue(frame)
        self.scrub.blockSignals(was)
        self.step_label.setText(f"step {frame} / {self.state.race.steps}")

    def _on_scrub(self, value):
        self.state.set_playing(False)
        self.state.set_frame(min(value, self.state.max_frame))

    def _on_runs_updated(self):
        self.scrub.setRange(0, self.state.race.steps)
        self.step_label.setText(f"step {self.state.frame} / {self.state.race.steps}")

    def _on_playing_changed(self, playing):
        icon = QtWidgets.QStyle.StandardPixmap.SP_MediaPause if playing else QtWidgets.QStyle.StandardPixmap.SP_MediaPlay
        self.play_action.setIcon(self.style().standardIcon(icon))
        self.play_action.setText("Pause" if playing else "Play")

    # ================================================================= work and errors
    def _on_progress(self, text, fraction):
        if fraction >= 1.0:
            self.progress_bar.setVisible(False)
            return
        self.progress_bar.setVisible(True)
        # QProgressBar.setValue repaints at once (QWidget.repaint) whenever the bar visibly
        # moves, and that repaint paints every widget of the window waiting for its update,
        # the figures included, inside this handler; with updates off meanwhile the bar
        # only asks for an update, painted with the rest at the window's next update.
        self.progress_bar.setUpdatesEnabled(False)
        self.progress_bar.setValue(int(1000 * fraction))
        self.progress_bar.setUpdatesEnabled(True)
        # the bar holds the percentage; the words (a method's label can be long) go to
        # the status message beside it, and whole into the tooltip
        self.progress_bar.setToolTip(text)
        self.status_message.setText(text)

    def _on_busy(self, busy):
        self.cancel_button.setVisible(busy)
        if not busy:
            self.progress_bar.setVisible(False)
            if self.status_message.text().startswith("computing"):
                objective = self.state.objective
                self.status_message.setText(f"Ready: {objective_summary(objective)}" if objective is not None
                                            else "Ready")

    def cancel_work(self):
        self.state.jobs.cancel_all()
        self.status_message.setText("Cancelled; the last finished picture stays")
        self.progress_bar.setVisible(False)

    def show_error(self, message):
        """A non-blocking dialog and a status-bar note; the previous picture stays."""
        first_line = message.splitlines()[0] if message else "error"
        self.status_message.setText(f"Error: {first_line}")
        if self.error_dialog is not None:
            self.error_dialog.close()
        self.error_dialog = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Warning, "Hillwalk", first_line,
                                                  QtWidgets.QMessageBox.StandardButton.Ok, self)
        if "\n" in message:
            self.error_dialog.setDetailedText(message)
        self.error_dialog.setModal(False)
        self.error_dialog.show()

    # ================================================================= export, help
    def _ask_export_target(self, kind, what):
        """Ask for the file (and, for PNG, the width); None when cancelled."""
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, f"Export the {what} as {kind.upper()}",
                                                        f"hillwalk-{what}.{kind}", f"{kind.upper()} (*.{kind})")
        if not path:
            return None
        width = None
        if kind == "png":
            width, ok = QtWidgets.QInputDialog.getInt(self, "PNG width", "Width in pixels:", 1600, 200, 8000, 100)
            if not ok:
                return None
        return path, width

    def export_view_dialog(self, kind, which="heatmap"):
        target = self._ask_export_target(kind, which)
        if target is not None:
            path, width = target
            self._export(lambda: self.export_view(path, width, which), path)

    def _export(self, action, path):
        """Run an export; "Exported" only when the file was written, one message otherwise."""
        from hillwalk.core.io.files import describe_write_error

        try:
            action()
        except HillwalkError as error:
            self.show_error(str(error))
            return
        except OSError as error:  # every writer goes through atomic_output; this is a safety net for a slot
            self.show_error(f"{path}: could not export: {describe_write_error(error)}")
            return
        self.status_message.setText(f"Exported {path}")

    def _plot_item(self, which):
        items = {"heatmap": self.heatmap.figure.ci, "cut": self.cut_panel.plot, "curves": self.curves.graphics.ci}
        if which not in items:
            raise HillwalkError(f"unknown view {which!r}; export the heatmap, cut or curves")
        return items[which]

    def export_view(self, path, width=None, which="heatmap"):
        """Export a view (heatmap, cut or curves) through pyqtgraph's exporters: PNG at
        ``width`` pixels, or SVG. The exporters make the picture in memory (``toBytes``):
        pyqtgraph ignores the result of Qt's file write, and its SVG writer would leave a
        partial file on a full disk; the bytes are written atomically here."""
        # (imported here, not with the window: 4 ms of its start for a menu command)
        import pyqtgraph.exporters  # noqa: F401 - pg.exporters below

        from hillwalk.core.io.files import check_output_folder, write_bytes_atomically

        from .figures import png_bytes

        path = check_output_folder(path, "export")
        suffix = path.suffix.lower()
        item = self._plot_item(which)
        if suffix == ".png":
            exporter = pg.exporters.ImageExporter(item)
            if width:
                exporter.parameters()["width"] = int(width)
            if int(exporter.parameters()["width"]) <= 0 or int(exporter.parameters()["height"]) <= 0:
                raise HillwalkError(f"{path}: the {which} view has no size on screen; show it, then export it")
            data = png_bytes(exporter.export(toBytes=True), path)
        elif suffix == ".svg":
            data = pg.exporters.SVGExporter(item).export(toBytes=True)
            if not data:
                raise HillwalkError(f"{path}: the SVG of the {which} view came out empty; nothing was written")
        else:
            raise HillwalkError(f"{path}: export as .png or .svg")
        return write_bytes_atomically(path, data, f"{which} {suffix[1:].upper()}")

    def export_tab_dialog(self, kind):
        target = self._ask_export_target(kind, "lab")
        if target is not None:
            path, width = target
            self._export(lambda: self.export_tab(path, width), path)

    def export_tab(self, path, width=None):
        """The current central tab (a lab, or the landscape) as PNG at ``width`` pixels or
        as SVG (the widgets painted into Qt's SVG generator). Both are made in memory and
        written atomically: Qt's writers report a failed file write only by a return
        value (and libpng text on stderr)."""
        from PyQt6 import QtSvg

        from hillwalk.core.io.files import check_output_folder, write_bytes_atomically

        from .figures import save_png

        path = check_output_folder(path, "export")
        widget = self.tabs.currentWidget()
        if isinstance(widget, LazyPage):   # a lab's page: export the lab it holds
            widget = widget.ensure()
        for drawing in widget.findChildren(StagedDrawing):
            drawing.finish()   # (a result drawn a piece a turn: the picture shows all of it)
        size = widget.size()
        suffix = path.suffix.lower()
        if widget is self.lab_pages["3D surface"].lab and widget.available:
            # an OpenGL view paints into its own framebuffer, not through QPainter
            if suffix != ".png":
                raise HillwalkError("the 3D view is drawn by OpenGL, a raster picture: export it as PNG")
            view_size = widget.view.size()
            scale = (int(width) / view_size.width()) if width else 1.0
            image = widget.render_image(int(view_size.width() * scale), int(view_size.height() * scale))
            return save_png(image, path, "3D view PNG")
        if size.width() <= 0 or size.height() <= 0:
            raise HillwalkError(f"{path}: the tab has no size on screen; show it, then export it")
        if suffix == ".png":
            scale = (int(width) / size.width()) if width else 1.0
            image = QtGui.QImage(int(size.width() * scale), int(size.height() * scale),
                                 QtGui.QImage.Format.Format_ARGB32)
            image.fill(QtGui.QColor("white"))
            painter = QtGui.QPainter()
            if not painter.begin(image):  # a null image (too large to allocate) cannot be painted on
                raise HillwalkError(f"{path}: could not draw a {image.width()} x {image.height()} picture; "
                                    f"choose a smaller width")
            painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
            painter.scale(scale, scale)
            widget.render(painter)
            painter.end()
            return save_png(image, path, "tab PNG")
        if suffix == ".svg":
            data = QtCore.QByteArray()
            buffer = QtCore.QBuffer(data)
            buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
            generator = QtSvg.QSvgGenerator()
            generator.setOutputDevice(buffer)
            generator.setSize(size)
            generator.setViewBox(QtCore.QRect(0, 0, size.width(), size.height()))
            generator.setTitle(f"Hillwalk: {self.page_names[self.tabs.currentIndex()]}")
            painter = QtGui.QPainter()
            if not painter.begin(generator):
                raise HillwalkError(f"{path}: could not start drawing the SVG; nothing was written")
            widget.render(painter)
            painter.end()  # the generator writes the closing </svg> here
            buffer.close()
            if data.isEmpty():
                raise HillwalkError(f"{path}: the SVG came out empty; nothing was written")
            return write_bytes_atomically(path, bytes(data), "tab SVG")
        raise HillwalkError(f"{path}: export as .png or .svg")

    def export_data_dialog(self, what, kind):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, f"Export the {what} as {kind.upper()}",
                                                        f"hillwalk-{what}.{kind}", f"{kind.upper()} (*.{kind})")
        if path:
            action = self.export_slice if what == "slice" else self.export_paths
            self._export(lambda: action(path), path)

    def export_slice(self, path):
        """The slice in ``render``'s formats: .npz (self-contained) or .csv (long format)."""
        from hillwalk.core.io.export import landscape_meta, save_landscape_csv, save_landscape_npz

        state = self.state
        if state.landscape is None:
            raise HillwalkError("there is no finished slice to export yet")
        path = Path(path)
        if path.suffix.lower() == ".npz":
            meta = landscape_meta(state.landscape, {"session": state.session().to_dict()}, state.objective)
            return save_landscape_npz(path, state.landscape, meta, state.objective,
                                      save_data=state.objective.has_data)
        if path.suffix.lower() == ".csv":
            return save_landscape_csv(path, state.landscape)
        raise HillwalkError(f"{path}: export the slice as .npz or .csv")

    def export_paths(self, path):
        """The paths in ``trace``'s formats: .csv or .npz (every enabled method)."""
        from hillwalk.core.io.export import save_trajectories_csv, save_trajectories_npz

        state = self.state
        trajectories = [state.runs[e.id].trajectory() for e in state.optimizers
                        if e.enabled and e.id in state.runs and len(state.runs[e.id])]
        if not trajectories:
            raise HillwalkError("there are no paths to export yet")
        path = Path(path)
        if path.suffix.lower() == ".csv":
            return save_trajectories_csv(path, trajectories, with_data=True)
        if path.suffix.lower() == ".npz":
            return save_trajectories_npz(path, trajectories, {"format": "hillwalk-trajectory", "version": 1,
                                                              "session": state.session().to_dict()})
        raise HillwalkError(f"{path}: export the paths as .csv or .npz")

    def export_gif_dialog(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Export the race as an animated GIF", "race.gif",
                                                        "GIF (*.gif)")
        if not path:
            return
        fps, ok = QtWidgets.QInputDialog.getInt(self, "Frame rate", "Frames per second:", 15, GIF_MIN_FPS,
                                                GIF_MAX_FPS)
        if not ok:
            return
        width, ok = QtWidgets.QInputDialog.getInt(self, "GIF width", "Width in pixels:", 800, 200, GIF_MAX_SIDE, 50)
        if ok:
            self.export_gif(path, fps=fps, width=width)

    def export_gif(self, path, fps=15, width=800, frames=60):
        """Start exporting the race over the slice as an animated GIF (height = 3/4 of the
        width) in a worker, and return the :class:`~gui.animation.RaceGifExport` (None when
        the request is refused: the error dialog says why). Progress and Cancel are the
        status bar's; ``self.gif_export.running`` turns False when it has ended."""
        from .animation import PathToDraw, RaceGifExport  # Pillow is loaded on the first export, not at start-up

        state = self.state
        paths = [PathToDraw(run.label, run.steps, run.a, run.b, entry.color, run.diverged_at, run.escaped_at)
                 for entry in state.optimizers if entry.enabled and (run := state.runs.get(entry.id)) is not None]
        try:
            export = RaceGifExport(state, state.landscape, paths, path, (int(width), int(width) * 3 // 4), int(fps),
                                   int(frames), title=state.title or state.problem.title,
                                   log_scale=state.view.log_scale, colormap=state.view.colormap,
                                   contours=state.view.contours, parent=self,
                                   equal_scales=draws_equal_scales(state.view.axis_scales, state.landscape.plane))
        except HillwalkError as error:
            self.show_error(str(error))
            return None
        export.written.connect(lambda written, count: self.status_message.setText(
            f"Exported {written}: {count} frames at {fps} frames per second"))
        self.gif_export = export
        return export.start()

    # ================================================================= sessions
    def save_session_dialog(self):
        path, _ = QtWidgets.QFileDialog.getSaveFileName(self, "Save the session", "scene.hillwalk.json",
                                                        "Hillwalk sessions (*.hillwalk.json *.json)")
        if path:
            self.save_session(path)

    def current_lab_name(self) -> str:
        """The lab whose page is in front ("" for the landscape), as sessions name it."""
        current = self.tabs.currentWidget()
        return next((name for name, page in self.lab_pages.items() if page is current), "")

    def save_session(self, path):
        try:
            session = self.state.session()
            # the page in front as the session is saved (the state's view kept the one a
            # session was opened on: a lab chosen since was not saved)
            session.view["lab"] = self.current_lab_name()
            session.save(path)
        except HillwalkError as error:
            self.show_error(str(error))
            return
        self._remember_recent(path)
        self.status_message.setText(f"Saved the session to {path}")

    def open_session_dialog(self):
        path, _ = QtWidgets.QFileDialog.getOpenFileName(self, "Open a session", "",
                                                        "Hillwalk sessions (*.hillwalk.json *.json);;All files (*)")
        if path:
            self.open_session(path)

    def open_session(self, path):
        """Open a session file (read and checked in a worker); a bad one gives one message
        and changes nothing. When it has opened, it joins Recent sessions and its tab
        comes to the front (:meth:`_on_session_opened`)."""
        self.state.open_session_file(path)

    def apply_session(self, session):
        """Every setting of a session, then the tab it was saved on."""
        self.state.apply_session(session)

    def _build_caption(self):
        """The opened session's caption (a preset's paragraph: what to look at and why),
        over the pages until closed or another session opens."""
        self.caption_box = QtWidgets.QFrame()
        self.caption_box.setObjectName("sessionCaption")
        self.caption_box.setFrameShape(QtWidgets.QFrame.Shape.StyledPanel)
        self.caption_box.setStyleSheet("#sessionCaption { background: #fffbe6; }")
        row = QtWidgets.QHBoxLayout(self.caption_box)
        row.setContentsMargins(8, 3, 3, 3)
        self.caption_text = QtWidgets.QLabel("")
        self.caption_text.setObjectName("sessionCaptionText")
        self.caption_text.setWordWrap(True)
        self.caption_text.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QtWidgets.QToolButton()
        close.setObjectName("sessionCaptionClose")
        close.setText("×")
        close.setToolTip("Hide the caption")
        close.setAutoRaise(True)
        close.clicked.connect(lambda: self.caption_box.setVisible(False))
        # at most four lines high; a longer caption (a narrow window) scrolls
        scroll = QtWidgets.QScrollArea()
        scroll.setWidget(self.caption_text)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setStyleSheet("background: transparent;")
        scroll.setMaximumHeight(4 * self.fontMetrics().lineSpacing())
        row.addWidget(scroll, 1)
        row.addWidget(close, 0, QtCore.Qt.AlignmentFlag.AlignTop)
        self.caption_box.setVisible(False)
        return self.caption_box

    def _show_caption(self):
        state = self.state
        self.caption_text.setText(f"<b>{html.escape(state.title)}</b> {html.escape(state.caption)}"
                                  if state.caption else "")
        self.caption_box.setVisible(bool(state.caption))

    def _on_session_opened(self, source):
        self._show_caption()
        self.show_lab(self.state.view.lab)
        if source:
            self._remember_recent(source)
            self.status_message.setText(f"Opened {Path(source).name}")

    def current_lab(self):
        """The lab on the front page (built), or None on the landscape page."""
        page = self.tabs.currentWidget()
        return page.ensure() if isinstance(page, LazyPage) else None

    def show_lab(self, name):
        """Bring a lab's tab (or, for "", the landscape) to the front; a lab's former
        title (in sessions saved before it was renamed) brings the lab it became."""
        name = RENAMED_LABS.get(name, name)
        self.tabs.setCurrentWidget(self.lab_pages.get(name, self.tabs.widget(0)))

    def reset_to_default_scene(self):
        """Every setting back to the scene of a first launch (data, model, slice, race,
        optimizers, view), recomputed, on the landscape page, playing."""
        from hillwalk.core.io.session import Session, default_race_optimizers

        self.apply_session(Session(optimizers=default_race_optimizers()))
        self.speed.setCurrentIndex(1)
        self.state.set_playing(True)
        self.status_message.setText("Back to the default scene")

    # ================================================================= docks
    def _arrange_docks(self, compact):
        """The default dock arrangement: Data and Model as tabs above Landscape on the
        left and Optimizers on the right; in a narrow window all four as tabs in one
        column on the left, so that the central views keep their room."""
        if compact == self._compact_docks:
            return
        self._arranging_docks = True
        try:
            left = QtCore.Qt.DockWidgetArea.LeftDockWidgetArea
            right = QtCore.Qt.DockWidgetArea.RightDockWidgetArea
            docks = self.docks
            for dock in docks.values():
                self.removeDockWidget(dock)
            self.addDockWidget(left, docks["Data"])
            self.tabifyDockWidget(docks["Data"], docks["Model"])
            if compact:
                self.tabifyDockWidget(docks["Model"], docks["Landscape"])
                self.tabifyDockWidget(docks["Landscape"], docks["Optimizers"])
            else:
                self.addDockWidget(left, docks["Landscape"])
                self.addDockWidget(right, docks["Optimizers"])
            for dock in docks.values():
                dock.show()
            docks["Data"].raise_()
            self._compact_docks = compact
        finally:
            self._arranging_docks = False

    def _on_dock_moved(self, *_args):
        if not self._arranging_docks:
            self._auto_dock_layout = False  # the user's arrangement stays

    def _fit_docks_to_width(self, width):
        """Below TINY_WIDTH the docks give up their whole-text width (and scroll sideways),
        so that even an 800 px window fits; above it they keep it."""
        tiny = width < TINY_WIDTH
        if tiny == self._tiny:
            return
        self._tiny = tiny
        for name, dock in self.docks.items():
            scroll = dock.widget()
            scroll.setMinimumWidth(min(TINY_DOCK_WIDTH, self._dock_widths[name]) if tiny else self._dock_widths[name])
            scroll.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAsNeeded if tiny
                                                else QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def resizeEvent(self, event):
        super().resizeEvent(event)
        width = event.size().width()
        self._fit_docks_to_width(width)
        if self._auto_dock_layout:
            # a page whose wide arrangement needs more than COMPACT_WIDTH (a wide lab beside
            # both docks) regroups too once the window is narrowed to that minimum: a
            # narrower window cannot be reached otherwise
            at_wide_minimum = not self._compact_docks and width <= self.minimumSizeHint().width()
            self._arrange_docks(compact=width < COMPACT_WIDTH or at_wide_minimum)

    def setVisible(self, visible):
        # Arrange before the first show: the wide arrangement's minimum width (about
        # 1250 px) would otherwise stretch a window opened at 1024 px before any resizeEvent.
        if visible and getattr(self, "_scene_start_pending", False):
            self._scene_start_latest.start()   # the latest start counted from the show (see __init__)
        if visible:
            self._fit_docks_to_width(self.width())
            if self._auto_dock_layout:
                self._arrange_docks(compact=self.width() < COMPACT_WIDTH)
        super().setVisible(visible)

    def _recent_paths(self):
        if self.settings is None:
            return list(getattr(self, "_recent", []))
        value = self.settings.value("recentSessions", [])
        return [value] if isinstance(value, str) else list(value or [])

    def _remember_recent(self, path):
        paths = [str(path)] + [p for p in self._recent_paths() if p != str(path)]
        paths = paths[:8]
        if self.settings is None:
            self._recent = paths
        else:
            self.settings.setValue("recentSessions", paths)
        self._refresh_recent()

    def _refresh_recent(self):
        self.recent_menu.clear()
        paths = self._recent_paths()
        for path in paths:
            self.recent_menu.addAction(Path(path).name, lambda p=path: self.open_session(p)).setToolTip(path)
        self.recent_menu.setEnabled(bool(paths))

    def show_formulas(self):
        box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Information, "Formulas", "", parent=self)
        box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        box.setText(FORMULAS)
        box.setModal(False)
        box.show()
        self._formulas = box

    def show_about(self):
        """Help > About: the version of Hillwalk and of what it runs on, for a bug report.
        Opened window-modal without a nested event loop, so the app keeps drawing."""
        if self.about_box is None:
            self.about_box = QtWidgets.QMessageBox(QtWidgets.QMessageBox.Icon.Information, "About Hillwalk",
                                                   about_text(), QtWidgets.QMessageBox.StandardButton.Ok, self)
            self.about_box.setTextFormat(QtCore.Qt.TextFormat.RichText)
        self.about_box.open()

    # ================================================================= persistence
    def _restore(self):
        geometry = self.settings.value("geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        window_state = self.settings.value("windowState")
        if window_state is not None:
            self._arranging_docks = True
            try:
                if self.restoreState(window_state):
                    self._auto_dock_layout = False  # the arrangement the user left
            finally:
                self._arranging_docks = False
        saved = self.settings.value("scene")
        if saved:
            try:
                self.state.load_settings_dict(json.loads(saved))
                self.state.jobs.cancel_all()  # start() below computes the restored scene
            except (HillwalkError, json.JSONDecodeError, TypeError) as error:
                self.status_message.setText(f"Last settings could not be restored ({error}); using the defaults")

    def save_settings(self):
        if self.settings is None:
            return
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("windowState", self.saveState())
        self.settings.setValue("scene", json.dumps(self.state.settings_dict()))
        self.settings.sync()

    def closeEvent(self, event):
        self._scene_start_pending = False   # (closed before its first paint)
        self.timer.stop()
        self._prebuild_timer.stop()
        self.save_settings()
        self.state.shutdown()
        super().closeEvent(event)

    def sizeHint(self):
        return QtCore.QSize(1600, 1000)

    # ================================================================= for scripts and tests
    def _lab_drawing_pending(self) -> bool:
        """Whether a lab is still drawing its result a piece a turn (a StagedDrawing; the
        labs are built when first shown, after the window's own deferred redraws were
        collected)."""
        return any(drawing.pending for lab in self.labs.built().values()
                   for drawing in lab.findChildren(StagedDrawing))

    def scene_complete(self) -> bool:
        """Nothing is being computed, the slice is final, every enabled method has
        finished (or diverged) and the views have drawn the runs' last rows."""
        state = self.state
        enabled = [e.id for e in state.optimizers if e.enabled]
        return (not state.jobs.live and state.views_current and not any(slot.pending for slot in self._deferred_redraws)
                and not self._lab_drawing_pending()
                and state.landscape is not None and state.cut is not None
                and all(i in state.runs and (state.runs[i].finished or state.runs[i].diverged_at is not None)
                        for i in enabled))
