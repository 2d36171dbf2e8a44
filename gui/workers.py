"""Running core work off the GUI thread.

A job is a plain function ``job(report, should_stop)``, usually a task of
:mod:`core.experiment`: it calls ``report(fraction, text, partial=None)`` now and then, checks
``should_stop()`` between small steps, and returns its result (or raises
:class:`~core.errors.HillwalkError` for a user-facing problem). A partial result is an
increment (what is new since the previous one, never a copy of everything so far), posted by
the task at most every ~50 ms (:data:`core.optimization.paths.DEFAULT_POST_INTERVAL_S`), so
that the GUI thread, which merges them into one redraw a frame, never falls behind its queue.
:class:`Worker` runs it in the global ``QThreadPool`` and carries progress, partial
results, the result and errors back to the GUI thread as signals.

:class:`JobSlots` keeps one running job per kind ("slice", "problem", "run:2", ...):
starting a job of a kind cancels the stale one of that kind, whose late signals are
ignored.
"""
from __future__ import annotations

import time
import traceback

from PyQt6 import QtCore

from hillwalk.core.errors import HillwalkError

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second per job
RUN_THREADS = 8             # races of up to 8 methods advance together
RUN_KIND_PREFIX = "run:"


_RUN_POOL = None


def run_pool() -> QtCore.QThreadPool:
    """The thread pool of the races' runs (one for the process, like Qt's global pool)."""
    global _RUN_POOL
    if _RUN_POOL is None:
        _RUN_POOL = QtCore.QThreadPool()
        _RUN_POOL.setMaxThreadCount(RUN_THREADS)
    return _RUN_POOL


class Cancelled(Exception):
    """Raised inside a job when it notices it was cancelled."""


class WorkerSignals(QtCore.QObject):
    progress = QtCore.pyqtSignal(int, float, str)          # job id, fraction, text
    partial = QtCore.pyqtSignal(int, object)               # job id, partial result
    finished = QtCore.pyqtSignal(int, object)              # job id, result
    failed = QtCore.pyqtSignal(int, str, bool)             # job id, message, is a user error
    done = QtCore.pyqtSignal(int)                          # job id: emitted last, whatever happened


class Worker(QtCore.QRunnable):
    """Runs one job; ``cancel()`` asks it to stop at its next check."""

    _next_id = 0

    def __init__(self, job, kind: str):
        super().__init__()
        self.setAutoDelete(False)  # the slots keep a reference until done
        Worker._next_id += 1
        self.id = Worker._next_id
        self.kind = kind
        self.job = job
        self.signals = WorkerSignals()
        self._cancelled = False
        self._last_progress = 0.0

    def cancel(self):
        self._cancelled = True

    @property
    def cancelled(self) -> bool:
        return self._cancelled

    def _should_stop(self) -> bool:
        return self._cancelled

    def _report(self, fraction, text="", partial=None, force=False):
        if self._cancelled:
            raise Cancelled()
        now = time.monotonic()
        if partial is not None:
            self._emit("partial", self.id, partial)
        if force or partial is not None or now - self._last_progress >= PROGRESS_INTERVAL_S:
            self._last_progress = now
            self._emit("progress", self.id, float(fraction), text)
        if self._cancelled:
            raise Cancelled()

    def _emit(self, name, *arguments):
        """Emit the signal ``name``; once the signals' object is gone (the application
        closed while this job ran: a script that ends without closing its window) the job
        counts as cancelled instead of raising into the thread pool."""
        try:
            getattr(self.signals, name).emit(*arguments)
        except RuntimeError:   # "wrapped C/C++ object ... has been deleted"
            self._cancelled = True

    def run(self):
        try:
            result = self.job(self._report, self._should_stop)
            if not self._cancelled:
                self._emit("finished", self.id, result)
        except Cancelled:
            pass
        except HillwalkError as error:
            if not self._cancelled:
                self._emit("failed", self.id, str(error), True)
        except Exception as error:  # a bug: carried to the GUI, never swallowed
            if not self._cancelled:
                details = "".join(traceback.format_exception(type(error), error, error.__traceback__))
                self._emit("failed", self.id, f"{type(error).__name__}: {error}\n\n{details}", False)
        finally:
            self._emit("done", self.id)


class JobSlots(QtCore.QObject):
    """One live job per kind, on the global thread pool.

    Signals re-emit the live jobs' signals with their kind; stale jobs are silent.
    """

    progress = QtCore.pyqtSignal(str, float, str)
    partial = QtCore.pyqtSignal(str, object)
    finished = QtCore.pyqtSignal(str, object)
    failed = QtCore.pyqtSignal(str, str, bool)
    busy_changed = QtCore.pyqtSignal(bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.live: dict[str, Worker] = {}
        self.running: dict[int, Worker] = {}
        self.pool = QtCore.QThreadPool.globalInstance()
        # The race's methods walk side by side (the animation shows the slowest one's
        # reach), so they get threads of their own rather than queueing two at a time
        # behind one another in the pool sized to the cores.
        self.run_pool = run_pool()

    def start(self, kind: str, job) -> Worker:
        """Run ``job`` as the live job of ``kind``, cancelling the stale one."""
        self.cancel(kind)
        worker = Worker(job, kind)
        was_busy = bool(self.running)
        self.live[kind] = worker
        self.running[worker.id] = worker
        worker.signals.progress.connect(self._on_progress)
        worker.signals.partial.connect(self._on_partial)
        worker.signals.finished.connect(self._on_finished)
        worker.signals.failed.connect(self._on_failed)
        worker.signals.done.connect(self._on_done)
        (self.run_pool if kind.startswith(RUN_KIND_PREFIX) else self.pool).start(worker)
        if not was_busy:
            self.busy_changed.emit(True)
        return worker

    def cancel(self, kind: str):
        worker = self.live.pop(kind, None)
        if worker is not None:
            worker.cancel()

    def cancel_matching(self, prefix: str):
        for kind in [k for k in self.live if k.startswith(prefix)]:
            self.cancel(kind)

    def cancel_all(self):
        for kind in list(self.live):
            self.cancel(kind)

    def is_live(self, kind: str) -> bool:
        return kind in self.live

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Cancel everything and wait for the pool's threads to finish (for shutdown)."""
        self.cancel_all()
        finished = self.pool.waitForDone(timeout_ms)
        finished = self.run_pool.waitForDone(timeout_ms) and finished
        QtCore.QCoreApplication.processEvents()
        return finished

    def _live_kind(self, job_id):
        for kind, worker in self.live.items():
            if worker.id == job_id and not worker.cancelled:
                return kind
        return None

    def _on_progress(self, job_id, fraction, text):
        kind = self._live_kind(job_id)
        if kind is not None:
            self.progress.emit(kind, fraction, text)

    def _on_partial(self, job_id, partial):
        kind = self._live_kind(job_id)
        if kind is not None:
            self.partial.emit(kind, partial)

    def _on_finished(self, job_id, result):
        kind = self._live_kind(job_id)
        if kind is not None:
            del self.live[kind]
            self.finished.emit(kind, result)

    def _on_failed(self, job_id, message, user_error):
        kind = self._live_kind(job_id)
        if kind is not None:
            del self.live[kind]
            self.failed.emit(kind, message, user_error)

    def _on_done(self, job_id):
        self.running.pop(job_id, None)
        if not self.running:
            self.busy_changed.emit(False)

