"""The Babysitting lab in the window (issue 16): settings changed like a person, the core's
numbers in the verdicts and plots, schedule settings only where they apply, a long run
cancelled, a 2-D function refused."""
import numpy as np
import pyqtgraph as pg
import pytest
from PyQt6 import QtCore

from hillwalk.core.labs import tasks
from tests.gui.conftest import LAB_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS


def type_into(qtbot, box, text):
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), text)
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)


def open_lab(qtbot, window):
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    lab = window.labs["Babysitting"]
    window.show_lab("Babysitting")
    qtbot.waitUntil(lambda: lab.result is not None, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    return lab


def drawn(qtbot, lab):
    """Wait until the lab's figure shows its result (a plot a turn: StagedDrawing)."""
    qtbot.waitUntil(lambda: not lab.drawing.pending, timeout=UI_TIMEOUT_MS)


def test_a_changed_setting_recomputes_and_the_panel_shows_the_core_numbers(qtbot, window):
    state = window.state
    lab = open_lab(qtbot, window)
    first = lab.result
    type_into(qtbot, lab.epochs, "4")
    lab.schedule.setCurrentIndex(lab.schedule.findData("step"))
    type_into(qtbot, lab.every, "2")
    qtbot.waitUntil(lambda: lab.result is not first and lab.result.curves.epochs == 4
                    and lab.result.curves.schedule.every == 2, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    report = lab.result
    # the same numbers as the core task with the panel's settings
    again = tasks.babysit_task(state.objective, **lab.settings())
    np.testing.assert_array_equal(report.curves.step_loss, again.curves.step_loss)
    np.testing.assert_allclose(report.curves.epoch_lr, [0.01, 0.01, 0.005, 0.005], rtol=1e-15)
    shown = lab.verdicts.toPlainText()
    for _, text in again.verdicts():
        assert text in shown
    assert f"{again.curves.gap[-1]:+.3f}" in shown and f"{again.probe[0].relative_change:.2%}" in shown
    # the plots draw those numbers: the probe's diverged run flagged, only finite points
    figure = lab.figure
    names = [item.name() for item in figure.probe_plot.listDataItems()]
    assert names == ["1e-06", f"{again.probe[1].lr:.3g}", "1e+06 (diverged)"] and again.probe[2].diverged
    for item in figure.probe_plot.listDataItems():
        assert np.all(np.isfinite(item.yData))
    # the diverged run's last finite point is marked "x" (an item of its own: as the curve's
    # one-point scatter, each new position repainted the whole figure), the others not
    markers = figure.probe_markers
    assert not markers["small"].isVisible() and not markers["middle"].isVisible() and markers["large"].isVisible()
    large = again.probe[2]
    finite = np.isfinite(large.loss) & (large.loss > 0)
    assert (markers["large"].x(), markers["large"].y()) == pytest.approx(
        (large.steps[finite][-1], np.log10(large.loss[finite][-1])), rel=1e-12)
    low, high = figure.range_region.getRegion()
    assert (10 ** low, 10 ** high) == (again.range_test.low, again.range_test.high) or np.allclose(
        (10 ** low, 10 ** high), (again.range_test.low, again.range_test.high), rtol=1e-12)
    schedule = figure.schedule_plot.listDataItems()[0]
    np.testing.assert_array_equal(schedule.yData, again.curves.epoch_lr)


def test_the_log_axes_label_as_many_ticks_as_their_height_holds(qtbot, window):
    """At 1280 x 720 the probe's plot is about 120 px tall: its log axis labelled every
    tick of 0.2 .. 0.9, piled on one another. Now: 1, 2 and 5 times powers of ten, no more
    than one an 18 px, spanning the curves; the ratio plot's spans its 1e-4 .. 1e-2 band."""
    from hillwalk.gui.babysit_figure import LOG_TICK_PX

    window.resize(1280, 720)
    lab = open_lab(qtbot, window)
    figure = lab.figure

    def labelled(plot):
        levels = plot.getAxis("left")._tickLevels
        return [float(label) for _, label in levels[0]] if levels else []

    def fitted():
        for plot in (figure.probe_plot, figure.ratio_plot):
            values = labelled(plot)
            if len(values) < 2 or len(values) > max(2, plot.vb.height() // LOG_TICK_PX):
                return False
        return True

    qtbot.waitUntil(fitted, timeout=UI_TIMEOUT_MS)
    ratios = labelled(figure.ratio_plot)
    assert min(ratios) <= 1e-4 and max(ratios) >= 1e-2
    for value in labelled(figure.probe_plot) + ratios:
        mantissa = value / 10 ** np.floor(np.log10(value))
        assert round(mantissa, 9) in (1.0, 2.0, 5.0)


def test_schedule_settings_apply_only_to_their_schedule(qtbot, window):
    lab = open_lab(qtbot, window)
    expected = {"constant": (False, False, False), "step": (True, True, False), "exp": (False, False, True),
                "inv": (False, False, True)}
    for kind, (gamma, every, k) in expected.items():
        lab.schedule.setCurrentIndex(lab.schedule.findData(kind))
        assert (lab.gamma.isEnabled(), lab.every.isEnabled(), lab.k.isEnabled()) == (gamma, every, k), kind


def test_a_long_run_shows_progress_and_cancel_stops_it(qtbot, window):
    state = window.state
    lab = open_lab(qtbot, window)
    done = lab.result
    type_into(qtbot, lab.batch, "1")
    type_into(qtbot, lab.epochs, "60")     # 60 x 1438 single-example updates: long enough to cancel
    qtbot.waitUntil(lambda: lab.cancel_button.isEnabled() and lab.progress.value() > 0, timeout=LAB_TIMEOUT_MS)
    assert lab.progress.isVisible()
    qtbot.mouseClick(lab.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not state.labs.busy("babysit"), timeout=UI_TIMEOUT_MS)
    assert not lab.cancel_button.isEnabled() and "Cancelled" in lab.status.text()
    assert lab.result is None or lab.result is done   # nothing of the stopped run landed
    # Run computes again with the settings shown
    type_into(qtbot, lab.epochs, "2")
    qtbot.waitUntil(lambda: lab.result is not None and lab.result.curves.epochs == 2
                    and lab.result.curves.batch_size == 1, timeout=LAB_TIMEOUT_MS)


def test_on_a_two_d_function_the_lab_says_it_does_not_apply(qtbot, window):
    state = window.state
    lab = open_lab(qtbot, window)
    state.set_problem(objective="rosenbrock")
    qtbot.waitUntil(lambda: lab.reason.isVisible(), timeout=SCENE_TIMEOUT_MS)
    assert "needs a classifier on data" in lab.reason.text() and not lab.body.isVisible()


def test_refused_settings_never_enter_the_state_and_a_new_plane_keeps_the_result(qtbot, window):
    state = window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.show_lab("Babysitting")
    qtbot.waitUntil(lambda: state.labs.result("babysit") is not None, timeout=LAB_TIMEOUT_MS)
    before, result = dict(state.labs.settings["babysit"]), state.labs.result("babysit")
    errors = []
    state.error.connect(errors.append)
    assert not state.labs.request("babysit", epochs=1000, batch_size=1)   # 120000 updates on iris
    assert len(errors) == 1 and "use fewer epochs or a larger batch size" in errors[0]
    assert state.labs.settings["babysit"] == before and state.labs.result("babysit") is result
    state.set_slice(seed=state.slice.seed + 1)                  # a new plane: the model and data are the same
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    assert state.labs.result("babysit") is result and not state.labs.busy("babysit")


def test_a_run_that_diverges_at_once_says_where_its_curves_stop(qtbot, window):
    """At lr 1e6 the loss and ratio plots were empty with axes -100 .. 100 and nothing to
    say why: their titles now name the update where the run diverged, and their axes span
    the planned updates (the accuracy plot's the planned epochs)."""
    lab = open_lab(qtbot, window)
    first = lab.result
    type_into(qtbot, lab.lr, "1e6")
    qtbot.waitUntil(lambda: lab.result is not first and lab.result.curves.lr == 1e6, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    curves = lab.result.curves
    assert curves.diverged_at is not None
    figure = lab.figure
    for plot in (figure.step_plot, figure.ratio_plot):
        assert f"diverged at update {curves.diverged_at}" in plot.titleLabel.text
        low, high = plot.vb.viewRange()[0]
        assert low > -0.1 * curves.epochs * curves.steps_per_epoch and high >= curves.epochs * curves.steps_per_epoch
    assert figure.accuracy_plot.vb.viewRange()[0][1] >= curves.epochs
    # the accuracy plot too (it showed the gap of the start, +0.000, as if it were a result)
    assert f"diverged at update {curves.diverged_at}" in figure.accuracy_plot.titleLabel.text
    assert "gap" not in figure.accuracy_plot.titleLabel.text
    type_into(qtbot, lab.lr, "0.01")   # a run that does not diverge: the plain titles again
    qtbot.waitUntil(lambda: lab.result.curves.lr == 0.01, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    assert lab.result.curves.diverged_at is None
    assert figure.step_plot.titleLabel.text == "loss per step" and figure.ratio_plot.titleLabel.text == "||update|| / ||W||"
    assert figure.accuracy_plot.titleLabel.text.startswith("accuracy: gap ")


@pytest.mark.scene("small_deep_network_session")
def test_a_networks_weight_matrices_are_named_in_the_ratio_title_not_over_the_curves(qtbot, window):
    """On a network the ratio plot has a curve per weight matrix; their names sat in a
    legend inside the plot, over the curves. They are in the title now, each in its
    curve's colour."""
    from hillwalk.core.io.session import PALETTE

    window.resize(1280, 720)
    lab = open_lab(qtbot, window)
    curves = lab.result.curves
    assert curves.layer_names == ("W1", "W2", "W3")
    figure = lab.figure
    title = figure.ratio_plot.titleLabel.text
    for k, name in enumerate(curves.layer_names):
        assert f"<span style='color:{PALETTE[k]}'>{name}</span>" in title
    drawn = [item for item in figure.ratio_plot.listDataItems()]
    assert [item.opts["pen"].color().name().lower() for item in drawn] == [c.lower() for c in PALETTE[:3]]
    legends = [item for item in figure.ratio_plot.items if isinstance(item, pg.LegendItem)]
    legends += [child for child in figure.ratio_plot.vb.childItems() if isinstance(child, pg.LegendItem)]
    assert not any(legend.items for legend in legends)   # nothing over the curves


def test_a_new_result_is_drawn_a_plot_a_turn_into_the_same_curves(qtbot, window):
    """The six plots drawn at once (their items made anew) held the GUI thread 50-75 ms at
    every change. Now the curves are made once and given each result's data, a plot in a
    turn of the event loop of its own; the export draws what is still waiting."""
    lab = open_lab(qtbot, window)
    figure = lab.figure
    curves_before = {plot: plot.listDataItems() for plot in figure._plots()}
    first = lab.result
    labs = window.state.labs
    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda name: name == "babysit"):
        type_into(qtbot, lab.epochs, "4")
    report = lab.result
    assert report is not first and report.curves.epochs == 4
    # the result has landed: its first plot is drawn, the schedule's (the last) not yet
    assert lab.drawing.pending
    assert figure.schedule_curve.yData.size == first.curves.epochs
    drawn(qtbot, lab)
    np.testing.assert_array_equal(figure.schedule_curve.yData, report.curves.epoch_lr)
    np.testing.assert_array_equal(figure.step_raw.yData, report.curves.step_loss)
    for plot, items in curves_before.items():
        assert plot.listDataItems() == items   # the same curve objects, given new data
    # a picture of the lab shows the whole result, whatever is still waiting
    with qtbot.waitSignal(labs.lab_ready, timeout=LAB_TIMEOUT_MS, check_params_cb=lambda name: name == "babysit"):
        lab.lr.setValue(0.02)
    assert lab.result is not report and lab.drawing.pending
    lab.drawing.finish()
    assert not lab.drawing.pending
    np.testing.assert_array_equal(figure.step_raw.yData, lab.result.curves.step_loss)


def test_the_plots_keep_their_places_when_their_titles_change(qtbot, window):
    """The columns' widths followed the titles: a new range or gap in a title laid every
    plot out again (and the whole figure was painted for one plot's change)."""
    window.resize(1280, 720)
    lab = open_lab(qtbot, window)
    figure = lab.figure

    def places():
        return [plot.geometry() for plot in figure._plots()]

    before = places()
    type_into(qtbot, lab.lr, "1e6")   # every title changes: "diverged at update ..."
    qtbot.waitUntil(lambda: lab.result.curves.lr == 1e6, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    assert "diverged" in figure.step_plot.titleLabel.text
    qtbot.wait(50)   # (a layout runs in a later turn)
    assert places() == before
    widths = {round(plot.geometry().width()) for plot in figure._plots()}
    assert max(widths) - min(widths) <= 1   # every column as wide as the others
    # a title wider than its column (a network's diverged run names its three weight
    # matrices) keeps to the column through a resize: pyqtgraph gives a title its text's
    # width as minimum at each resize, and the right column was pushed past the figure
    window.state.set_problem(model="net", hidden=(20, 20))
    qtbot.waitUntil(lambda: lab.result is not None and len(lab.result.curves.layer_names) == 3, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    assert lab.result.curves.lr == 1e6 and "W3" in figure.ratio_plot.titleLabel.text
    def columns_fit():
        widths = {round(plot.geometry().width()) for plot in figure._plots()}
        return max(widths) - min(widths) <= 1 and all(plot.geometry().right() <= figure.viewport().width()
                                                      for plot in figure._plots())

    for size in ((1300, 720), (1280, 720)):
        window.resize(*size)
        qtbot.wait(50)
    qtbot.waitUntil(columns_fit, timeout=UI_TIMEOUT_MS)   # (a layout still to come gets its chance)
    qtbot.wait(100)
    assert columns_fit()


def test_a_long_run_is_drawn_thinned_to_the_plots_width(qtbot, window):
    """A curve per update (23000 points at 1000 epochs) painted in 60-65 ms; drawn as the
    range of its values in each pixel column, with its points' marks only on short runs."""
    lab = open_lab(qtbot, window)
    first = lab.result
    type_into(qtbot, lab.batch, "8")
    type_into(qtbot, lab.epochs, "400")
    qtbot.waitUntil(lambda: lab.result is not first and lab.result.curves.epochs == 400
                    and lab.result.curves.batch_size == 8, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    figure = lab.figure
    updates = lab.result.curves.step_loss.size
    assert updates > 20 * figure.step_plot.vb.width()   # (more than 5 points a pixel are thinned)
    long_curves = (figure.step_raw, figure.step_smoothed, *figure.ratio_curves)
    for item in long_curves:
        assert item.getOriginalDataset()[0].size >= updates - 1
    # (the thinning follows the view's range, which is set at the figure's next paint)
    qtbot.waitUntil(lambda: all(item.curve.xData.size < updates / 2 for item in long_curves), timeout=UI_TIMEOUT_MS)
    # the original data is kept: the curve's full resolution comes back as the view zooms
    np.testing.assert_array_equal(figure.step_raw.getOriginalDataset()[1], lab.result.curves.step_loss)
    assert figure.train_curve.opts["symbol"] is None and figure.schedule_curve.opts["symbol"] is None
    type_into(qtbot, lab.epochs, "10")
    qtbot.waitUntil(lambda: lab.result.curves.epochs == 10, timeout=LAB_TIMEOUT_MS)
    drawn(qtbot, lab)
    assert figure.train_curve.opts["symbol"] == "o" and figure.schedule_curve.opts["symbol"] == "o"
