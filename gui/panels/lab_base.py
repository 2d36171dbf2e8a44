"""Shared behaviour of the lab tabs: views of ``state.labs`` (gui/lab_state.py).

A lab panel reads its settings from its widgets, asks ``state.labs.request(lab, ...)``
when they change, and draws ``state.labs.result(lab)`` when ``lab_ready`` fires. It never
computes: the state runs the lab's core task in a worker, recomputes when the scene
changes while the panel is shown (the panel says when it is), and says when the lab does
not apply, in which case the panel shows that one line instead of its plots."""
from __future__ import annotations

from PyQt6 import QtCore, QtWidgets

POINTS = [("a random initial W (as in the notes)", "initial"), ("the race's start", "start"),
          ("the slice's centre", "center")]


class LabPanel(QtWidgets.QWidget):
    """Subclasses set ``lab`` (a name of core.labs.tasks.LAB_NAMES), build their widgets
    into ``self.body``, and implement ``settings()`` and ``show_result(result)``."""

    lab = ""

    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        outer = QtWidgets.QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.reason = QtWidgets.QLabel("")
        self.reason.setObjectName("labReason")
        self.reason.setWordWrap(True)
        self.reason.setVisible(False)
        self.reason.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        self.reason.setContentsMargins(12, 12, 12, 12)
        self.body = QtWidgets.QWidget()
        outer.addWidget(self.reason)
        outer.addWidget(self.body, 1)
        self.status = QtWidgets.QLabel("")
        self.status.setWordWrap(True)
        self.status.setAlignment(QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop)
        labs = state.labs
        labs.lab_ready.connect(self._on_ready)
        labs.lab_failed.connect(self._on_failed)
        labs.lab_unavailable.connect(self._on_unavailable)
        labs.lab_pending.connect(self._on_pending)

    @property
    def result(self):
        """The lab's last result, as the state holds it (None until computed)."""
        return self.state.labs.result(self.lab)

    def settings(self) -> dict:
        """The lab's settings as the widgets show them (keys of lab_state.DEFAULT_SETTINGS)."""
        return {}

    def make_point_choice(self):
        """A combo choosing where the lab evaluates: a random initial W (the notes' choice;
        at a trained minimum the gradient nearly vanishes and every test degenerates), the
        race's start, or the slice's centre."""
        self.point = QtWidgets.QComboBox()
        self.point.setObjectName("labPoint")
        self.point.setSizeAdjustPolicy(QtWidgets.QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.point.setMinimumContentsLength(18)
        for text, data in POINTS:
            self.point.addItem(text, data)
        self.point.setToolTip("Where to evaluate. Near a trained minimum the gradient almost vanishes, so relative "
                              "errors and step sizes say little there")
        self.point.currentIndexChanged.connect(self.refresh)
        return self.point

    def point_text(self) -> str:
        return self.point.currentText() if hasattr(self, "point") else "the slice's centre"

    def refresh(self):
        """Ask the state to compute the lab with the widgets' settings."""
        self.state.labs.request(self.lab, **self.settings())

    def showEvent(self, event):
        super().showEvent(event)
        self.state.labs.set_visible(self.lab, True, **self.settings())

    def hideEvent(self, event):
        super().hideEvent(event)
        self.state.labs.set_visible(self.lab, False)

    def _show_available(self, available: bool):
        self.reason.setVisible(not available)
        self.body.setVisible(available)

    def _on_ready(self, lab):
        if lab == self.lab:
            self._show_available(True)
            self.show_result(self.result)
            self.status.setMinimumHeight(0)

    def _on_failed(self, lab, message):
        if lab == self.lab:
            self.status.setText(f"<span style='color:#b00'>{message}</span>")
            self.status.setMinimumHeight(0)

    def _on_unavailable(self, lab, reason):
        if lab == self.lab:
            self.reason.setText(reason)
            self._show_available(False)
            self.status.setMinimumHeight(0)

    def _on_pending(self, lab):
        if lab == self.lab and self.isVisible():
            # the status keeps its height while the lab computes: "Computing…" in one line
            # where the last result's lines were gave the plots above it a new height, and
            # the result's lines gave it back, each a relayout and a paint of every plot
            # (the Initialization lab's ten: 50-130 ms of the GUI thread each time)
            if self.status.isVisible() and self.status.height() > 0:
                self.status.setMinimumHeight(self.status.height())
            self.status.setText("Computing…")
            self._show_available(True)

    def show_result(self, result):  # pragma: no cover - abstract
        raise NotImplementedError
