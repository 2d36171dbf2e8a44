"""The window never freezes: long runs stream as increments, the GUI thread keeps processing
events, Cancel stops the work, and a restarted race plays. Driven as a person would."""
import pytest
from PyQt6 import QtCore

from tests.gui.conftest import LONG_WORK_TIMEOUT_MS, SCENE_TIMEOUT_MS, UI_TIMEOUT_MS, wait_for_frames


@pytest.fixture
def iris_window(window):
    """The window (conftest's) on the small scene, which is on iris; its jobs cancelled after the test."""
    assert window.state.problem.dataset == "iris"
    yield window
    window.state.jobs.cancel_all()


def type_steps(qtbot, window, text):
    spin = window.optimizers_panel.steps
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, text)
    qtbot.keyClick(spin, QtCore.Qt.Key.Key_Return)


def test_100000_steps_on_iris_stream_while_the_window_answers_and_cancel_stops_them(qtbot, iris_window):
    window, state = iris_window, iris_window.state
    type_steps(qtbot, window, "100000")
    qtbot.waitUntil(lambda: state.race.steps == 100000, timeout=UI_TIMEOUT_MS)
    # Rows arrive while the runs compute: the views get partial paths, not one final blob.
    qtbot.waitUntil(lambda: state.runs and max(len(r) for r in state.runs.values()) > 200, timeout=SCENE_TIMEOUT_MS)
    # The GUI thread keeps processing events: queued callbacks run while the jobs are busy.
    ran = []
    for k in range(5):
        QtCore.QTimer.singleShot(0, lambda k=k: ran.append(k))
        qtbot.waitUntil(lambda k=k: len(ran) > k, timeout=UI_TIMEOUT_MS)
    assert ran == list(range(5))
    assert any(state.jobs.is_live(f"run:{e.id}") for e in state.optimizers), "the runs ended too soon to test"
    assert window.cancel_button.isVisible()
    live_runs = [e.id for e in state.optimizers if state.jobs.is_live(f"run:{e.id}")]
    qtbot.mouseClick(window.cancel_button, QtCore.Qt.MouseButton.LeftButton)
    assert not any(kind.startswith("run:") for kind in state.jobs.live)
    qtbot.waitUntil(lambda: not state.jobs.running, timeout=UI_TIMEOUT_MS)
    rows = {entry_id: len(run) for entry_id, run in state.runs.items()}
    wait_for_frames(qtbot, window, 10)  # rows on their way would arrive in these frames
    assert {entry_id: len(run) for entry_id, run in state.runs.items()} == rows  # nothing arrives after Cancel
    stopped = [state.runs[entry_id] for entry_id in live_runs]
    assert stopped and all(run.steps_made < 100000 and not run.finished for run in stopped)
    assert "Cancelled" in window.status_message.text()


def test_the_race_plays_after_a_click_on_the_heatmap(qtbot, iris_window):
    window, state = iris_window, iris_window.state
    window.activateWindow()
    window.setFocus()
    if state.playing:
        qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not state.playing
    figure = window.heatmap.figure
    view_point = figure.mapFromScene(window.heatmap.scene_position_of(0.3, -0.2))
    qtbot.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=view_point)
    assert state.race.start == pytest.approx((0.3, -0.2), abs=0.05)
    assert state.playing  # the restarted race plays: its paths appear without pressing Space
    qtbot.waitUntil(lambda: state.frame > 0, timeout=SCENE_TIMEOUT_MS)
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_increments_reach_the_views_at_most_once_a_frame(qtbot, iris_window):
    window, state = iris_window, iris_window.state
    updates, partials = [], []
    state.runs_updated.connect(lambda: updates.append(1))
    state.jobs.partial.connect(lambda kind, partial: partials.append(kind))
    type_steps(qtbot, window, "2000")  # long enough to stream in many increments (hundreds, idle)
    qtbot.waitUntil(lambda: state.race.steps == 2000 and window.scene_complete(), timeout=LONG_WORK_TIMEOUT_MS)
    # streamed, not posted once at the end: every run's first increment comes after its first
    # step, so a run that posts more than one has streamed
    runs = [kind for kind in partials if kind.startswith("run:")]
    assert len(set(runs)) == 4 and all(runs.count(kind) >= 2 for kind in set(runs))
    assert all(run.finished and len(run) == 2001 for run in state.runs.values())
    # A burst of increments from several workers within one frame makes one redraw.
    updates.clear()
    first = {entry_id: len(run) for entry_id, run in state.runs.items()}
    for entry_id in first:
        run = state.runs[entry_id]
        state._append_increment(f"run:{entry_id}", _empty_increment_like(run))
    assert updates == []
    qtbot.waitUntil(lambda: updates == [1], timeout=UI_TIMEOUT_MS)
    wait_for_frames(qtbot, window)  # a second redraw would come in these frames
    assert updates == [1]


def _empty_increment_like(run):
    import numpy as np

    from hillwalk.core.optimization.paths import PathIncrement

    empty = np.zeros(0)
    return PathIncrement(steps=np.zeros(0, dtype=np.int64), a=empty, b=empty, off_plane=empty, loss=empty,
                         batch_loss=empty, train_acc=empty, val_acc=empty, grad_norm=empty, step_length=empty,
                         lr=empty, thetas=None if run.in_plane else np.zeros((0,) + run.plane.center.shape),
                         steps_made=run.steps_made, diverged_at=run.diverged_at, escaped_at=None,
                         finished=run.finished)


def test_a_job_whose_window_is_gone_stops_quietly(qtbot, capfd):
    """A script that ends without closing its window deletes the jobs' signal objects while
    they run: the job stops at its next report, with no traceback from the thread pool."""
    from PyQt6 import sip

    from hillwalk.gui.workers import Worker

    reports = []

    def job(report, should_stop):
        for step in range(1000):
            reports.append(step)
            report(step / 1000, "working", force=True)
        return "finished"

    worker = Worker(job, "test")
    sip.delete(worker.signals)
    worker.run()   # on this thread: whatever escaped would raise here
    assert reports == [0] and worker.cancelled
    assert "Traceback" not in capfd.readouterr().err


def test_every_plot_repaints_on_a_change_at_most_once_a_frame(qtbot, window):
    """Every graphics view of the window, and of a lab built later, repaints through
    ``repaint_once_a_frame`` (one viewport update a frame), and still repaints when its
    scene changes."""
    import time

    import pyqtgraph as pg
    from PyQt6 import QtWidgets

    from hillwalk.gui.main_window import FRAME_INTERVAL_MS
    from tests.gui.conftest import SCENE_TIMEOUT_MS

    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    lab = window.labs["Step size"]   # built now, after the window
    views = window.findChildren(pg.GraphicsView)
    assert window.heatmap.figure in views and any(view.window() is window and lab.isAncestorOf(view)
                                                  for view in views)
    for view in views:
        assert view.viewportUpdateMode() == QtWidgets.QGraphicsView.ViewportUpdateMode.NoViewportUpdate

    paints = []

    class PaintCounter(QtCore.QObject):
        def eventFilter(self, watched, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                paints.append(watched)
            return False

    counter = PaintCounter()
    viewport = window.heatmap.figure.viewport()
    viewport.installEventFilter(counter)
    try:
        qtbot.wait(50)
        paints.clear()
        window.state.set_playing(False)
        window.state.set_frame(max(1, window.state.frame // 2))   # the heads and trails move
        qtbot.waitUntil(lambda: viewport in paints, timeout=UI_TIMEOUT_MS)
        # the scene changing at every turn of the event loop (the frame moved by a 0 ms
        # timer, as workers' signals and ticks can): one repaint a frame at most (a slower
        # machine paints less often, never more)
        state = window.state
        mover = QtCore.QTimer()
        mover.setInterval(0)
        mover.timeout.connect(lambda: state.set_frame(state.frame % max(1, state.max_frame) + 1))
        paints.clear()
        started = time.perf_counter()
        mover.start()
        qtbot.wait(400)
        mover.stop()
        elapsed_ms = (time.perf_counter() - started) * 1000
        assert 1 <= len(paints) <= elapsed_ms / FRAME_INTERVAL_MS + 1
    finally:
        viewport.removeEventFilter(counter)


def test_runs_restarted_together_show_their_first_pieces_in_one_redraw(qtbot, iris_window, monkeypatch):
    """A click restarts every run; their first pieces come a few ms apart and are shown in
    one redraw (when the last is in), not one redraw each."""
    import threading

    import hillwalk.gui.state as state_module
    from hillwalk.core import experiment
    from tests.gui.test_app import click_plane

    window, state = iris_window, iris_window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    # the merged redraw waits for the last first piece here, never for its timer
    monkeypatch.setattr(state_module, "FIRST_PIECES_WAIT_MS", 600_000)
    labels = {entry.id: state.runs[entry.id].label for entry in state.optimizers if entry.enabled}
    released = {label: threading.Event() for label in labels.values()}
    real_stream_run = experiment.stream_run

    everyone = threading.Event()

    def wait_for(event, should_stop):
        while not event.wait(0.005):
            if should_stop():
                return False
        return True

    def held_stream_run(objective, plane, race, spec, label, report, should_stop, **options):
        if not wait_for(released[label], should_stop):   # until the test lets this run go
            return None

        def held_report(*arguments):   # after its first piece, a run waits for the others' release
            report(*arguments)
            wait_for(everyone, should_stop)

        return real_stream_run(objective, plane, race, spec, label, held_report, should_stop, **options)

    monkeypatch.setattr(experiment, "stream_run", held_stream_run)
    shown = []   # at each redraw, the restarted runs that had a piece
    olds = dict(state.runs)
    state.runs_updated.connect(lambda: shown.append(
        sorted(i for i, run in state.runs.items() if run is not olds.get(i) and len(run.a) >= 2)))
    click_plane(qtbot, window, 0.4, -0.3)
    qtbot.waitUntil(lambda: state.views_current, timeout=UI_TIMEOUT_MS)   # the restart itself redrawn
    shown.clear()
    first, *others = labels
    released[labels[first]].set()
    qtbot.waitUntil(lambda: len(state.runs[first].a) >= 2, timeout=SCENE_TIMEOUT_MS)
    assert shown == [] and not state.views_current   # its redraw waits for the others
    for entry_id in others:
        released[labels[entry_id]].set()
    qtbot.waitUntil(lambda: shown != [], timeout=SCENE_TIMEOUT_MS)
    assert shown[0] == sorted(labels)   # one redraw, with every first piece
    everyone.set()
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)


def test_a_progress_report_paints_nothing_inside_its_handler(qtbot, window):
    """QProgressBar.setValue repaints at once when the bar moves, which painted every widget
    waiting for an update (the figures too) inside the progress handler; the bar now waits
    for the window's next update like everything else."""
    from PyQt6 import QtWidgets

    class PaintCounter(QtCore.QObject):
        painted = []

        def eventFilter(self, receiver, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                self.painted.append(type(receiver).__name__)
            return False

    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.state.progress.emit("computing: a test", 0.1)
    wait_for_frames(qtbot, window)   # the bar shown and painted at 10%
    assert window.progress_bar.isVisible()
    counter = PaintCounter()
    QtWidgets.QApplication.instance().installEventFilter(counter)
    try:
        window.heatmap.figure.viewport().update()   # a figure waiting for its update
        for fraction in (0.35, 0.6, 0.85):
            window.state.progress.emit("computing: a test", fraction)
        assert counter.painted == []
        assert window.progress_bar.value() == 850
        qtbot.waitUntil(lambda: "QProgressBar" in counter.painted, timeout=UI_TIMEOUT_MS)   # painted later
    finally:
        QtWidgets.QApplication.instance().removeEventFilter(counter)
        window.state.progress.emit("", 1.0)


def test_the_window_paints_in_a_turn_of_the_event_loop_of_its_own(qtbot, window):
    """A paint asked for during a turn of the event loop is not made in that turn (Qt would
    deliver the window's update request right after the work, or, from a graphics scene, at
    once): it comes from a short timer, after what was waiting meanwhile."""
    from PyQt6 import QtWidgets

    class PaintCounter(QtCore.QObject):
        painted = []

        def eventFilter(self, receiver, event):
            if event.type() == QtCore.QEvent.Type.Paint:
                self.painted.append(receiver)
            return False

    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    wait_for_frames(qtbot, window)
    app = QtWidgets.QApplication.instance()
    counter = PaintCounter()
    app.installEventFilter(counter)
    try:
        window.status_message.setText("a new status")   # asks for a paint
        app.sendPostedEvents()   # the rest of this turn: the window's update request among them
        assert window.status_message not in counter.painted
        qtbot.waitUntil(lambda: window.status_message in counter.painted, timeout=UI_TIMEOUT_MS)   # painted later
    finally:
        app.removeEventFilter(counter)


def test_the_cut_and_the_curves_follow_the_heatmap_in_turns_of_their_own(qtbot, iris_window):
    """A click restarts the race: when the merged redraw that shows the first pieces is
    announced, the heatmap draws at once, the cut and the curves a few ms later (each in a
    later turn of the event loop); the scene counts as complete only when they have drawn."""
    from hillwalk.gui.pacing import DeferredSlot

    window, state = iris_window, iris_window.state
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    followers = {name: panel.findChildren(DeferredSlot) for name, panel in
                 (("cut", window.cut_panel), ("curves", window.curves))}
    seen = []

    def at_redraw():   # connected after the views
        if not seen and state.runs and all(len(run.a) >= 2 for run in state.runs.values()):
            seen.append(({name: any(slot.pending for slot in slots) for name, slots in followers.items()},
                         window.scene_complete()))

    state.runs_updated.connect(at_redraw)
    try:
        figure = window.heatmap.figure
        point = figure.mapFromScene(window.heatmap.scene_position_of(0.3, -0.2))
        qtbot.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton, pos=point)
        qtbot.waitUntil(lambda: bool(seen), timeout=SCENE_TIMEOUT_MS)
    finally:
        state.runs_updated.disconnect(at_redraw)
    waiting, complete = seen[0]
    assert waiting == {"cut": True, "curves": True} and not complete
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    # and they did draw the restarted runs
    for entry in state.optimizers:
        run = state.runs[entry.id]
        assert window.curves.curve_data(entry.id, "loss")[0].size == run.steps.size


def test_the_three_figures_paint_at_three_phases_of_the_frame(qtbot, window):
    """A change that reaches the heatmap, the cut and the curves together is painted in
    three window paints a third of a frame apart, not in one stretch of the GUI thread."""
    from hillwalk.gui.figures import _FrameRepaint, milliseconds_to_phase
    from hillwalk.gui.main_window import FRAME_INTERVAL_MS

    phases = [view.findChild(_FrameRepaint)._phase_ms
              for view in (window.heatmap.figure, window.cut_panel.plot_widget, window.curves.graphics)]
    assert phases == [0, FRAME_INTERVAL_MS // 3, 2 * FRAME_INTERVAL_MS // 3]
    # the wait to a phase: to the next time at the phase, within a frame, at least 1 ms
    assert milliseconds_to_phase(990.0, 30, 0) == 1 and milliseconds_to_phase(990.5, 30, 0) == 30
    assert milliseconds_to_phase(990.0, 30, 10) == 10 and milliseconds_to_phase(1002.0, 30, 10) == 28
    assert milliseconds_to_phase(1019.2, 30, 20) == 21 and milliseconds_to_phase(1009.5, 30, 20) == 1


class _EventCounter(QtCore.QObject):
    """Counts events of the given types per receiver (an application-wide event filter)."""

    def __init__(self, *types):
        super().__init__()
        self.types = set(types)
        self.seen = []

    def eventFilter(self, receiver, event):
        if event.type() in self.types:
            self.seen.append(receiver)
        return False


def test_a_race_restart_and_progress_words_lay_out_neither_the_heatmap_nor_the_window(qtbot, window):
    """The heatmap's note (whose lines go and come back as the race restarts) resized the
    figure, laid out and painted whole, 2-3 times per regularization change; the landscape
    panel set its rules again at every merged redraw and its dock was laid out 20-27 times;
    the words of each progress report laid the main window out again (~70 times). None of
    that happens now."""
    from PyQt6 import QtWidgets

    Type = QtCore.QEvent.Type
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    wait_for_frames(qtbot, window)
    app = QtWidgets.QApplication.instance()
    counter = _EventCounter(Type.LayoutRequest, Type.Resize)
    app.installEventFilter(counter)
    try:
        for point in ((0.3, -0.2), (-0.3, 0.25)):   # two clicks: two restarts of the race
            figure = window.heatmap.figure
            qtbot.mouseClick(figure.viewport(), QtCore.Qt.MouseButton.LeftButton,
                             pos=figure.mapFromScene(window.heatmap.scene_position_of(*point)))
            qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
        assert window.heatmap.figure not in counter.seen
        assert window.landscape_panel not in counter.seen
        window.state.progress.emit("computing: a job", 0.1)   # the bar shown
        wait_for_frames(qtbot, window)
        counter.seen.clear()
        for words in ("a long label " * 4, "short", "a longer label " * 6):   # as runs take turns
            window.state.progress.emit("computing: " + words, 0.5)
            wait_for_frames(qtbot, window, 2)
        assert window.status_message.text() == "computing: " + "a longer label " * 6
        assert window not in counter.seen
    finally:
        app.removeEventFilter(counter)
        window.state.progress.emit("", 1.0)


def test_a_figure_slow_to_paint_paints_less_often(qtbot, window):
    """After a slow paint a figure paints again no sooner than twice its cost after it, so
    that on a loaded machine (a heatmap paint took 15-30 ms) its paints cannot fill the GUI
    thread; a figure painted quickly keeps the frame's pace."""
    import time

    from hillwalk.gui.figures import _FrameRepaint
    from hillwalk.gui.main_window import FRAME_INTERVAL_MS
    from hillwalk.gui.pacing import paint_in_own_turn

    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    window.scrub.setValue(window.scrub.maximum())   # the race no longer plays: the scene is still
    wait_for_frames(qtbot, window)
    pacer = paint_in_own_turn(window)
    view = window.heatmap.figure
    repaint = view.findChild(_FrameRepaint)
    assert id(view) in pacer._last_paint   # its paints are timed
    delays = []   # the repaint's wait, read when the scene reports the change (after the figure has)
    view.scene().changed.connect(lambda _regions: delays.append(repaint._timer.remainingTime()))
    for cost_s in (0.002, 0.1):
        qtbot.waitUntil(lambda: not repaint._timer.isActive() and not pacer.pending, timeout=UI_TIMEOUT_MS)
        delays.clear()
        pacer._last_paint[id(view)] = (time.monotonic(), cost_s)   # a paint of this cost just ended
        window.heatmap.cut_line.setData([0.0, cost_s], [0.0, cost_s])   # a change in its scene
        qtbot.waitUntil(lambda: bool(delays), timeout=UI_TIMEOUT_MS)
        if cost_s > 0.05:
            assert delays[0] > 100   # ~200 ms after the 100 ms paint
        else:
            assert 0 <= delays[0] <= FRAME_INTERVAL_MS



def test_a_new_regularization_leaves_the_curves_plots_in_place(qtbot, window, monkeypatch):
    """A regularization strength typed in gives a new objective with the same plots: the
    curves are not laid out again (2 ms of the new objective's arrival, the longest piece
    of a lambda change); a 2-D function, which has no accuracy, still rearranges them."""
    qtbot.waitUntil(window.scene_complete, timeout=SCENE_TIMEOUT_MS)
    layout = window.curves.graphics.ci
    removed = []
    remove = layout.removeItem
    monkeypatch.setattr(layout, "removeItem", lambda item: (removed.append(item), remove(item)))
    old = window.state.objective
    box = window.model_panel.lam
    box.setFocus()
    box.lineEdit().selectAll()
    qtbot.keyClicks(box.lineEdit(), f"{box.value() * 2:.6g}")
    qtbot.keyClick(box.lineEdit(), QtCore.Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: window.state.objective is not old and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    assert removed == []
    window.state.set_problem(objective="rosenbrock")
    qtbot.waitUntil(lambda: not window.state.objective.has_data and window.scene_complete(), timeout=SCENE_TIMEOUT_MS)
    assert removed and not window.curves.accuracy_plot.isVisible()
