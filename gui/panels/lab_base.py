"""Shared behaviour of the lab tabs: recompute when the scene changes, but only while
visible (or when next shown), in a worker of the app's job slots."""
from __future__ import annotations

from PyQt6 import QtWidgets


POINTS = [("a random initial W (as in the notes)", "initial"), ("the race's start", "start"),
          ("the slice's centre", "center")]


class LabPanel(QtWidgets.QWidget):
    """Subclasses implement ``make_job()`` (returning a job function, or None when the lab
    has nothing to compute) and ``show_result(result)``."""

    kind = "lab"

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        self.result = None
        self._dirty = True
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        state.plane_ready.connect(self.invalidate)
        state.objective_ready.connect(self.invalidate)
        state.jobs.finished.connect(self._on_finished)
        state.jobs.failed.connect(self._on_failed)

    def make_point_choice(self):
        """A combo choosing where the lab evaluates: a random initial W (the notes' choice;
        at a trained minimum the gradient nearly vanishes and every test degenerates), the
        race's start, or the slice's centre."""
        self.point = QtWidgets.QComboBox()
        self.point.setObjectName("labPoint")
        self.point.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.point.setMinimumContentsLength(18)
        for text, data in POINTS:
            self.point.addItem(text, data)
        self.point.setToolTip("Where to evaluate. Near a trained minimum the gradient almost vanishes, so relative "
                              "errors and step sizes say little there")
        self.point.currentIndexChanged.connect(self.refresh)
        return self.point

    def current_point(self):
        """The parameters the lab evaluates at (see make_point_choice)."""
        state = self.state
        choice = self.point.currentData() if hasattr(self, "point") else "center"
        if choice == "initial" and state.objective.has_random_init:
            return state.objective.initial_theta(state.slice.init_scale, state.slice.seed)
        if choice == "initial":  # a 2-D function has no random initialization: use its start
            return state.plane.point(*state.race.start)
        if choice == "start" and state.plane.dir2 is not None:
            return state.plane.point(*state.race.start)
        return state.plane.center

    def point_text(self) -> str:
        return self.point.currentText() if hasattr(self, "point") else "the slice's centre"

    def invalidate(self):
        self._dirty = True
        if self.isVisible():
            self.refresh()

    def showEvent(self, event):
        super().showEvent(event)
        if self._dirty:
            self.refresh()

    def refresh(self):
        """Start the lab's computation for the current scene."""
        self._dirty = False
        if self.state.objective is None or self.state.plane is None:
            self.status.setText("Waiting for the scene…")
            return
        job = self.make_job()
        if job is not None:
            self.status.setText("Computing…")
            self.state.jobs.start(self.kind, job)

    def _on_finished(self, kind, result):
        if kind == self.kind:
            self.result = result
            self.show_result(result)

    def _on_failed(self, kind, message, user_error):
        if kind == self.kind:
            self.status.setText(f"<span style='color:#b00'>{message.splitlines()[0]}</span>")

    def make_job(self):  # pragma: no cover - abstract
        raise NotImplementedError

    def show_result(self, result):  # pragma: no cover - abstract
        raise NotImplementedError
