"""Model panel: linear classifier or a network of any depth (widths, activation, maxout
pieces, batch norm, dropout, skip connections, initialization), the loss, its margin, and
the regularizer."""
from __future__ import annotations

from PyQt6 import QtWidgets

from hillwalk.core.limits import RANGES
from hillwalk.core.models.problem import editable_widths, has_skip

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
        self.model = combo([("linear classifier", "linear"), ("neural network", "net")])
        self.model.setObjectName("modelCombo")
        labelled_row(form, "Model", self.model, "Linear: scores = W x. Network: each hidden layer h = act(h W + b), "
                     "scores = h W_out + b_out; its loss surface is no longer a bowl")
        # a comma list of widths, applied when the edit ends (Enter or the focus leaves):
        # on the way to "100, 100" the text passes through widths nobody meant
        self.hidden = QtWidgets.QLineEdit()
        self.hidden.setObjectName("hiddenEdit")
        self.hidden.setPlaceholderText("e.g. 100, 100")
        labelled_row(form, "hidden layers", self.hidden, "The widths of the hidden layers, first to last, separated "
                     "by commas (e.g. 100, 100: two layers of 100 units; 8 x 32: eight layers of 32); "
                     f"{_range_text('problem.hidden')} units "
                     f"each, {_range_text('problem.depth')} layers. One width is the two-layer network")
        self.activation = combo([("ReLU: max(0, z)", "relu"), ("leaky ReLU: max(slope z, z)", "leaky_relu"),
                                 ("tanh", "tanh"), ("sigmoid", "sigmoid"), ("ELU: exp(z) - 1 below 0", "elu"),
                                 ("maxout: max of k affine maps", "maxout")])
        self.activation.setObjectName("activationCombo")
        labelled_row(form, "activation", self.activation, "The hidden layers' nonlinearity")
        self.slope = RangeDoubleSpinBox()
        self.slope.setDecimals(3)
        self.slope.setSingleStep(0.01)
        bind_range(self.slope, "problem.slope", state.refuse_value)
        labelled_row(form, "leaky slope", self.slope, "Leaky ReLU's slope for z < 0")
        self.pieces = RangeSpinBox()
        self.pieces.setObjectName("piecesSpin")
        bind_range(self.pieces, "problem.pieces", state.refuse_value)
        labelled_row(form, "maxout pieces k", self.pieces, "Maxout: each unit is the max over k affine maps of its "
                     "input (k times the layer's weights); k = 2 with one map at 0 is ReLU")
        self.batchnorm = QtWidgets.QCheckBox("batch norm")
        self.batchnorm.setObjectName("batchnormCheck")
        self.batchnorm.setToolTip("Batch normalization between each hidden affine map and its activation, with "
                                  "learnable gamma and beta: training uses the batch's statistics; the slice's mode "
                                  "is chosen under Landscape")
        self.residual = QtWidgets.QCheckBox("skip connections")
        self.residual.setObjectName("residualCheck")
        self.residual.setToolTip("Residual blocks h + f(h) on every hidden layer whose width equals the layer's "
                                 "before it (Li et al. 2018: the chaotic deep landscape becomes a bowl)")
        switches = QtWidgets.QWidget()
        row = QtWidgets.QHBoxLayout(switches)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.batchnorm)
        row.addWidget(self.residual)
        row.addStretch(1)
        form.addRow(switches)
        self.keep_prob = RangeDoubleSpinBox()
        self.keep_prob.setObjectName("keepProbSpin")
        self.keep_prob.setDecimals(2)
        self.keep_prob.setSingleStep(0.05)
        bind_range(self.keep_prob, "problem.keep_prob", state.refuse_value)
        labelled_row(form, "keep probability p", self.keep_prob, "Inverted dropout after each hidden activation: a "
                     "unit is kept with probability p and scaled by 1/p (masks seeded); 1.00 = no dropout")
        self.init = combo([("He: randn * sqrt(2 / fan_in)", "he"), ("Xavier: randn / sqrt(fan_in)", "xavier"),
                           ("small: 0.01 * randn", "small"), ("large: 1.0 * randn", "large"),
                           ("zero: every weight 0", "zero")])
        self.init.setObjectName("initCombo")
        labelled_row(form, "initialization", self.init, "How the initial weights are drawn, per layer (seeded); "
                     "biases start at 0. Zero init leaves every hidden unit identical: the symmetry never breaks")
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
        self.hidden.editingFinished.connect(self._on_hidden_edited)
        self.activation.currentIndexChanged.connect(lambda: state.set_problem(activation=self.activation.currentData()))
        self.slope.valueChanged.connect(lambda v: state.set_problem(slope=v))
        self.pieces.valueChanged.connect(lambda v: state.set_problem(pieces=v))
        self.batchnorm.toggled.connect(lambda on: state.set_problem(batchnorm=on))
        self.residual.toggled.connect(lambda on: state.set_problem(residual=on))
        self.keep_prob.valueChanged.connect(lambda v: state.set_problem(keep_prob=v))
        self.init.currentIndexChanged.connect(lambda: state.set_problem(init=self.init.currentData()))
        self.loss.currentIndexChanged.connect(lambda: state.set_problem(loss=self.loss.currentData()))
        self.delta.valueChanged.connect(lambda v: state.set_problem(delta=v))
        self.regularizer.currentIndexChanged.connect(lambda: state.set_problem(regularizer=self.regularizer.currentData()))
        self.lam.valueChanged.connect(lambda v: state.set_problem(lam=v))
        self.beta.valueChanged.connect(lambda v: state.set_problem(beta=v))
        self.regularize_bias.toggled.connect(lambda on: state.set_problem(regularize_bias=on))
        state.problem_changed.connect(self._sync)
        state.objective_ready.connect(self._apply_rules)

    def _on_hidden_edited(self):
        # editingFinished comes on Enter and again when the focus leaves: send each edit once
        if self.hidden.isModified():
            self.hidden.setModified(False)
            self.state.set_hidden_layers(self.hidden.text())

    def _sync(self):
        problem = self.state.problem
        select_data(self.model, problem.model)
        self.hidden.setText(editable_widths(problem.hidden))  # the widths in force
        self.hidden.setModified(False)
        select_data(self.activation, problem.activation)
        set_quietly(self.slope, problem.slope)
        set_quietly(self.pieces, problem.pieces)
        set_quietly(self.batchnorm, problem.batchnorm)
        set_quietly(self.residual, problem.residual)
        set_quietly(self.keep_prob, problem.keep_prob)
        select_data(self.init, problem.init)
        network = problem.model == "net"
        self.regularize_bias.setText("regularize the biases (every layer's b)" if network
                                     else "regularize the bias column")
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
        no_network = function if not classifier else ("only a network has it (a two-layer network is one hidden "
                                                      "layer); choose the neural network under Model")
        for widget in (self.hidden, self.activation, self.init, self.batchnorm, self.keep_prob):
            set_applicable(widget, network, no_network)
        set_applicable(self.slope, network and problem.activation == "leaky_relu",
                       no_network if not network else "only the leaky ReLU of a network has a slope")
        set_applicable(self.pieces, network and problem.activation == "maxout",
                       no_network if not network else "only maxout has pieces; choose maxout as the activation")
        widths = problem.hidden
        # h + f(h) needs f(h) of h's width: a hidden layer as wide as the layer before it
        # (the first hidden layer's input is the data, never a skip)
        skip = has_skip(widths)
        set_applicable(self.residual, network and skip,
                       no_network if not network else
                       f"a skip connection h + f(h) adds a layer's input to its output, so it needs a hidden layer "
                       f"as wide as the one before it; the widths are {', '.join(map(str, widths))} (e.g. type "
                       f"{widths[0]}, {widths[0]})")
        set_applicable(self.delta, classifier and problem.loss == "svm",
                       function if not classifier else "only the SVM loss has a margin; softmax ignores it")
        set_applicable(self.regularizer, regularized, no_weights)
        penalty = regularized and problem.regularizer != "none"
        why_no_penalty = no_weights if not regularized else "no regularizer is chosen; choose L2, L1 or the elastic net"
        set_applicable(self.lam, penalty, why_no_penalty)
        set_applicable(self.regularize_bias, penalty, why_no_penalty)
        set_applicable(self.beta, penalty and problem.regularizer == "elastic",
                       why_no_penalty if not penalty else "beta weighs the L2 part of the elastic net only")


def _range_text(name) -> str:
    """'1 to 4096' for a row of core.limits.RANGES (the tooltips quote the table)."""
    valid = RANGES[name]
    return f"{valid.low:g} to {valid.high:g}"
