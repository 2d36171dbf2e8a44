"""The window's rough edges a newcomer hit: no way back to the default scene, a legend
over the paths, an unmarked cut, docks and plots squeezed to nothing in small windows,
unreadable colour-bar numbers."""
import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6 import QtCore, QtWidgets

from hillwalk.core.io.session import RaceSettings, default_race_optimizers
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.gui.figures import LandscapeFigure
from hillwalk.gui.state import ViewSettings
from tests.gui.conftest import DEFAULT_SCENE_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS, wait_for_frames

INPUTS = (QtWidgets.QAbstractSpinBox, QtWidgets.QComboBox, QtWidgets.QAbstractButton)


def menu_action(window, menu_title, text):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == menu_title)
    return next(a for a in menu.actions() if a.text() == text)


def test_view_reset_brings_back_the_default_scene(qtbot, window):
    """From the small scene (every setting of data, slice and race differs from the
    default), with lambda and the in-plane box changed and a lab in front."""
    state = window.state
    window.model_panel.lam.setValue(0.05)
    qtbot.mouseClick(window.optimizers_panel.in_plane, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: state.problem.lam == 0.05 and not state.race.in_plane, timeout=SCENE_TIMEOUT_MS)
    window.show_lab("Step size")

    menu_action(window, "View", "Reset to the default scene").trigger()

    qtbot.waitUntil(window.scene_complete, timeout=DEFAULT_SCENE_TIMEOUT_MS)
    assert state.problem == ClassifierSpec() and state.slice == SliceSpec() and state.race == RaceSettings()
    assert state.view == ViewSettings()
    assert [(e.spec, e.color, e.enabled) for e in state.optimizers] == \
        [(o.spec, o.color, o.enabled) for o in default_race_optimizers()]
    assert window.model_panel.lam.value() == pytest.approx(ClassifierSpec().lam)  # the panels show it too
    assert window.optimizers_panel.in_plane.isChecked()
    assert window.tabs.currentIndex() == 0 and state.playing


def test_the_legend_is_outside_the_data_and_kept_while_runs_update(qtbot, window):
    heatmap = window.heatmap
    legend, data_area = heatmap.legend, heatmap.figure.plot.vb
    assert len(legend.items) == 4
    assert not legend.sceneBoundingRect().intersects(data_area.sceneBoundingRect())
    labels_before = [label for _sample, label in legend.items]

    figure = heatmap.figure  # a click on the heatmap restarts every run: dozens of updates
    scene_point = heatmap.scene_position_of(-0.5, 0.5)
    qtbot.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=figure.mapFromScene(scene_point))
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert [label for _sample, label in legend.items] == labels_before  # the same items: never rebuilt

    window.optimizers_panel.list.setCurrentRow(0)
    window.optimizers_panel.lr.setValue(0.05)  # a new label: now the legend changes
    qtbot.waitUntil(lambda: any("lr 0.05" in label.text for _sample, label in legend.items), timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_a_cut_between_two_points_marks_them_on_the_heatmap(qtbot, window):
    cut = window.cut_panel
    cut.mode.setCurrentIndex(cut.mode.findData("points"))
    for spin, value in zip(cut.points, (-0.6, 0.2, 0.4, -0.3)):
        spin.setValue(value)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    ends = window.heatmap.cut_ends.getData()
    np.testing.assert_allclose(np.c_[ends[0], ends[1]], [[-0.6, 0.2], [0.4, -0.3]])
    labels = window.heatmap.cut_end_labels
    assert all(label.isVisible() for label in labels)
    placed = [coordinate for label in labels for coordinate in (label.pos().x(), label.pos().y())]
    assert placed == pytest.approx([-0.6, 0.2, 0.4, -0.3])
    assert all(line.isVisible() for line in cut.end_lines)  # s = 0 and s = 1 on the cut's own plot
    # the end points sit in a row of their own: the curves beside the cut keep their room
    assert cut.points_row.isVisible()
    assert window.curves.width() >= 0.6 * cut.width()

    cut.mode.setCurrentIndex(cut.mode.findData("angle"))
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert len(window.heatmap.cut_ends.getData()[0]) == 0 and not any(label.isVisible() for label in labels)


def controls_clipped(panel, viewport_width):
    """The input widgets of ``panel`` that are narrower than their minimum size or run
    past the visible width (names for the failure message)."""
    clipped = []
    for widget in panel.findChildren(QtWidgets.QWidget):
        if not isinstance(widget, INPUTS) or not widget.isVisibleTo(panel):
            continue
        left = widget.mapTo(panel, QtCore.QPoint(0, 0)).x()
        if widget.width() < min(widget.minimumSizeHint().width(), 40) or left + widget.width() > viewport_width + 1:
            clipped.append(f"{type(widget).__name__} {widget.objectName() or widget.toolTip()[:30]!r}")
        if isinstance(widget, QtWidgets.QComboBox):
            room = widget.width() - 28  # the frame and the arrow
            if widget.fontMetrics().horizontalAdvance(widget.currentText()) > room:
                clipped.append(f"combo text {widget.currentText()!r}")
    return clipped


def test_at_1024_by_768_every_dock_and_page_is_usable(qtbot, window):
    # Like a person dragging the border: the wide arrangement stops at its minimum width
    # (about 1250 px), where the docks regroup as tabs and the window shrinks further.
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window._compact_docks, timeout=UI_TIMEOUT_MS)
    window.resize(1024, 768)
    qtbot.waitUntil(lambda: window.width() == 1024 and window.height() == 768, timeout=UI_TIMEOUT_MS)
    for name, dock in window.docks.items():
        dock.show()
        dock.raise_()
        wait_for_frames(qtbot, window, 2)  # the raised tab is laid out by the next turns of the event loop
        scroll = dock.widget()
        assert scroll.viewport().width() > 200, name
        assert controls_clipped(scroll.widget(), scroll.viewport().width()) == [], name
    # every page (the landscape and each lab) has its button on screen: no scroll arrows
    strip = window.page_strip
    for button in strip.buttons:
        corner = button.mapTo(window, QtCore.QPoint(button.width(), button.height()))
        assert button.isVisible() and corner.x() <= window.width() and corner.y() <= window.height(), button.text()
    qtbot.mouseClick(strip.buttons[-1], QtCore.Qt.MouseButton.LeftButton)
    assert window.current_lab() is window.labs["3D surface"]
    qtbot.mouseClick(strip.buttons[0], QtCore.Qt.MouseButton.LeftButton)
    # the views keep room to draw: heatmap, cut and the curves' plot(s)
    assert window.heatmap.figure.plot.vb.height() > 150
    assert window.cut_panel.plot.vb.height() > 80
    assert all(plot.vb.height() > 80 for plot in window.curves.shown_plots())


def test_at_1280_by_720_the_curves_show_one_legible_plot_chosen_by_a_tab(qtbot, window):
    window.resize(1280, 720)
    curves = window.curves
    qtbot.waitUntil(lambda: curves.compact, timeout=UI_TIMEOUT_MS)
    assert curves.selector.isVisible()
    qtbot.mouseClick(curves.selector, QtCore.Qt.MouseButton.LeftButton,
                     pos=curves.selector.tabRect(1).center())
    assert curves.shown_plots() == [curves.accuracy_plot]
    # the plot's layout settles within a few frames: it gets the room, however long that takes here
    qtbot.waitUntil(lambda: curves.accuracy_plot.vb.height() > 80, timeout=UI_TIMEOUT_MS)
    assert curves.loss_plot.scene() is None  # off the screen, not squeezed
    window.resize(1600, 1200)
    qtbot.waitUntil(lambda: not curves.compact, timeout=UI_TIMEOUT_MS)
    qtbot.waitUntil(lambda: all(plot.vb.height() > 40 for plot in curves.plots), timeout=UI_TIMEOUT_MS)


def test_the_cut_axis_label_is_shortened_where_the_plot_is_too_short_for_it(qtbot, window):
    from PyQt6 import QtGui

    from hillwalk.gui.figures import component_label

    axis = window.cut_panel.plot.getAxis("left")
    box = window.cut_panel.plot.getViewBox()
    component = window.state.cut.component
    full, short = component_label(component), component_label(component, short=True)
    assert full != short

    def fits():
        return QtGui.QFontMetrics(axis.label.font()).horizontalAdvance(axis.labelText) <= box.height()

    window.resize(1600, 1200)
    qtbot.waitUntil(lambda: axis.labelText == full and fits(), timeout=UI_TIMEOUT_MS)
    window.resize(1280, 720)
    qtbot.waitUntil(lambda: axis.labelText == short and fits(), timeout=UI_TIMEOUT_MS)
    window.resize(1600, 1200)
    qtbot.waitUntil(lambda: axis.labelText == full and fits(), timeout=UI_TIMEOUT_MS)


@pytest.mark.parametrize("low, high", [(0.0201, 0.0202), (0.0, 1e-4), (1e-4, 5e-4), (2e-5, 1.2e-4), (0.0, 1e6), (3e5, 1.2e6)])
def test_the_colour_bar_numbers_stay_short_and_distinct(qtbot, low, high):
    figure = LandscapeFigure()
    qtbot.addWidget(figure)
    axis = figure.colorbar.axis
    axis.setRange(low, high)
    label_texts = []
    for spacing, values in axis.tickValues(low, high, 300):
        texts = axis.tickStrings(values, 1.0, spacing)
        assert len(set(texts)) == len(texts), texts  # neighbours told apart
        assert all(len(text) <= 8 for text in texts), texts
        for text, value in zip(texts, values):
            assert float(text) == pytest.approx(value, rel=1e-3, abs=spacing / 2)  # no hidden scale factor
        label_texts += texts
    assert label_texts
    assert "x1e" not in axis.labelString() and "(x" not in axis.labelString()


def test_an_exception_escaping_a_slot_costs_one_message_not_the_app(qtbot, capsys, monkeypatch):
    """The running app's exception hook: one line on stderr and one message in the window
    (PyQt would otherwise abort the whole app)."""
    from hillwalk.gui.app import report_unexpected_error
    from hillwalk.gui.main_window import MainWindow

    monkeypatch.delenv("HILLWALK_DEBUG", raising=False)
    window = MainWindow(settings=None, autostart=False)
    qtbot.addWidget(window)
    window.show()
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError as error:
        report_unexpected_error(type(error), error, error.__traceback__)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hillwalk: internal error (ZeroDivisionError")
    assert window.error_dialog.isVisible() and "Internal error (ZeroDivisionError" in window.error_dialog.text()
    window.error_dialog.close()


def test_a_wide_lab_page_still_lets_the_window_narrow_to_1280(qtbot, window):
    window.resize(1600, 1000)
    qtbot.waitUntil(lambda: window.width() == 1600, timeout=UI_TIMEOUT_MS)
    window.show_lab("Hyperparameters")
    for _ in range(2):   # like a person dragging the border: it stops at the wide minimum, then regroups
        window.resize(1280, 720)
        wait_for_frames(qtbot, window, 2)
    qtbot.waitUntil(lambda: window.width() == 1280, timeout=UI_TIMEOUT_MS)
    assert window._compact_docks


@pytest.mark.parametrize("log_scale", [False, True])
def test_a_heatmaps_labels_are_shortened_where_the_figure_is_too_small_for_them(qtbot, log_scale):
    """Each axis of a slice's figure, and its colour bar, shows the fullest label that fits
    along it, chosen again as the figure is resized (the Compare two models lab's heatmaps
    at 1280 x 720 had their vertical labels clipped at both ends)."""
    from PyQt6 import QtGui

    from hillwalk.core.data.datasets import Dataset
    from hillwalk.core.landscapes.directions import random_plane
    from hillwalk.core.landscapes.landscape import compute_slice, make_axis
    from hillwalk.core.models.objectives import LinearClassifier

    rng = np.random.default_rng(0)
    data = Dataset(rng.standard_normal((30, 4)), rng.integers(0, 3, 30), ("a", "b", "c"), ("w", "x", "y", "z"))
    objective = LinearClassifier(data, loss="softmax")
    plane = random_plane(objective, objective.initial_theta(1e-3, 0), "filter", seed=1)
    landscape = compute_slice(objective, plane, make_axis(-1, 1, 9), make_axis(-1, 1, 9), "total")
    figure = LandscapeFigure()
    qtbot.addWidget(figure)
    figure.resize(1000, 800)
    figure.show()
    figure.show_landscape(landscape, log_scale=log_scale)
    left, bottom, bar = figure.plot.getAxis("left"), figure.plot.getAxis("bottom"), figure.colorbar.axis
    prefix = "log10 " if log_scale else ""
    full = {left: plane.describe_axis(2), bottom: plane.describe_axis(1), bar: prefix + "loss (data + regularization)"}
    assert "cos(d1, d2)" in full[left]

    def length(axis):
        return axis.size().height() if axis is not bottom else axis.size().width()

    def fits(axis):
        """The text fits along the axis and is drawn centred on it (pyqtgraph places a
        label only when its axis is resized)."""
        if QtGui.QFontMetrics(axis.label.font()).horizontalAdvance(axis.labelText) + 6 > length(axis):
            return False
        drawn = axis.label.mapRectToItem(axis, axis.label.boundingRect())
        low, high = (drawn.left(), drawn.right()) if axis is bottom else (drawn.top(), drawn.bottom())
        return 0 <= low and high <= length(axis) and abs((low + high) / 2 - length(axis) / 2) <= 2

    qtbot.waitUntil(lambda: all(axis.labelText == text and fits(axis) for axis, text in full.items()),
                    timeout=UI_TIMEOUT_MS)
    figure.resize(330, 170)   # a heatmap about 100 px tall, as in the lab
    # the vertical axis keeps the cosine in its short forms
    cosine = f"cos = {plane.info['cosine']:.2g}"
    short = {left: {plane.describe_axis(2, name_direction=False), f"b: |d2| = {plane.info['norm2']:.3g}, {cosine}",
                    f"b: {cosine}"},
             bottom: {plane.describe_axis(1, name_direction=False)}, bar: {prefix + "total loss"}}
    qtbot.waitUntil(lambda: all(axis.labelText in texts and fits(axis) for axis, texts in short.items()),
                    timeout=UI_TIMEOUT_MS)
    figure.resize(1000, 800)
    qtbot.waitUntil(lambda: all(axis.labelText == text and fits(axis) for axis, text in full.items()),
                    timeout=UI_TIMEOUT_MS)


def test_a_functions_race_png_names_its_axes_x_and_y(qtbot, monkeypatch, tmp_path):
    """`trace` on a 2-D function: the picture's axes are the function's x and y (set after
    the landscape's own labels, which must not come back when the figure is laid out)."""
    from hillwalk import main as cli
    from hillwalk.gui import figures

    grabbed = {}
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        written = save(widget, path, size)   # laid out at its size, grabbed
        grabbed.update(bottom=widget.plot.getAxis("bottom").labelText, left=widget.plot.getAxis("left").labelText)
        return written

    monkeypatch.setattr(figures, "save_widget_png", recording)
    status = cli.main(["trace", "--objective", "beale", "--optimizer", "sgd", "--lr", "0.01", "--steps", "20",
                       "--out", str(tmp_path / "race.png"), "--png-size", "500x400"])
    assert status in (0, None) and (tmp_path / "race.png").exists()
    assert grabbed == {"bottom": "x", "left": "y"}


@pytest.mark.parametrize("size, points, lines", [((200, 200), 8, 2), ((420, 260), 8, 2), ((640, 480), 11, 1),
                                                 ((1200, 900), 11, 1)])
def test_a_small_png_export_keeps_its_colour_bar_and_fits_its_title(monkeypatch, tmp_path, size, points, lines):
    """`render --png-size 420x260`: the long title no longer widens the layout past the
    picture (the colour bar and the heatmap's right were cut off); it is shown smaller,
    then wrapped, and centred. At larger sizes it is one line at 11 pt."""
    from hillwalk import main as cli
    from hillwalk.gui import figures

    laid_out = {}
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        written = save(widget, path, size)   # laid out at its size, grabbed
        bar = widget.colorbar.mapRectToScene(widget.colorbar.boundingRect())
        plot = widget.plot.mapRectToScene(widget.plot.boundingRect())
        title = widget.plot.titleLabel
        laid_out.update(width=widget.width(), bar_right=bar.right(), plot_right=plot.right(),
                        title_width=title.itemRect().width(), title_shown=widget._title_shown,
                        lines=figures.laid_out_lines(title.item.document()))
        return written

    monkeypatch.setattr(figures, "save_widget_png", recording)
    status = cli.main(["render", "--dataset", "iris", "--grid", "9", "--out", str(tmp_path / "slice.png"),
                       "--png-size", f"{size[0]}x{size[1]}"])
    assert status in (0, None) and (tmp_path / "slice.png").exists()
    assert laid_out["width"] == size[0]
    assert laid_out["bar_right"] <= size[0] and laid_out["plot_right"] <= size[0]
    assert laid_out["title_width"] < size[0] - 90   # beside the left axis and the colour bar
    assert laid_out["title_shown"][1] == points and laid_out["lines"] == lines
    if size[0] < 300:   # wrapped, it ran a word a line down the picture: two lines, the second shortened
        assert laid_out["title_shown"][0].endswith("…") and laid_out["title_shown"][2] is None


@pytest.mark.parametrize("preset", ["05-ravine", "08-saddle"])
def test_a_function_presets_png_names_the_function_and_its_own_axes(monkeypatch, tmp_path, preset):
    """`render --session` on a 2-D function's preset: the PNG is written (its title asked
    for a data set's name: an internal error), titled with the function and its formula,
    its axes x and y and its colour bar f(x, y), not a classifier's loss."""
    from hillwalk import main as cli
    from hillwalk.gui import figures
    from hillwalk.gui.main_window import preset_paths

    shown = {}
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        written = save(widget, path, size)
        shown.update(title=widget.plot.titleLabel.text, bottom=widget.plot.getAxis("bottom").labelText,
                     left=widget.plot.getAxis("left").labelText, bar=widget.colorbar.axis.labelText)
        return written

    monkeypatch.setattr(figures, "save_widget_png", recording)
    session = next(p for p in preset_paths() if p.name.startswith(preset))
    status = cli.main(["render", "--session", str(session), "--out", str(tmp_path / "f.png"), "--png-size", "640x480"])
    assert status in (0, None) and (tmp_path / "f.png").exists()
    name = {"05-ravine": "quadratic", "08-saddle": "saddle"}[preset]
    assert shown["title"].startswith(f"{name}: ")
    # (in the session's colour scale, as the app draws it)
    from hillwalk.core.io.session import Session, view_from_dict
    log = "log10 " if view_from_dict(Session.load(session).view).log_scale else ""
    assert (shown["bottom"], shown["left"], shown["bar"]) == ("x", "y", f"{log}f(x, y)")


def test_a_small_race_gif_keeps_its_colour_bar_and_a_title_that_fits(qtbot):
    """A 400 x 300 race GIF: the legend's columns, chosen again at that width, no longer
    leave the layout as wide as before (the colour bar was cut off), and each frame's
    "title step N" fits the picture (it ran off both sides)."""
    from PyQt6 import QtGui

    from hillwalk.core import experiment
    from hillwalk.core.io.session import Session
    from hillwalk.gui.animation import PathToDraw, frame_title, render_race_background
    from hillwalk.gui.main_window import preset_paths

    session = Session.load(next(p for p in preset_paths() if p.name.startswith("05-ravine")))
    objective = experiment.build_objective(session.problem)
    plane = experiment.build_plane(objective, session.slice)
    landscape = experiment.compute_landscape(objective, plane, session.slice)
    steps = np.arange(81)
    paths = [PathToDraw(f"method number {k} lr 0.038", steps, np.linspace(-1.8, 0, 81), np.linspace(1.2, 0, 81),
                        color, None) for k, color in enumerate(("#000000", "#e69f00", "#009e73", "#cc79a7"))]
    title = "Momentum against SGD on an ill-conditioned bowl (condition 50)"
    background = render_race_background(landscape, paths, (400, 300), title=title)
    assert background.plot_rect.right() < 400 - 40   # room for the colour bar and its labels
    assert background.title_rect.left() == 0 and background.title_rect.width() == 400
    font = QtGui.QFont()
    font.setPixelSize(background.title_pixel_size)
    assert QtGui.QFontMetricsF(font).horizontalAdvance(frame_title(background.title, 80)) <= 400
    assert background.title.endswith("…") and title.startswith(background.title[:-1])
    wide = render_race_background(landscape, paths, (1200, 900), title=title)
    assert wide.title == title


def open_preset(qtbot, window, name):
    """Choose the preset whose file starts with ``name`` in the Presets menu; wait for its scene."""
    from hillwalk.gui.main_window import preset_paths, preset_title

    path = next(p for p in preset_paths() if p.name.startswith(name))
    action = next(a for a in window.presets_menu.actions() if a.text() == preset_title(path))
    action.trigger()
    qtbot.waitUntil(lambda: window.state.title == preset_title(path) and window.scene_complete(),
                    timeout=SCENE_TIMEOUT_MS)


def test_a_functions_curves_name_its_value_and_gradient_not_a_classifiers(qtbot, window):
    """The saddle preset (Presets menu): the curves are f(x, y) and its gradient norm, not
    a data set's "full-data loss" and a minibatch's gradient."""
    window.resize(1280, 720)   # the curves panel short: one plot at a time, chosen with tabs
    qtbot.waitUntil(lambda: window.curves.selector.isVisible(), timeout=UI_TIMEOUT_MS)
    open_preset(qtbot, window, "08-saddle")
    curves = window.curves
    qtbot.waitUntil(lambda: curves.loss_plot.titleLabel.text.startswith("f(x, y)"), timeout=UI_TIMEOUT_MS)
    assert curves.gradient_plot.titleLabel.text == "gradient norm"
    assert window.heatmap.figure.colorbar.axis.labelText.endswith("f(x, y)")
    # no accuracy for a function: its tab is hidden and leaves no gap between the others
    selector = curves.selector
    assert selector.isVisible() and not selector.isTabVisible(1)
    assert selector.tabRect(2).left() == selector.tabRect(0).right() + 1


def test_losses_that_reach_zero_keep_the_log_axis(qtbot, window):
    """The Newton preset: Newton reaches a loss of exactly 0 on Rosenbrock. The log axis
    stays (it was switched off, as for a function unbounded below, and every curve then
    looked like 0): the zero is drawn at half the smallest positive loss, and said so."""
    open_preset(qtbot, window, "15-newton")
    curves, runs = window.curves, window.state.runs.values()
    assert any(np.any(run.loss == 0) for run in runs) and not any(np.any(run.loss < 0) for run in runs)
    qtbot.waitUntil(lambda: "0 drawn at" in curves.loss_plot.titleLabel.text, timeout=UI_TIMEOUT_MS)
    assert curves.log_loss.isEnabled() and curves.log_loss.isChecked()
    assert curves.loss_plot.getAxis("left").logMode
    smallest = min(float(run.loss[run.loss > 0].min()) for run in runs)
    assert f"0 drawn at {smallest / 2:.2g}" in curves.loss_plot.titleLabel.text
    low = curves.loss_plot.vb.viewRange()[1][0]   # log10 units
    assert low <= np.log10(smallest / 2) and low > -40   # the zeros in view, not at 1e-300
    # Newton's gradient is exactly 0 there too: drawn at half the smallest positive norm
    norms = [run.grad_norm for run in runs]
    assert any(np.any(norm == 0) for norm in norms)
    floor = min(float(norm[norm > 0].min()) for norm in norms if np.any(norm > 0)) / 2
    grad_low = curves.gradient_plot.vb.viewRange()[1][0]   # (at 1e-300 it ran three hundred decades down)
    assert np.log10(floor) - 2 <= grad_low <= np.log10(floor)


def test_a_saddle_keeps_its_loss_on_a_linear_axis(qtbot, window):
    """Negative losses (the saddle, unbounded below) cannot go on a log axis: the box is
    off, and its tip says why."""
    open_preset(qtbot, window, "08-saddle")
    curves = window.curves
    qtbot.waitUntil(lambda: not curves.log_loss.isEnabled(), timeout=UI_TIMEOUT_MS)
    assert "negative" in curves.log_loss.toolTip() and not curves.loss_plot.getAxis("left").logMode


def test_a_network_slices_png_says_network_and_keeps_its_colour_bar_label(monkeypatch, tmp_path):
    """`render --model net --loss svm`: the title names the loss as "SVM" and the network;
    the colour bar's label stays inside the picture (the axes widen to their tick labels
    only when first painted: the picture is grabbed after that layout)."""
    from hillwalk import main as cli
    from hillwalk.gui import figures

    shown = {}
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        written = save(widget, path, size)
        axis = widget.colorbar.axis
        shown.update(title=widget.plot.titleLabel.text, width=widget.width(),
                     label_right=axis.label.mapRectToScene(axis.label.boundingRect()).right(),
                     axis_right=axis.mapRectToScene(axis.boundingRect()).right())
        return written

    monkeypatch.setattr(figures, "save_widget_png", recording)
    status = cli.main(["render", "--dataset", "spiral", "--model", "net", "--hidden", "16", "--loss", "svm",
                       "--grid", "11", "--train-steps", "20", "--out", str(tmp_path / "n.png"), "--png-size", "640x480"])
    assert status in (0, None)
    assert "SVM loss (data + regularization) of a 16-unit relu net on spiral" in shown["title"]
    assert shown["axis_right"] <= shown["width"] and shown["label_right"] <= shown["width"]


def test_a_classifier_trace_png_names_each_methods_rate(monkeypatch, tmp_path):
    """`trace --objective classifier --optimizer sgd,adam --lr 0.05`: the legend reads as the
    app's ("GD lr 0.05, ..."), not the bare method; the Hessian PNG has a legend too."""
    from hillwalk import main as cli
    from hillwalk.gui import figures

    legends = []
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        written = save(widget, path, size)
        for legend in widget.scene().items():
            if isinstance(legend, figures.pg.LegendItem):
                legends.append([label.text for _sample, label in legend.items])
        return written

    monkeypatch.setattr(figures, "save_widget_png", recording)
    status = cli.main(["trace", "--objective", "classifier", "--dataset", "iris", "--optimizer", "sgd,adam",
                       "--lr", "0.05", "--steps", "10", "--out", str(tmp_path / "t.png"), "--png-size", "600x400"])
    assert status in (0, None)
    assert legends == [["GD lr 0.05", "Adam lr 0.05"]]
    legends.clear()
    status = cli.main(["hessian", "--dataset", "iris", "--out", str(tmp_path / "h.png")])
    assert status in (0, None)
    assert len(legends) == 1 and any(text.startswith("lambda_max = ") for text in legends[0])
    assert "largest eigenvalues" in legends[0]


def test_a_shortened_title_keeps_its_modes_line(monkeypatch, tmp_path):
    """A dropout network's PNG at 420 x 260: its title is shortened line by line, and the
    second line, which says which function the picture shows (the mask), stays."""
    from hillwalk import main as cli
    from hillwalk.gui import figures

    shown = {}
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        written = save(widget, path, size)
        shown.update(title=widget.plot.titleLabel.text)
        return written

    monkeypatch.setattr(figures, "save_widget_png", recording)
    status = cli.main(["render", "--dataset", "iris", "--model", "net", "--hidden", "16", "--dropout", "0.5",
                       "--dropout-mode", "fixed", "--grid", "7", "--train-steps", "10", "--out", str(tmp_path / "m.png"),
                       "--png-size", "420x260"])
    assert status in (0, None)
    first, second = shown["title"].split("<br>")
    assert first.endswith("…") and second.startswith("dropout: one fixed mask")


def test_trace_of_a_function_session_in_the_plane_draws_the_function_in_the_sessions_colours(monkeypatch, tmp_path,
                                                                                              capsys):
    """`trace --session 15-newton` (a Rosenbrock race with "in the plane" ticked) printed
    "train accuracy nan" for every method and drew classifier-style loss curves; a function's
    plane is its own x and y, so its race is the function's: the paths on its surface, in
    the session's colours (the palette's, in turn, before)."""
    from hillwalk import main as cli
    from hillwalk.core.io.session import Session
    from hillwalk.gui import figures
    from hillwalk.gui.main_window import preset_paths

    shown = {}
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        shown["figure"] = isinstance(widget, figures.LandscapeFigure)
        if shown["figure"]:
            lines = [item for item in widget.path_items if isinstance(item, pg.PlotDataItem) and item.zValue() == 20]
            shown["colors"] = [item.opts["pen"].color().name() for item in lines]
            # each on a white band (an orange path on the orange of the map was all but lost)
            halos = [item for item in widget.path_items if item.zValue() == 19]
            shown["halos"] = [item.opts["pen"].color().getRgb()[:3] for item in halos]
        return save(widget, path, size)

    monkeypatch.setattr(figures, "save_widget_png", recording)
    preset = next(p for p in preset_paths() if p.name.startswith("15-newton"))
    session = Session.load(preset)
    assert session.race.in_plane and session.problem.objective == "rosenbrock"
    status = cli.main(["trace", "--session", str(preset), "--out", str(tmp_path / "t.png"), "--png-size", "500x400"])
    printed = capsys.readouterr().out
    assert status in (0, None) and "nan" not in printed and printed.count("from the nearest minimum") == len(
        [o for o in session.optimizers if o.enabled])
    assert shown["figure"]   # the function's surface, not loss curves
    assert shown["colors"] == [o.color.lower() for o in session.optimizers if o.enabled]
    assert shown["halos"] == [(255, 255, 255)] * len(shown["colors"])


def test_trace_of_the_saddle_names_the_method_that_escaped_in_its_legend(monkeypatch, tmp_path):
    """The app's legend says "escaped at step 68" for the saddle preset's momentum; the trace
    PNG's said nothing (only a diverged run was named)."""
    from hillwalk import main as cli
    from hillwalk.gui import figures
    from hillwalk.gui.main_window import preset_paths

    shown = {}
    save = figures.save_widget_png

    def recording(widget, path, size=(1200, 900)):
        shown["labels"] = [label.text for _sample, label in widget.legend.items]
        return save(widget, path, size)

    monkeypatch.setattr(figures, "save_widget_png", recording)
    preset = next(p for p in preset_paths() if p.name.startswith("08-saddle"))
    assert cli.main(["trace", "--session", str(preset), "--out", str(tmp_path / "t.png"), "--png-size", "500x400"]) \
        in (0, None)
    escaped = [label for label in shown["labels"] if "unbounded below: escaped at step" in label]
    assert len(escaped) == 1 and escaped[0].startswith("GD+momentum")


@pytest.mark.scene("small_beale_session")
def test_a_functions_methods_list_names_no_batch(window):
    """A 2-D function has no examples to sample: every line of the Optimizers list said
    "full batch"."""
    items = window.optimizers_panel.list
    texts = [items.item(row).text() for row in range(items.count())]
    assert texts and not any("batch" in text for text in texts), texts


def test_the_cut_panels_log_axis_is_numbered_as_its_height_holds(qtbot, window):
    """With a log colour scale the cut's loss axis is logarithmic: pyqtgraph labelled every
    minor tick (0.02, 0.03, ... 0.9 piled onto one another at 1280 x 720); now 1-2-5 or
    decades, no more than the axis's height holds, each about LOG_TICK_PX apart."""
    from hillwalk.gui.figures import LOG_TICK_PX

    window.resize(1280, 720)
    state, panel = window.state, window.landscape_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    cut = window.cut_panel
    panel.scale.setFocus()
    panel.scale.setCurrentIndex(panel.scale.findData(True))
    qtbot.waitUntil(lambda: state.view.log_scale and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)

    def numbered_to_fit():
        ticks = cut.plot.getAxis("left")._tickLevels
        if not ticks or not ticks[0]:
            return False
        low, high = cut.plot.vb.viewRange()[1]
        inside = [value for value, _ in ticks[0] if low <= value <= high]
        room = max(2, int(cut.plot.vb.height() // LOG_TICK_PX))
        labels = [label for _, label in ticks[0]]
        return 2 <= len(inside) <= room and all(float(label) > 0 for label in labels)

    qtbot.waitUntil(numbered_to_fit, timeout=UI_TIMEOUT_MS)
    # a linear scale again: pyqtgraph's own ticks
    panel.scale.setCurrentIndex(panel.scale.findData(False))
    qtbot.waitUntil(lambda: not state.view.log_scale and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: cut.plot.getAxis("left")._tickLevels is None, timeout=UI_TIMEOUT_MS)


def test_a_plane_setting_changed_while_new_data_loads_is_the_plane_shown(qtbot, window):
    """New preprocessing, then at once a new plane seed: the plane found on the old data
    landed after the new data's, so the panel said seed 7 while the seed-0 plane was shown
    (and from a network to a linear model: the old model's plane on the new one, an
    internal error, no runs). The data's own job now finds the plane with the new seed."""
    from hillwalk.core import experiment
    from tests.gui.conftest import type_into

    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    box = window.data_panel.preprocessing
    box.setCurrentIndex(box.findData("standardize"))
    assert state.jobs.is_live("problem")
    type_into(qtbot, window.landscape_panel.plane_seed, "7")
    qtbot.waitUntil(lambda: state.problem.preprocessing == "standardize" and state.slice.seed == 7
                    and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    expected = experiment.build_plane(state.objective, state.slice, problem=state.problem)
    np.testing.assert_array_equal(state.plane.center, expected.center)
    np.testing.assert_array_equal(state.plane.dir1, expected.dir1)
    assert all(run.finished for run in state.runs.values()) and state.runs


def test_a_slice_whose_values_span_many_decades_suggests_the_log_colour_scale(qtbot, window):
    """A deep network's slice ran from 1 to 2e16 on a linear colour scale: one colour for
    nearly all of it, and nothing said why. The note under the heatmap suggests the log
    scale where the values span more than four decades, and says nothing once it is on."""
    from hillwalk.gui.panels.heatmap import WIDE_SPAN
    from tests.gui.conftest import type_into

    state, panel = window.state, window.landscape_panel
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    info = window.heatmap.info
    assert "log colour scale" not in info.text()   # (the small scene's values: one decade)
    type_into(qtbot, panel.extent, "200")
    qtbot.waitUntil(lambda: state.slice.alpha_range == (-200.0, 200.0) and window.scene_complete(),
                    timeout=SCENE_TIMEOUT_MS)
    values = state.landscape.values[np.isfinite(state.landscape.values)]
    assert values.max() > WIDE_SPAN * values[values > 0].min()
    qtbot.waitUntil(lambda: "the log colour scale (Landscape panel) tells more of them apart" in info.text(),
                    timeout=UI_TIMEOUT_MS)
    panel.scale.setCurrentIndex(panel.scale.findData(True))
    qtbot.waitUntil(lambda: state.view.log_scale and "log colour scale" not in info.text(), timeout=UI_TIMEOUT_MS)
