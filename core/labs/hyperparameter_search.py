"""Hyperparameter search (the notes' section 6): learning rate and regularization strength
(optionally the hidden width and dropout's keep probability) searched in log space by a
grid, by random search, or coarse to fine (a random round, then a random round in a range
narrowed around the first round's best trials), with equal budgets.

Every trial trains the problem's model from the same start with the same minibatches (one
seed for the whole search: common random numbers, so trials differ only by their
hyperparameters) for a number of epochs, and records its training and validation accuracy
and final loss. Trials run in worker processes (all cores by default), report as they
finish, and stop when asked. The same seed gives the same table, whatever the number of
workers: a trial's numbers depend only on its hyperparameters and the seed.

Why random search beats a grid (Bergstra and Bengio 2012): when one hyperparameter matters
much more than the other, a grid of n trials tries only sqrt(n) distinct values of it, a
random search n; :attr:`SearchResult.distinct` counts them.
"""
from __future__ import annotations

import math
import os
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from dataclasses import dataclass, field, replace

import numpy as np

from ..errors import HillwalkError, require_choice
from ..limits import check
from ..optimization.optimizers import OptimizerSpec
from ..optimization.trajectory import Run

STRATEGIES = ("grid", "random", "coarse-to-fine")
# the update rules a trial may train with (second-order methods and the searches have no
# learning rate to search)
SEARCH_OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
# partial results are posted at most this often (the GUI redraws at display pace)
POST_INTERVAL_S = 0.05
# a trial checks for a stop request every so many steps
STEPS_PER_CHECK = 10
# trials handed to the pool ahead of time, per worker process
IN_FLIGHT_PER_WORKER = 2
# the work one search may ask for: trials x epochs x training examples (a pass over one
# example each); 2e8 is ~40 minutes of digits-sized linear trials on one core
MAX_EXAMPLE_PASSES = 2e8
# ... and examples x parameters (multiply-adds, up to a small factor): 1e12 is minutes
MAX_WORK = 1e12
CSV_COLUMNS = ("trial", "round", "lr", "reg", "hidden", "keep_prob", "train_acc", "val_acc", "final_loss",
               "diverged_at")


@dataclass(frozen=True)
class Dimension:
    """One searched hyperparameter: values in [low, high], drawn uniformly in log10 space
    when ``log`` (lr, reg, hidden), else uniformly; ``integer`` rounds (hidden)."""

    name: str
    low: float
    high: float
    log: bool = True
    integer: bool = False

    def _to_unit_space(self, values):
        values = np.asarray(values, dtype=np.float64)
        return np.log10(values) if self.log else values

    def _from_unit_space(self, u):
        values = 10.0 ** u if self.log else u
        values = np.clip(values, self.low, self.high)   # 10 ** log10(x) may miss x by an ulp
        return np.round(values) if self.integer else values

    def sample(self, rng, n):
        """``n`` values, uniform in the (log) range: ``10 ** uniform(log10 low, log10 high)``."""
        lo, hi = self._to_unit_space([self.low, self.high])
        return self._from_unit_space(rng.uniform(lo, hi, n))

    def grid(self, k):
        """``k`` values evenly spaced in the (log) range, ends included (k = 1: the middle)."""
        lo, hi = self._to_unit_space([self.low, self.high])
        u = np.array([(lo + hi) / 2]) if k == 1 else np.linspace(lo, hi, k)
        return self._from_unit_space(u)

    def narrowed(self, values, margin=0.1):
        """The range spanned by ``values`` (the best trials'), widened by ``margin`` of its
        width on each side in (log) space (a twentieth of the full range when the values
        coincide), within this dimension's range."""
        u = self._to_unit_space(values)
        lo, hi = float(np.min(u)), float(np.max(u))
        full_lo, full_hi = (float(v) for v in self._to_unit_space([self.low, self.high]))
        pad = margin * (hi - lo) if hi > lo else 0.05 * (full_hi - full_lo)
        lo, hi = max(full_lo, lo - pad), min(full_hi, hi + pad)
        low, high = (float(v) for v in (10.0 ** np.array([lo, hi]) if self.log else (lo, hi)))
        return replace(self, low=max(low, self.low), high=min(high, self.high))


@dataclass(frozen=True)
class SearchSpec:
    """What to search and how.

    Attributes
    ----------
    strategy : "grid", "random" or "coarse-to-fine"
    trials : int
        The budget: trials in total (a grid over d hyperparameters uses
        floor(trials ** (1/d)) ** d of them; coarse-to-fine spends half on each round).
    lr, reg : (low, high)
        Ranges of the learning rate and the regularization strength lambda (log space).
    hidden : (low, high) or None
        Also search the hidden width (every hidden layer; networks only; log space).
    keep_prob : (low, high) or None
        Also search dropout's keep probability (networks only; linear space).
    epochs : int
        Passes over the training set each trial trains for.
    method : one of SEARCH_OPTIMIZERS
    batch_size : int
    seed : int
        Seeds the draws, the start and the minibatches (the same for every trial).
    best_fraction : float
        Coarse-to-fine: the share of the first round's trials (at least two) whose values
        span the second round's range.
    """

    strategy: str = "random"
    trials: int = 16
    lr: tuple = (1e-6, 1.0)
    reg: tuple = (1e-5, 10.0)
    hidden: tuple | None = None
    keep_prob: tuple | None = None
    epochs: int = 1
    method: str = "sgd"
    batch_size: int = 64
    seed: int = 0
    best_fraction: float = 0.25

    def __post_init__(self):
        require_choice(self.strategy, STRATEGIES, "search strategy")
        if self.method not in SEARCH_OPTIMIZERS:
            raise HillwalkError(f"a search trains with a learning-rate method; {self.method!r} is not one: "
                                f"choose one of {', '.join(SEARCH_OPTIMIZERS)}")
        check("search.trials", self.trials)
        check("search.epochs", self.epochs)
        check("optimizer.batch_size", self.batch_size)
        check("search.seed", self.seed)
        check("search.best_fraction", self.best_fraction)
        if self.strategy == "grid":
            d = 2 + (self.hidden is not None) + (self.keep_prob is not None)
            if self.trials < 2 ** d:
                raise HillwalkError(f"a grid over {d} hyperparameters needs at least 2 values of each, {2 ** d} "
                                    f"trials; got a budget of {self.trials} (or use random search)")
        for name, limit in (("lr", "optimizer.lr"), ("reg", "problem.lam"), ("hidden", "problem.hidden"),
                            ("keep_prob", "problem.keep_prob")):
            bounds = getattr(self, name)
            if bounds is None:
                if name in ("lr", "reg"):
                    raise HillwalkError(f"the search needs a range of {name}")
                continue
            if len(bounds) != 2:
                raise HillwalkError(f"the range of {name} is two numbers, low and high; got {bounds!r}")
            low, high = (check(limit, float(v)) for v in bounds)
            if not low < high:
                raise HillwalkError(f"the range of {name} runs from low to high; got {low:g} to {high:g}")
            if name != "keep_prob" and not low > 0:
                raise HillwalkError(f"{name} is searched in log space: its range must be above 0, got {low:g}")
            object.__setattr__(self, name, (low, high))

    def dimensions(self) -> tuple:
        dims = [Dimension("lr", *self.lr), Dimension("reg", *self.reg)]
        if self.hidden is not None:
            dims.append(Dimension("hidden", *self.hidden, integer=True))
        if self.keep_prob is not None:
            dims.append(Dimension("keep_prob", *self.keep_prob, log=False))
        return tuple(dims)

    @property
    def planned_trials(self) -> int:
        """The trials the search trains: ``trials``, or for a grid the largest full grid
        within it (grid_side() ** dimensions)."""
        if self.strategy == "grid":
            return self.grid_side() ** len(self.dimensions())
        return self.trials

    def grid_side(self) -> int:
        """Values per hyperparameter of a grid of at most ``trials`` points."""
        d = len(self.dimensions())
        side = int(math.floor(self.trials ** (1.0 / d) + 1e-9))
        return max(1, side)

    def to_dict(self) -> dict:
        return {name: getattr(self, name) for name in self.__dataclass_fields__}


@dataclass(frozen=True)
class Trial:
    """One trained configuration. ``values`` maps each searched name to its value;
    accuracies are fractions; ``diverged_at`` is the step whose loss blew up (the
    accuracies are then those of the last finite step, ``final_loss`` is inf)."""

    index: int
    round: int
    values: dict
    train_acc: float
    val_acc: float
    final_loss: float
    diverged_at: int | None = None

    def row(self) -> dict:
        """The CSV row (CSV_COLUMNS; a hyperparameter not searched is empty)."""
        return {"trial": self.index, "round": self.round, **{k: "" for k in ("hidden", "keep_prob")},
                **self.values, "train_acc": self.train_acc, "val_acc": self.val_acc,
                "final_loss": self.final_loss, "diverged_at": "" if self.diverged_at is None else self.diverged_at}


@dataclass
class SearchResult:
    """A finished (or stopped) search.

    Attributes
    ----------
    spec : SearchSpec
    trials : list of Trial, by index
    rounds : list of dict name -> (low, high)
        The ranges each round drew from (coarse-to-fine: the second is the narrowed one).
    problem : dict
        The model's settings (ClassifierSpec.to_dict()), the regularizer the trials used.
    complete : bool
        False when stopped early (the trials finished so far).
    """

    spec: SearchSpec
    trials: list
    rounds: list
    problem: dict
    complete: bool = True
    notes: list = field(default_factory=list)
    chance: float = 0.0   # the accuracy of guessing: 1 / classes

    def ranked(self) -> list:
        """The trials best first (:func:`rank_trials`)."""
        return rank_trials(self.trials)

    @property
    def best(self) -> Trial | None:
        ranked = self.ranked()
        return ranked[0] if ranked and ranked[0].diverged_at is None and math.isfinite(ranked[0].val_acc) else None

    @property
    def distinct(self) -> dict:
        """name -> how many distinct values of it the trials tried."""
        names = [d.name for d in self.spec.dimensions()]
        return {name: int(np.unique([t.values[name] for t in self.trials]).size) for name in names}

    def column(self, name) -> np.ndarray:
        """(n,) the trials' values of a hyperparameter or a result field, by index."""
        if name in ("train_acc", "val_acc", "final_loss", "round", "index"):
            return np.array([getattr(t, name) for t in self.trials], dtype=np.float64)
        return np.array([t.values[name] for t in self.trials], dtype=np.float64)

    def verdict(self) -> str:
        best = self.best
        if best is None:
            return "no trial trained without diverging: lower the learning-rate range"
        values = ", ".join(f"{k} {_format(k, v)}" for k, v in best.values.items())
        lines = [f"best: {values}: validation accuracy {100 * best.val_acc:.1f}% (training "
                 f"{100 * best.train_acc:.1f}%, trial {best.index})"]
        if self.chance and best.val_acc < 1.5 * self.chance:
            lines.append(f"no trial learned: the best is near chance ({100 * self.chance:.0f}%); try more epochs, "
                         f"other ranges or another optimizer before reading anything into the best values")
            return "\n".join(lines)
        if self.spec.strategy == "grid" and self.spec.grid_side() == 2:
            lines.append("a grid of 2 values per hyperparameter tries only the ranges' ends: raise the budget or "
                         "use random search")
        for dim in self.spec.dimensions():
            rng = self.rounds[0][dim.name]
            value = best.values[dim.name]
            if dim.name == "keep_prob":
                continue
            span = math.log10(rng[1]) - math.log10(rng[0])
            if span > 0 and min(abs(math.log10(value / rng[0])), abs(math.log10(rng[1] / value))) < 0.05 * span:
                side = "lower" if abs(math.log10(value / rng[0])) < abs(math.log10(rng[1] / value)) else "upper"
                lines.append(f"the best {dim.name} is at the {side} edge of the searched range "
                             f"[{rng[0]:g}, {rng[1]:g}]: widen the range there, the optimum may lie beyond it")
        gap = best.train_acc - best.val_acc
        if gap > 0.1:
            lines.append(f"training beats validation by {100 * gap:.0f} points: the best model overfits; "
                         f"try stronger regularization")
        distinct = self.distinct
        lines.append("distinct values tried: " + ", ".join(f"{k} {v}" for k, v in distinct.items()))
        diverged = sum(t.diverged_at is not None for t in self.trials)
        if diverged:
            lines.append(f"{diverged} of {len(self.trials)} trials diverged (loss NaN or blowing up)")
        if not self.complete:
            lines.append(f"stopped early: {len(self.trials)} of {self.spec.planned_trials} trials")
        return "\n".join(lines)


def rank_trials(trials) -> list:
    """Trials best first: by validation accuracy, then training accuracy, then index;
    diverged trials last."""
    return sorted(trials, key=lambda t: (t.diverged_at is not None or not math.isfinite(t.val_acc),
                                         -t.val_acc, -t.train_acc, t.index))


def _format(name, value) -> str:
    return f"{int(value)}" if name == "hidden" else f"{value:.3g}"


# --------------------------------------------------------------------------- planning

def plan_round(dimensions, count, strategy, rng) -> list:
    """The hyperparameter values of ``count`` trials, as a list of dicts: a grid (every
    combination of floor(count ** (1/d)) values per dimension, in order) or ``count``
    independent draws."""
    if strategy == "grid":
        side = max(1, int(math.floor(count ** (1.0 / len(dimensions)) + 1e-9)))
        axes = [dim.grid(side) for dim in dimensions]
        mesh = np.meshgrid(*axes, indexing="ij")
        return [{dim.name: float(m.flat[i]) for dim, m in zip(dimensions, mesh)} for i in range(mesh[0].size)]
    columns = [dim.sample(rng, count) for dim in dimensions]
    return [{dim.name: float(col[i]) for dim, col in zip(dimensions, columns)} for i in range(count)]


def best_trials(trials, fraction) -> list:
    """The best ``fraction`` of the trials (at least two) by validation accuracy; diverged
    trials never count."""
    ranked = sorted((t for t in trials if t.diverged_at is None and math.isfinite(t.val_acc)),
                    key=lambda t: (-t.val_acc, -t.train_acc, t.index))
    return ranked[:max(2, math.ceil(fraction * len(trials)))]


# --------------------------------------------------------------------------- one trial

class _Stopped(Exception):
    pass


def trial_problem(problem, values):
    """``problem`` with a trial's hyperparameters (lambda; the width of every hidden layer;
    keep probability). A problem without a regularizer is searched with L2."""
    changes = {"lam": float(values["reg"])}
    if problem.regularizer == "none":
        changes["regularizer"] = "l2"
    if "hidden" in values:
        changes["hidden"] = tuple(int(values["hidden"]) for _ in problem.hidden)
    if "keep_prob" in values:
        changes["keep_prob"] = float(values["keep_prob"])
    return replace(problem, **changes)


def train_trial(problem, base, values, spec: SearchSpec, should_stop=None):
    """Train ``problem``'s model with a trial's ``values`` on ``base``'s data (an objective
    already built: no reloading) and return (train_acc, val_acc, final_loss, diverged_at).

    Every trial starts from the model's seeded initialization (``spec.seed``) and draws the
    same minibatches; ``epochs * ceil(n_train / batch_size)`` updates."""
    objective = trial_problem(problem, values).model_on(base.train, base.val)
    steps = spec.epochs * math.ceil(objective.n_train / spec.batch_size)
    optimizer = OptimizerSpec(spec.method, lr=float(values["lr"]), batch_size=spec.batch_size)
    start = objective.initial_theta(seed=spec.seed)
    run = Run(objective, optimizer, start, steps, seed=spec.seed, record_every=steps)
    while not run.finished:
        run.advance(STEPS_PER_CHECK)
        if should_stop is not None and should_stop():
            raise _Stopped()
    trajectory = run.trajectory(recorded_only=False)
    final_loss = float(trajectory.loss[-1]) if run.diverged_at is None else math.inf
    return float(trajectory.train_acc[-1]), float(trajectory.val_acc[-1]), final_loss, run.diverged_at


# Worker processes: each builds the problem's data once and keeps it for the search.
_worker_stop = None
_worker_cache: dict = {}


def _init_worker(stop_event):
    global _worker_stop
    _worker_stop = stop_event
    if hasattr(os, "nice"):
        # below the process that started them: a window showing the trials keeps its share
        # of the cores the trials fill
        os.nice(10)


def _worker_trial(problem, spec, index, values):
    key = repr(problem)
    if key not in _worker_cache:
        _worker_cache.clear()
        _worker_cache[key] = problem.build()
    try:
        return index, train_trial(problem, _worker_cache[key], values, spec, _worker_stop.is_set)
    except _Stopped:
        return index, None


# --------------------------------------------------------------------------- the search

def check_search(problem, spec: SearchSpec, objective):
    """Refuse a search the model cannot run: a network's hyperparameters on a linear
    model, a 2-D function (no data), more work than MAX_EXAMPLE_PASSES."""
    if not objective.has_data:
        raise HillwalkError("a hyperparameter search trains a classifier on data; a 2-D function has none")
    if objective.val is None or objective.val.X.shape[0] == 0:
        raise HillwalkError("a search ranks its trials by validation accuracy, and the data has no validation "
                            "part: give it a validation share (the Data panel's, or --val-fraction)")
    if problem.model != "net" and (spec.hidden is not None or spec.keep_prob is not None):
        raise HillwalkError("the hidden width and dropout are a network's hyperparameters; choose a network model "
                            "or search only the learning rate and lambda")
    passes = float(spec.planned_trials) * spec.epochs * objective.n_train
    if passes > MAX_EXAMPLE_PASSES:
        raise HillwalkError(f"{spec.planned_trials} trials x {spec.epochs} epochs x {objective.n_train} examples is "
                            f"{passes:.3g} example passes, more than {MAX_EXAMPLE_PASSES:.0e}; use fewer trials, "
                            f"fewer epochs or a subsample")
    # the model's size counts too: a pass over an example costs a few multiply-adds per
    # parameter (at the widest width searched)
    widest = problem if spec.hidden is None else replace(problem, hidden=tuple(int(spec.hidden[1])
                                                                                 for _ in problem.hidden))
    size = objective.size if widest is problem else widest.model_on(objective.train, objective.val).size
    if passes * size > MAX_WORK:
        raise HillwalkError(f"{passes:.3g} example passes x {size} parameters is {passes * size:.3g} multiply-adds, "
                            f"more than {MAX_WORK:.0e}; use fewer trials or epochs, a narrower network or a "
                            f"subsample")


def search(problem, spec: SearchSpec, objective=None, workers=1, report=None, should_stop=None) -> SearchResult:
    """Run the search ``spec`` on ``problem``'s model (a ClassifierSpec).

    Parameters
    ----------
    objective : the problem's objective when already built (its data is reused in-process)
    workers : int
        Worker processes; 1 trains in this process.
    report : callable(fraction, text, partial=None) or None
        Progress; ``partial`` is the list of Trials finished since the last report (posted
        at most every POST_INTERVAL_S).
    should_stop : callable() -> bool or None
        Polled between steps; when it returns True the search ends early and the result
        holds the trials finished so far (``complete`` False).
    """
    check("search.workers", workers)
    objective = problem.build() if objective is None else objective
    check_search(problem, spec, objective)
    report = report or (lambda *args, **kwargs: None)
    should_stop = should_stop or (lambda: False)
    dimensions = spec.dimensions()
    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, 16]))
    used = trial_problem(problem, {"reg": 1.0}) if problem.regularizer == "none" else problem
    result = SearchResult(spec, [], [], {**problem.to_dict(), "regularizer": used.regularizer}, True,
                          chance=1.0 / len(objective.train.class_names))
    if problem.regularizer == "none":
        result.notes.append("the model has no regularizer: the trials use L2 with the searched lambda")
    if spec.strategy == "coarse-to-fine":
        rounds = [max(1, math.ceil(spec.trials / 2)), spec.trials - max(1, math.ceil(spec.trials / 2))]
    else:
        rounds = [spec.trials]
    runner = _TrialRunner(problem, objective, spec, workers, report, should_stop)
    try:
        for number, count in enumerate(rounds, start=1):
            if count == 0:
                continue
            if number == 2:
                best = best_trials(result.trials, spec.best_fraction)
                if len(best) < 2:
                    result.notes.append("the first round has fewer than two trials that trained: the second round "
                                        "searches the whole range again")
                    dimensions = spec.dimensions()
                else:
                    dimensions = tuple(dim.narrowed([t.values[dim.name] for t in best]) for dim in dimensions)
            result.rounds.append({dim.name: (dim.low, dim.high) for dim in dimensions})
            strategy = "grid" if spec.strategy == "grid" else "random"
            planned = plan_round(dimensions, count, strategy, rng)
            first = len(result.trials)
            finished = runner.run([(first + i, values) for i, values in enumerate(planned)], number)
            result.trials.extend(sorted(finished, key=lambda t: t.index))
            if len(finished) < len(planned):
                result.complete = False
                break
    finally:
        runner.close()
    result.trials.sort(key=lambda t: t.index)
    return result


_BLAS_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
_blas_lock = threading.Lock()


def _hold_children_to_one_blas_thread():
    """One BLAS thread in each worker process (the processes are the parallelism): the
    variables are read when a child imports NumPy, and the forkserver passes on its own
    environment, taken when it first starts. They are set once per process, before that
    start, and left (this process's NumPy has read its own already); a value the user set
    is kept."""
    with _blas_lock:
        for name in _BLAS_VARIABLES:
            os.environ.setdefault(name, "1")


class _TrialRunner:
    """Runs batches of trials in this process or in a pool of worker processes, posting
    finished trials as increments."""

    def __init__(self, problem, objective, spec, workers, report, should_stop):
        self.problem, self.objective, self.spec = problem, objective, spec
        self.workers, self.report, self.should_stop = int(workers), report, should_stop
        self.pool = None
        self.stop_event = None
        self.done = 0
        self._pending_posts: list = []
        self._last_post = 0.0

    def _post(self, force=False):
        now = time.monotonic()
        if self._pending_posts and (force or now - self._last_post >= POST_INTERVAL_S):
            increment, self._pending_posts = self._pending_posts, []
            self._last_post = now
            total = self.spec.planned_trials
            self.report(self.done / total, f"{self.done} of {total} trials", partial=increment)

    def _finish(self, trial):
        self.done += 1
        self._pending_posts.append(trial)
        self._post()

    def run(self, planned, round_number) -> list:
        finished = []
        if self.workers == 1:
            for index, values in planned:
                try:
                    outcome = train_trial(self.problem, self.objective, values, self.spec, self.should_stop)
                except _Stopped:
                    break
                trial = Trial(index, round_number, values, *outcome)
                finished.append(trial)
                self._finish(trial)
                if self.should_stop():
                    break
            self._post(force=True)
            return finished
        pool = self._pool()
        # a few trials per worker in flight, topped up as they finish: waiting on 10000
        # submitted futures costs this thread (and the GIL the window needs) O(n) per wait
        queue = iter(planned)
        futures = {}

        def top_up():
            for index, values in queue:
                futures[pool.submit(_worker_trial, self.problem, self.spec, index, values)] = values
                if len(futures) >= IN_FLIGHT_PER_WORKER * self.workers:
                    break

        top_up()
        while futures:
            if self.should_stop():
                self.stop_event.set()
                for future in futures:
                    future.cancel()
                break
            done, _ = wait(futures, timeout=POST_INTERVAL_S, return_when=FIRST_COMPLETED)
            for future in done:
                values = futures.pop(future)
                index, outcome = future.result()
                if outcome is None:
                    continue
                trial = Trial(index, round_number, values, *outcome)
                finished.append(trial)
                self._finish(trial)
            top_up()
            self._post()
        self._post(force=True)
        return finished

    def _pool(self):
        if self.pool is None:
            import multiprocessing

            # forkserver: children start from a clean process, not a fork of this one (which
            # may run GUI threads); each holds one BLAS thread, the processes are the
            # parallelism
            context = multiprocessing.get_context("forkserver")
            self.stop_event = context.Event()
            _hold_children_to_one_blas_thread()
            self.pool = ProcessPoolExecutor(self.workers, mp_context=context, initializer=_init_worker,
                                            initargs=(self.stop_event,))
        return self.pool

    def close(self):
        if self.pool is not None:
            self.stop_event.set()
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def default_workers() -> int:
    """All cores (the processes this machine can run at once)."""
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def write_csv(result: SearchResult, path) -> str:
    """One row per trial (CSV_COLUMNS), written through core.io.files (a temporary file
    moved into place)."""
    import csv
    import io

    from ..io.files import write_text_atomically

    names = [d.name for d in result.spec.dimensions()]
    columns = [c for c in CSV_COLUMNS if c not in ("hidden", "keep_prob") or c in names]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for trial in result.trials:
        row = trial.row()
        writer.writerow({k: (repr(v) if isinstance(v, float) else v) for k, v in row.items()})
    return write_text_atomically(path, buffer.getvalue(), "trial table")


__all__ = ["STRATEGIES", "SEARCH_OPTIMIZERS", "Dimension", "SearchSpec", "Trial", "SearchResult", "search",
           "plan_round", "best_trials", "rank_trials", "train_trial", "trial_problem", "write_csv", "default_workers",
           "check_search"]
