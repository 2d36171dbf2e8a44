"""Equal axis scales: a 2-D function's heatmap draws a unit of x as long as a unit of y (its
true angles), a model's plane fills the panel, and the Landscape panel's "Axis scales"
switches between them; the PNG and GIF exports follow."""
import time

import numpy as np
import pytest

from hillwalk.core.landscapes.directions import coordinate_plane
from hillwalk.core.landscapes.landscape import Landscape
from tests.gui.conftest import SCENE_TIMEOUT_MS
from tests.gui.test_deep_network_gui import choose


def pixels_per_unit(figure):
    """(pixels per unit of a, pixels per unit of b) of a figure's data area."""
    view = figure.plot.vb
    (x0, x1), (y0, y1) = view.viewRange()
    return view.width() / (x1 - x0), view.height() / (y1 - y0)


def function_landscape(a_half=2.0, b_half=1.0, n=21):
    """A bowl over a ``2 a_half`` x ``2 b_half`` rectangle on a 2-D function's own plane."""
    plane = coordinate_plane(np.zeros(2), 0, 1)
    plane.info.update(label1="x", label2="y", value_label="f(x, y)", own_plane=True)
    alphas, betas = np.linspace(-a_half, a_half, n), np.linspace(-b_half, b_half, n)
    values = alphas[None, :] ** 2 + 3 * betas[:, None] ** 2
    return Landscape(values=values, alphas=alphas, betas=betas, component="total", plane=plane, method="fast")


def settle_layout(qtbot, figure):
    # a few turns of the event loop: layout requests, the axes' first paint
    for _ in range(5):
        qtbot.wait(10)


@pytest.mark.parametrize("size", [(760, 260), (300, 600)])
def test_equal_scales_hold_the_data_to_its_shape_centred_and_fill_without_them(qtbot, size):
    from hillwalk.gui.figures import LandscapeFigure

    figure = LandscapeFigure()
    qtbot.addWidget(figure)
    figure.resize(*size)
    figure.show()
    figure.set_equal_scales(True)
    figure.show_landscape(function_landscape(), title="a bowl twice as wide as it is tall")
    settle_layout(qtbot, figure)
    per_a, per_b = pixels_per_unit(figure)
    assert per_a == pytest.approx(per_b, rel=0.01)
    # the plot (axes, title, colour bar) sits in the middle of the room it leaves
    plot = figure.plot.sceneBoundingRect()
    assert plot.center().x() == pytest.approx(size[0] / 2, abs=2)
    assert plot.center().y() == pytest.approx(size[1] / 2, abs=2)
    assert figure.colorbar.sceneBoundingRect().right() <= size[0]
    # ... and it is as large as the figure allows along one side (a wide figure: its
    # height; a tall one: its width), less the layout's margins
    assert plot.height() >= size[1] - 20 if size[0] > size[1] else plot.width() >= size[0] - 20

    figure.set_equal_scales(False)
    settle_layout(qtbot, figure)
    per_a, per_b = pixels_per_unit(figure)
    assert abs(per_a / per_b - 1) > 0.2   # stretched to the figure's shape again
    data = figure.plot.vb.sceneBoundingRect()
    assert data.width() > 0.7 * size[0] if size[0] > size[1] else data.height() > 0.7 * size[1]


@pytest.mark.scene("small_beale_session")
def test_a_functions_heatmap_has_equal_scales_until_the_panel_says_fill(qtbot, window):
    state, panel, figure = window.state, window.landscape_panel, window.heatmap.figure
    assert state.view.axis_scales == "auto" and panel.axis_scales.currentData() == "auto"
    # no directions or off-plane shares to report on a function's own x and y: the note
    # under the heatmap gives its lines to the square
    assert not window.heatmap.info.isVisible()
    per_x, per_y = pixels_per_unit(figure)
    assert per_x == pytest.approx(per_y, rel=0.01)

    choose(qtbot, panel.axis_scales, "fill")
    qtbot.waitUntil(lambda: state.view.axis_scales == "fill", timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(lambda: abs(np.divide(*pixels_per_unit(figure)) - 1) > 0.2, timeout=SCENE_TIMEOUT_MS)
    assert state.session().view["axis_scales"] == "fill"   # a saved session keeps it

    choose(qtbot, panel.axis_scales, "auto")
    qtbot.waitUntil(lambda: np.divide(*pixels_per_unit(figure)) == pytest.approx(1, rel=0.01),
                    timeout=SCENE_TIMEOUT_MS)


def test_a_models_plane_fills_the_panel_unless_equal_is_chosen(qtbot, window):
    state, panel, figure = window.state, window.landscape_panel, window.heatmap.figure
    assert abs(np.divide(*pixels_per_unit(figure)) - 1) > 0.2   # (a wide panel, a square range)
    assert window.heatmap.info.isVisible() and "off-plane" in window.heatmap.info.text()
    choose(qtbot, panel.axis_scales, "equal")
    qtbot.waitUntil(lambda: np.divide(*pixels_per_unit(figure)) == pytest.approx(1, rel=0.01),
                    timeout=SCENE_TIMEOUT_MS)
    # the start point a click sets is where the heatmap draws it (the mapping follows the box)
    a, b = 0.3, -0.2
    point = figure.mapFromScene(window.heatmap.scene_position_of(a, b))
    from PyQt6 import QtCore
    qtbot.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)
    qtbot.waitUntil(lambda: np.allclose(state.race.start, (a, b), atol=0.02), timeout=SCENE_TIMEOUT_MS)


def test_the_race_gif_background_has_equal_scales_when_asked(qtbot):
    from hillwalk.gui.animation import PathToDraw, render_race_background

    path = PathToDraw("probe", np.array([0, 1]), np.array([-0.5, 0.5]), np.array([-0.5, 0.5]), "#00ff00")
    landscape = function_landscape()
    equal = render_race_background(landscape, [path], (800, 400), title="probe", equal_scales=True)
    assert equal.to_pixels.x_per_a == pytest.approx(-equal.to_pixels.y_per_b, rel=0.01)
    free = render_race_background(landscape, [path], (800, 400), title="probe")
    assert abs(free.to_pixels.x_per_a / -free.to_pixels.y_per_b - 1) > 0.2


def test_a_functions_pictures_mark_its_minima_not_a_centre(qtbot):
    """`render` and the race GIF drew a '+' at (0, 0) on Beale (minimum (3, 0.5)) and
    Rosenbrock (minimum (1, 1)): the figure itself now puts stars at the known minima, as
    the app's heatmap did, and a model's plane keeps its centre cross."""
    from hillwalk.core import experiment
    from hillwalk.core.landscapes.slices import SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec
    from hillwalk.gui.figures import LandscapeFigure

    for name, minima in (("beale", [(3.0, 0.5)]), ("rosenbrock", [(1.0, 1.0)])):
        objective = ClassifierSpec(objective=name).build()
        spec = SliceSpec(grid=21)
        for landscape in (experiment.compute_landscape(objective, experiment.build_plane(objective, spec), spec),
                          experiment.function_landscape(objective, np.zeros((1, 2)), grid=21)):
            figure = LandscapeFigure()
            qtbot.addWidget(figure)
            figure.show_landscape(landscape)
            x, y = figure.center_marker.getData()
            assert np.column_stack([x, y]).tolist() == [list(m) for m in minima]
            assert figure.center_marker.symbol == "star"
    model = ClassifierSpec(dataset="iris").build()
    spec = SliceSpec(grid=5, train_steps=0)
    figure = LandscapeFigure()
    qtbot.addWidget(figure)
    figure.show_landscape(experiment.compute_landscape(model, experiment.build_plane(model, spec), spec))
    assert figure.center_marker.getData()[0].tolist() == [0.0] and figure.center_marker.symbol == "+"


def test_a_title_narrowed_by_equal_scales_wraps_to_three_lines_before_it_is_shortened(qtbot):
    """At 1280 x 720 the ravine's square heatmap cut its title to "quadratic: 0.5 x^T A x,
    eigen...": the key numbers went."""
    from hillwalk.gui.figures import LandscapeFigure, laid_out_lines

    title = "quadratic: 0.5 x^T A x, eigenvalues 1 and 50, axes rotated 30 degrees"
    figure = LandscapeFigure()
    qtbot.addWidget(figure)
    figure.resize(360, 300)
    figure.show()
    figure.set_equal_scales(True)
    figure.show_landscape(function_landscape(2.0, 2.0), title=title)
    settle_layout(qtbot, figure)
    label = figure.plot.titleLabel
    assert "…" not in label.text and "eigenvalues 1 and 50" in label.text
    assert laid_out_lines(label.item.document()) == 3
    assert label.sceneBoundingRect().width() <= figure.plot.sceneBoundingRect().width() + 1


def wait_until_idle(qtbot, relayouts, quiet_s=0.3):
    """Wait until a figure whose relayouts are timed into ``relayouts`` has not laid itself
    out for ``quiet_s`` (on a loaded machine it takes longer than a fixed 300 ms to get
    there; a figure that lays itself out for ever never does, and the wait times out)."""
    started = time.monotonic()
    qtbot.waitUntil(lambda: time.monotonic() - max(relayouts, default=started) >= quiet_s, timeout=SCENE_TIMEOUT_MS)


@pytest.mark.parametrize("size, half_spans, legend", [
    ((300, 300), (1.0, 2.0), False), ((260, 400), (1.0, 2.0), False), ((260, 400), (2.0, 1.0), True),
    ((500, 220), (1.0, 1.0), True), ((400, 260), (1.0, 2.0), True), ((420, 330), (1.0, 2.0), True)])
def test_an_idle_figure_stops_laying_itself_out(qtbot, size, half_spans, legend):
    """In these figures (a review's) the box, the title's lines and the axis's tick labels
    fed one another for ever: the figure laid itself out again at every pass, a CPU core's
    worth idle (the ravine at 1100 x 640 in the app). Now it settles."""
    from hillwalk.gui.figures import LandscapeFigure

    figure = LandscapeFigure()
    qtbot.addWidget(figure)
    figure.resize(*size)
    figure.show()
    figure.set_equal_scales(True)
    figure.show_landscape(function_landscape(*half_spans),
                          title="quadratic: 0.5 x^T A x, eigenvalues 1 and 50, axes rotated 30 degrees")
    if legend:
        figure.show_paths([("GD lr 0.019", np.array([[0, 0], [1, 0.5]]), "#ff7f0e", False),
                           ("Adam lr 0.1", np.array([[0, 0], [1, 0.5]]), "#1f77b4", False)])
    relayouts = []
    original = figure._lay_out_again
    figure._lay_out_again = lambda: (relayouts.append(time.monotonic()), original())
    wait_until_idle(qtbot, relayouts)
    settled = len(relayouts)
    qtbot.wait(300)
    assert not relayouts[settled:]
    per_a, per_b = pixels_per_unit(figure)
    assert per_a == pytest.approx(per_b, rel=0.01)   # (settled: the scales still equal)


def test_a_title_cut_to_its_lines_keeps_as_many_as_fit_and_each_own_line(qtbot):
    """Shortening kept one line per own line of the title: a one-line title wrapped to four
    lines shrank to one (and equal scales, sized by the title, grew the plot back)."""
    from PyQt6 import QtGui

    from hillwalk.gui.figures import shortened_lines

    font = QtGui.QFont()
    font.setPointSizeF(8)
    metrics = QtGui.QFontMetricsF(font)

    def laid_out(html, width):
        document = QtGui.QTextDocument()
        document.setDefaultFont(font)
        document.setHtml(html)
        document.setTextWidth(width)
        return document

    long = "quadratic: 0.5 x^T A x, eigenvalues 1 and 50, axes rotated 30 degrees"
    three = shortened_lines(laid_out(long, 90), 3, metrics, 90)
    assert len(three) == 3 and three[0].startswith("quadratic") and three[-1].endswith("…")
    assert all(metrics.horizontalAdvance(line) <= 90 for line in three)
    # a network's title: the loss line and its modes line each keep a line
    modes = "softmax loss of a 2-layer net on digits<br>batch norm: eval, dropout: off"
    two = shortened_lines(laid_out(modes, 80), 2, metrics, 80)
    assert len(two) == 2 and two[0].startswith("softmax") and two[1].startswith("batch norm")


@pytest.mark.parametrize("scene", ["small_beale_session", "small_session"])
def test_the_a_button_shows_the_heatmap_as_it_opened(qtbot, request, scene):
    """After a zoom, the plot's "A" button framed the items' bounds: the markers' pixel
    padding and the paths made it +-2.23 for a +-2 heatmap, with white margins."""
    from PyQt6 import QtCore

    from tests.gui import scenes
    from tests.gui.conftest import open_window

    window = open_window(qtbot, getattr(scenes, scene)())
    try:
        figure = window.heatmap.figure
        landscape = window.state.landscape
        relayouts = []
        original = figure._lay_out_again
        figure._lay_out_again = lambda: (relayouts.append(time.monotonic()), original())
        wait_until_idle(qtbot, relayouts)   # (the view as it opened, laid out)
        (x0, x1), (y0, y1) = figure.plot.vb.viewRange()
        opened = ((x0, x1), (y0, y1))
        figure.plot.vb.scaleBy((0.4, 0.4))   # a zoom in, as the wheel does
        qtbot.waitUntil(lambda: figure.plot.vb.viewRange()[0][1] - figure.plot.vb.viewRange()[0][0] < 0.6 * (x1 - x0),
                        timeout=SCENE_TIMEOUT_MS)
        button = figure.plot.autoBtn
        point = figure.mapFromScene(button.sceneBoundingRect().center())
        qtbot.mouseMove(figure.viewport(), point)   # (the button shows where the pointer is)
        qtbot.waitUntil(button.isVisible, timeout=SCENE_TIMEOUT_MS)
        point = figure.mapFromScene(button.sceneBoundingRect().center())   # (where it is now)
        qtbot.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)
        half_a = (landscape.alphas[1] - landscape.alphas[0]) / 2
        wanted_x = (landscape.alphas[0] - half_a, landscape.alphas[-1] + half_a)

        def restored():
            shown_x, shown_y = figure.plot.vb.viewRange()
            return np.allclose(shown_x, wanted_x, rtol=0, atol=0.02 * (wanted_x[1] - wanted_x[0])) and np.allclose(
                shown_y, opened[1], rtol=0, atol=0.02 * (opened[1][1] - opened[1][0]))

        qtbot.waitUntil(restored, timeout=SCENE_TIMEOUT_MS)
    finally:
        window.close()
