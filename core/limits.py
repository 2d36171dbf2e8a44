"""The valid range of every numeric setting, in one place.

Every spec (:class:`~core.models.problem.ClassifierSpec`, :class:`~core.landscapes.slices.SliceSpec`,
the race, the optimizers, the view, the labs) checks its numbers with :func:`check`, the
command line and the window's widgets take their bounds from :data:`RANGES`, and the
README's table of valid ranges is made from it (``python -m tools.ranges_table``; a test
holds the two together).

The bounds are what the machine can do, not what looks reasonable: a grid of 2001 x 2001
points, 100000 optimizer steps, 100 contour levels. Settings whose cost depends on the
data (a network's hidden layer, a slice's grid on a large data set) are also checked
against a memory estimate when the work is planned (see :func:`check_memory`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import HillwalkError

# Working memory the app may plan for one task, over and above the data (bytes).
MEMORY_BUDGET_BYTES = 2 * 2 ** 30

# The most a data set may take once read, counted as its float64 features (N x D x 8
# bytes), the form every model works on: CIFAR-10's 60000 images (1.37 GB) fit. A file or
# archive that declares more (its size on disk, a zip member's size, an .npy header's
# shape) is refused before it is read; the split and preprocessing copy the features a few
# times, so a larger set would not fit the machine's memory beside them.
DATA_BUDGET_BYTES = 3 * 2 ** 29  # 1.5 GB

# The largest seed: what the window's seed boxes (a C int) hold, so that every session the
# command line writes also opens in the window.
MAX_SEED = 2 ** 31 - 1


@dataclass(frozen=True)
class NumericRange:
    """``low <= value <= high`` (``low < value`` with ``open_low``, ``value < high`` with
    ``open_high``), a whole number when ``integer``; ``what`` names the setting in
    messages, ``why`` says where the bound comes from."""

    what: str
    low: float
    high: float
    integer: bool = False
    open_low: bool = False
    open_high: bool = False
    why: str = ""

    def describe(self) -> str:
        """'a whole number from 1 to 100000', 'a number in (0, 1)'..."""
        if self.integer:
            return f"a whole number from {int(self.low)} to {int(self.high)}"
        left = "(" if self.open_low else "["
        right = ")" if self.open_high else "]"
        return f"a number in {left}{self.low:g}, {self.high:g}{right}"

    def contains(self, value) -> bool:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if not math.isfinite(value):
            return False
        if self.integer and int(value) != value:
            return False
        above = value > self.low if self.open_low else value >= self.low
        below = value < self.high if self.open_high else value <= self.high
        return above and below


def _r(what, low, high, integer=False, open_low=False, open_high=False, why=""):
    return NumericRange(what, low, high, integer, open_low, open_high, why)


# name -> range. The name is "<spec>.<field>" as the session file spells it.
RANGES = {
    # data and model (ClassifierSpec)
    "problem.val_fraction": _r("the validation share", 0, 0.9, why="at least a tenth of the data trains; "
                               "every class also needs a training example (checked on the data)"),
    "problem.subsample": _r("the CIFAR-10 subsample", 2, 60000, integer=True, why="CIFAR-10 has 60000 images"),
    "problem.delta": _r("the SVM margin delta", 0, 1e6, open_low=True),
    "problem.lam": _r("the regularization strength lambda", 0, 1e6),
    "problem.beta": _r("the elastic net's L2 weight beta", 0, 1e6),
    "problem.seed": _r("the seed", 0, MAX_SEED, integer=True, why="what a seed box holds (a C int)"),
    "problem.condition": _r("the condition number", 1, 1e8, why="beyond 1e8 the quadratic's valley is below "
                            "the plot's resolution"),
    "problem.angle": _r("the quadratic's rotation angle (degrees)", -360, 360),
    "problem.hidden": _r("the hidden size (units per layer)", 1, 4096, integer=True,
                         why="each layer of --hidden; also checked against the memory a forward pass needs on "
                             "the data"),
    "problem.depth": _r("the number of hidden layers", 1, 64, integer=True,
                        why="a deeper stack's slice costs a pass per layer per point; 64 is core's limit"),
    "problem.keep_prob": _r("dropout's keep probability p", 0, 1, open_low=True,
                            why="inverted dropout keeps a unit with probability p; 1 is no dropout"),
    "problem.pieces": _r("maxout's pieces per unit k", 2, 8, integer=True,
                         why="one piece is the affine layer itself; each piece multiplies the layer's cost"),
    "problem.slope": _r("leaky ReLU's negative slope", 0, 1, open_high=True),
    # the slice (SliceSpec)
    "slice.train_steps": _r("the centre's training steps", 0, 100000, integer=True),
    "slice.init_scale": _r("the initial weight scale", 0, 1e3, open_low=True),
    "slice.grid": _r("the grid size", 2, 2001, integer=True,
                     why="also checked against the memory budget (--budget-mb) on the data"),
    "slice.range_end": _r("an end of a slice's range", -1e6, 1e6),
    "slice.extent": _r("the landscape's range +-", 0, 1e6, open_low=True),
    "slice.coord": _r("a parameter index of the coords directions", 0, 10 ** 9, integer=True,
                      why="also checked against the parameter's shape"),
    "slice.seed": _r("the slice's seed", 0, MAX_SEED, integer=True),
    "slice.budget_mb": _r("the working memory budget (MB)", 1, 16384),
    "slice.dropout_masks": _r("the number of dropout masks K of mean:K", 2, 100, integer=True,
                              why="mean:1 is fixed; every mask is one more pass per point"),
    # the race
    "race.steps": _r("the number of steps", 1, 100000, integer=True,
                     why="a recorded path of 100000 steps is what the views draw within a frame"),
    "race.seed": _r("the race's seed", 0, MAX_SEED, integer=True),
    "race.start": _r("a start coordinate", -1e6, 1e6),
    # an optimizer (OptimizerSpec, Schedule)
    "optimizer.lr": _r("the learning rate", 0, 1e6, open_low=True,
                       why="1e6 is the notes' example of a rate that diverges"),
    "optimizer.momentum": _r("momentum mu", 0, 1, open_high=True, why="mu >= 1 never forgets a step: it diverges"),
    "optimizer.alpha": _r("RMSProp's decay alpha", 0, 1, open_high=True),
    "optimizer.beta1": _r("Adam's beta1", 0, 1, open_high=True),
    "optimizer.beta2": _r("Adam's beta2", 0, 1, open_high=True),
    "optimizer.eps": _r("eps", 0, 1, open_low=True),
    "optimizer.batch_size": _r("the batch size", 1, 10 ** 6, integer=True),
    "optimizer.damping": _r("Newton's damping mu", 0, 1e12),
    "optimizer.history": _r("L-BFGS's history m", 1, 1000, integer=True,
                            why="m pairs of parameter-sized vectors are kept"),
    "schedule.gamma": _r("the step-decay factor gamma", 0, 1, open_low=True),
    "schedule.every": _r("the steps between decays", 1, 100000, integer=True),
    "schedule.k": _r("the decay rate k", 0, 1e3),
    # a hyperparameter search (core.labs.hyperparameter_search)
    "search.trials": _r("the number of trials", 1, 10000, integer=True,
                        why="each trial trains the model; the work is also held to a budget of example passes"),
    "search.epochs": _r("the epochs per trial", 1, 1000, integer=True),
    "search.seed": _r("the search's seed", 0, MAX_SEED, integer=True),
    "search.best_fraction": _r("coarse-to-fine's share of best trials", 0, 1, open_low=True),
    "search.workers": _r("the worker processes", 1, 64, integer=True,
                         why="each holds a copy of the data"),
    # the Babysitting lab
    "babysit.epochs": _r("the number of epochs", 1, 1000, integer=True,
                         why="also checked against the lab's work budget (epochs x examples x parameters)"),
    # the view
    "view.contours": _r("the number of contours", 0, 100, integer=True,
                        why="more lines than pixels between them add nothing"),
    "view.cut_angle": _r("the cut's angle (degrees)", -360, 360),
    "view.cut_point": _r("a cut point's coordinate", -1e6, 1e6),
    # the command line's outputs
    "gif.fps": _r("the GIF's frames per second", 1, 60, integer=True),
    "gif.frames": _r("the GIF's number of frames", 2, 1000, integer=True),
    "gif.side": _r("the GIF's width or height (pixels)", 100, 4000, integer=True,
                   why="also checked against a 1 GiB memory budget for all frames"),
    "picture.side": _r("a picture's width or height (pixels)", 200, 10000, integer=True),
    "loss.score": _r("a score of the Loss lab's table", -1e6, 1e6,
                     why="the notes' scores are single digits; the bound keeps every margin s_j - s_y + delta "
                         "far from overflow"),
    "gradcheck.h": _r("the difference step h", 0, 1e300, open_low=True,
                      why="a step too large to resolve a derivative is not refused: the check fails and says why"),
    "gradcheck.samples": _r("the number of parameters checked (0: all)", 0, 10 ** 7, integer=True),
    "gradcheck.scale": _r("the weight scale of the check", 0, 1e300, open_low=True,
                          why="weights whose loss overflows fail the check, named"),
    "hessian.top": _r("the number of largest eigenvalues", 1, 1000, integer=True,
                      why="and at most the number of parameters; each costs Lanczos steps"),
    "hessian.bottom": _r("the number of smallest eigenvalues", 0, 1000, integer=True,
                         why="and at most the number of parameters"),
    "hessian.trace_samples": _r("Hutchinson's probes", 2, 100000, integer=True,
                                why="one Hessian-vector product each; the error falls as 1 / sqrt(probes)"),
    "hessian.iterations": _r("the Lanczos steps", 2, 10000, integer=True,
                             why="one Hessian-vector product each, and the basis kept: 10000 x n numbers"),
}


def check(name: str, value):
    """``value`` if it lies in ``RANGES[name]``; otherwise a :class:`HillwalkError`
    that names the setting, the value and the valid range."""
    valid = RANGES[name]
    if not valid.contains(value):
        raise HillwalkError(f"{valid.what} must be {valid.describe()}, got {value!r}")
    return value


_COUNT_WORDS = {2: "two", 4: "four"}


def check_numbers(name: str, values, what: str, form: str):
    """``values`` if it is a tuple of ``len(form's parts)`` numbers, each in ``RANGES[name]``;
    ``what`` names the setting and ``form`` shows its parts ('(a, b)') in messages."""
    count = form.count(",") + 1
    if not (isinstance(values, tuple) and len(values) == count):
        raise HillwalkError(f"{what} must be {_COUNT_WORDS.get(count, count)} numbers {form}, got {values!r}")
    for value in values:
        check(name, value)
    return values


def check_optional(name: str, value):
    """:func:`check` unless ``value`` is None (a setting left at its default)."""
    return value if value is None else check(name, value)


def check_memory(estimate_bytes: float, what: str, how_to_fix: str, budget: float = MEMORY_BUDGET_BYTES):
    """Refuse, with the estimate, work whose memory would exceed ``budget`` bytes."""
    if estimate_bytes > budget:
        raise HillwalkError(f"{what} would need about {format_bytes(estimate_bytes)} of memory, over the "
                            f"{format_bytes(budget)} budget; {how_to_fix}")


def format_bytes(count: float) -> str:
    for unit, size in (("GB", 2 ** 30), ("MB", 2 ** 20), ("kB", 2 ** 10)):
        if count >= size:
            return f"{count / size:.3g} {unit}"
    return f"{int(count)} bytes"
