"""The objective interface, declared: what every objective offers, and what it can do.

Code that receives an objective (optimizers, trajectories, landscapes, the labs, the GUI)
uses the members of :class:`Objective` and nothing else, and asks the *capability*
members (plain booleans) instead of probing for attributes. :func:`check_settings` is
the one place that refuses a setting the objective in force cannot honour.

Implemented by :class:`~core.models.objectives.LinearClassifier`,
:class:`~core.models.network.Network` (any depth, batch norm, dropout, maxout, skip
connections) and its plain one-hidden-layer case :class:`~core.models.network.TwoLayerNet`, every
:class:`~core.models.testfunctions.TestFunction` and
:class:`~core.optimization.trajectory.PlaneObjective` (structurally: the optimization
part of core does not import this module).
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..curvature import MAX_FULL_HESSIAN
from ..errors import HillwalkError
from .components import Component

# Capability members: plain booleans every objective declares.
CAPABILITIES = (
    "has_data",               # a classifier on a data set: train/val, X, y, per-example losses, accuracy
    "has_regularizer",        # carries a weight penalty (regularizer, lambda, beta, biased or not)
    "has_components",         # data / reg / accuracy / one-example slices mean something
    "bounded_below",          # the loss has a finite lower bound (False: a saddle can escape to -inf)
    "supports_minibatches",   # loss_and_grad honours ``batch`` (an index array of examples)
    "has_random_init",        # initial_theta(scale, seed): a seeded random start, so centres and directions apply
    "has_own_plane",          # a 2-D function: its own x and y are the plane (no centre, directions or seed)
    "has_layers",             # parameter_blocks(): named blocks (W; or W1, b1, W2, b2) to normalize by
    "has_batch_evaluation",   # evaluate_batch(thetas (K, *param_shape), component) -> (K,) and bytes_per_point()
    "is_network",             # a network (hidden, activation, slope, init, batchnorm, keep_prob, residual, pieces apply)
    "has_step_noise",         # training draws new noise at every step (dropout with fresh masks): at_step(t) is
                              # the objective of update t, for_evaluation() the noise-free one runs record
)

# Every member the app uses, capabilities included (checked by :func:`conforms`).
MEMBERS = ("param_shape", "size", "n_train", "loss", "loss_and_grad", "accuracy", "describe") + CAPABILITIES

# ClassifierSpec fields by what they need of the objective.
DATA_FIELDS = ("dataset", "preprocessing", "val_fraction", "subsample", "label_column", "seed")
MODEL_FIELDS = ("model", "loss", "delta")
REGULARIZATION_FIELDS = ("regularizer", "lam", "beta", "regularize_bias")
NETWORK_FIELDS = ("hidden", "activation", "slope", "init", "batchnorm", "keep_prob", "residual", "pieces")
# SliceSpec fields that choose the plane through a model's weights.
PLANE_FIELDS = ("center", "train_steps", "init_scale", "directions", "orthogonalize", "biases", "coords", "seed")


@runtime_checkable
class Objective(Protocol):
    """Something that can be minimised.

    Attributes
    ----------
    param_shape : tuple of int
        Shape of the parameters ``theta`` ((C, D+1) for a linear classifier, (P,) for a
        network, (2,) for a 2-D function or an in-plane objective).
    size : int
        ``prod(param_shape)``.
    n_train : int
        Training examples (0 without data).
    has_data, has_regularizer, ... : bool
        Capabilities, see ``CAPABILITIES``.
    """

    param_shape: tuple
    size: int
    n_train: int
    has_data: bool
    has_regularizer: bool
    has_components: bool
    bounded_below: bool
    supports_minibatches: bool
    has_random_init: bool
    has_own_plane: bool
    has_layers: bool
    has_batch_evaluation: bool
    is_network: bool
    has_step_noise: bool

    def loss(self, theta) -> float:
        """The full objective at ``theta`` (array of ``param_shape``, or flat)."""

    def loss_and_grad(self, theta, batch=None, need_grad=True):
        """(loss, gradient shaped like ``theta``); over the examples ``batch`` (int array)
        when given and ``supports_minibatches``; gradient None when ``need_grad`` is false."""

    def accuracy(self, theta, split: str = "train") -> float:
        """Fraction classified correctly on ``split`` ("train" or "val"); NaN without data."""

    def describe(self) -> dict:
        """JSON-friendly description (kind, settings, provenance)."""


class SteppedObjective(Objective, Protocol):
    """What an objective with ``has_step_noise`` adds (a network with dropout that draws
    fresh masks at every training step). A :class:`~core.optimization.trajectory.Run`
    takes update t's loss and gradient from ``at_step(t)`` and records the full-data loss
    of ``for_evaluation()``; the objective itself stays one deterministic function (what
    slices, centres and gradient checks see)."""

    def at_step(self, step: int) -> "Objective":
        """A copy (sharing the data) whose ``loss_and_grad`` is the training loss of update
        ``step`` (0-based): its noise is drawn from ``(seed, step)`` only, so it is the same
        at every call, in any thread, and needs no generator state."""

    def for_evaluation(self) -> "Objective":
        """A copy (sharing the data) with the noise off (dropout off: evaluation)."""


def conforms(objective) -> list[str]:
    """What ``objective`` lacks of the interface: names of missing members and of
    capabilities that are not booleans (an empty list when it conforms)."""
    problems = [name for name in MEMBERS if not hasattr(objective, name)]
    problems += [f"{name} is not a bool" for name in CAPABILITIES
                 if hasattr(objective, name) and not isinstance(getattr(objective, name), bool)]
    return problems


def objective_name(objective) -> str:
    """How messages name the objective: 'the beale function', 'this linear classifier'."""
    if objective.has_data:
        return "this network" if objective.is_network else "this linear classifier"
    name = objective.describe().get("name", "this objective")
    return f"the {name} function"


def check_settings(objective, problem=None, slice_spec=None, changed=(), optimizer=None, in_plane=False):
    """Refuse a setting that the objective in force cannot honour.

    Parameters
    ----------
    objective : Objective or None
        The objective in force (None while the first one loads: nothing to check against).
    problem : ClassifierSpec or None
        The proposed problem settings.
    slice_spec : SliceSpec or None
        The proposed slice settings.
    changed : iterable of str
        The fields being changed. A spec always carries every field (a function's spec
        still holds lambda, an Adam spec a momentum), so only a *change* of a field that
        means nothing is refused.
    optimizer : OptimizerSpec or None
        The proposed settings of one optimizer (``changed`` names its fields).
    in_plane : bool
        The optimizer runs within the slice's plane (over (a, b): two parameters).

    Raises
    ------
    HillwalkError
        One message: which setting, why it does not apply, and what to do instead.
    """
    if objective is None:
        return
    changed = set(changed)
    if problem is not None and problem.is_function == (not objective.has_data):
        _check_problem(objective, problem, changed)
    if slice_spec is not None:
        _check_slice(objective, slice_spec, changed)
    if optimizer is not None:
        _check_optimizer(objective, optimizer, changed, in_plane)


def _check_problem(objective, problem, changed):
    name = objective_name(objective)
    if not objective.has_data:
        fields = sorted(changed & set(DATA_FIELDS + MODEL_FIELDS + NETWORK_FIELDS))
        if fields:
            raise HillwalkError(f"{_spell(fields)} no effect on {name}: it has no data set or model; "
                                f"choose 'a classifier on data' under Minimise first")
    if not objective.has_regularizer:
        fields = sorted(changed & set(REGULARIZATION_FIELDS))
        if fields:
            raise HillwalkError(f"{_spell(fields)} no effect on {name}: it has no weights to regularize; "
                                f"choose 'a classifier on data' under Minimise first")
        return
    if changed & set(NETWORK_FIELDS) and problem.model != "net":
        raise HillwalkError(f"{_spell(sorted(changed & set(NETWORK_FIELDS)))} no effect on a linear classifier: "
                            f"choose the neural network under Model first")
    if "slope" in changed and problem.activation != "leaky_relu":
        raise HillwalkError("The leaky slope only applies to the leaky ReLU activation; choose it first")
    if "pieces" in changed and problem.activation != "maxout":
        raise HillwalkError("The number of maxout pieces only applies to the maxout activation; choose it first")
    if "delta" in changed and problem.loss != "svm":
        raise HillwalkError("The margin delta only applies to the SVM loss; choose the SVM loss first")
    if "beta" in changed and problem.regularizer != "elastic":
        raise HillwalkError("Beta only applies to the elastic net; choose the elastic-net regularizer first")
    if changed & {"lam", "regularize_bias"} and problem.regularizer == "none":
        raise HillwalkError(f"{_spell(sorted(changed & {'lam', 'regularize_bias'}))} no effect without a "
                            f"regularizer; choose L2, L1 or the elastic net first")


_COMPONENT_NAMES = {"data": "The data loss", "accuracy": "The training accuracy", "example": "One example's loss",
                    "reg": "The regularization"}


def _check_slice(objective, slice_spec, changed):
    name = objective_name(objective)
    if "component" in changed:
        component = Component.parse(slice_spec.component)
        if component.kind in ("data", "accuracy", "example") and not objective.has_components:
            raise HillwalkError(f"{_COMPONENT_NAMES[component.kind]} cannot be shown for {name}: it has no data "
                                f"set, only a total loss; show the total")
        if component.kind == "reg" and not objective.has_regularizer:
            raise HillwalkError(f"The regularization cannot be shown for {name}: it has no regularizer; "
                                f"show the total")
        component.check(objective)  # an example index inside the training set
    if objective.has_own_plane:
        fields = sorted(changed & set(PLANE_FIELDS))
        if fields:
            raise HillwalkError(f"{_spell(fields, {'seed': 'the plane seed'})} no effect on {name}: its own x "
                                f"and y are the plane; change the range instead")


def _check_optimizer(objective, spec, changed, in_plane=False):
    info = spec.info
    # a setting the method does not use may still go back to its default (a method switch
    # resets what the new method has no use for)
    fields = sorted(f for f in changed & set(SPEC_SETTINGS) if not info.applies(f)
                    and getattr(spec, f) != _field_default(spec, f))
    if fields:
        raise HillwalkError(f"{_spell(fields, {'alpha': 'the RMSProp decay'})} no effect on {info.label}; "
                            f"it uses {', '.join(_LABELS.get(f, f) for f in info.settings)}")
    if "saddle_free" in changed and spec.saddle_free and not in_plane and objective.size > MAX_FULL_HESSIAN:
        raise HillwalkError(f"Saddle-free Newton forms the full Hessian to take its eigenvalues' absolute values: at "
                            f"most {MAX_FULL_HESSIAN} parameters, and {objective_name(objective)} has "
                            f"{objective.size}; race within the plane, or use Newton without it")
    if "batch_size" in changed and spec.batch_size is not None and not objective.supports_minibatches:
        raise HillwalkError(f"The batch size has no effect on {objective_name(objective)}: it has no examples "
                            f"to sample; leave it at full batch")


# OptimizerSpec fields that a method may or may not use (optimization.optimizers.SETTINGS).
SPEC_SETTINGS = ("lr", "momentum", "alpha", "beta1", "beta2", "eps", "bias_correction", "schedule", "batch_size",
                 "damping", "saddle_free", "history")

_LABELS = {"lam": "lambda", "regularize_bias": "regularizing the bias", "val_fraction": "the validation share",
           "subsample": "the subsample", "label_column": "the label column", "seed": "the data seed",
           "center": "the centre", "train_steps": "the training steps", "init_scale": "the initial scale",
           "orthogonalize": "orthogonalizing", "biases": "the bias handling", "coords": "the coordinates",
           "regularizer": "the regularizer", "beta": "beta", "dataset": "the data set",
           "preprocessing": "the preprocessing", "model": "the model", "loss": "the loss", "delta": "delta",
           "hidden": "the hidden units", "activation": "the activation", "slope": "the leaky slope",
           "init": "the initialization", "batchnorm": "batch norm", "keep_prob": "the dropout keep probability",
           "residual": "skip connections", "pieces": "the maxout pieces", "bn_mode": "the batch-norm mode",
           "dropout_mode": "the dropout mode", "directions": "the directions", "lr": "the learning rate",
           "momentum": "momentum", "alpha": "the decay alpha", "beta1": "beta1", "beta2": "beta2", "eps": "eps",
           "schedule": "the schedule", "batch_size": "the batch size", "damping": "Newton's damping",
           "history": "the L-BFGS history", "bias_correction": "Adam's bias correction",
           "saddle_free": "saddle-free Newton"}


def _field_default(spec, name):
    """The default of a dataclass field of ``spec`` (a factory's product for factories)."""
    from dataclasses import MISSING

    field = type(spec).__dataclass_fields__[name]
    return field.default if field.default is not MISSING else field.default_factory()


def _spell(fields, labels=None) -> str:
    """'Lambda has' or 'The regularizer and lambda have': the user-facing names of
    settings (``labels`` overrides some) with their verb, to start a message."""
    labels = {**_LABELS, **(labels or {})}
    names = [labels.get(f, f) for f in fields]
    text = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return text[0].upper() + text[1:] + (" has" if len(names) == 1 else " have")
