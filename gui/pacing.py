"""Spreading the GUI thread's work over separate turns of the event loop.

During a race the views are redrawn once a frame. Done in one go, the heatmap's, the cut's
and the curves' redraws and then the window's paint held the GUI thread for one stretch:
with two CPU-bound processes beside the app, 60-90 ms in which a key press or a click
waited (measured by ``benchmarks/bench_window.py``'s 5 ms timer). Here the parts take
turns: the secondary views follow the state a few milliseconds after the primary one
(:class:`DeferredSlot`), and the window paints in a turn of its own
(:func:`paint_in_own_turn`), so that input is handled between any two of them.
"""
from __future__ import annotations

import time

from PyQt6 import QtCore, sip

# the cut, then the curves, follow the state this long after the heatmap
CUT_FOLLOWS_MS = 8
CURVES_FOLLOW_MS = 16
# how long after a paint was asked for the window paints (in a later turn of the loop)
PAINT_DELAY_MS = 1
# after a paint slower than SLOW_PAINT_S (a quarter of a frame; unloaded, a figure paints
# in 2-5 ms) a figure paints again no sooner than PAINT_SHARE_FACTOR times its cost after it
SLOW_PAINT_S = 0.008
PAINT_SHARE_FACTOR = 2.0
# a staged drawing's stages follow one another this long apart (see StagedDrawing)
STAGE_DELAY_MS = 16


def single_shot_timer(parent: QtCore.QObject, slot, interval_ms: int = 0) -> QtCore.QTimer:
    """A single-shot timer, a child of ``parent``, that calls ``slot`` (started by its owner)."""
    timer = QtCore.QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(int(interval_ms))
    timer.timeout.connect(slot)
    return timer


class DeferredSlot(QtCore.QObject):
    """Calls ``slot()`` ``delay_ms`` milliseconds after any of ``signals`` is emitted: once
    for any number of emissions meanwhile, and without their arguments (the slot reads the
    state as it is then, not as it was at an emission). A child of ``owner``: deleted with
    it, and then never calls ``slot``."""

    def __init__(self, owner: QtCore.QObject, signals, slot, delay_ms: int):
        super().__init__(owner)
        self._timer = single_shot_timer(self, slot, delay_ms)   # (deleted with this, never calls a dead owner)
        for signal in signals:
            signal.connect(self._on_signal)

    @property
    def pending(self) -> bool:
        """Whether an emission is waiting for its call."""
        return self._timer.isActive()

    def _on_signal(self, *_arguments):
        if not self._timer.isActive():
            self._timer.start()


class StagedDrawing(QtCore.QObject):
    """Draws a result in stages, each in a turn of the event loop of its own, ``delay_ms``
    after the one before (the window's paint of a stage, a millisecond after it, comes
    between): a panel whose whole redraw and paint held the GUI thread 40-60 ms gives it
    up between smaller pieces. A child of ``owner``.

    ``start(stages)`` (callables) runs the first stage at once and drops the stages of a
    drawing still in progress (their result is stale); ``pending`` says whether stages are
    waiting."""

    def __init__(self, owner: QtCore.QObject, delay_ms: int):
        super().__init__(owner)
        self._stages = []
        self._timer = single_shot_timer(self, self._next, delay_ms)

    @property
    def pending(self) -> bool:
        return bool(self._stages)

    def start(self, stages):
        self._timer.stop()
        self._stages = list(stages)
        self._next()

    def finish(self):
        """Run the waiting stages now (for a picture of the whole result: an export)."""
        self._timer.stop()
        while self._stages:
            self._stages.pop(0)()

    def _next(self):
        if not self._stages:
            return
        stage = self._stages.pop(0)
        if self._stages:
            self._timer.start()   # (before the stage: a stage that starts a new drawing stops it)
        stage()


class OwnTurnPaint(QtCore.QObject):
    """The event filter of :func:`paint_in_own_turn`, and its queue of figures.

    Signals
    -------
    window_painted : a window paint was delivered
    """

    window_painted = QtCore.pyqtSignal()
    # What eventFilter reads before anything else, as class defaults: while a window is
    # destroyed (a test's window deleted later, its lab pages with it), Qt can still pass
    # the window's events through this filter after Python collected its wrapper, and the
    # wrapper then made for it has none of __init__'s attributes ("'OwnTurnPaint' object
    # has no attribute '_window'", seen in the suite once lab pages were built ahead):
    # such a filter filters nothing.
    _window = None
    _painting = False

    def __init__(self, window, delay_ms: int):
        super().__init__(window)
        self._window = window
        self._timer = single_shot_timer(self, self._paint, delay_ms)
        self._painting = False
        self._figures = []   # graphics views waiting for their paint, in the order they asked
        self._regions = {}   # id(view) -> the QRegion of its viewport to paint (None: all)
        self._released = None   # the figure whose paint the next window paint is
        self._last_paint = {}   # id(view) -> (when its last paint ended, its cost), monotonic seconds
        window.installEventFilter(self)

    @property
    def pending(self) -> bool:
        """Whether a paint is waiting (the window's, or a queued figure's)."""
        return self._timer.isActive() or bool(self._figures)

    def earliest_next_paint(self, view) -> float:
        """The monotonic time (seconds) before which ``view`` should not paint again: after a
        paint slower than SLOW_PAINT_S, its end plus PAINT_SHARE_FACTOR times its cost, so
        that a figure's paints take at most about a third of the GUI thread however slow
        they get (under load a heatmap paint took 15-30 ms, and at 30 paints a second the
        figures' paints alone filled the thread); else 0, and the frame sets the pace."""
        end, cost = self._last_paint.get(id(view), (0.0, 0.0))
        return end + PAINT_SHARE_FACTOR * cost if cost > SLOW_PAINT_S else 0.0

    def paint_figure(self, view, region=None):
        """Paint ``region`` (a QRegion in viewport pixels; None: all) of ``view``'s viewport
        in a window paint of its own: at once if no paint is waiting, else after those
        before it."""
        if view in self._figures:
            waiting = self._regions[id(view)]
            self._regions[id(view)] = None if waiting is None or region is None else waiting.united(region)
        else:
            self._figures.append(view)
            self._regions[id(view)] = region
        if not self._timer.isActive():
            self._next_figure()

    def eventFilter(self, watched, event):
        if (watched is self._window and not self._painting
                and event.type() == QtCore.QEvent.Type.UpdateRequest):
            # Qt remembers that a paint was asked for and posts no other until one is
            # delivered: the one sent from the timer paints everything dirty by then
            if not self._timer.isActive():
                self._timer.start()
            return True
        return False

    def _paint(self):
        self._painting = True
        started = time.monotonic()
        try:
            QtCore.QCoreApplication.sendEvent(self._window, QtCore.QEvent(QtCore.QEvent.Type.UpdateRequest))
        finally:
            self._painting = False
        if self._released is not None:   # (the paint also painted small widgets: counted with it)
            ended = time.monotonic()
            self._last_paint[id(self._released)] = (ended, ended - started)
            self._released = None
        self._next_figure()
        self.window_painted.emit()

    def _next_figure(self):
        while self._figures:
            view = self._figures.pop(0)
            region = self._regions.pop(id(view), None)
            if sip.isdeleted(view) or not view.viewport().isVisible():
                continue   # (a hidden figure is painted by Qt when it is shown)
            if region is not None and region.isEmpty():
                continue   # nothing of it changed
            self._released = view
            if region is None:   # its part of the next window paint
                view.viewport().update()
            else:
                view.viewport().update(region)
            # (its update request, held back by eventFilter, would start the timer too; but
            # an update Qt drops would leave the figures behind it waiting for another paint)
            if not self._timer.isActive():
                self._timer.start()
            return


def paint_in_own_turn(window, delay_ms: int = PAINT_DELAY_MS):
    """Let the top-level ``window`` paint only from a timer ``delay_ms`` after a paint was
    asked for, never inside the turn of the event loop that asked.

    Qt paints a window when it delivers the window's posted update request, which comes
    right after the work that dirtied it; a graphics scene even delivers it at once
    after processing its changed items. The paint then extended the redraw's stretch of the
    GUI thread. From a timer it comes after the loop has handled what was waiting (input,
    other timers).

    The figures (graphics views painted once a frame, see
    :func:`~hillwalk.gui.figures.repaint_once_a_frame`) ask through the returned filter's
    ``paint_figure(view)`` and are painted one per window paint, each in a turn of its own:
    on a loaded machine the GUI thread fell behind their frame timers, which then fired
    together, and the heatmap, the cut and the curves were painted in one stretch (25-40
    ms with two CPU-bound processes beside the app). Installing it twice does nothing
    more. Returns the filter (``pending``: a paint is waiting)."""
    existing = window.findChild(OwnTurnPaint, options=QtCore.Qt.FindChildOption.FindDirectChildrenOnly)
    return existing if existing is not None else OwnTurnPaint(window, delay_ms)
