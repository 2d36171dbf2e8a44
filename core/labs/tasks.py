"""Every lab's "given these settings, compute X", as one plain function per lab.

Each task takes plain inputs (the objective, parameters, a plane, settings) and two
optional callables: ``report(fraction, text)`` for progress and ``should_stop()`` for
cancellation. It returns a plain result dataclass, or None when it was stopped. The app
runs them in its workers (gui/lab_state.py); tests and scripts call them directly.

:func:`unavailable_reason` says where each lab applies, from the objective's own type
and attributes, so the app and the tests cannot disagree about it.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..errors import HillwalkError, require_choice
from ..landscapes.centers import train_full_batch
from ..landscapes.directions import Plane
from ..landscapes.landscape import Landscape, compute_slice, make_axis
from ..models.objectives import LinearClassifier
from . import LAB_NAMES, SCENE_FREE_LABS  # noqa: F401 - the labs, named with their tasks as before
from .babysitting import BabysittingReport, babysit
from .comparison import DEFAULT_VARIANTS, SIDES, ModelVariant, distinct_units, nonconvex_share, slice_roughness
from .gradcheck import (
    DIFFERENCE_METHODS,
    GradientCheckResult,
    StopRequested,
    gradient_check,
    h_sweep,
    parameter_blocks,
)
from .lessons import (
    INIT_INPUTS,
    InitStatistics,
    SanityReport,
    StepSizeSweep,
    SymmetryCheck,
    broken_gradient,
    decision_regions,
    gaussian_inputs,
    hinge_kinks,
    hinge_terms_along_cut,
    initialization_statistics,
    kink_range,
    sanity_checks,
    step_size_sweep,
    toy_hinge_problem,
    zero_init_symmetry,
)
from .worked_example import NOTES_LABELS, WorkedExample, worked_example

POINT_CHOICES = ("initial", "start", "center")
REGIONS_RESOLUTION = 160
MODELS_GRID = 61         # a side-by-side pair: a coarser grid than the main slice keeps it quick
MODELS_MIN_STEPS = 500   # each side is sliced around a trained minimum
HINGE_SAMPLES = 801      # points along the widened cut
TOY_WEIGHTS = np.linspace(-4.0, 4.0, 401)


def _report(report, fraction, text):
    if report is not None:
        report(fraction, text)


def _stopped(should_stop) -> bool:
    return should_stop is not None and should_stop()


# --------------------------------------------------------------------------- where labs apply

def is_classifier(objective) -> bool:
    """A classifier on data (linear or network), not a 2-D test function."""
    return objective.has_data


def unavailable_reason(lab: str, objective, plane: Plane | None = None) -> str | None:
    """Why ``lab`` does not apply to ``objective`` (and the slice's ``plane``), in one line
    that says what to choose instead; None where it applies.

    * the loss worked example (the notes' own numbers): always;
    * gradient check, step size, initialization, curvature: every objective;
    * sanity checks, hyperparameter search, babysitting: a classifier on data (linear or network);
    * hinge anatomy: the linear classifier (its hinge terms are those of a linear score
      function), not networks or functions;
    * SVM vs softmax: a classifier on data, on a 2-D slice;
    * compare two models: a classifier on data (its decision regions only for 2 features);
    * decision regions: data with 2 features.
    """
    require_choice(lab, LAB_NAMES, "lab")
    if lab in SCENE_FREE_LABS or lab in ("gradcheck", "stepsize", "init", "curvature"):
        return None
    if not is_classifier(objective):
        name = objective.describe().get("name", "a test function")
        return (f"This lab needs a classifier on data; {name} is a 2-D test function. "
                "Choose a data set in the Data panel.")
    if lab == "hinge" and objective.is_network:
        return ("This lab is for the linear classifier (the hinge anatomy draws scores linear in W); the model is a "
                "network. Choose Model: linear in the Model panel.")
    if lab in ("hinge", "compare") and plane is not None and plane.dir2 is None:
        return "This lab needs a 2-D slice; the landscape is a 1-D cut. Turn off 'cut' in the Landscape panel."
    if lab == "regions" and objective.train.n_features != 2:
        return (f"This lab needs a data set with 2 features (spiral, blobs, xor, circles); "
                f"{objective.train.name} has {objective.train.n_features}. Choose one in the Data panel.")
    return None


def evaluation_point(objective, plane: Plane, choice: str, start=(0.0, 0.0), init_scale=1e-3, seed=0):
    """The parameters a lab evaluates at.

    Parameters
    ----------
    choice : {"initial", "start", "center"}
        A random initial W (the notes' choice: ``objective.initial_theta(init_scale,
        seed)``; a 2-D function, which has none, uses the race's start), the race's start
        ``plane.point(*start)`` (on a 1-D cut: the centre), or the slice's centre.

    Returns
    -------
    array of the objective's parameter shape
    """
    require_choice(choice, POINT_CHOICES, "point")
    if choice == "initial" and objective.has_random_init:
        return objective.initial_theta(init_scale, seed)
    if choice in ("initial", "start") and plane.dir2 is not None:
        return plane.point(*start)
    return plane.center


# --------------------------------------------------------------------------- the losses' worked example

def loss_example_task(scores, delta=1.0, labels=NOTES_LABELS, report=None, should_stop=None) -> WorkedExample | None:
    """The Loss lab: :func:`~core.labs.worked_example.worked_example` on the score table
    ``scores`` (N, C; rows are examples) with ``labels`` (N,) and margin ``delta``. It takes
    microseconds; ``report`` and ``should_stop`` are there for the app's one way of running
    labs. HillwalkError for a bad table, labels or delta."""
    if _stopped(should_stop):
        return None
    result = worked_example(scores, labels, delta)
    _report(report, 1.0, "loss: done")
    return result


# --------------------------------------------------------------------------- gradient check

@dataclass
class GradientCheckLab:
    """A gradient check and its h sweep.

    Attributes
    ----------
    check : GradientCheckResult
    hs, max_errors, median_errors : float arrays (M,): the h sweep
    param_shape : tuple: the objective's parameter shape
    broken : bool: the gradient checked was broken on purpose
    blocks : tuple of (name, offset, size): the objective's parameter blocks in the flat
        parameter vector, in layout order (a linear classifier: W alone), for
        ``check.worst_by_block``
    """

    check: GradientCheckResult
    hs: np.ndarray
    max_errors: np.ndarray
    median_errors: np.ndarray
    param_shape: tuple
    broken: bool
    blocks: tuple = ()


def gradient_check_task(objective, theta, method="centered", h=1e-5, samples=None, broken=False, sweep_samples=30,
                        report=None, should_stop=None) -> GradientCheckLab | None:
    """Analytic against numerical gradients at ``theta`` (``samples`` random parameters,
    or all), optionally of a deliberately broken gradient, and the error against h on
    ``sweep_samples`` parameters."""
    require_choice(method, DIFFERENCE_METHODS, "difference")
    theta = np.asarray(theta, dtype=np.float64)
    try:
        _report(report, 0.05, "gradient check")
        gradient_fn = broken_gradient(objective) if broken else None
        check = gradient_check(objective, theta, samples=samples, h=h, method=method, gradient_fn=gradient_fn,
                               should_stop=should_stop,
                               progress=lambda fraction, text: _report(report, 0.05 + 0.55 * fraction, text))
        hs, max_errors, median_errors = h_sweep(objective, theta, samples=min(sweep_samples, theta.size),
                                                method=method, should_stop=should_stop,
                                                progress=lambda fraction, text: _report(report, 0.6 + 0.4 * fraction,
                                                                                        text))
    except StopRequested:
        return None
    blocks = parameter_blocks(objective)
    return GradientCheckLab(check, hs, max_errors, median_errors, tuple(objective.param_shape), bool(broken), blocks)


# --------------------------------------------------------------------------- step size, sanity

def step_size_task(objective, theta, report=None, should_stop=None, seed=0) -> StepSizeSweep | None:
    """The notes' step-size sweep from ``theta``, extended until the loss explodes, with
    the Hessian's largest eigenvalue there (Lanczos, seeded), whose 2 / lambda_max is where
    gradient descent on the quadratic model starts to overshoot."""
    from ..curvature import lanczos

    _report(report, 0.1, "step-size sweep")
    sweep = step_size_sweep(objective, theta, should_stop=should_stop)
    if sweep is None or not callable(getattr(objective, "hvp", None)):
        return sweep
    _report(report, 0.6, "step-size sweep: lambda_max")
    top = lanczos(objective, theta, k=1, seed=seed, should_stop=should_stop)
    if top is None:
        return None
    return replace(sweep, lambda_max=float(top.eigenvalues[0]))


def sanity_task(objective, report=None, should_stop=None) -> SanityReport | None:
    """The notes' two sanity checks (see :func:`~core.labs.lessons.sanity_checks`), for a
    linear classifier or a network; None when stopped."""
    reason = unavailable_reason("sanity", objective)
    if reason is not None:
        raise HillwalkError(reason)
    _report(report, 0.1, "sanity checks")
    if _stopped(should_stop):
        return None
    try:
        return sanity_checks(objective, should_stop=should_stop)
    except StopRequested:
        return None


# --------------------------------------------------------------------------- SVM vs softmax

@dataclass
class LossComparison:
    """The same plane under both losses: ``landscapes["svm"]`` and ``landscapes["softmax"]``
    (each values (len(betas), len(alphas)))."""

    landscapes: dict


def loss_comparison_task(problem, objective, plane: Plane, alphas, betas, component="total",
                         budget_bytes=256 * 2 ** 20, report=None, should_stop=None) -> LossComparison | None:
    """The slice of ``plane`` under the SVM and the softmax loss, everything else (data,
    model, regularization) as in ``problem`` / ``objective``.

    Parameters
    ----------
    problem : core.models.problem.ClassifierSpec of ``objective``
    alphas : (n,) ; betas : (m,) ; component : "total", "data" or "example:K" (others
        fall back to "total": accuracy does not depend on the loss)
    """
    reason = unavailable_reason("compare", objective, plane)
    if reason is not None:
        raise HillwalkError(reason)
    if not (component in ("total", "data") or component.startswith("example")):
        component = "total"
    landscapes = {}
    for k, loss in enumerate(("svm", "softmax")):
        _report(report, 0.5 * k, f"{loss} slice")
        other = objective if loss == objective.loss_name else \
            replace(problem, loss=loss).model_on(objective.train, objective.val)
        landscape = compute_slice(other, plane, alphas, betas, component, budget_bytes, should_stop=should_stop)
        if landscape is None or _stopped(should_stop):
            return None
        landscapes[loss] = landscape
    return LossComparison(landscapes)


# --------------------------------------------------------------------------- hinge anatomy

@dataclass
class HingeAnatomy:
    """One example's SVM hinge terms along a cut, and the notes' toy problem.

    Attributes
    ----------
    example, label : int: the example and its class
    alphas : (n,) positions s along the cut (widened to hold every kink)
    terms : (C - 1, n): ``max(0, s_j - s_y + delta)`` for the classes j != y in ``classes``
    classes : list of int
    weights : (m,) the toy weight's values ; toy_total : (m,) the toy's mean loss
    toy_terms : dict {(point i, class j): (m,)}: its terms (summing to ``toy_total``)
    n_train : int: the number of training examples (the example's range)
    """

    example: int
    label: int
    alphas: np.ndarray
    terms: np.ndarray
    classes: list
    weights: np.ndarray
    toy_total: np.ndarray
    toy_terms: dict
    n_train: int

    @property
    def total(self) -> np.ndarray:
        """The example's SVM data loss along the cut, (n,)."""
        return self.terms.sum(axis=0)


def hinge_task(objective, center, direction, s_range=(-1.0, 1.0), example=0, toy_row=0, toy_column=0,
               report=None, should_stop=None) -> HingeAnatomy | None:
    """The SVM loss of training example ``example`` along the line ``center + s direction``
    term by term (on the objective's data, with the SVM loss whatever loss the objective
    has), widened from ``s_range`` until it holds every kink; and the toy problem against
    its weight ``W[toy_row, toy_column]``."""
    reason = unavailable_reason("hinge", objective)
    if reason is not None:
        raise HillwalkError(reason)
    _report(report, 0.1, "hinge terms")
    svm = objective if objective.loss_name == "svm" else LinearClassifier(
        objective.train, objective.val, "svm", objective.delta, objective.regularizer, objective.regularize_bias)
    if not 0 <= int(example) < svm.n_train:
        raise HillwalkError(f"example {example} is out of range: choose one from 0 to {svm.n_train - 1}")
    line = Plane(np.asarray(center, dtype=np.float64), np.asarray(direction, dtype=np.float64), None, {"kind": "cut"})
    low, high = kink_range(hinge_kinks(svm, line, int(example)), at_least=tuple(s_range))
    alphas = make_axis(low, high, HINGE_SAMPLES)
    terms, classes = hinge_terms_along_cut(svm, line, int(example), alphas)
    if _stopped(should_stop):
        return None
    _report(report, 0.6, "toy problem")
    toy_total, toy_terms = toy_hinge_problem(TOY_WEIGHTS, int(toy_row), int(toy_column))
    return HingeAnatomy(int(example), int(svm.y[int(example)]), alphas, terms, classes, TOY_WEIGHTS.copy(),
                        toy_total, toy_terms, svm.n_train)


# --------------------------------------------------------------------------- decision regions

@dataclass
class DecisionRegions:
    """The predicted class over the plane of a 2-D data set.

    Attributes
    ----------
    xs : (nx,) ; ys : (ny,) ; classes : int (ny, nx): ``classes[j, i]`` at ``(xs[i], ys[j])``
    accuracy : float: training accuracy of the same parameters
    tag : object: what the request was for (e.g. (source, step)), returned unchanged
    """

    xs: np.ndarray
    ys: np.ndarray
    classes: np.ndarray
    accuracy: float
    tag: object = None


def regions_task(objective, theta, resolution=REGIONS_RESOLUTION, tag=None, report=None,
                 should_stop=None) -> DecisionRegions | None:
    """Decision regions and training accuracy of ``theta`` on a 2-D data set."""
    reason = unavailable_reason("regions", objective)
    if reason is not None:
        raise HillwalkError(reason)
    _report(report, 0.1, "decision regions")
    xs, ys, classes = decision_regions(objective, theta, resolution=resolution)
    if _stopped(should_stop):
        return None
    return DecisionRegions(xs, ys, classes, float(objective.accuracy(theta)), tag)


# --------------------------------------------------------------------------- compare two models

@dataclass
class TrainedModel:
    """One side of the Compare two models lab, trained by full-batch GD.

    Attributes
    ----------
    variant : ModelVariant ; model : the objective ; theta : its trained parameters
    regions : DecisionRegions, or None for data with other than 2 features
    landscape : Landscape around ``theta`` (the lab's plane, in the side's modes)
    train_accuracy, val_accuracy (NaN without validation data), loss : float
        At ``theta``, in evaluation (no dropout; batch norm with the centre's statistics).
    roughness, nonconvex : float
        :func:`~core.labs.comparison.slice_roughness` and
        :func:`~core.labs.comparison.nonconvex_share` of the landscape.
    units : tuple of (distinct, width) per hidden layer (:func:`~core.labs.comparison.distinct_units`)
    """

    variant: ModelVariant
    model: object
    theta: np.ndarray
    regions: DecisionRegions | None
    landscape: Landscape
    train_accuracy: float
    val_accuracy: float
    loss: float
    roughness: float
    nonconvex: float
    units: tuple


@dataclass
class ModelComparison:
    """The lab's result: ``sides`` = {"a": TrainedModel, "b": TrainedModel}, and the grid,
    training and kind of directions (a SliceSpec ``directions``) both were made with."""

    sides: dict
    grid: int
    train_steps: int
    directions: str = "filter"
    # why the slice's kind of directions was not used ("" when it was)
    directions_changed: str = ""

    def __getitem__(self, side):
        return self.sides[side]


def compare_models_task(problem, slice_spec, objective, variants=DEFAULT_VARIANTS, report=None,
                        should_stop=None) -> ModelComparison | None:
    """Both sides of the comparison on ``objective``'s data (already split and
    preprocessed, so both see the same examples), each trained from the same seed by
    ``max(slice_spec.train_steps, MODELS_MIN_STEPS)`` full-batch GD steps, then sliced
    around its trained weights with ``slice_spec``'s kind of directions, seed and range,
    on a ``MODELS_GRID`` grid, in the side's batch-norm and dropout modes.

    Parameters
    ----------
    problem : ClassifierSpec (data, loss, regularizer, seed; the model is each side's)
    slice_spec : SliceSpec ; objective : the current classifier (for its data)
    variants : (ModelVariant, ModelVariant)

    Returns
    -------
    ModelComparison, or None when stopped.
    """
    reason = unavailable_reason("models", objective)
    if reason is not None:
        raise HillwalkError(reason)
    if len(variants) != 2:
        raise HillwalkError(f"the comparison has two sides, got {len(variants)}")
    plane_spec = replace(slice_spec, center="trained", grid=MODELS_GRID, cut=False, component="total",
                         train_steps=max(slice_spec.train_steps, MODELS_MIN_STEPS))
    changed = ""
    if plane_spec.directions in ("coords", "interpolate", "pca"):
        # the sides have different parameters: only directions drawn for each model apply
        changed = (f"the slice's {plane_spec.directions} directions belong to one model's parameters; both sides "
                   "use filter-normalized directions")
        plane_spec = replace(plane_spec, directions="filter")
    sides = {}
    for k, (side, variant) in enumerate(zip(SIDES, variants)):
        name = variant.describe()
        spec = variant.problem(problem)
        side_slice = variant.slice_spec(plane_spec)
        _report(report, 0.5 * k, f"model {side.upper()}: training the {name}")
        model = spec.model_on(objective.train, objective.val)
        theta, _, losses = train_full_batch(
            model, model.initial_theta(slice_spec.init_scale, slice_spec.seed), side_slice.train_steps,
            record=False, should_stop=should_stop,
            progress=lambda fraction, k=k, side=side, name=name: _report(
                report, 0.5 * k + 0.2 * fraction, f"model {side.upper()}: training the {name}"))
        if _stopped(should_stop):
            return None
        if not (np.all(np.isfinite(theta)) and np.isfinite(losses[-1])):
            raise HillwalkError(f"model {side.upper()} ({name}): its loss overflowed (at the initial weights or while "
                                "training); choose fewer layers, a smaller initialization (Xavier or 0.01), or batch "
                                "norm")
        evaluation = model.for_evaluation() if hasattr(model, "for_evaluation") else model
        if getattr(evaluation, "batchnorm", False):
            # evaluation mode proper: each example normalized with the training set's
            # statistics at theta (the validation set's own would be another model)
            evaluation.estimate_running_stats(theta)
        regions = None
        if objective.train.n_features == 2:
            xs, ys, classes = decision_regions(evaluation, theta, resolution=REGIONS_RESOLUTION)
            regions = DecisionRegions(xs, ys, classes, float(evaluation.accuracy(theta)), side)
        _report(report, 0.5 * k + 0.2, f"model {side.upper()}: its landscape")
        plane = side_slice.plane(model, center=theta, center_label="trained")

        def progress(step, k=k, side=side):
            _report(report, 0.5 * k + 0.2 + 0.3 * step.fraction, f"model {side.upper()}: its landscape")

        landscape = side_slice.compute(model, plane, progress=progress, should_stop=should_stop)
        if landscape is None or _stopped(should_stop):
            return None
        sides[side] = TrainedModel(variant, model, theta, regions, landscape, float(evaluation.accuracy(theta)),
                                   float(evaluation.accuracy(theta, "val")), float(evaluation.loss(theta)),
                                   slice_roughness(landscape), nonconvex_share(landscape),
                                   distinct_units(model, theta))
    _report(report, 1.0, "models compared")
    return ModelComparison(sides, MODELS_GRID, plane_spec.train_steps, plane_spec.directions, changed)


# --------------------------------------------------------------------------- initialization

@dataclass
class InitExperiment:
    """The initialization lab's result: the settings it ran with, one
    :class:`~core.labs.lessons.InitStatistics` per scheme, and zero init's
    :class:`~core.labs.lessons.SymmetryCheck`."""

    activation: str
    depth: int
    width: int
    inputs: str
    examples: int
    statistics: list
    batchnorm: bool = False
    symmetry: SymmetryCheck | None = None

    def by_scheme(self, scheme: str) -> InitStatistics:
        return next(s for s in self.statistics if s.scheme == scheme)

    def __iter__(self):
        return iter(self.statistics)


def initialization_task(objective=None, activation="tanh", depth=10, width=500, inputs="gaussian", examples=256,
                        seed=0, slope=0.01, batchnorm=False, report=None, should_stop=None) -> InitExperiment | None:
    """The notes' experiment: ``depth`` layers of ``width`` units on unit-Gaussian inputs
    (``inputs="gaussian"``, the default: ``examples`` x ``width`` draws, 10 random classes)
    or on the objective's training data (``inputs="data"``), for every scheme of
    INIT_LAB_SCHEMES, with or without batch norm before each activation; then zero
    init's symmetry check (a few gradient steps on the same input)."""
    require_choice(inputs, INIT_INPUTS, "input")
    if inputs == "data":
        if objective is None or not is_classifier(objective):
            raise HillwalkError("the initialization lab's 'data set' input needs a classifier on data; choose "
                                "unit-Gaussian input, or a data set in the Data panel")
        X, y, n_classes = objective.train.X, objective.train.y, objective.n_classes
    else:
        X, y = gaussian_inputs(examples, width, 10, seed)
        n_classes = 10
    # the statistics take most of the time: their progress runs to 80%, the symmetry check's steps the rest
    inner = None if report is None else (lambda fraction, text: report(0.8 * fraction, text))
    statistics = initialization_statistics(X, y, n_classes, width, activation, depth, seed=seed, slope=slope,
                                           examples=examples, batchnorm=batchnorm, report=inner,
                                           should_stop=should_stop)
    if statistics is None or (should_stop is not None and should_stop()):
        return None
    if report is not None:
        report(0.8, "initialization: zero init's symmetry")
    symmetry = zero_init_symmetry(X, y, n_classes, width, activation, depth, seed, slope, examples, batchnorm)
    if report is not None:
        report(1.0, "initialization: done")
    return InitExperiment(activation, int(depth), int(width), inputs, min(int(examples), X.shape[0]), statistics,
                          bool(batchnorm), symmetry)


# --------------------------------------------------------------------------- curvature

# Parameters up to which the curvature report also forms the whole Hessian (exact trace,
# exact extreme eigenvalues to compare Lanczos with).
CURVATURE_EXACT_LIMIT = 1000


@dataclass
class CurvatureReport:
    """The Hessian's spectrum at one point (see :func:`curvature_task`).

    Attributes
    ----------
    theta : the point (parameter shape)
    top, top_residuals : (k,) the largest eigenvalues, descending, and their residuals
    bottom, bottom_residuals : (j,) the smallest, ascending (empty when not asked)
    top_vectors, bottom_vectors : (k, n), (j, n) unit eigenvectors
    trace, trace_error : Hutchinson's estimate and its standard error (NaN when not asked)
    exact_trace : float, NaN beyond CURVATURE_EXACT_LIMIT parameters
    density : SpectralDensity or None
    iterations : Lanczos steps ; size : parameters
    along : (s (S,), curvature (S,)) or None: ``d^T H(center + s d) d / |d|^2`` along a line,
        the second derivative of the loss along the unit direction (exact, by products)
    """

    theta: np.ndarray
    top: np.ndarray
    top_residuals: np.ndarray
    top_vectors: np.ndarray
    bottom: np.ndarray
    bottom_residuals: np.ndarray
    bottom_vectors: np.ndarray
    trace: float
    trace_error: float
    exact_trace: float
    density: object
    iterations: int
    size: int
    along: tuple | None = None

    @property
    def lambda_max(self) -> float:
        return float(self.top[0])

    @property
    def lambda_min(self) -> float:
        """The smallest eigenvalue found (NaN when the bottom was not asked for)."""
        return float(self.bottom[0]) if self.bottom.size else float("nan")

    @property
    def condition(self) -> float:
        """lambda_max / lambda_min where both are positive; inf where lambda_min <= 0 (a
        flat or negative direction: no finite condition number); NaN without a bottom."""
        if not self.bottom.size:
            return float("nan")
        return self.lambda_max / self.lambda_min if self.lambda_min > 0 else float("inf")

    @property
    def largest_stable_lr(self) -> float:
        """2 / lambda_max: above it full-batch GD on the quadratic model diverges."""
        return 2.0 / self.lambda_max if self.lambda_max > 0 else float("inf")


CURVATURE_LINE_POINTS = 41   # points along a line where the lab shows the curvature


def curvature_task(objective, theta, top=5, bottom=0, trace_samples=0, density=False, iterations=None, seed=0,
                   line=None, report=None, should_stop=None) -> CurvatureReport | None:
    """The Hessian at ``theta``: its ``top`` largest and ``bottom`` smallest eigenpairs
    (Lanczos, seeded), Hutchinson's trace over ``trace_samples`` probes (0: none), the
    eigenvalue density by stochastic Lanczos quadrature when ``density``, and with ``line``
    = (center, direction, (s0, s1)) the curvature along that line (the cut) at
    CURVATURE_LINE_POINTS points. None when stopped."""
    from ..curvature import full_hessian, hessian_vector, hutchinson_trace, lanczos, require_hvp, spectral_density

    require_hvp(objective)
    theta = np.asarray(theta, dtype=np.float64)
    n = theta.size
    if not 1 <= int(top) <= n or not 0 <= int(bottom) <= n:
        raise HillwalkError(f"ask for 1 to {n} top eigenvalues and 0 to {n} bottom ones, got {top} and {bottom}")
    parts = 1 + bool(bottom) + bool(trace_samples) + bool(density)
    done = 0

    def inner(text):
        def forward(fraction, _):
            _report(report, (done + fraction) / parts, text)
        return forward

    highest = lanczos(objective, theta, int(top), "top", iterations, seed, inner("largest eigenvalues"), should_stop)
    if highest is None:
        return None
    done += 1
    empty = np.zeros(0)
    lowest = None
    if bottom:
        lowest = lanczos(objective, theta, int(bottom), "bottom", iterations, seed + 1, inner("smallest eigenvalues"),
                         should_stop)
        if lowest is None:
            return None
        done += 1
    trace = (float("nan"), float("nan"))
    if trace_samples:
        trace = hutchinson_trace(objective, theta, int(trace_samples), seed + 2, inner("trace"), should_stop)
        if trace is None:
            return None
        done += 1
    spectrum = None
    if density:
        spectrum = spectral_density(objective, theta, seed=seed + 3, report=inner("eigenvalue density"),
                                    should_stop=should_stop)
        if spectrum is None:
            return None
    along = None
    if line is not None:
        center, direction, (s0, s1) = line
        direction = np.asarray(direction, dtype=np.float64)
        unit = direction / np.linalg.norm(direction)
        positions = np.linspace(float(s0), float(s1), CURVATURE_LINE_POINTS)
        curvatures = np.empty(positions.size)
        for k, position in enumerate(positions):
            if _stopped(should_stop):
                return None
            point = np.asarray(center, dtype=np.float64) + position * direction
            curvatures[k] = float(unit.ravel() @ hessian_vector(objective, point, unit))
        along = (positions, curvatures)
    exact_trace = float("nan")
    if n <= CURVATURE_EXACT_LIMIT:
        hessian = full_hessian(objective, theta, should_stop=should_stop)
        if hessian is None:
            return None
        exact_trace = float(np.trace(hessian))
    _report(report, 1.0, "curvature: done")
    return CurvatureReport(theta.reshape(np.shape(theta)), highest.eigenvalues, highest.residuals,
                           highest.eigenvectors, lowest.eigenvalues if lowest else empty,
                           lowest.residuals if lowest else empty,
                           lowest.eigenvectors if lowest else np.zeros((0, n)), trace[0], trace[1], exact_trace,
                           spectrum, highest.iterations, n, along)


# --------------------------------------------------------------------------- hyperparameter search

def search_task(problem, spec, objective=None, workers=1, report=None, should_stop=None):
    """A hyperparameter search (core.labs.hyperparameter_search.search) of ``problem``'s
    model: the lab's and ``hillwalk search``'s one road. ``report(fraction, text,
    partial=trials)`` posts the trials finished since the last call."""
    from .hyperparameter_search import search

    return search(problem, spec, objective, workers, report, should_stop)


# --------------------------------------------------------------------------- babysitting

def babysit_task(objective, method="sgd", lr=1e-2, batch_size=64, epochs=10, schedule="constant", gamma=0.5,
                 every=5, k=0.1, seed=0, report=None, should_stop=None) -> BabysittingReport | None:
    """The notes' babysitting sequence on ``objective`` (see
    :func:`~core.labs.babysitting.babysit`): the initial loss, overfitting 20 examples, the
    learning-rate probe and range test, and the training curves of ``method`` at ``lr``
    (``batch_size`` None or 0: the full batch) for ``epochs`` epochs under ``schedule``
    (counted in epochs). The lab and ``hillwalk babysit`` both call it. None when stopped."""
    reason = unavailable_reason("babysit", objective)
    if reason is not None:
        raise HillwalkError(reason)
    try:
        result = babysit(objective, method, lr, batch_size, epochs, schedule, gamma, every, k, seed, report=report,
                         should_stop=should_stop)
    except StopRequested:
        return None
    _report(report, 1.0, "babysitting: done")
    return result
