"""Landscape panel: centre, directions, range, resolution, component, colours, and how a
network with batch norm or dropout is sliced."""
from __future__ import annotations

from PyQt6 import QtWidgets

from .widgets import (
    RangeDoubleSpinBox,
    RangeSpinBox,
    bind_range,
    combo,
    labelled_row,
    select_data,
    set_applicable,
    set_item_applicable,
    set_quietly,
)

DIRECTIONS = [("filter-normalized Gaussian", "filter"), ("layer-normalized Gaussian", "layer"),
              ("model-normalized Gaussian", "model"), ("raw Gaussian", "gaussian"),
              ("negative gradient + Gaussian", "gradient"), ("Hessian: top two", "hessian"),
              ("Hessian: max and min", "minmax"), ("PCA of the training path", "pca"),
              ("two weights W[r,c]", "coords")]
COMPONENTS = [("total loss", "total"), ("data loss", "data"), ("regularization", "reg"),
              ("training accuracy", "accuracy"), ("one example", "example")]
COLORMAPS = ["CET-R4", "viridis", "inferno", "CET-L1", "CET-D1"]
# Directions whose second direction can be orthogonalized (the others are orthogonal by
# construction, or a line).
ORTHOGONALIZABLE = ("filter", "layer", "model", "gaussian")


class LandscapePanel(QtWidgets.QWidget):
    def __init__(self, state, parent=None):
        super().__init__(parent)
        self.state = state
        form = QtWidgets.QFormLayout(self)
        self.center = combo([("trained (gradient descent)", "trained"), ("initial weights", "init")])
        labelled_row(form, "Center", self.center, "The slice is centred on the initial W or on W trained by full-batch "
                     "gradient descent (so the minimum is visible)")
        self.retrain = QtWidgets.QPushButton("Retrain centre")
        self.retrain.setToolTip("Train the centre again for the current loss and regularization")
        form.addRow(self.retrain)
        self.directions = combo(DIRECTIONS)
        self.directions.setObjectName("directionsCombo")
        labelled_row(form, "Directions", self.directions, "How the two directions of the plane are chosen (Gaussian "
                     "directions are normalized to the centre's filters, layers or norm)")
        self.orthogonalize = QtWidgets.QCheckBox("orthogonalize the second direction")
        self.orthogonalize.setToolTip("Make d2 orthogonal to d1; the cosine between them is always shown")
        form.addRow(self.orthogonalize)
        self.plane_seed = RangeSpinBox()
        bind_range(self.plane_seed, "slice.seed", state.refuse_value)
        labelled_row(form, "Plane seed", self.plane_seed, "Seed of the initial weights and of the random directions")
        self.extent = RangeDoubleSpinBox()
        self.extent.setObjectName("rangeSpin")
        self.extent.setDecimals(4)
        self.extent.setSingleStep(0.25)
        bind_range(self.extent, "slice.extent", state.refuse_value)
        labelled_row(form, "Range +-", self.extent, "a and b run from -range to +range")
        self.grid = combo([(f"{n} x {n}", n) for n in (51, 101, 201, 401)])
        self.grid.setObjectName("gridCombo")
        labelled_row(form, "Resolution", self.grid, "Grid points per axis (the centre lies on the grid)")
        self.component = combo(COMPONENTS)
        self.component.setObjectName("componentCombo")
        labelled_row(form, "Show", self.component, "What the colours show: the total loss, its data or regularization "
                     "part, the training accuracy, or the loss of one example")
        self.example = RangeSpinBox()  # its maximum follows the training set (_apply_rules)
        self.example.setRange(0, 10 ** 6)
        self.example.out_of_range.connect(lambda v: state.set_slice(component=f"example:{int(v)}"))
        labelled_row(form, "Example index", self.example, "The training example whose loss is shown")
        # a network with batch norm or dropout has no single loss surface: the slice is drawn
        # in one documented mode (SliceSpec.bn_mode / dropout_mode), recorded on the figure
        self.bn_mode = combo([("eval: centre's running stats", "eval"),
                              ("train: full-data stats", "train")])
        self.bn_mode.setObjectName("bnModeCombo")
        labelled_row(form, "Batch norm", self.bn_mode, "How batch norm normalizes at every point of the slice: with "
                     "the running mean and variance of the centre (evaluation mode, one fixed map), or with the mean "
                     "and variance of the full training data at that point (training mode)")
        self.dropout_mode = combo([("off (evaluation)", "off"), ("one fixed mask", "fixed"),
                                   ("mean of K masks", "mean")])
        self.dropout_mode.setObjectName("dropoutModeCombo")
        labelled_row(form, "Dropout", self.dropout_mode, "How dropout enters the slice: not at all (evaluation), with "
                     "one mask drawn from the seed (a random surface), or as the mean over K masks")
        self.dropout_masks = RangeSpinBox()
        self.dropout_masks.setObjectName("dropoutMasksSpin")
        bind_range(self.dropout_masks, "slice.dropout_masks", state.refuse_value)
        self.dropout_masks.setValue(8)
        labelled_row(form, "masks K", self.dropout_masks, "How many dropout masks the mean is over (each is one more "
                     "pass per point)")
        self.scale = combo([("linear", False), ("log", True)])
        labelled_row(form, "Colour scale", self.scale, "Linear colours, or log10 of the values (wide ranges)")
        self.colormap = combo([(n, n) for n in COLORMAPS])
        labelled_row(form, "Colour map", self.colormap, "CET-R4 runs from blue (low) to red (high), as in the notes")
        self.contours = RangeSpinBox()
        bind_range(self.contours, "view.contours", state.refuse_value)
        labelled_row(form, "Contour lines", self.contours, "Number of contour lines")
        self.axis_scales = combo([("auto (equal for x, y)", "auto"), ("equal", "equal"), ("fill the panel", "fill")])
        self.axis_scales.setObjectName("axisScalesCombo")
        labelled_row(form, "Axis scales", self.axis_scales,
                     "Equal: a unit of a is as long as a unit of b, so the heatmap's angles are true (a gradient "
                     "crosses the contour lines at right angles); fill the panel: the heatmap stretches to the "
                     "panel's shape. Auto: equal for a 2-D function's x and y, filling for a model's plane. The "
                     "PNG and GIF exports follow it")
        self._sync()
        self.center.currentIndexChanged.connect(self._on_center)
        self.retrain.clicked.connect(state.retrain_center)
        self.directions.currentIndexChanged.connect(lambda: state.set_slice(directions=self.directions.currentData()))
        self.orthogonalize.toggled.connect(lambda on: state.set_slice(orthogonalize=on))
        self.plane_seed.valueChanged.connect(lambda v: state.set_slice(seed=v))
        self.extent.valueChanged.connect(lambda v: state.set_slice(alpha_range=(-v, v), beta_range=(-v, v)))
        self.grid.currentIndexChanged.connect(lambda: state.set_slice(grid=self.grid.currentData()))
        self.component.currentIndexChanged.connect(self._on_component)
        self.example.valueChanged.connect(self._on_component)
        self.bn_mode.currentIndexChanged.connect(lambda: state.set_slice(bn_mode=self.bn_mode.currentData()))
        self.dropout_mode.currentIndexChanged.connect(self._on_dropout_mode)
        self.dropout_masks.valueChanged.connect(self._on_dropout_mode)
        self.scale.currentIndexChanged.connect(lambda: state.set_view(log_scale=self.scale.currentData()))
        self.colormap.currentIndexChanged.connect(lambda: state.set_view(colormap=self.colormap.currentData()))
        self.contours.valueChanged.connect(lambda v: state.set_view(contours=v))
        self.axis_scales.currentIndexChanged.connect(lambda: state.set_view(axis_scales=self.axis_scales.currentData()))
        state.slice_changed.connect(self._sync)
        state.view_changed.connect(self._sync)
        state.optimizers_changed.connect(self._sync)
        state.runs_updated.connect(self._on_runs_updated)
        state.objective_ready.connect(self._apply_rules)
        state.problem_changed.connect(self._apply_rules)

    def _on_center(self):
        choice = self.center.currentData()
        if isinstance(choice, str) and choice.startswith("run:"):
            self.state.center_on_run(int(choice[4:]))
        elif self.state.custom_center is not None and choice == self.state.slice.center:
            self.state.retrain_center()  # back from an optimizer's position to the chosen centre
        else:
            self.state.set_slice(center=choice)

    def _on_dropout_mode(self):
        kind = self.dropout_mode.currentData()
        self.state.set_slice(dropout_mode=f"mean:{self.dropout_masks.value()}" if kind == "mean" else kind)

    def _center_choices(self):
        """The methods' positions the centre box should offer, (text, data) each."""
        return [(f"position of {e.spec.name_with_rate} at the current step", f"run:{e.id}")
                for e in self.state.optimizers if e.enabled]

    def _offered_center_choices(self):
        """The methods' positions the centre box offers now (after initial and trained)."""
        return [(self.center.itemText(k), self.center.itemData(k)) for k in range(2, self.center.count())]

    def _on_runs_updated(self):
        # at every merged redraw of a race: the choices change only with the methods (and
        # setting the rules again at each, the example box's maximum included, asked the
        # dock to lay itself out again 20-27 times per regularization change)
        wanted = self._center_choices()
        if self._offered_center_choices() != wanted:
            self._sync_center_choices(wanted)

    def _sync_center_choices(self, wanted=None):
        """Offer every method's current position as a centre, beside initial and trained
        (``wanted``: :meth:`_center_choices`, where the caller has them)."""
        wanted = self._center_choices() if wanted is None else wanted
        if self._offered_center_choices() != wanted:
            was = self.center.blockSignals(True)
            while self.center.count() > 2:
                self.center.removeItem(2)
            for text, data in wanted:
                self.center.addItem(text, data)
            self.center.blockSignals(was)
        custom = self.state.custom_center
        # the description the enabling rules extend with why the control is disabled
        self.center.setProperty("baseToolTip", "The slice's centre: the initial W, W trained by gradient descent, or "
                                "where a method is at the current step" + (f". Now: {custom[0]}" if custom else ""))
        self._apply_rules()

    def _on_component(self):
        kind = self.component.currentData()
        self.state.set_slice(component=f"example:{self.example.value()}" if kind == "example" else kind)

    def _sync(self):
        spec, view = self.state.slice, self.state.view
        self._sync_center_choices()
        custom = self.state.custom_center
        select_data(self.center, spec.center if custom is None else f"run:{custom[2]}")
        select_data(self.directions, spec.directions)
        set_quietly(self.orthogonalize, spec.orthogonalize)
        set_quietly(self.plane_seed, spec.seed)
        set_quietly(self.extent, float(spec.alpha_range[1]))
        select_data(self.grid, int(spec.grid))
        kind = "example" if spec.component.startswith("example") else spec.component
        select_data(self.component, kind)
        if kind == "example":
            set_quietly(self.example, int(spec.component.split(":")[1]))
        select_data(self.bn_mode, spec.bn_mode)
        dropout = spec.dropout_mode
        select_data(self.dropout_mode, "mean" if dropout.startswith("mean:") else dropout)
        if dropout.startswith("mean:"):
            set_quietly(self.dropout_masks, int(dropout[5:]))
        select_data(self.scale, view.log_scale)
        select_data(self.colormap, view.colormap)
        set_quietly(self.contours, view.contours)
        select_data(self.axis_scales, view.axis_scales)
        self._apply_rules()

    def _apply_rules(self):
        """Centre, directions and seed only for a model's weights (a 2-D function's own x
        and y are the plane); components other than the total only with data (and the
        regularization only with a regularizer); the example index only for one example."""
        objective, spec = self.state.objective, self.state.slice
        if objective is None:  # the first objective is loading: the settings say what it will be
            function = self.state.problem.is_function
            has_data = regularized = not function
            random_init = not function
        else:
            function, has_data = objective.has_own_plane, objective.has_components
            regularized, random_init = objective.has_regularizer, objective.has_random_init
        own_plane = "a 2-D function's own x and y are the plane; change the range instead"
        set_applicable(self.center, not function, own_plane)
        set_applicable(self.retrain, random_init and not function, own_plane)
        set_applicable(self.directions, not function, own_plane)
        set_applicable(self.plane_seed, not function, own_plane)
        set_applicable(self.orthogonalize, not function and spec.directions in ORTHOGONALIZABLE,
                       own_plane if function else "these directions are orthogonal by construction (or a line); "
                       "only random Gaussian directions can be orthogonalized")
        no_data = "a 2-D test function has only a total loss; choose 'a classifier on data' under Minimise"
        for kind in ("data", "accuracy", "example"):
            set_item_applicable(self.component, kind, has_data, no_data)
        set_item_applicable(self.component, "reg", regularized, no_data)
        if has_data and getattr(objective, "n_train", 0):
            was = self.example.blockSignals(True)  # a clamp here is not the user's choice
            self.example.setMaximum(objective.n_train - 1)
            self.example.blockSignals(was)
        set_applicable(self.example, has_data and spec.component.startswith("example"),
                       no_data if not has_data else "choose 'one example' under Show first")
        # the modes follow the settings in force (the objective is built from them)
        problem = self.state.problem
        network = not function and problem.model == "net"
        no_network = own_plane if function else "only a network has batch norm or dropout; choose the neural network " \
            "under Model"
        set_applicable(self.bn_mode, network and problem.batchnorm,
                       no_network if not network else "the network has no batch norm; tick 'batch norm' under Model")
        dropout = network and problem.keep_prob < 1.0
        no_dropout = no_network if not network else "the network has no dropout (keep probability 1.00); set a keep " \
            "probability below 1 under Model"
        set_applicable(self.dropout_mode, dropout, no_dropout)
        set_applicable(self.dropout_masks, dropout and spec.dropout_mode.startswith("mean:"),
                       no_dropout if not dropout else "K counts the masks of 'mean of K masks'; choose it first")



