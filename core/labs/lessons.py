"""Computations behind the learning labs (each reproduces a lesson of the CS231n notes)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import HillwalkError, require_choice
from ..models.losses import _svm_margins, softmax_loss
from ..models.network import TwoLayerNet
from ..models.objectives import LinearClassifier
from ..models.regularizers import Regularizer
from .separability import conflicting_duplicates, linear_separation, standardized

STEP_EXPONENTS = tuple(range(-10, 0))  # the notes' sweep: step sizes 1e-10 ... 1e-1
EXPLOSION_FACTOR = 10.0   # a loss above this many times the start loss has clearly exploded
MAX_STEP_EXPONENT = 8     # the sweep stops at 1e8 even if the loss has not exploded by then


# --------------------------------------------------------------------------- gradient check

def broken_gradient(objective):
    """A deliberately wrong gradient: the regularization term is dropped, a classic slip.

    Returns a function theta -> gradient (shaped like theta)."""
    def gradient(theta):
        full = objective.loss_and_grad(theta)[1]
        if not objective.has_regularizer:
            return full * 1.01  # no regularizer to forget: be 1% off instead
        W = np.asarray(theta, dtype=np.float64).reshape(objective.param_shape)
        return (full - objective.regularizer.gradient(W, objective.reg_mask).reshape(np.shape(theta)))
    return gradient


# --------------------------------------------------------------------------- step size

@dataclass
class StepSizeSweep:
    """The loss after one step of size ``10**k`` along the negative gradient.

    Attributes
    ----------
    exponents : int array (K,) ; step_sizes : float array (K,)
    losses : float array (K,) (inf where the step overflowed)
    start_loss : float ; best_index : int
    exploded_index : int or None
        The first step whose loss has clearly exploded (non-finite, or above
        ``EXPLOSION_FACTOR`` times the start loss); None if none did.
    lambda_max : float
        The Hessian's largest eigenvalue at the start, or NaN.
    """

    exponents: np.ndarray
    step_sizes: np.ndarray
    losses: np.ndarray
    start_loss: float
    best_index: int
    exploded_index: int | None = None
    # the Hessian's largest eigenvalue at the start (NaN: not computed); one step of
    # gradient descent on the quadratic model overshoots beyond 2 / lambda_max
    lambda_max: float = float("nan")

    @property
    def best_step(self) -> float:
        return float(self.step_sizes[self.best_index])


def has_exploded(loss: float, start_loss: float, factor: float = EXPLOSION_FACTOR) -> bool:
    """True when ``loss`` is non-finite or above ``factor`` times ``start_loss``."""
    return not math.isfinite(loss) or loss > factor * start_loss


def step_size_sweep(objective, theta, exponents=None, explosion_factor=EXPLOSION_FACTOR,
                    max_exponent=MAX_STEP_EXPONENT, should_stop=None) -> StepSizeSweep | None:
    """The notes' experiment: from ``theta``, one step ``-10**k * grad`` for each k.

    Parameters
    ----------
    objective : object with ``loss`` and ``loss_and_grad``
    theta : array of the objective's parameter shape
    exponents : ints or None
        The k to try. None: the notes' k = -10 .. -1, then k = 0, 1, ... on until the loss
        has clearly exploded (see :func:`has_exploded`) or k reaches ``max_exponent``: the
        sweep always shows where a step is too large, even where 1e-1 is still the best.
    should_stop : callable () -> bool, or None
        Checked before every step; the sweep returns None when it says stop.

    Returns
    -------
    StepSizeSweep, or None when stopped.
    """
    theta = np.asarray(theta, dtype=np.float64)
    start_loss, grad = objective.loss_and_grad(theta)
    start_loss = float(start_loss)
    if exponents is None:
        candidates = list(STEP_EXPONENTS) + list(range(STEP_EXPONENTS[-1] + 1, int(max_exponent) + 1))
        extend = True
    else:
        candidates = [int(k) for k in exponents]
        extend = False
    tried, losses, exploded_index = [], [], None
    with np.errstate(all="ignore"):
        for k in candidates:
            if should_stop is not None and should_stop():
                return None
            value = float(objective.loss(theta - 10.0 ** k * grad))
            tried.append(k)
            losses.append(value if math.isfinite(value) else math.inf)
            if exploded_index is None and has_exploded(value, start_loss, explosion_factor):
                exploded_index = len(tried) - 1
            if extend and k >= STEP_EXPONENTS[-1] and exploded_index is not None:
                break
    losses = np.array(losses)
    if not np.isfinite(losses).any():
        raise HillwalkError("every step size made the loss overflow; the gradient at this point is enormous")
    exponents = np.array(tried, dtype=int)
    return StepSizeSweep(exponents, 10.0 ** exponents.astype(float), losses, start_loss, int(np.argmin(losses)),
                         exploded_index)


# --------------------------------------------------------------------------- sanity checks

SANITY_SCALE = 1e-4        # the notes' "small random W" of the initial-loss check
SANITY_SUBSET = 20         # examples the overfitting check fits
OVERFIT_STEPS = 3000       # at most this many Adam steps ...
OVERFIT_GOAL = 1e-3        # ... stopping once every example is right and the loss is below this share of its start
OVERFIT_RATE = 1e-2        # Adam's learning rate on standardized (unit-spread) features
FIT_SHARE = 0.05           # a fit: every example right, and the loss below this share of its start
NEAR_ZERO = 0.01           # the notes' value holds when every correct loss is within 1% of it
SEPARATING_MARGIN = 40.0   # softmax at score margins of 40: a loss below (C - 1) e^-40
OVERFIT_CHECKED = 300      # parameters the gradient check samples when a fit fails


@dataclass
class InitialLossCheck:
    """The loss at a small random W against what a correct loss can be there.

    At ``W = scale * randn`` the notes expect every score to be about 0, and so a loss of
    ``ln C`` (softmax) or ``(C - 1) delta`` (SVM). Whether the scores are near 0 depends on
    the data's scale, so the check computes, from the actual scores ``s`` (N, C), the
    interval in which any correct loss lies:

    * softmax: ``L_i = ln C + (mean_j s_ij - s_iy) + ln mean_j exp(s_ij - mean_j s_ij)``,
      and the last term lies in ``[0, r_i^2 / 8]`` (Jensen; Hoeffding's lemma), ``r_i`` the
      span ``max_j s_ij - min_j s_ij`` of the example's scores;
    * SVM: ``L_i = (C - 1) delta + C (mean_j s_ij - s_iy) + sum_{j != y} max(0, s_iy - s_ij - delta)``,
      and the last sum (what the hinge clips) lies in ``[0, (C - 1) max(0, r_i - delta)]``.

    A measured loss outside the interval (widened by round-off only) cannot come from a
    correct loss; inside it, the loss is correct as far as this check can tell. The
    interval is within 1% of the notes' value exactly when the scores are near 0 relative
    to the loss's own scale (1 for softmax, delta for the SVM).

    Attributes
    ----------
    loss : float: measured, no regularization, on the training set
    at_zero : float: the notes' value (every score 0) ; formula : str: how it is computed
    low, high : float: where a correct loss lies at these scores
    spread : float: the largest span of one example's scores
    feature_size : float: the largest |x| of the data (what makes the scores large)
    scale : float: the weights' scale
    verdict : "expected" | "consistent" | "bug" | "undetermined" (the scores overflow the bounds)
    reason : str: the verdict in words (plain text)
    """

    loss: float
    at_zero: float
    formula: str
    low: float
    high: float
    spread: float
    feature_size: float
    scale: float
    verdict: str
    reason: str

    @property
    def relative_gap(self) -> float:
        """|measured - the notes' value| / the notes' value."""
        return abs(self.loss - self.at_zero) / self.at_zero


@dataclass
class OverfitCheck:
    """Fitting a tiny subset without regularization, and what a failure means.

    Attributes
    ----------
    size : int ; examples : int array (size,): the subset's training-set indices
    losses : float array (steps + 1,): the subset's loss after each step
    accuracy : float: on the subset, at the end
    verdict : "fits" | "duplicates" | "not separable" | "loss bug" | "gradient bug" | "not converged"
    reason : str: the verdict in words (plain text)
    method : str: how the run was tuned (plain text)
    """

    size: int
    examples: np.ndarray
    losses: np.ndarray
    accuracy: float
    verdict: str
    reason: str
    method: str

    @property
    def fits(self) -> bool:
        return self.verdict == "fits"

    @property
    def suspects_bug(self) -> bool:
        return self.verdict in ("loss bug", "gradient bug")


@dataclass
class SanityReport:
    """The notes' two sanity checks: :class:`InitialLossCheck` and :class:`OverfitCheck`."""

    initial: InitialLossCheck
    overfit: OverfitCheck

    @property
    def suspects_bug(self) -> bool:
        """Whether either check found evidence of a bug (and only then)."""
        return self.initial.verdict == "bug" or self.overfit.suspects_bug


def sanity_checks(objective, subset_size=SANITY_SUBSET, steps=OVERFIT_STEPS, seed=0, scale=SANITY_SCALE,
                  should_stop=None) -> SanityReport:
    """The notes' two checks for a classifier (linear or network), each holding its own
    assumptions (see :func:`initial_loss_check` and :func:`overfit_check`).

    Raises :class:`~core.labs.gradcheck.StopRequested` when ``should_stop()`` says stop.
    """
    if not getattr(objective, "has_data", False):
        raise HillwalkError("the sanity checks need a classifier on data; choose a data set in the Data panel")
    initial = initial_loss_check(objective, scale, seed)
    return SanityReport(initial, overfit_check(objective, subset_size, steps, seed, should_stop))


def unregularized_copy(objective, train):
    """The same model and loss as ``objective`` (its own class, so a subclass with a
    broken loss stays broken) on ``train``, without regularization or validation data."""
    none = Regularizer("none")
    if isinstance(objective, TwoLayerNet):  # its own (positional) signature: one width
        return type(objective)(train, None, objective.hidden, objective.activation, objective.slope, objective.init,
                               objective.loss_name, objective.delta, none)
    if objective.is_network:
        # every setting of a deep network, its modes too (a copy on other data draws its own
        # dropout masks for those examples; running statistics carry over, as they would
        # to any data evaluated in evaluation mode)
        copy = type(objective)(train, None, objective.widths, objective.activation, objective.slope, objective.init,
                               objective.loss_name, objective.delta, none, pieces=max(objective.pieces, 2),
                               batchnorm=objective.batchnorm, keep_prob=objective.keep_prob,
                               residual=objective.residual, bn_momentum=objective.bn_momentum,
                               bn_mode=objective.bn_mode, dropout_mode=objective.dropout_mode,
                               mask_seed=objective.mask_seed)
        copy.running_stats = objective.running_stats
        return copy
    return type(objective)(train, None, objective.loss_name, objective.delta, none)


def initial_loss_check(objective, scale=SANITY_SCALE, seed=0) -> InitialLossCheck:
    """The loss at ``W = scale * randn`` (every parameter, seeded) without regularization,
    against the interval in which a correct loss lies at the scores it produces."""
    plain = unregularized_copy(objective, objective.train)
    theta = scale * np.random.default_rng(seed).standard_normal(plain.param_shape)
    C, delta = plain.n_classes, plain.delta
    # data near the float64 limit give scores (or spans, squared) that overflow: that is
    # reported as a check that cannot tell, below, not warned about
    with np.errstate(over="ignore", invalid="ignore"):
        loss = float(plain.loss(theta))
        scores = np.asarray(plain._scores(plain._params(theta), plain.X), dtype=np.float64)     # (N, C)
        y = plain.y
        rows = np.arange(y.size)
        mean = scores.mean(axis=1)
        span = scores.max(axis=1) - scores.min(axis=1)                                         # r_i, (N,)
        shift = mean - scores[rows, y]                                                         # (N,)
        if plain.loss_name == "svm":
            at_zero, formula = (C - 1) * delta, f"(C - 1) x delta = ({C} - 1) x {delta:g}"
            low = at_zero + C * float(shift.mean())
            allowance = (C - 1) * float(np.maximum(span - delta, 0.0).mean())
            why = ("(C - 1) x delta, shifted by the scores to first order (exact while every score difference is "
                   "below delta), plus at most (C - 1) x (span - delta) where the hinge clips")
        else:
            at_zero, formula = math.log(C), f"ln C = ln {C}"
            low = at_zero + float(shift.mean())
            allowance = float((span ** 2).mean() / 8)
            why = ("ln C, shifted by the scores to first order, plus at most span^2 / 8 for the log-sum-exp's "
                   "curvature (Hoeffding's lemma)")
        high = low + allowance
        # what rounding can put into a mean of N losses of this size: far below any bug's effect
        rounding = 1e-9 * (at_zero + float(span.mean()))
        spread = float(span.max()) if span.size else 0.0
        feature_size = float(np.max(np.abs(objective.train.X))) if objective.train.X.size else 0.0
        deviation = max(abs(low - at_zero), abs(high - at_zero)) / at_zero  # what the scores do to a correct loss
    near_zero = deviation <= NEAR_ZERO
    # as many digits as tell its ends apart ("[2.3022, 2.3022]" said nothing), up to
    # INTERVAL_DIGITS; an interval narrower than that (the SVM's, exactly one value where
    # no example's scores span delta) is that one value
    needed = _distinguishing_digits(low, high) if math.isfinite(low) and math.isfinite(high) else INTERVAL_DIGITS
    lies = f"is {low:.6g}" if needed > INTERVAL_DIGITS else f"lies in [{low:.{needed}g}, {high:.{needed}g}]"
    if not (math.isfinite(low) and math.isfinite(high) and math.isfinite(rounding)):
        verdict = "undetermined"
        reason = (f"cannot tell: at this scale the scores reach {np.max(np.abs(scores)):.3g}, because the features "
                  f"reach {feature_size:.3g} in size, too large for the bounds a correct loss obeys to say anything; "
                  "standardize the features (Data panel: preprocessing) and check again")
    elif not (math.isfinite(loss) and low - rounding <= loss <= high + rounding):
        verdict = "bug"
        digits = _distinguishing_digits(loss, low if loss < low else high)
        reason = (f"suspect a bug in the loss: {loss:.{digits}g} is outside [{low:.{digits}g}, {high:.{digits}g}], "
                  f"where any correct {plain.loss_name} loss lies at these scores ({why})")
    elif near_zero:
        verdict = "expected"
        reason = (f"as expected: every score is about 0 (an example's scores span at most {spread:.1g}), and a "
                  f"correct loss {lies} there")
    else:
        verdict = "consistent"
        reason = (f"consistent with a correct loss: the notes' value assumes every score is about 0, which does not "
                  f"hold on these data at this scale: an example's scores span up to {spread:.2g}, because the "
                  f"features reach {feature_size:.3g} in size, and that moves a correct loss by up to "
                  f"{deviation:.1%}. At these scores a correct loss {lies}: {why}")
    return InitialLossCheck(loss, float(at_zero), formula, float(low), float(high), spread, feature_size, float(scale),
                            verdict, reason)


INTERVAL_DIGITS = 8   # at most this many significant digits for the interval's ends


def _distinguishing_digits(value, other, at_least=5):
    """Significant digits that print ``value`` and ``other`` differently (up to 17)."""
    digits = at_least
    while digits < 17 and f"{value:.{digits}g}" == f"{other:.{digits}g}":
        digits += 1
    return digits


def overfit_check(objective, subset_size=SANITY_SUBSET, steps=OVERFIT_STEPS, seed=0, should_stop=None) -> OverfitCheck:
    """Fit ``subset_size`` random training examples without regularization, tuned to
    converge, and say what a failure means.

    The run: Adam on the same model class and loss (a subclass with a broken loss stays
    broken) with the subset's features standardized. A model whose first layer is linear
    absorbs any affine change of its inputs, so fitting the standardized examples is the
    same task, and the loss and gradient code under test are the same; only the optimizer
    sees well-scaled coordinates, and the same learning rate suits every data set.

    A failure is blamed on a bug only on evidence: the gradient disagrees with finite
    differences (a gradient check at the run's start), or, for a linear model, the loss
    does not vanish at a W that classifies every example with a wide margin. Otherwise the
    check says which of its assumptions fails: duplicate points with different labels (no
    model fits them), examples no linear model separates (with the ones that conflict),
    or a run that has not converged.
    """
    from .gradcheck import gradient_check

    rng = np.random.default_rng(seed)
    size = min(subset_size, objective.n_train)
    chosen = np.sort(rng.choice(objective.n_train, size, replace=False))
    train = objective.train
    subset = train.with_step(train.X[chosen], train.y[chosen], f"random subset of {size} (seed {seed})")
    scaled = subset.with_step(standardized(subset.X), subset.y, "standardized on the subset")
    tiny = unregularized_copy(objective, scaled)
    # a network's scheme (He, Xavier) is made for unit-spread inputs; a linear model
    # starts at small weights, as in the notes
    if tiny.is_network:
        start = np.asarray(tiny.initial_theta(None, seed), dtype=np.float64)
    else:
        start = SANITY_SCALE * np.random.default_rng(seed).standard_normal(tiny.param_shape)
    method = (f"Adam, learning rate {OVERFIT_RATE:g}, up to {steps} steps, on the subset's features standardized "
              "(centred and divided by their spread: the first layer absorbs that exactly, so it is the same task, "
              "and the loss and gradient under test are the same)")
    theta, losses = _adam_run(tiny, start, steps, should_stop)
    accuracy = float(tiny.accuracy(theta))
    final, first = float(losses[-1]), float(losses[0])

    def result(verdict, reason):
        return OverfitCheck(size, chosen, losses, accuracy, verdict, reason, method)

    if accuracy == 1.0 and final < FIT_SHARE * first:
        return result("fits", f"fits: all {size} examples right, the loss from {first:.3g} down to {final:.2g}: the "
                              "loss and its gradient drive the model to fit data")
    with np.errstate(over="ignore", invalid="ignore"):
        check = gradient_check(tiny, start, samples=min(OVERFIT_CHECKED, tiny.size), seed=seed)
    verdict = check.verdict()
    if not verdict.passed:
        return result("gradient bug", f"suspect a bug in the gradient: at the run's start {verdict.reason}")
    gradient_ok = (f"the gradient agrees with finite differences at the run's start (largest relative error "
                   f"{verdict.worst:.1e})")
    duplicates = conflicting_duplicates(subset.X, subset.y)
    if duplicates:
        i, k = duplicates[0]
        return result("duplicates", f"no model can fit them: training examples {chosen[i]} and {chosen[k]} are the "
                                    f"same point with different labels ({subset.y[i]} and {subset.y[k]}); "
                                    f"{gradient_ok}, so nothing points to a bug")
    if not tiny.is_network:
        separation = linear_separation(tiny.X, tiny.y, tiny.n_classes)
        if separation.separable is False:
            names = ", ".join(str(chosen[r]) for r in separation.conflict)
            labels = ", ".join(str(subset.y[r]) for r in separation.conflict)
            return result("not separable",
                          f"not separable by a linear model: no W gets all {size} examples right (training examples "
                          f"{names}, of classes {labels}, cannot all be right at once), so 100% is out of reach; "
                          f"{gradient_ok}, so nothing points to a bug. A network (Model panel) can fit them")
        if separation.separable:
            bound, value, margin = _loss_at_separating_weights(tiny, separation)
            if not (math.isfinite(value) and value <= bound + 1e-6 * first):
                return result("loss bug",
                              f"suspect a bug in the loss: the examples are separable (a W classifies every one with "
                              f"a score margin of {margin:g}, where a correct {tiny.loss_name} loss is at most "
                              f"{bound:.1g}), yet this loss is {value:.4g} there")
            why = "the examples are separable, but only with a small margin, which takes many steps"
        else:
            why = "the examples are barely separable, if at all (within rounding)"
    else:
        causes = ["a network's loss is not convex: a run can stall on a plateau"]
        narrowest = min(tiny.widths)  # the two-layer net and deep nets alike
        if narrowest < size:
            causes.append(f"{narrowest} hidden unit(s) per layer may be too few for {size} examples")
        if tiny.init == "small":
            causes.append("the 'small' initialization (0.01 x randn) starts where the gradients are weak")
        why = "; ".join(causes) + "; more hidden units or another initialization would help"
    return result("not converged", f"not converged, but nothing points to a bug: {gradient_ok}; {why}")


def _adam_run(model, start, steps, should_stop):
    """Adam on ``model.loss_and_grad`` from ``start``; stops early once every example is
    right and the loss is below ``OVERFIT_GOAL`` of its start.

    Returns
    -------
    theta : the parameters at the end ; losses : float array (steps run + 1,)
    """
    from .gradcheck import StopRequested

    theta = np.array(start, dtype=np.float64)
    moment, second = np.zeros_like(theta), np.zeros_like(theta)
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    with np.errstate(over="ignore", invalid="ignore"):
        loss, grad = model.loss_and_grad(theta)
        losses = [float(loss)]
        for k in range(1, int(steps) + 1):
            if should_stop is not None and k % 100 == 0 and should_stop():
                raise StopRequested()
            if not np.all(np.isfinite(grad)):
                break
            moment = beta1 * moment + (1 - beta1) * grad
            second = beta2 * second + (1 - beta2) * grad * grad
            theta = theta - OVERFIT_RATE * (moment / (1 - beta1 ** k)) / (np.sqrt(second / (1 - beta2 ** k)) + eps)
            loss, grad = model.loss_and_grad(theta)
            losses.append(float(loss))
            if not math.isfinite(loss) or (loss <= OVERFIT_GOAL * losses[0] and model.accuracy(theta) == 1.0):
                break
    return theta, np.array(losses)


def _loss_at_separating_weights(model, separation):
    """The loss at the separating W scaled to a wide margin, and what a correct loss is
    at most there (softmax: margins of 40 give ``ln(1 + (C - 1) e^-40)``; SVM: margins of
    2 delta give 0).

    Returns
    -------
    bound, value, margin : floats
    """
    margin = SEPARATING_MARGIN if model.loss_name == "softmax" else 2 * model.delta
    W = separation.W * (margin / separation.margin)
    bound = math.log1p((model.n_classes - 1) * math.exp(-margin)) if model.loss_name == "softmax" else 0.0
    with np.errstate(over="ignore", invalid="ignore"):
        value = float(model.loss(W))
    return bound, value, margin


# --------------------------------------------------------------------------- hinge anatomy

def hinge_terms_along_cut(objective: LinearClassifier, plane, example: int, alphas):
    """The SVM loss of one example along a cut, term by term.

    Returns
    -------
    terms : array (C - 1, len(alphas)): ``max(0, s_j - s_y + delta)`` for each j != y
    classes : list of the class indices j of the rows
    """
    if objective.loss_name != "svm":
        raise HillwalkError("the hinge anatomy is about the SVM loss; switch the loss to SVM")
    if not 0 <= example < objective.n_train:
        raise HillwalkError(f"example {example} is out of range (0..{objective.n_train - 1})")
    x = objective.X[example]
    y = int(objective.y[example])
    W0 = plane.center.reshape(objective.param_shape)
    D1 = plane.dir1.reshape(objective.param_shape)
    scores = (W0 @ x)[None, :] + np.asarray(alphas)[:, None] * (D1 @ x)[None, :]      # (n, C)
    margins = _svm_margins(scores, np.full(len(alphas), y), objective.delta)            # (n, C)
    classes = [j for j in range(objective.n_classes) if j != y]
    return np.maximum(margins[:, classes], 0.0).T, classes


def hinge_kinks(objective: LinearClassifier, plane, example: int):
    """Positions s along ``plane``'s first direction where one of the example's hinge
    terms ``max(0, M_j + s G_j)`` changes from zero to linear (``s = -M_j / G_j``)."""
    x = objective.X[example]
    y = int(objective.y[example])
    W0 = plane.center.reshape(objective.param_shape)
    D1 = plane.dir1.reshape(objective.param_shape)
    base, slope = W0 @ x, D1 @ x
    offsets = base - base[y] + objective.delta
    slopes = slope - slope[y]
    keep = (np.arange(objective.n_classes) != y) & (slopes != 0)
    return np.sort(-offsets[keep] / slopes[keep])


def kink_range(kinks, at_least=(-1.0, 1.0), margin=0.25):
    """A range of s holding every kink (and ``at_least``), with a margin on both sides."""
    low, high = at_least
    if kinks.size:
        low, high = min(low, float(kinks.min())), max(high, float(kinks.max()))
    pad = margin * (high - low)
    return low - pad, high + pad


TOY_POINTS = np.array([[-1.0], [0.0], [1.0]])   # three 1-D points ...
TOY_LABELS = np.array([0, 1, 2])                # ... one per class


def toy_hinge_problem(weights, row=0, column=0, base=None, delta=1.0):
    """The notes' toy: 3 one-dimensional points (with the bias trick), 3 classes; the SVM
    data loss as one weight ``W[row, column]`` varies, and each hinge term on its own.

    Returns
    -------
    total : array (len(weights),): the mean loss over the three points
    terms : dict {(i, j): array}: ``max(0, s_j - s_{y_i} + delta) / 3`` for each point i and
        class j != y_i (zero everywhere terms included, so the sum is ``total``)
    """
    X = np.hstack([TOY_POINTS, np.ones((3, 1))])                       # (3, 2)
    W = np.array([[-1.0, 0.5], [0.2, 0.1], [1.0, -0.5]]) if base is None else np.array(base, dtype=float)
    weights = np.asarray(weights, dtype=np.float64)
    terms = {}
    total = np.zeros(weights.size)
    for k, value in enumerate(weights):
        Wk = W.copy()
        Wk[row, column] = value
        scores = X @ Wk.T
        margins = _svm_margins(scores, TOY_LABELS, delta)
        for i in range(3):
            for j in range(3):
                if j == TOY_LABELS[i]:
                    continue
                terms.setdefault((i, j), np.zeros(weights.size))[k] = max(0.0, margins[i, j]) / 3
        total[k] = np.maximum(margins, 0).sum() / 3
    return total, terms


# --------------------------------------------------------------------------- decision regions

def decision_regions(objective, theta, resolution=200, margin=0.15):
    """The predicted class over the plane of a 2-D data set (in its preprocessed features),
    in evaluation mode (a batch-norm network with the training set's statistics at theta).

    Returns
    -------
    xs : array (resolution,) ; ys : array (resolution,)
    classes : int array (resolution, resolution): ``classes[j, i]`` at ``(xs[i], ys[j])``
    """
    if objective.train.n_features != 2:
        raise HillwalkError(f"decision regions need a data set with 2 features (spiral, blobs, xor, circles); "
                            f"this one has {objective.train.n_features}")
    if getattr(objective, "batchnorm", False) and getattr(objective, "running_stats", None) is None:
        # without running statistics a batch-norm network normalizes each batch by its own
        # statistics: the grid's points would be standardized among themselves. A copy
        # with the training set's statistics at theta classifies each point on its own.
        objective = objective.with_modes()
        objective.estimate_running_stats(theta)
    X = objective.train.X
    low, high = X.min(axis=0), X.max(axis=0)
    pad = margin * (high - low)
    xs = np.linspace(low[0] - pad[0], high[0] + pad[0], resolution)
    ys = np.linspace(low[1] - pad[1], high[1] + pad[1], resolution)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, objective.predict(theta, np.c_[gx.ravel(), gy.ravel()]).reshape(resolution, resolution)


# --------------------------------------------------------------------------- weight initialization

# The lab compares every scheme of core.models.layers.init_weights: zero (whose symmetry
# the lab shows apart, see zero_init_symmetry), the notes' 0.01 randn and "too large"
# randn * 1 (which saturates tanh and sigmoid units), Xavier and He.
INIT_LAB_SCHEMES = ("zero", "small", "large", "xavier", "he")
INIT_LAB_LABELS = {"zero": "zero: every weight 0", "small": "small: 0.01 randn (too small)",
                   "large": "randn * 1 (too large)", "xavier": "Xavier: randn / sqrt(fan_in)",
                   "he": "He: randn * sqrt(2 / fan_in)"}
INIT_INPUTS = ("gaussian", "data")
HISTOGRAM_BINS = 60
SATURATION_LEVEL = 0.99   # a tanh unit with |h| > 0.99 (a sigmoid one outside [0.01, 0.99]) is saturated
SYMMETRY_STEPS = 5        # gradient steps of the zero-init check: enough to see nothing break
SYMMETRY_LEARNING_RATE = 0.5
# Units of a zero-initialized layer are equal in exact arithmetic; in floating point the
# matrix products may sum identical columns in different orders (BLAS blocking), which
# leaves differences of ~1e-16 when the weights move (sigmoid). Far below any real break.
SYMMETRY_TOLERANCE = 1e-9


@dataclass
class InitStatistics:
    """A network's hidden layers at initialization under one scheme, as histograms.

    The raw activations (examples x width per layer) stay in the worker: only what the
    lab draws and prints crosses to the GUI.

    Attributes
    ----------
    scheme : str
    activation_edges : float array (bins + 1,)
        Bin edges shared by every layer's activation histogram.
    activation_share : float array (depth, bins)
        Row k: the share of layer k's activations in each bin (each row sums to 1).
    gradient_edges : float array (bins + 1,)
        Bin edges of log10 |g| over the non-zero, finite gradient entries of every layer.
    gradient_share : float array (depth + 1, bins)
        Row k: the share of weight matrix k's gradient entries (layer 1 .. output) whose
        log10 |g| falls in each bin; entries that are exactly 0 or non-finite have no
        logarithm and are counted in ``gradient_zero`` and ``gradient_nonfinite`` instead.
    gradient_zero, gradient_nonfinite : float arrays (depth + 1,)
    activation_mean, activation_std : float arrays (depth,)
    gradient_norm : float array (depth + 1,) (inf where the gradient overflowed)
    saturated : float array (depth,)
        Share of units within 1% of the activation's bound (tanh: |h| > 0.99; sigmoid:
        h < 0.01 or h > 0.99); NaN for unbounded activations.
    dead : float array (depth,)
        Share of exactly-zero activations (ReLU's dead side).
    """

    scheme: str
    activation_edges: np.ndarray
    activation_share: np.ndarray
    gradient_edges: np.ndarray
    gradient_share: np.ndarray
    gradient_zero: np.ndarray
    gradient_nonfinite: np.ndarray
    activation_mean: np.ndarray
    activation_std: np.ndarray
    gradient_norm: np.ndarray
    saturated: np.ndarray
    dead: np.ndarray


def gaussian_inputs(examples=500, width=500, n_classes=10, seed=0):
    """The notes' input: ``examples`` x ``width`` unit-Gaussian features, with seeded random
    labels from ``n_classes`` (the labels only give the backward pass a loss to send back).

    Returns
    -------
    X : float array (examples, width) ; y : int array (examples,)
    """
    rng = np.random.default_rng(seed)
    return rng.standard_normal((int(examples), int(width))), rng.integers(0, int(n_classes), int(examples))


def _value_edges(arrays, bins):
    """``bins + 1`` edges spanning the finite values of ``arrays`` (a tiny span if all equal)."""
    finite = [a[np.isfinite(a)] for a in arrays]
    finite = [a for a in finite if a.size]
    if not finite:
        return np.linspace(-1.0, 1.0, bins + 1)
    low, high = min(float(a.min()) for a in finite), max(float(a.max()) for a in finite)
    if high <= low:
        low, high = low - 0.5, high + 0.5
    return np.linspace(low, high, bins + 1)


def _shares(values, edges):
    """Share of ``values`` (all of them, not just the binned ones) in each bin of ``edges``."""
    counts, _ = np.histogram(values, bins=edges)
    return counts / max(1, np.asarray(values).size)


def _stack_pass(X, y, weights, biases, activation, slope, batchnorm):
    """One forward and backward pass of the lab's plain stack: per hidden layer
    ``affine -> [batch norm, training-mode statistics of this batch, gamma 1, beta 0] ->
    activation``, then an affine output layer and the softmax loss.

    Parameters
    ----------
    X : (N, D) ; y : (N,) ; weights : list of (fan_in, fan_out) arrays, the last one the
    output layer's ; biases : list of (fan_out,) arrays ; batchnorm : bool

    Returns
    -------
    activations : list of (N, width) arrays, one per hidden layer
    weight_gradients, bias_gradients : lists shaped like ``weights`` and ``biases``
    """
    from ..models.layers import (
        activation_backward,
        activation_forward,
        affine_backward,
        affine_forward,
        batchnorm_backward,
        batchnorm_forward,
    )

    h, caches, activations = X, [], []
    for W, b in zip(weights[:-1], biases[:-1]):
        z, affine_cache = affine_forward(h, W, b)
        norm_cache = None
        if batchnorm:
            width = W.shape[1]
            z, norm_cache, _, _ = batchnorm_forward(z, np.ones(width), np.zeros(width), "train",
                                                    np.zeros(width), np.ones(width))
        h, activation_cache = activation_forward(z, activation, slope)
        caches.append((affine_cache, norm_cache, activation_cache))
        activations.append(h)
    scores, last_cache = affine_forward(h, weights[-1], biases[-1])
    _, dscores = softmax_loss(scores, y)
    weight_gradients, bias_gradients = [None] * len(weights), [None] * len(weights)
    upstream, weight_gradients[-1], bias_gradients[-1] = affine_backward(dscores, last_cache)
    for k in range(len(weights) - 2, -1, -1):
        affine_cache, norm_cache, activation_cache = caches[k]
        upstream = activation_backward(upstream, activation_cache)
        if norm_cache is not None:
            upstream, _, _ = batchnorm_backward(upstream, norm_cache)
        upstream, weight_gradients[k], bias_gradients[k] = affine_backward(upstream, affine_cache)
    return activations, weight_gradients, bias_gradients


def _saturation(activations, activation):
    """Per layer, the share of units within 1% of the activation's bound (NaN if unbounded)."""
    low = 1.0 - SATURATION_LEVEL
    if activation == "tanh":
        return [float(np.mean(np.abs(a) > SATURATION_LEVEL)) for a in activations]
    if activation == "sigmoid":
        return [float(np.mean((a < low) | (a > SATURATION_LEVEL))) for a in activations]
    return [float("nan")] * len(activations)


def _lab_subset(X, y, examples, rng):
    """At most ``examples`` rows of (X, y), a seeded subset in their order."""
    X = np.asarray(X, dtype=np.float64)
    if X.shape[0] > examples:
        chosen = np.sort(rng.choice(X.shape[0], examples, replace=False))
        X, y = X[chosen], np.asarray(y)[chosen]
    return X, np.asarray(y)


def _check_stack(activation, depth, hidden):
    from ..models.layers import ACTIVATIONS

    require_choice(activation, ACTIVATIONS, "activation")
    if not 1 <= int(depth) <= 20:
        raise HillwalkError(f"the number of hidden layers must be from 1 to 20, got {depth}")
    if not 1 <= int(hidden) <= 2000:
        raise HillwalkError(f"the number of units per hidden layer must be from 1 to 2000, got {hidden}")


def initialization_statistics(X, y, n_classes, hidden=500, activation="tanh", depth=10, schemes=INIT_LAB_SCHEMES,
                              seed=0, slope=0.01, examples=500, bins=HISTOGRAM_BINS, batchnorm=False, report=None,
                              should_stop=None):
    """The notes' experiment: push data through freshly initialized networks (``depth``
    hidden layers of ``hidden`` units, no biases) and look at each hidden layer's
    activations and each weight matrix's gradient of the softmax loss, per scheme.

    With ``batchnorm`` every hidden layer normalizes its pre-activations over the batch
    (training mode, gamma 1, beta 0) before the activation, so the scale of the weights no
    longer reaches the activations.

    Parameters
    ----------
    X : (N, D) inputs ; y : (N,) labels ; n_classes : int
    hidden : units per hidden layer ; depth : hidden layers (1 to 20)
    activation : one of core.models.layers.ACTIVATIONS
    schemes : names from INIT_LAB_SCHEMES ; seed : int (the same draws for every scheme)
    examples : at most this many rows of X (a seeded subset)
    bins : histogram bins ; batchnorm : bool
    report : callable (fraction, text) or None ; should_stop : callable () -> bool or None

    Returns
    -------
    list of InitStatistics, one per scheme; None when stopped.
    """
    from ..models.layers import init_weights

    _check_stack(activation, depth, hidden)
    X, y = _lab_subset(X, y, examples, np.random.default_rng(seed))
    widths = [X.shape[1]] + [int(hidden)] * int(depth) + [int(n_classes)]
    results = []
    for number, scheme in enumerate(schemes):
        require_choice(scheme, INIT_LAB_SCHEMES, "scheme")
        if should_stop is not None and should_stop():
            return None
        if report is not None:
            report(number / len(schemes), f"initialization: {scheme}")
        draws = np.random.default_rng(seed)  # the same draws for every scheme: only the scale differs
        weights = [init_weights(fan_in, fan_out, scheme, draws) for fan_in, fan_out in zip(widths[:-1], widths[1:])]
        biases = [np.zeros(fan_out) for fan_out in widths[1:]]
        # randn weights under ReLU grow activations ~sqrt(width / 2) per layer and the
        # backward pass can overflow: count non-finite values instead of warning
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            activations, gradients, _ = _stack_pass(X, y, weights, biases, activation, slope, batchnorm)
            magnitudes = [np.abs(g.ravel()) for g in gradients]
            logs = [np.log10(m[np.isfinite(m) & (m > 0)]) for m in magnitudes]
            gradient_norm = np.array([np.linalg.norm(g) for g in gradients])
        activation_edges = _value_edges([a.ravel() for a in activations], bins)
        gradient_edges = _value_edges(logs, bins)
        results.append(InitStatistics(
            scheme, activation_edges,
            np.array([_shares(a[np.isfinite(a)], activation_edges) for a in activations]),
            gradient_edges, np.array([_shares(log, gradient_edges) * log.size / max(1, m.size)
                                      for log, m in zip(logs, magnitudes)]),
            np.array([float(np.mean(m == 0)) for m in magnitudes]),
            np.array([float(np.mean(~np.isfinite(m))) for m in magnitudes]),
            np.array([float(a.mean()) for a in activations]), np.array([float(a.std()) for a in activations]),
            np.where(np.isfinite(gradient_norm), gradient_norm, np.inf), np.array(_saturation(activations, activation)),
            np.array([float(np.mean(a == 0)) for a in activations])))
    if report is not None:
        report(1.0, "initialization: done")
    return results


@dataclass
class SymmetryCheck:
    """Zero initialization's symmetry, measured: the lab's stack (with biases, all zero)
    after ``steps`` full-batch gradient steps on the lab's input, next to the same steps
    from Xavier weights.

    Attributes
    ----------
    steps : int ; learning_rate : float ; batchnorm : bool
    unit_difference : float array (depth,)
        Per hidden layer, the largest difference between two units' activations on the
        same example after the steps: ``max_n (max_i h[n, i] - min_i h[n, i])``.
    column_difference : float array (depth,)
        Per hidden layer, the largest difference between two units' incoming weights
        (columns of W, and biases): ``max_d (max_i W[d, i] - min_i W[d, i])``.
    moved : float array (depth + 1,)
        Norm of each weight matrix and bias after the steps (they started at 0): whether
        training moved them at all.
    contrast_unit_difference : float array (depth,)
        ``unit_difference`` for the same steps from Xavier weights: what broken symmetry looks like.
    """

    steps: int
    learning_rate: float
    batchnorm: bool
    unit_difference: np.ndarray
    column_difference: np.ndarray
    moved: np.ndarray
    contrast_unit_difference: np.ndarray

    @property
    def identical(self) -> bool:
        """True when every hidden layer's units are equal, in activations and weights, up
        to SYMMETRY_TOLERANCE (floating-point rounding of the matrix products)."""
        return bool(np.all(self.unit_difference <= SYMMETRY_TOLERANCE)
                    and np.all(self.column_difference <= SYMMETRY_TOLERANCE))

    @property
    def hidden_moved(self) -> bool:
        """True when training moved any hidden layer's weights (tanh and ReLU: never)."""
        return bool(np.any(self.moved[:-1] > 0))


def zero_init_symmetry(X, y, n_classes, hidden=500, activation="tanh", depth=10, seed=0, slope=0.01, examples=500,
                       batchnorm=False, steps=SYMMETRY_STEPS, learning_rate=SYMMETRY_LEARNING_RATE):
    """Train the lab's stack (``depth`` layers of ``hidden`` units, biases, optional batch
    norm) from zero weights for ``steps`` full-batch gradient steps of the softmax loss on
    (X, y), and measure how different its hidden units became; the same from Xavier.

    Every unit of a layer computes the same function of the same inputs and receives the
    same gradient, so they stay identical: the differences are 0 (exactly, when the
    weights cannot move; to rounding, ~1e-16, when they do), not just small.

    Parameters
    ----------
    X : (N, D) ; y : (N,) ; n_classes : int ; the rest as :func:`initialization_statistics`
    steps : int >= 1 ; learning_rate : float > 0

    Returns
    -------
    SymmetryCheck
    """
    from ..models.layers import init_weights

    _check_stack(activation, depth, hidden)
    if int(steps) < 1 or not learning_rate > 0:
        raise HillwalkError(f"the symmetry check needs at least one step and a positive learning rate, got "
                            f"{steps} steps at {learning_rate}")
    X, y = _lab_subset(X, y, examples, np.random.default_rng(seed))
    widths = [X.shape[1]] + [int(hidden)] * int(depth) + [int(n_classes)]

    def train(scheme):
        draws = np.random.default_rng(seed)
        weights = [init_weights(fan_in, fan_out, scheme, draws) for fan_in, fan_out in zip(widths[:-1], widths[1:])]
        biases = [np.zeros(fan_out) for fan_out in widths[1:]]
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            for _ in range(int(steps)):
                _, weight_gradients, bias_gradients = _stack_pass(X, y, weights, biases, activation, slope,
                                                                  batchnorm)
                weights = [W - learning_rate * g for W, g in zip(weights, weight_gradients)]
                biases = [b - learning_rate * g for b, g in zip(biases, bias_gradients)]
            activations, _, _ = _stack_pass(X, y, weights, biases, activation, slope, batchnorm)
        return weights, biases, activations

    weights, biases, activations = train("zero")
    _, _, contrast = train("xavier")
    return SymmetryCheck(
        int(steps), float(learning_rate), bool(batchnorm),
        np.array([float(np.ptp(a, axis=1).max()) for a in activations]),
        np.array([max(float(np.ptp(W, axis=1).max()), float(np.ptp(b))) for W, b in zip(weights[:-1], biases[:-1])]),
        np.array([float(np.sqrt(np.sum(W * W) + np.sum(b * b))) for W, b in zip(weights, biases)]),
        np.array([float(np.ptp(a, axis=1).max()) for a in contrast]))
