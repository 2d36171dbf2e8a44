"""Loss lab: the CS231n notes' worked example of the multiclass SVM and softmax losses
(core.labs.worked_example, run as the "loss" lab task): an editable score table, each
hinge term and probability behind the losses, the notes' three questions answered from
the table, and the notes' L2 example. The lab depends on its own table alone, not on the
scene."""
from __future__ import annotations

import html

from PyQt6 import QtCore, QtGui, QtWidgets

from ..lab_state import NOTES_DELTA, NOTES_LABELS, NOTES_NAMES, NOTES_SCORES
from .lab_base import LabPanel
from .widgets import RangeDoubleSpinBox, bind_range, set_quietly

CORRECT_BACKGROUND = QtGui.QColor("#e6f2e6")   # the correct class's cell in every table
DELTA = "\u0394"


def number(value) -> str:
    """How the lab writes a computed value: 4 significant digits (2.9, 0, 12.9, 5.267)."""
    return f"{value:.4g}"


def typed(value) -> str:
    """How the score table writes a score: as typed, without float noise (3.2, not 3.2000000000000002)."""
    return f"{value:.12g}"


def _read_only_table(rows, columns, name):
    table = QtWidgets.QTableWidget(rows, columns)
    table.setObjectName(name)
    table.setEditTriggers(QtWidgets.QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionMode(QtWidgets.QAbstractItemView.SelectionMode.NoSelection)
    table.setFocusPolicy(QtCore.Qt.FocusPolicy.NoFocus)
    return table


def _fit(table):
    """Size a small table to its contents: no scroll bars, no empty band below."""
    table.resizeColumnsToContents()
    table.resizeRowsToContents()
    table.setHorizontalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setVerticalScrollBarPolicy(QtCore.Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    frame = 2 * table.frameWidth()
    # the headers' size hints hold before the table is first shown (their sizes do not)
    table.setFixedHeight(table.horizontalHeader().sizeHint().height() + frame
                         + sum(table.rowHeight(r) for r in range(table.rowCount())))
    table.setFixedWidth(table.verticalHeader().sizeHint().width() + frame
                        + sum(table.columnWidth(c) for c in range(table.columnCount())))


def _cell(text, correct=False, tooltip=""):
    item = QtWidgets.QTableWidgetItem(text)
    item.setTextAlignment(QtCore.Qt.AlignmentFlag.AlignRight | QtCore.Qt.AlignmentFlag.AlignVCenter)
    if correct:
        item.setBackground(CORRECT_BACKGROUND)
    if tooltip:
        item.setToolTip(tooltip)
    return item


def _label(name=""):
    label = QtWidgets.QLabel("")
    label.setWordWrap(True)
    label.setTextInteractionFlags(QtCore.Qt.TextInteractionFlag.TextSelectableByMouse)
    if name:
        label.setObjectName(name)
    return label


class LossLab(LabPanel):
    """The notes' three images (cat, car, frog) and three classes: the score table (rows are
    the images, columns each class's score; type into it), the SVM's hinge terms and
    ``L_i``, the softmax probabilities and ``L_i``, their means, the notes' questions
    (a)-(c) and the L2 example, every number from the lab's core task."""

    lab = "loss"

    def __init__(self, state, parent=None):
        super().__init__(state, parent)
        outer = QtWidgets.QVBoxLayout(self.body)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QtWidgets.QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QtWidgets.QFrame.Shape.NoFrame)
        outer.addWidget(scroll)
        content = QtWidgets.QWidget()
        scroll.setWidget(content)
        layout = QtWidgets.QVBoxLayout(content)

        top = QtWidgets.QHBoxLayout()
        top.addWidget(QtWidgets.QLabel(f"SVM margin {DELTA}:"))
        self.delta = RangeDoubleSpinBox()
        self.delta.setObjectName("lossDelta")
        self.delta.setDecimals(6)   # a margin of 0.0001 is a margin (3 decimals rounded it to 0.001)
        self.delta.setSingleStep(0.5)
        # the range of every SVM margin (core.limits); a number typed outside it goes to the
        # state, which refuses it with that range in one message
        bind_range(self.delta, "problem.delta", lambda name, value, low, high: self._request(delta=value))
        self.delta.setValue(NOTES_DELTA)
        self.delta.setToolTip("delta in max(0, s_j - s_y + delta): how far the correct score must lead every other "
                              "score before the SVM loss is 0 (the notes use 1)")
        top.addWidget(self.delta)
        self.reset = QtWidgets.QPushButton("Reset to the notes' numbers")
        self.reset.setObjectName("lossReset")
        self.reset.setToolTip("The notes' scores and delta = 1")
        top.addWidget(self.reset)
        top.addStretch(1)
        layout.addLayout(top)
        layout.addWidget(self.status)

        self.scores = QtWidgets.QTableWidget(len(NOTES_SCORES), len(NOTES_NAMES))
        self.scores.setObjectName("lossScores")
        self.scores.setHorizontalHeaderLabels([f"{name} score\n(class {k})" for k, name in enumerate(NOTES_NAMES)])
        self.scores.setVerticalHeaderLabels([f"{NOTES_NAMES[label]} image (label {label})" for label in NOTES_LABELS])
        self.scores.setToolTip("Type a score and press Enter: every loss below is recomputed. Each row is one image "
                               "(example), each column the score it gets for a class; the shaded cell is its correct "
                               "class.")
        self.svm = _read_only_table(len(NOTES_SCORES), len(NOTES_NAMES) + 1, "lossSvm")
        self.svm.setHorizontalHeaderLabels([*(f"{name}\nterm" for name in NOTES_NAMES), "L_i\n(sum)"])
        self.svm.setVerticalHeaderLabels([f"{NOTES_NAMES[label]} image" for label in NOTES_LABELS])
        self.softmax = _read_only_table(len(NOTES_SCORES), len(NOTES_NAMES) + 1, "lossSoftmax")
        self.softmax.setHorizontalHeaderLabels([*(f"p({name})" for name in NOTES_NAMES), "L_i\n(-ln p_y)"])
        self.softmax.setVerticalHeaderLabels([f"{NOTES_NAMES[label]} image" for label in NOTES_LABELS])
        self.svm_mean = _label("lossSvmMean")
        self.softmax_mean = _label("lossSoftmaxMean")

        tables = QtWidgets.QGridLayout()
        tables.setHorizontalSpacing(24)
        tables.setVerticalSpacing(4)
        top_left = QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignTop

        def add(row, column, caption, table, below):
            text = _label()
            text.setText(caption)
            tables.addWidget(text, row, column, QtCore.Qt.AlignmentFlag.AlignBottom)
            tables.addWidget(table, row + 1, column, top_left)
            tables.addWidget(below, row + 2, column)   # a wrapped label: the column's whole width

        scores_note = _label()
        scores_note.setText("<small>The notes' figure draws one column per image; this table is that figure "
                            "turned on its side.</small>")
        add(0, 0, "<b>Scores</b> (type into the cells): a row per image, a column per class's score", self.scores,
            scores_note)
        add(0, 1, f"<b>Multiclass SVM</b>: terms max(0, s<sub>j</sub> - s<sub>y</sub> + {DELTA}) over the classes "
                  "j &ne; y (y: the correct class, shaded)", self.svm, self.svm_mean)
        add(3, 0, "<b>Softmax</b>: p<sub>j</sub> = e<sup>s<sub>j</sub></sup> / &Sigma;<sub>k</sub> "
                  "e<sup>s<sub>k</sub></sup>, L<sub>i</sub> = -ln p<sub>y</sub> (natural log)", self.softmax,
            self.softmax_mean)
        self.weights = _read_only_table(2, 3, "lossWeights")
        self.weights.setHorizontalHeaderLabels(["score w.x", "L2: sum w^2", "L1: sum |w|"])
        self.l2_verdict = _label("lossL2Verdict")
        add(3, 1, "<b>The notes' L2 example</b>: R(w) = &Sigma; w<sup>2</sup> (the app's L2), L1: &Sigma; |w|",
            self.weights, self.l2_verdict)
        tables.setRowMinimumHeight(3, 2 * self.fontMetrics().lineSpacing() + 12)
        for column in range(2):
            tables.setColumnStretch(column, 1)
        layout.addLayout(tables)

        layout.addWidget(QtWidgets.QLabel("<b>The notes' questions, answered from the table</b>"))
        self.questions = _label("lossQuestions")
        layout.addWidget(self.questions)
        layout.addStretch(1)

        self._fill_scores(NOTES_SCORES)
        self.scores.itemChanged.connect(self._on_score_edited)
        self.delta.valueChanged.connect(self._on_delta_changed)
        self.reset.clicked.connect(self._on_reset)

    # ================================================================= settings
    def settings(self):
        return {"scores": self._typed_scores(), "delta": float(self.delta.value())}

    def _typed_scores(self):
        """The table's cells as their text (the state reads and checks them)."""
        return tuple(tuple(self.scores.item(i, j).text() for j in range(self.scores.columnCount()))
                     for i in range(self.scores.rowCount()))

    def _fill_scores(self, scores):
        was = self.scores.blockSignals(True)
        for i, row in enumerate(scores):
            for j, value in enumerate(row):
                item = self.scores.item(i, j)
                if item is None:
                    self.scores.setItem(i, j, _cell(typed(value), correct=j == NOTES_LABELS[i]))
                else:   # an edit lands here from the item's own itemChanged: keep the item, set its text
                    item.setText(typed(value))
        self.scores.blockSignals(was)
        _fit(self.scores)

    def _show_settings_in_force(self):
        settings = self.state.labs.settings[self.lab]
        self._fill_scores(settings["scores"])
        set_quietly(self.delta, settings["delta"])

    def _request(self, **settings):
        """Ask the state for the lab with these settings; a refused setting (one message from
        the state) leaves the table and delta showing the settings in force."""
        self.state.labs.request(self.lab, **settings)
        self._show_settings_in_force()

    def _on_score_edited(self, item):
        self._request(scores=self._typed_scores())

    def _on_delta_changed(self, value):
        self._request(delta=float(value))

    def _on_reset(self):
        self._request(scores=NOTES_SCORES, delta=NOTES_DELTA)

    # ================================================================= drawing
    def show_result(self, example):
        if example is None:
            return
        labels = example.labels
        for i in range(example.scores.shape[0]):
            for j in range(example.n_classes):
                correct = j == labels[i]
                self.svm.setItem(i, j, _cell("(correct)" if correct else number(example.svm_terms[i, j]), correct,
                                             f"max(0, {typed(example.scores[i, j])} - {typed(example.scores[i, labels[i]])}"
                                             f" + {typed(example.delta)})" if not correct else
                                             "the correct class: not counted"))
                self.softmax.setItem(i, j, _cell(number(example.probabilities[i, j]), correct))
            self.svm.setItem(i, example.n_classes, _cell(number(example.svm_losses[i])))
            self.softmax.setItem(i, example.n_classes, _cell(number(example.softmax_losses[i])))
        _fit(self.svm)
        _fit(self.softmax)
        n = example.scores.shape[0]
        self.svm_mean.setText(f"mean L = ({' + '.join(number(v) for v in example.svm_losses)}) / {n} = "
                              f"<b>{number(example.svm_mean)}</b>")
        self.softmax_mean.setText(f"mean L = ({' + '.join(number(v) for v in example.softmax_losses)}) / {n} = "
                                  f"<b>{number(example.softmax_mean)}</b>")
        self.questions.setText(self._questions(example))
        self._show_regularization(example.regularization)
        self.status.setText("")

    def _questions(self, example):
        joined = " / ".join
        delta = number(example.delta)
        differences = example.correct_class_term
        same = example.correct_term_is_delta
        a = (f"<b>(a) Summing over every class, the correct one too?</b> L<sub>i</sub> would be "
             f"{joined(number(v) for v in example.svm_losses_with_correct)} instead of "
             f"{joined(number(v) for v in example.svm_losses)}: larger by {joined(number(v) for v in differences)}, "
             + (f"each exactly {DELTA} = {delta} (the correct class's own term max(0, s<sub>y</sub> - s<sub>y</sub> "
                f"+ {DELTA}) = {DELTA}), which is why the sum leaves it out."
                if same else f"which is not {DELTA} = {delta} everywhere."))
        row = example.wiggle_example
        name = NOTES_NAMES[example.labels[row]]
        image = f"the {name} image"
        correct_score = example.scores[row, example.labels[row]]
        losses = joined(number(v) for v in example.wiggle_losses)
        shifts = ", ".join(f"{s:+g}" for s in example.wiggle_shifts)
        # the loss stays 0 exactly when the lead is at least delta + the shift (core.labs.worked_example)
        wiggle = float(example.wiggle_shifts[-1])
        lead = (f"its {name} score {typed(correct_score)} leads the best other score by {number(example.wiggle_lead)}"
                f", {'at least' if example.wiggle_stays_zero else 'less than'} "
                f"{DELTA} + {wiggle:g} = {number(example.delta + wiggle)}")
        if example.wiggle_stays_zero:
            verdict = "<span style='color:#090'>it stays 0</span>"
        else:
            verdict = "<span style='color:#b00'>it does not stay 0 with this table</span>"
        b = (f"<b>(b) Move {image}'s {name} score by {shifts}:</b> its SVM loss is {losses}; {verdict} ({lead}).")
        c_classes = example.n_classes
        c = (f"<b>(c) All scores 0 (W tiny):</b> from a table of zeros the SVM loss is "
             f"<b>{number(example.zero_svm)}</b> (the notes: (C - 1) {DELTA} = {c_classes - 1} x {delta} = "
             f"{number(example.zero_svm_expected)}) and the softmax loss <b>{number(example.zero_softmax)}</b> "
             f"(the notes: ln C = ln {c_classes} = {number(example.zero_softmax_expected)}). A first loss far from "
             "these signals a bug.")
        return "<br>".join((a, b, c))

    def _show_regularization(self, reg):
        names = [f"w{k + 1} = [{', '.join(typed(v) for v in w)}]" for k, w in enumerate(reg.weights)]
        self.weights.setVerticalHeaderLabels(names)
        preferred = reg.l2_preferred
        for k in range(reg.weights.shape[0]):
            for column, value in enumerate((reg.scores[k], reg.l2[k], reg.l1[k])):
                self.weights.setItem(k, column, _cell(number(value), column == 1 and k == preferred))
        _fit(self.weights)
        x = f"[{', '.join(typed(v) for v in reg.x)}]"
        same_score, same_l1 = reg.same_scores, reg.same_l1
        other = 1 - preferred
        self.l2_verdict.setText(
            f"On x = {html.escape(x)} "
            + (f"both score {number(reg.scores[0])}" if same_score else "the scores differ")
            + f". L2 charges w{other + 1} {number(reg.l2[other])} and w{preferred + 1} {number(reg.l2[preferred])}: "
            f"<b>L2 prefers w{preferred + 1}</b>, the spread-out weights that use every input a little"
            + (f"; L1 charges both {number(reg.l1[0])}, so it cannot tell them apart." if same_l1 else "."))

