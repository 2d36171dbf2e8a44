"""Model panel: linear classifier or two-layer network, the loss, its margin, and the
regularizer."""
from __future__ import annotations

from PyQt6 import QtWidgets

from .widgets import (
    RangeDoubleSpinBox,
    RangeSpinBox,
    ScientificSpinBox,
    bind_range,
    combo,
    labelled_row,
    select_data,
    set_applicable,
    set_quietly,
)


class ModelPanel(QtWidgets.QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        form = QtWidgets.QFormLayout(self)
        self.model = combo([("linear classifier", "linear"), ("two-layer network", "net")])
        self.model.setObjectName("modelCombo")
        labelled_row(form, "Model", self.model, "Linear: scores = W x. Network: h = act(x W1 + b1), "
                     "scores = h W2 + b2; its loss surface is no longer a bowl")
        self.hidden = RangeSpinBox()
        self.hidden.setObjectName("hiddenSpin")
        self.hidden.setKeyboardTracking(False)  # one rebuild when typing ends, not one per digit
        bind_range(self.hidden, "problem.hidden", state.refuse_value)
        labelled_row(form, "hidden units", self.hidden, "H, the width of the hidden layer")
        self.activation = combo([("ReLU: max(0, z)", "relu"), ("leaky ReLU: max(slope z, z)", "leaky_relu"),
                                 ("tanh", "tanh"), ("sigmoid", "sigmoid"), ("ELU: exp(z) - 1 below 0", "elu")])
        self.activation.setObjectName("activationCombo")
        labelled_row(form, "activation", self.activation, "The hidden layer's nonlinearity")
        self.slope = RangeDoubleSpinBox()
        self.slope.setDecimals(3)
        self.slope.setSingleStep(0.01)
        bind_range(self.slope, "problem.slope", state.refuse_value)
        labelled_row(form, "leaky slope", self.slope, "Leaky ReLU's slope for z < 0")
        self.init = combo([("He: randn * sqrt(2 / fan_in)", "he"), ("Xavier: randn / sqrt(fan_in)", "xavier"),
                           ("small: 0.01 * randn", "small")])
        self.init.setObjectName("initCombo")
        labelled_row(form, "initialization", self.init, "How the initial weights are drawn (seeded); biases start at 0")
        self.loss = combo([("softmax (cross-entropy)", "softmax"), ("multiclass SVM (hinge)", "svm")])
        self.loss.setObjectName("lossCombo")
        labelled_row(form, "Loss", self.loss, "Softmax: -log p(correct class). SVM: sum of max(0, s_j - s_y + delta)")
        self.delta = RangeDoubleSpinBox()
        self.delta.setSingleStep(0.1)
        bind_range(self.delta, "problem.delta", state.refuse_value)
        labelled_row(form, "SVM margin delta", self.delta, "The SVM's margin; at scores of 0 the loss is (C-1)*delta")
        self.regularizer = combo([("none", "none"), ("L2: sum W^2", "l2"), ("L1: sum |W|", "l1"),
                                  ("elastic net: beta sum W^2 + sum |W|", "elastic")])
        labelled_row(form, "Regularizer", self.regularizer, "The weight penalty R(W), scaled by lambda")
        self.lam = ScientificSpinBox(1e-8, 1e3, 1e-3, allow_zero=True)
        self.lam.setObjectName("lambdaSpin")
        bind_range(self.lam, "problem.lam", state.refuse_value)
        labelled_row(form, "lambda", self.lam, "Regularization strength (arrows step 1, 2, 5 per decade). Changing it "
                     "recomputes only the regularization term; the centre is kept")
        self.beta = RangeDoubleSpinBox()
        self.beta.setSingleStep(0.1)
        bind_range(self.beta, "problem.beta", state.refuse_value)
        labelled_row(form, "elastic beta", self.beta, "Weight of the L2 part of the elastic net")
        self.regularize_bias = QtWidgets.QCheckBox("regularize the bias column")
        self.regularize_bias.setToolTip("Whether the bias (last column of W) is penalised; usually not")
        form.addRow(self.regularize_bias)
        self._sync()
        self.model.currentIndexChanged.connect(lambda: state.set_problem(model=self.model.currentData()))
        self.hidden.valueChanged.connect(lambda v: state.set_problem(hidden=v))
        self.activation.currentIndexChanged.connect(lambda: state.set_problem(activation=self.activation.currentData()))
        self.slope.valueChanged.connect(lambda v: state.set_problem(slope=v))
        self.init.currentIndexChanged.connect(lambda: state.set_problem(init=self.init.currentData()))
        self.loss.currentIndexChanged.connect(lambda: state.set_problem(loss=self.loss.currentData()))
        self.delta.valueChanged.connect(lambda v: state.set_problem(delta=v))
        self.regularizer.currentIndexChanged.connect(lambda: state.set_problem(regularizer=self.regularizer.currentData()))
        self.lam.valueChanged.connect(lambda v: state.set_problem(lam=v))
        self.beta.valueChanged.connect(lambda v: state.set_problem(beta=v))
        self.regularize_bias.toggled.connect(lambda on: state.set_problem(regularize_bias=on))
        state.problem_changed.connect(self._sync)
        state.objective_ready.connect(self._apply_rules)

    def _sync(self):
        problem = self.state.problem
        select_data(self.model, problem.model)
        set_quietly(self.hidden, problem.hidden)
        select_data(self.activation, problem.activation)
        set_quietly(self.slope, problem.slope)
        select_data(self.init, problem.init)
        network = problem.model == "net"
        self.regularize_bias.setText("regularize the biases (b1, b2)" if network else "regularize the bias column")
        select_data(self.loss, problem.loss)
        set_quietly(self.delta, problem.delta)
        select_data(self.regularizer, problem.regularizer)
        set_quietly(self.lam, problem.lam)
        set_quietly(self.beta, problem.beta)
        set_quietly(self.regularize_bias, problem.regularize_bias)
        self._apply_rules()

    def _apply_rules(self):
        """Each control only where it means something, for the objective in force (or,
        while the first one loads, the settings) and the chosen model, loss and regularizer."""
        objective, problem = self.state.objective, self.state.problem
        classifier = objective.has_data if objective is not None else not problem.is_function
        regularized = objective.has_regularizer if objective is not None else classifier
        function = "a 2-D test function has no model; choose 'a classifier on data' under Minimise"
        no_weights = "a 2-D test function has no weights to regularize; choose 'a classifier on data' under Minimise"
        for widget in (self.model, self.loss):
            set_applicable(widget, classifier, function)
        network = classifier and problem.model == "net"
        for widget in (self.hidden, self.activation, self.init):
            set_applicable(widget, network, function if not classifier else "only a two-layer network has it; "
                           "choose the network under Model")
        set_applicable(self.slope, network and problem.activation == "leaky_relu",
                       function if not classifier else "only the leaky ReLU of a network has a slope")
        set_applicable(self.delta, classifier and problem.loss == "svm",
                       function if not classifier else "only the SVM loss has a margin; softmax ignores it")
        set_applicable(self.regularizer, regularized, no_weights)
        penalty = regularized and problem.regularizer != "none"
        why_no_penalty = no_weights if not regularized else "no regularizer is chosen; choose L2, L1 or the elastic net"
        set_applicable(self.lam, penalty, why_no_penalty)
        set_applicable(self.regularize_bias, penalty, why_no_penalty)
        set_applicable(self.beta, penalty and problem.regularizer == "elastic",
                       why_no_penalty if not penalty else "beta weighs the L2 part of the elastic net only")
