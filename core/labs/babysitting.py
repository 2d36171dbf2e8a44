"""Babysitting the learning process (the CS231n notes, DOMAIN.md section 8), as one sequence
on the current model and data.

1. **Initial loss** at a tiny random W against ln C (softmax) or (C - 1) delta (SVM), and
2. **overfitting a tiny subset** (20 examples, no regularization): both are
   :func:`~core.labs.lessons.sanity_checks`, the Sanity checks lab's, reused as they are.
3. **Learning-rate probe**: three short runs (:data:`PROBE_STEPS` updates, same start, same
   minibatches: a :class:`~core.optimization.trajectory.Race`) at 1e-6, a middle rate and
   1e6. The middle rate is the range test's suggestion (step 4, computed first), or
   :data:`FALLBACK_MIDDLE_RATE` when the range test finds no rate at which the loss falls.
   A run stops at divergence (a non-finite loss or one over 1e6 x its start, Run's rule),
   so its record holds finite values only.
4. **Learning-rate range test**: one run whose rate grows geometrically every step from
   :data:`RANGE_LOW` to :data:`RANGE_HIGH` over :data:`RANGE_STEPS` steps, the minibatch loss
   recorded per step and smoothed (bias-corrected EMA, :data:`EMA_BETA`). It stops where the
   smoothed loss blows up (over :data:`BLOWUP_FACTOR` x its lowest, or not finite).
   **Rule**: the suggested range runs from the rate where the smoothed loss falls fastest
   per decade of rate (its most negative slope against log10 lr, before its minimum, over
   11 steps, leaving out the EMA's first 10) up to
   the rate of its minimum (the last rate before it turns up); the suggested rate is the
   lower end, the steepest fall.

And the training curves for a chosen method, rate, batch size, epochs and schedule: the
minibatch loss per step (raw and smoothed), training and validation accuracy per epoch
and their gap, the ratio ``||update|| / ||W||`` per weight matrix per step (the notes'
~1e-3), and the schedule's rate per epoch. Schedules count epochs, as the notes define
them: :class:`~core.optimization.optimizers.Schedule`'s ``lr(lr0, t)`` with ``t`` the epoch
index (step decay every ``every`` epochs, ``exp(-k epoch)``, ``1 / (1 + k epoch)``).

Verdict thresholds (see :func:`curves_verdict` and :func:`ratio_verdict`): a final gap of
train minus validation accuracy of at least :data:`OVERFIT_GAP` is overfitting; a gap of
at most :data:`SMALL_GAP` with training accuracy below :data:`HIGH_ACCURACY` is capacity to
spare, once training is done (at least :data:`MIN_EPOCHS_TO_JUDGE` epochs, the smoothed loss
falling by at most :data:`STILL_FALLING` over the last epoch; else: train longer); ratios
whose median over the last epoch lies outside [:data:`RATIO_LOW`, :data:`RATIO_HIGH`] are
too small or too large a rate, inside it near the notes' :data:`RATIO_TARGET`.

Everything is seeded: the start (``objective.initial_theta(START_SCALE, seed)``), the
minibatches (:class:`~core.optimization.trajectory.BatchSampler`) and the subset; the same
seed gives the same numbers. Every array returned is finite except the update ratios of a
weight matrix that is all zero (NaN there: the ratio is undefined), which are flagged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import HillwalkError, require_choice
from ..limits import check, check_optional
from ..optimization.optimizers import METHOD_INFO, OptimizerSpec, Schedule
from ..optimization.trajectory import BatchSampler, Race
from .gradcheck import StopRequested
from .lessons import NEAR_ZERO, SanityReport, sanity_checks

# the methods the lab offers: the first-order rules (a learning rate, minibatches)
BABYSIT_METHODS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
BABYSIT_SCHEDULES = ("constant", "step", "exp", "inv")

START_SCALE = 1e-3          # the linear model's start W = 1e-3 randn (a network uses its own init)
PROBE_STEPS = 100
PROBE_SMALL, PROBE_LARGE = 1e-6, 1e6
FALLBACK_MIDDLE_RATE = 1e-3
BARELY = NEAR_ZERO          # a relative change of the loss below 1% is "barely changes"
RANGE_LOW, RANGE_HIGH, RANGE_STEPS = 1e-7, 10.0, 150
EMA_BETA = 0.9              # smoothing of the per-step losses (bias-corrected)
RANGE_SKIP = 10            # the range test's slopes leave out the first 10 steps (the EMA's warm-up)
SLOPE_HALF_WIDTH = 5       # ... and are differences over 11 steps
BLOWUP_FACTOR = 4.0         # the range test stops once the smoothed loss exceeds 4 x its lowest
OVERFIT_GAP = 0.05          # train - val accuracy at the end: 5 points or more is overfitting
SMALL_GAP = 0.02            # ... 2 points or less, with ...
HIGH_ACCURACY = 0.97        # ... training accuracy below 97%: capacity to spare
# ... unless training is not done: the smoothed loss still fell by more than 5% over the
# last epoch, or fewer than 2 epochs were made (the trial's "a bigger model" for 0.837 with
# the loss still falling, and for a run of 2 updates)
STILL_FALLING = 0.05
MIN_EPOCHS_TO_JUDGE = 2
RATIO_TARGET, RATIO_LOW, RATIO_HIGH = 1e-3, 1e-4, 1e-2
# the ratio is judged on the last epoch's updates (at least this many): a model that starts
# near W = 0 has large ratios at first (on digits at lr 0.01: 0.069 in the first epoch,
# 0.0084 in the tenth), which the median of every update counted (0.013: "too high")
RATIO_WINDOW_MIN = 10
# ... and a large ratio while W still grew by over 10% in the last epoch and the loss fell
# is W's smallness, not the rate (at lr 0.0003 on digits, W x1.4 in the tenth epoch: 0.012)
STILL_GROWING = 1.1

# The largest job: multiply-adds of the whole sequence, counted as examples seen times
# parameters (a forward and backward pass cost a few of each: the constant is in the bound).
WORK_BUDGET = 3e10
MAX_TOTAL_STEPS = 100000    # updates of the training curves (each one a Python step and a row)


def ema(values, beta=EMA_BETA):
    """The bias-corrected exponential moving average of ``values`` (T,):
    ``m_t = beta m_{t-1} + (1 - beta) x_t``, divided by ``1 - beta^(t+1)`` (t from 0)."""
    values = np.asarray(values, dtype=np.float64)
    out = np.empty_like(values)
    average = 0.0
    for t, value in enumerate(values):
        average = beta * average + (1 - beta) * value
        out[t] = average / (1 - beta ** (t + 1))
    return out


def epoch_rates(schedule: Schedule, lr0: float, epochs: int) -> np.ndarray:
    """The learning rate of each epoch (E,): ``schedule.lr(lr0, e)`` for e = 0 .. E - 1, the
    schedule counted in epochs."""
    return np.array([schedule.lr(lr0, e) for e in range(int(epochs))], dtype=np.float64)


# --------------------------------------------------------------------------- results

@dataclass
class ProbeRun:
    """One run of the learning-rate probe.

    Attributes
    ----------
    lr : float ; role : "small" | "middle" | "large"
    steps : int (R,) ; loss, train_acc : float (R,): full-data loss and training accuracy
        after each update, finite (the record stops before a divergence)
    diverged_at : int or None: the update whose loss was not finite or blew up
    blowup : str: what the loss was there ("NaN", "inf", or its value), "" when not diverged
    relative_change : float: |L_last - L_0| / L_0 over the finite record
    verdict : "barely changes" | "falls" | "rises" | "diverged" ; text : the verdict in words
    """

    lr: float
    role: str
    steps: np.ndarray
    loss: np.ndarray
    train_acc: np.ndarray
    diverged_at: int | None
    blowup: str
    relative_change: float
    verdict: str
    text: str

    @property
    def diverged(self) -> bool:
        return self.diverged_at is not None


@dataclass
class RangeTest:
    """The learning-rate range test (see the module docstring for the rule).

    Attributes
    ----------
    lrs, loss, smoothed : float (S,): the rate of each step, its minibatch loss, the EMA
    blew_up_at : int or None: the step at which the smoothed loss blew up (not recorded)
    low, high : float: the suggested range ; suggested : float: its lower end
    found : bool: whether the loss fell anywhere (else low = high = suggested = NaN-free fallback)
    text : str
    """

    lrs: np.ndarray
    loss: np.ndarray
    smoothed: np.ndarray
    blew_up_at: int | None
    low: float
    high: float
    suggested: float
    found: bool
    text: str


@dataclass
class TrainingCurves:
    """Training with the chosen settings.

    Attributes
    ----------
    method, lr, batch_size, epochs, schedule : the settings (schedule a Schedule, in epochs)
    steps_per_epoch : int
    step_loss, step_smoothed : float (T,): the minibatch loss at each update, and its EMA
    epoch_lr : float (E,): the rate of each epoch
    epoch_index : int (E' + 1,): 0 (the start) .. E' (epochs completed)
    train_acc, val_acc, gap : float (E' + 1,): after each epoch (val NaN without validation data)
    layer_names : tuple (L,) ; ratios : float (L, T): ||update|| / ||W|| per weight matrix
        per update (NaN where the matrix is all zero: undefined)
    start, previous_theta, final_theta : flat parameters at the start, before and after the last update
    diverged_at : int or None: the update whose loss was not finite or blew up
    verdict : str ; ratio_texts : list (L,) of str
    """

    method: str
    lr: float
    batch_size: int | None
    epochs: int
    schedule: Schedule
    steps_per_epoch: int
    step_loss: np.ndarray
    step_smoothed: np.ndarray
    epoch_lr: np.ndarray
    epoch_index: np.ndarray
    train_acc: np.ndarray
    val_acc: np.ndarray
    gap: np.ndarray
    layer_names: tuple
    ratios: np.ndarray
    start: np.ndarray
    previous_theta: np.ndarray
    final_theta: np.ndarray
    diverged_at: int | None
    verdict: str
    ratio_texts: list = field(default_factory=list)


@dataclass
class BabysittingReport:
    """The whole sequence: the sanity checks (steps 1 and 2), the probe (3), the range test
    (4) and the training curves, with the settings they ran with."""

    sanity: SanityReport
    initial_text: str
    overfit_text: str
    probe: list
    range_test: RangeTest
    curves: TrainingCurves
    settings: dict

    def verdicts(self) -> list:
        """(title, text) of every step, in the notes' order."""
        return [("1. initial loss", self.initial_text), ("2. overfit 20 examples", self.overfit_text),
                *[("3. probe", run.text) for run in self.probe],
                ("4. range test", self.range_test.text), ("training curves", self.curves.verdict),
                *[("update/weight ratio", text) for text in self.curves.ratio_texts]]

    def to_dict(self) -> dict:
        """Every number, JSON-ready: arrays as lists, a non-finite value as None with
        ``nonfinite`` listing where one was replaced."""
        replaced = []

        def clean(value, where):
            if isinstance(value, np.ndarray):
                value = value.tolist()
            if isinstance(value, (list, tuple)):
                return [clean(v, f"{where}[{k}]") for k, v in enumerate(value)]
            if isinstance(value, (bool, np.bool_)):
                return bool(value)
            if isinstance(value, (int, np.integer)):
                return int(value)
            if isinstance(value, (float, np.floating)):
                if not math.isfinite(value):
                    replaced.append(where)
                    return None
                return float(value)
            return value

        initial, overfit, curves, test = self.sanity.initial, self.sanity.overfit, self.curves, self.range_test
        data = {
            "settings": self.settings,
            "initial_loss": {"loss": initial.loss, "expected": initial.at_zero, "formula": initial.formula,
                             "low": initial.low, "high": initial.high, "relative_gap": initial.relative_gap,
                             "verdict": initial.verdict, "text": self.initial_text},
            "overfit": {"examples": overfit.examples, "losses": overfit.losses, "accuracy": overfit.accuracy,
                        "verdict": overfit.verdict, "text": self.overfit_text},
            "probe": [{"lr": run.lr, "role": run.role, "steps": run.steps, "loss": run.loss,
                       "train_acc": run.train_acc, "diverged_at": run.diverged_at, "diverged": run.diverged,
                       "blowup": run.blowup, "relative_change": run.relative_change, "verdict": run.verdict,
                       "text": run.text} for run in self.probe],
            "range_test": {"lrs": test.lrs, "loss": test.loss, "smoothed": test.smoothed,
                           "blew_up_at": test.blew_up_at, "low": test.low, "high": test.high,
                           "suggested": test.suggested, "found": test.found, "text": test.text},
            "curves": {"method": curves.method, "lr": curves.lr, "batch_size": curves.batch_size,
                       "epochs": curves.epochs, "schedule": {"kind": curves.schedule.kind,
                                                             "gamma": curves.schedule.gamma,
                                                             "every": curves.schedule.every,
                                                             "k": curves.schedule.k},
                       "steps_per_epoch": curves.steps_per_epoch, "step_loss": curves.step_loss,
                       "step_smoothed": curves.step_smoothed, "epoch_lr": curves.epoch_lr,
                       "epoch_index": curves.epoch_index, "train_acc": curves.train_acc, "val_acc": curves.val_acc,
                       "gap": curves.gap, "layers": list(curves.layer_names), "ratios": curves.ratios,
                       "diverged_at": curves.diverged_at, "verdict": curves.verdict,
                       "ratio_texts": curves.ratio_texts},
        }
        cleaned = {key: clean_tree(value, key, clean) for key, value in data.items()}
        cleaned["nonfinite"] = replaced
        return cleaned


def clean_tree(value, where, clean):
    """Apply ``clean`` to every leaf of nested dicts (JSON's objects)."""
    if isinstance(value, dict):
        return {key: clean_tree(v, f"{where}.{key}", clean) for key, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [clean_tree(v, f"{where}[{k}]", clean) for k, v in enumerate(value)]
    return clean(value, where)


# --------------------------------------------------------------------------- checks

def check_settings(objective, method, lr, batch_size, epochs, schedule, seed):
    """Refuse absurd settings, and work beyond the budget, with what to reduce."""
    if not getattr(objective, "has_data", False):
        raise HillwalkError("babysitting needs a classifier on data; choose a data set in the Data panel")
    require_choice(method, BABYSIT_METHODS, "babysitting method")
    check("optimizer.lr", lr)
    check_optional("optimizer.batch_size", batch_size)
    check("babysit.epochs", epochs)
    check("problem.seed", seed)
    n = int(objective.n_train)
    n_val = int(objective.val.X.shape[0]) if getattr(objective, "val", None) is not None else 0
    size = int(np.prod(objective.param_shape))
    per_epoch = math.ceil(n / batch_size) if batch_size else 1
    if epochs * per_epoch > MAX_TOTAL_STEPS:
        raise HillwalkError(f"{epochs} epochs of {per_epoch} minibatches make {epochs * per_epoch} updates, over "
                            f"the lab's {MAX_TOTAL_STEPS}; use fewer epochs or a larger batch size")
    # examples through the model: the curves (each epoch's N, and both accuracies), the
    # probe and range test (a full-data loss and accuracy per step), the subset fit
    batch = batch_size or n
    probe = 3 * (PROBE_STEPS + 1) * (2 * n + n_val + min(batch, n))
    fixed = probe + RANGE_STEPS * min(batch, n) + 3000 * 20   # the probe, range test and subset fit
    curves = epochs * (n + n + n_val)
    examples = curves + fixed
    work = float(examples) * size
    if work > WORK_BUDGET:
        # say what to reduce: fewer epochs help only where the rest fits the budget (the
        # probe's full-data loss at each of its 303 steps is most of the work on small data)
        most_epochs = int((WORK_BUDGET / size - fixed) // (2 * n + n_val))
        if most_epochs >= 1:
            advice = (f"the training curves are {curves:.3g} of them: reduce the epochs (at most {most_epochs} "
                      "here), subsample the data, or choose a smaller model")
        else:
            advice = (f"the rate probe, range test and subset fit alone are {fixed:.3g} of them (the probe takes the "
                      f"full data's loss at each step), whatever the epochs: choose a smaller model (at most about "
                      f"{int(WORK_BUDGET / (fixed + (n + n + n_val))):,} parameters on this data) or less data")
        raise HillwalkError(f"this would pass about {examples:.3g} examples through {size} parameters "
                            f"(~{work:.2g} multiply-adds, over the lab's budget of {WORK_BUDGET:.0e}); {advice}")


# --------------------------------------------------------------------------- the steps

def _stopped(should_stop):
    return should_stop is not None and should_stop()


def _report(report, fraction, text):
    if report is not None:
        report(fraction, text)


def initial_loss_text(sanity: SanityReport) -> str:
    initial = sanity.initial
    return (f"loss {initial.loss:.4f} at W = {initial.scale:g} randn against {initial.formula} = "
            f"{initial.at_zero:.4f} ({initial.relative_gap:.2%} off): {initial.reason}")


def overfit_text(sanity: SanityReport) -> str:
    overfit = sanity.overfit
    return (f"{overfit.size} examples, no regularization: training accuracy {overfit.accuracy:.3f}, loss "
            f"{overfit.losses[0]:.3g} -> {overfit.losses[-1]:.2g} in {overfit.losses.size - 1} steps: {overfit.reason}")


def _rate_update(optimizer, theta, grad, lr):
    """One update of ``optimizer``'s rule at the rate ``lr`` (the rate this module sets per
    step or per epoch), its buffers and count kept as Optimizer.update keeps them."""
    optimizer.t += 1
    return optimizer.spec.info.rule(theta, grad, lr, optimizer.spec, optimizer.state, optimizer.t)


def range_test(objective, spec: OptimizerSpec, start, seed=0, steps=RANGE_STEPS, low=RANGE_LOW, high=RANGE_HIGH,
               should_stop=None) -> RangeTest:
    """The range test: ``steps`` updates of ``spec``'s rule with minibatches (seeded) at
    rates ``low * (high / low) ** (t / (steps - 1))``, stopping where the smoothed loss blows
    up; the suggested range by the module's rule."""
    optimizer = spec.with_changes(schedule=Schedule()).build(seed)
    sampler = BatchSampler(objective.n_train, spec.batch_size, spec.sampling, seed)
    rates = low * (high / low) ** (np.arange(steps) / max(steps - 1, 1))
    theta = np.array(start, dtype=np.float64)
    losses, smoothed = [], []
    average, lowest, blew_up_at = 0.0, math.inf, None
    with np.errstate(all="ignore"):
        for t, lr in enumerate(rates):
            if t % 10 == 0 and _stopped(should_stop):
                raise StopRequested()
            stepped = objective.at_step(t) if objective.has_step_noise else objective
            loss, grad = stepped.loss_and_grad(theta, batch=sampler.next())
            if not (math.isfinite(loss) and np.all(np.isfinite(grad))):
                blew_up_at = t
                break
            average = EMA_BETA * average + (1 - EMA_BETA) * loss
            value = average / (1 - EMA_BETA ** (t + 1))
            if value > BLOWUP_FACTOR * lowest:
                blew_up_at = t
                break
            lowest = min(lowest, value)
            losses.append(float(loss))
            smoothed.append(value)
            theta = _rate_update(optimizer, theta, grad, float(lr))
    losses, smoothed = np.array(losses), np.array(smoothed)
    lrs = rates[:losses.size]
    low_rate, high_rate, found = suggested_range(lrs, smoothed)
    stop = (f"blew up at lr {rates[blew_up_at]:.2g} (step {blew_up_at})" if blew_up_at is not None
            else f"did not blow up up to lr {rates[-1]:g}")
    if found:
        text = (f"{lrs.size} steps, lr from {low:g} up x {(high / low) ** (1 / max(steps - 1, 1)):.3g} a step; the "
                f"smoothed loss falls fastest at lr {low_rate:.2g} and is lowest at lr {high_rate:.2g}, then {stop}: "
                f"suggested range {low_rate:.2g} .. {high_rate:.2g}")
    else:
        text = (f"{lrs.size} steps: the smoothed loss never fell (then {stop}); no suggestion, the probe uses "
                f"{FALLBACK_MIDDLE_RATE:g}")
    return RangeTest(lrs, losses, smoothed, blew_up_at, low_rate, high_rate, low_rate, found, text)


def suggested_range(lrs, smoothed, skip=RANGE_SKIP, half_width=SLOPE_HALF_WIDTH):
    """(low, high, found) by the rule: low = the rate of the most negative slope of the
    smoothed loss against log10 lr, up to its minimum; high = the rate of the minimum.

    The slope at step i is a difference over steps i - w .. i + w (``half_width`` w, a
    quarter of a decade at the default rates: one step's difference is mostly minibatch
    noise), and the first ``skip`` steps are left out (their EMA averages too few losses).
    ``found`` is False (and both are FALLBACK_MIDDLE_RATE) when the smoothed loss never
    falls below its first value."""
    lrs, smoothed = np.asarray(lrs, dtype=np.float64), np.asarray(smoothed, dtype=np.float64)
    if smoothed.size < 3 or not smoothed.min() < smoothed[0]:
        return FALLBACK_MIDDLE_RATE, FALLBACK_MIDDLE_RATE, False
    lowest = int(np.argmin(smoothed))
    logs = np.log10(lrs)
    index = np.arange(smoothed.size)
    left, right = np.maximum(index - half_width, 0), np.minimum(index + half_width, smoothed.size - 1)
    slopes = (smoothed[right] - smoothed[left]) / (logs[right] - logs[left])
    first = skip if lowest > skip else 0
    steepest = first + int(np.argmin(slopes[first:lowest + 1]))
    return float(lrs[steepest]), float(lrs[max(lowest, steepest)]), True


def probe_rates(test: RangeTest) -> tuple:
    """The probe's three rates: 1e-6, the range test's suggestion, 1e6."""
    return PROBE_SMALL, test.suggested, PROBE_LARGE


def learning_rate_probe(objective, spec: OptimizerSpec, start, rates, seed=0, steps=PROBE_STEPS,
                        should_stop=None) -> list:
    """Runs of ``spec`` at each of ``rates`` from ``start``, same minibatches (a Race),
    ``steps`` updates each, with their verdicts."""
    specs = [spec.with_changes(lr=float(lr), schedule=Schedule(), label=f"lr {lr:g}") for lr in rates]
    race = Race(objective, specs, start, steps, seed, record_every=1)
    while not race.finished:
        if _stopped(should_stop):
            raise StopRequested()
        race.advance(10)
    roles = ("small", "middle", "large")
    probes = []
    for role, run in zip(roles, race.runs):
        path = run.trajectory()
        blowup = ""
        if run.diverged_at is not None:
            with np.errstate(all="ignore"):
                value = float(objective.loss(run.theta))
            blowup = "NaN" if math.isnan(value) else ("inf" if math.isinf(value) else f"{value:.3g}")
        probes.append(probe_verdict(run.spec.lr, role, path.steps, path.loss, path.train_acc, run.diverged_at,
                                    blowup, steps))
    return probes


def probe_verdict(lr, role, steps, loss, train_acc, diverged_at, blowup, planned) -> ProbeRun:
    """The verdict of one probe run from its record (finite rows only)."""
    first, last = float(loss[0]), float(loss[-1])
    change = abs(last - first) / abs(first) if first else abs(last - first)
    rises = train_acc[-1] > train_acc[0]
    accuracy = f"training accuracy {train_acc[0]:.3f} -> {train_acc[-1]:.3f}"
    if diverged_at is not None:
        verdict = "diverged"
        what = "NaN/inf" if blowup in ("NaN", "inf") else f"{blowup}, over 1e6 x its start"
        text = (f"lr {lr:.3g}: loss {what}: diverged at step {diverged_at} (the record stops at step "
                f"{int(steps[-1])}, loss {last:.4g}); lower the learning rate")
    elif change < BARELY:
        verdict = "barely changes"
        # (the notes: the loss barely changes while the accuracy may still rise, as the
        # scores' order shifts before their sizes do; where it does not rise, "and")
        accuracy_part = f"but accuracy rises ({accuracy})" if rises else f"and neither does accuracy ({accuracy})"
        text = (f"lr {lr:.3g}: loss barely changes ({first:.5g} -> {last:.5g}, relative change {change:.2%} < "
                f"{BARELY:.0%} in {planned} steps) {accuracy_part}: the learning rate is too low")
    elif last < first:
        verdict = "falls"
        text = f"lr {lr:.3g}: loss falls ({first:.4g} -> {last:.4g}, {change:.1%} in {planned} steps; {accuracy})"
    else:
        verdict = "rises"
        text = (f"lr {lr:.3g}: loss rises ({first:.4g} -> {last:.4g}, +{change:.1%} in {planned} steps; {accuracy}) "
                "without blowing up: the learning rate is too high")
    return ProbeRun(float(lr), role, np.asarray(steps), np.asarray(loss, dtype=np.float64),
                    np.asarray(train_acc, dtype=np.float64), diverged_at, blowup, float(change), verdict, text)


def weight_blocks(objective):
    """The weight matrices of the objective's parameter blocks (the linear model's one W;
    a network's weights, biases and batch-norm parameters left out)."""
    from ..landscapes.directions import layout_of

    return [block for block in layout_of(objective) if not block.is_bias]


def update_ratio(before, after, block) -> float:
    """``||after - before|| / ||before||`` restricted to ``block`` (flat parameter vectors);
    NaN where the block of ``before`` is all zero."""
    old = block.view(np.ravel(before))
    norm = float(np.linalg.norm(old))
    if norm == 0.0:
        return float("nan")
    return float(np.linalg.norm(block.view(np.ravel(after)) - old)) / norm


def curves_verdict(train_acc, val_acc, diverged_at, step_smoothed=None, steps_per_epoch=None) -> str:
    """The training curves' verdict from the last epoch's accuracies (thresholds in the
    module docstring); ``step_smoothed`` (T,) (the smoothed loss per update) and
    ``steps_per_epoch`` tell a model with capacity to spare from one not trained enough."""
    if diverged_at is not None:
        return f"diverged at step {diverged_at}: lower the learning rate (the range test's range is a guide)"
    train, val = float(train_acc[-1]), float(val_acc[-1])
    if not math.isfinite(val):
        return (f"training accuracy {train:.3f}; no validation data, so no gap to judge: give the Data panel a "
                "validation share")
    gap = train - val
    numbers = f"training accuracy {train:.3f}, validation {val:.3f}, gap {gap:+.3f}"
    if gap >= OVERFIT_GAP:
        return (f"{numbers} (>= {OVERFIT_GAP:g}): overfitting: increase regularization (lambda) or get more data")
    if gap <= SMALL_GAP and train < HIGH_ACCURACY:
        undone = _training_not_done(step_smoothed, steps_per_epoch, len(train_acc) - 1)
        if undone:
            return f"{numbers}: {undone}"
        return (f"{numbers} (<= {SMALL_GAP:g}, training below {HIGH_ACCURACY:g}): capacity to spare: a bigger model")
    if gap <= SMALL_GAP:
        return f"{numbers}: no sign of overfitting, and the model fits the training data"
    return f"{numbers}: a small gap; watch it as training goes on"


def _training_not_done(step_smoothed, steps_per_epoch, epochs_made) -> str:
    """Why a low training accuracy may not be the model's limit yet ('' when training has
    levelled off): too few epochs, or the smoothed loss still falling."""
    if epochs_made < MIN_EPOCHS_TO_JUDGE:
        return (f"too short to judge the model's capacity ({epochs_made} epoch(s)): train for "
                f"{MIN_EPOCHS_TO_JUDGE} epochs or more")
    fall = recent_fall(step_smoothed, steps_per_epoch)
    if fall is not None and fall[0] > STILL_FALLING:
        return (f"the loss still fell {fall[0]:.0%} over the last {fall[3]} updates ({fall[1]:.3g} -> "
                f"{fall[2]:.3g}): not trained enough to judge the model's capacity; train for more epochs (or at a "
                "larger learning rate)")
    return ""


def judged_updates(steps_per_epoch) -> int:
    """How many of the last updates the verdicts look at: an epoch's, and at least
    RATIO_WINDOW_MIN (a full-batch epoch is one update, over which an EMA of 0.9 barely
    moves: a loss still going 2.30 -> 1.30 read "levelled off")."""
    return max(int(steps_per_epoch or 1), RATIO_WINDOW_MIN)


def recent_fall(step_smoothed, steps_per_epoch):
    """(relative fall, value before, last value, updates) of the smoothed loss over the
    last :func:`judged_updates` updates, or None with no more than that many."""
    window = judged_updates(steps_per_epoch)
    if step_smoothed is None or len(step_smoothed) <= window:
        return None
    last, before = float(step_smoothed[-1]), float(step_smoothed[-1 - window])
    return ((before - last) / abs(before) if before else 0.0), before, last, window


def ratio_verdict(name, ratios, steps_per_epoch=None, growth=None, grew_from_start=False) -> str:
    """One weight matrix's update/weight ratio against the notes' ~1e-3: the median over
    the last :func:`judged_updates` updates (all of them without ``steps_per_epoch``),
    where training has settled. ``growth``: the factor by which ||W|| grew over those
    updates while the loss fell (None otherwise): above STILL_GROWING a large ratio is W's
    smallness, not the rate. ``grew_from_start``: whether ||W|| grew over the run (the
    reason given for larger ratios at first)."""
    window = ratios if not steps_per_epoch else ratios[-judged_updates(steps_per_epoch):]
    finite = window[np.isfinite(window)]
    if finite.size == 0:
        return f"{name}: the weights are all zero, the ratio is undefined"
    median = float(np.median(finite))
    if median > RATIO_HIGH and growth is not None and growth > STILL_GROWING:
        tail = (f"above {RATIO_HIGH:g}, but ||W|| still grew x{growth:.2g} over the last updates as the loss fell: "
                "the ratio is large because W is still small, not (yet) a sign of too high a rate")
    elif median > RATIO_HIGH:
        tail = f"above {RATIO_HIGH:g}: the learning rate is likely too high"
    elif median < RATIO_LOW:
        tail = f"below {RATIO_LOW:g}: the learning rate may be too low"
    else:
        tail = f"within {RATIO_LOW:g} .. {RATIO_HIGH:g}, near the notes' ~{RATIO_TARGET:g}"
    partial = window.size < ratios.size
    over = f"over the last {window.size} updates" if partial else "over all updates"
    first = ratios[:window.size][np.isfinite(ratios[:window.size])] if partial else finite
    larger = first.size and partial and float(np.median(first)) > 2 * median
    start = (f"; the first {window.size}: {float(np.median(first)):.2g}"
             + (", larger while W grew from its small start" if grew_from_start else "") if larger else "")
    return f"{name}: median ||update|| / ||W|| {median:.2g} {over} (last {float(finite[-1]):.2g}{start}), {tail}"


def training_curves(objective, spec: OptimizerSpec, start, epochs, schedule: Schedule, seed=0, report=None,
                    should_stop=None) -> TrainingCurves:
    """Train ``spec``'s rule (its rate ``spec.lr`` the schedule's lr0, counted in epochs)
    for ``epochs`` epochs of seeded minibatches from ``start``; record the curves."""
    n = int(objective.n_train)
    per_epoch = math.ceil(n / spec.batch_size) if spec.batch_size and spec.batch_size < n else 1
    optimizer = spec.with_changes(schedule=Schedule()).build(seed)
    sampler = BatchSampler(n, spec.batch_size, spec.sampling, seed)
    blocks = weight_blocks(objective)
    evaluation = objective.for_evaluation() if objective.has_step_noise else objective
    rates = epoch_rates(schedule, spec.lr, epochs)
    theta = np.array(start, dtype=np.float64).reshape(objective.param_shape)
    previous = theta.copy()
    start_scale = None
    step_loss, ratios = [], []
    norms = [[float(np.linalg.norm(block.view(np.ravel(theta)))) for block in blocks]]   # each weight matrix's, per epoch
    train_acc = [evaluation.accuracy(theta, "train")]
    val_acc = [evaluation.accuracy(theta, "val")]
    diverged_at, t = None, 0
    with np.errstate(all="ignore"):
        for epoch in range(int(epochs)):
            for _ in range(per_epoch):
                if t % 20 == 0 and _stopped(should_stop):
                    raise StopRequested()
                stepped = objective.at_step(t) if objective.has_step_noise else objective
                loss, grad = stepped.loss_and_grad(theta, batch=sampler.next())
                if start_scale is None:
                    start_scale = max(abs(loss), 1.0) if math.isfinite(loss) else 1.0
                if not (math.isfinite(loss) and np.all(np.isfinite(grad))) or abs(loss) > 1e6 * start_scale:
                    diverged_at = t
                    break
                new = _rate_update(optimizer, theta, grad, float(rates[epoch]))
                if not np.all(np.isfinite(new)):
                    diverged_at = t + 1
                    break
                step_loss.append(float(loss))
                ratios.append([update_ratio(theta, new, block) for block in blocks])
                previous, theta = theta, new
                t += 1
            if diverged_at is not None:
                break
            train_acc.append(evaluation.accuracy(theta, "train"))
            val_acc.append(evaluation.accuracy(theta, "val"))
            norms.append([float(np.linalg.norm(block.view(np.ravel(theta)))) for block in blocks])
            _report(report, (epoch + 1) / epochs, f"training curves: epoch {epoch + 1} of {epochs}")
    step_loss = np.array(step_loss)
    train_acc, val_acc = np.array(train_acc), np.array(val_acc)
    ratio_array = np.array(ratios, dtype=np.float64).T.reshape(len(blocks), -1)
    names = tuple(block.name for block in blocks)
    smoothed = ema(step_loss)
    # each weight matrix's growth over the judged updates (whole epochs of them), where the
    # loss fell over them, and whether it grew over the run
    falling = (recent_fall(smoothed, per_epoch) or (0.0,))[0] > STILL_FALLING
    back = -(-judged_updates(per_epoch) // per_epoch)   # epochs
    growth = [norms[-1][k] / norms[-1 - back][k] if falling and len(norms) > back and norms[-1 - back][k] > 0
              else None for k in range(len(blocks))]
    grew = [norms[-1][k] > 1.5 * norms[0][k] for k in range(len(blocks))]
    return TrainingCurves(spec.method, float(spec.lr), spec.batch_size, int(epochs), schedule, per_epoch, step_loss,
                          smoothed, rates, np.arange(train_acc.size), train_acc, val_acc, train_acc - val_acc,
                          names, ratio_array, np.ravel(start).copy(), np.ravel(previous).copy(),
                          np.ravel(theta).copy(), diverged_at,
                          curves_verdict(train_acc, val_acc, diverged_at, smoothed, per_epoch),
                          [ratio_verdict(name, ratio_array[k], per_epoch, growth[k], grew[k])
                           for k, name in enumerate(names)])


def babysit(objective, method="sgd", lr=1e-2, batch_size=64, epochs=10, schedule="constant", gamma=0.5,
            every=5, k=0.1, seed=0, report=None, should_stop=None) -> BabysittingReport:
    """The whole sequence on ``objective`` (a classifier on data, as built by
    core.experiment.build_objective). Raises StopRequested when ``should_stop()`` says stop,
    HillwalkError on settings it refuses."""
    batch_size = None if batch_size in (None, 0) else int(batch_size)
    check_settings(objective, method, lr, batch_size, epochs, schedule, seed)
    require_choice(schedule, BABYSIT_SCHEDULES, "schedule")
    plan = Schedule(schedule, gamma, int(every), k)
    spec = OptimizerSpec(method, lr=float(lr), batch_size=batch_size)
    if METHOD_INFO[method].rule is None:   # pragma: no cover - BABYSIT_METHODS are first-order rules
        raise HillwalkError(f"{method} has no update rule")
    settings = {"method": method, "lr": float(lr), "batch_size": batch_size, "epochs": int(epochs),
                "schedule": schedule, "gamma": float(gamma), "every": int(every), "k": float(k), "seed": int(seed),
                "model": objective.describe()}
    _report(report, 0.0, "babysitting: initial loss and overfitting 20 examples")
    sanity = sanity_checks(objective, seed=seed, should_stop=should_stop)
    start = np.asarray(objective.initial_theta(START_SCALE, seed), dtype=np.float64)
    _report(report, 0.15, "babysitting: learning-rate range test")
    test = range_test(objective, spec, start, seed, should_stop=should_stop)
    _report(report, 0.25, "babysitting: learning-rate probe")
    probe = learning_rate_probe(objective, spec, start, probe_rates(test), seed, should_stop=should_stop)
    _report(report, 0.4, "babysitting: training curves")

    def inner(fraction, text):
        _report(report, 0.4 + 0.6 * fraction, text)

    curves = training_curves(objective, spec, start, int(epochs), plan, seed, inner, should_stop)
    return BabysittingReport(sanity, initial_loss_text(sanity), overfit_text(sanity), probe, test, curves, settings)
