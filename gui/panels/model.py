"""Model panel: the loss, its margin, and the regularizer."""
from __future__ import annotations

from PyQt6 import QtWidgets

from .widgets import ScientificSpinBox, combo, labelled_row, select_data, set_quietly


class ModelPanel(QtWidgets.QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        form = QtWidgets.QFormLayout(self)
        self.loss = combo([("softmax (cross-entropy)", "softmax"), ("multiclass SVM (hinge)", "svm")])
        self.loss.setObjectName("lossCombo")
        labelled_row(form, "Loss", self.loss, "Softmax: -log p(correct class). SVM: sum of max(0, s_j - s_y + delta)")
        self.delta = QtWidgets.QDoubleSpinBox()
        self.delta.setRange(0.01, 100.0)
        self.delta.setSingleStep(0.1)
        labelled_row(form, "SVM margin delta", self.delta, "The SVM's margin; at scores of 0 the loss is (C-1)*delta")
        self.regularizer = combo([("none", "none"), ("L2: sum W^2", "l2"), ("L1: sum |W|", "l1"),
                                  ("elastic net: beta sum W^2 + sum |W|", "elastic")])
        labelled_row(form, "Regularizer", self.regularizer, "The weight penalty R(W), scaled by lambda")
        self.lam = ScientificSpinBox(1e-8, 1e3, 1e-3, allow_zero=True)
        self.lam.setObjectName("lambdaSpin")
        labelled_row(form, "lambda", self.lam, "Regularization strength (arrows step 1, 2, 5 per decade). Changing it "
                     "recomputes only the regularization term; the centre is kept")
        self.beta = QtWidgets.QDoubleSpinBox()
        self.beta.setRange(0.0, 100.0)
        self.beta.setSingleStep(0.1)
        labelled_row(form, "elastic beta", self.beta, "Weight of the L2 part of the elastic net")
        self.regularize_bias = QtWidgets.QCheckBox("regularize the bias column")
        self.regularize_bias.setToolTip("Whether the bias (last column of W) is penalised; usually not")
        form.addRow(self.regularize_bias)
        self._sync()
        self.loss.currentIndexChanged.connect(lambda: state.set_problem(loss=self.loss.currentData()))
        self.delta.valueChanged.connect(lambda v: state.set_problem(delta=v))
        self.regularizer.currentIndexChanged.connect(lambda: state.set_problem(regularizer=self.regularizer.currentData()))
        self.lam.valueChanged.connect(lambda v: state.set_problem(lam=v))
        self.beta.valueChanged.connect(lambda v: state.set_problem(beta=v))
        self.regularize_bias.toggled.connect(lambda on: state.set_problem(regularize_bias=on))
        state.problem_changed.connect(self._sync)

    def _sync(self):
        problem = self.state.problem
        select_data(self.loss, problem.loss)
        set_quietly(self.delta, problem.delta)
        select_data(self.regularizer, problem.regularizer)
        set_quietly(self.lam, problem.lam)
        set_quietly(self.beta, problem.beta)
        set_quietly(self.regularize_bias, problem.regularize_bias)
        self.delta.setEnabled(problem.loss == "svm")
        self.beta.setEnabled(problem.regularizer == "elastic")
