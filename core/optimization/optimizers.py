"""Update rules, learning-rate schedules and derivative-free search.

Gradient methods follow the definitions of ``torch.optim`` (SGD with momentum/Nesterov,
Adagrad, RMSprop, Adam; no weight decay, which lives in the loss here), evaluated in the
same order, so a float64 trajectory agrees with PyTorch's to rounding. Every optimizer
keeps its state in a plain dict of arrays plus the step count ``t``, so a run can be
inspected, copied (``copy.deepcopy``), paused and resumed.

Schedules give the learning rate of update number ``t`` (0 for the first update):

* ``constant``: ``lr0``
* ``step``: ``lr0 * gamma ** (t // every)``
* ``exp``: ``lr0 * exp(-k t)``
* ``inv``: ``lr0 / (1 + k t)``

With ``unit="epochs"`` (the notes' way of counting) ``t`` is the epoch instead: the update
number divided by the updates per epoch, ``ceil(n_train / batch_size)`` (1 for a full batch
or a 2-D function), which the run tells its optimizer.

:data:`METHOD_INFO` describes every method as data (its labels, which settings apply and
their defaults, its update rule), so the GUI and the command line need not repeat it.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from types import MappingProxyType
from typing import Callable

import numpy as np

from ..errors import HillwalkError, require_choice
from ..limits import check, check_optional

SCHEDULES = ("constant", "step", "exp", "inv")
SCHEDULE_UNITS = ("steps", "epochs")
# The OptimizerSpec fields a method may use ("schedule" stands for its kind, gamma, every, k).
SETTINGS = ("lr", "momentum", "alpha", "beta1", "beta2", "eps", "bias_correction", "schedule", "batch_size", "damping",
            "saddle_free", "history")


# --------------------------------------------------------------------------- update rules
# One function per rule: (theta, grad, lr, spec, state, t) -> new theta, with ``state`` the
# optimizer's dict of buffers (updated in place) and ``t`` the update number, counted from 1.
# theta and grad are float arrays of the parameter shape; theta is not modified.

def _momentum_velocity(grad, mu, state):
    """torch's buffer: ``v = g`` at the first update, then ``v = mu v + g``."""
    state["velocity"] = grad.copy() if "velocity" not in state else mu * state["velocity"] + grad
    return state["velocity"]


def sgd_rule(theta, grad, lr, spec, state, t):
    """``x -= lr g``; with momentum mu > 0, momentum SGD (``x -= lr v``), as in torch."""
    mu = spec.effective_momentum
    if mu == 0:
        return theta - lr * grad
    return theta - lr * _momentum_velocity(grad, mu, state)


def nesterov_rule(theta, grad, lr, spec, state, t):
    """``v = mu v + g``; ``x -= lr (g + mu v)`` (plain SGD when mu is 0)."""
    mu = spec.effective_momentum
    if mu == 0:
        return theta - lr * grad
    return theta - lr * (grad + mu * _momentum_velocity(grad, mu, state))


def adagrad_rule(theta, grad, lr, spec, state, t):
    """``G += g^2``; ``x -= lr g / (sqrt(G) + eps)``."""
    state["sum_squares"] = state.get("sum_squares", np.zeros_like(theta)) + grad * grad
    return theta - lr * grad / (np.sqrt(state["sum_squares"]) + spec.effective_eps)


def rmsprop_rule(theta, grad, lr, spec, state, t):
    """``E = alpha E + (1 - alpha) g^2``; ``x -= lr g / (sqrt(E) + eps)``."""
    state["square_avg"] = spec.alpha * state.get("square_avg", np.zeros_like(theta)) + (1 - spec.alpha) * grad * grad
    return theta - lr * grad / (np.sqrt(state["square_avg"]) + spec.effective_eps)


def adam_rule(theta, grad, lr, spec, state, t):
    """``m = b1 m + (1-b1) g``; ``v = b2 v + (1-b2) g^2``;
    ``x -= (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps)`` (torch's order).
    Without bias correction (the notes' first form), ``x -= lr m / (sqrt(v) + eps)``: m and
    v start at 0, so the first steps are scaled by (1 - b1) / sqrt(1 - b2) (0.1 / 0.0316 =
    3.2x the corrected step with torch's betas, and ~1/t-dependent after)."""
    m = spec.beta1 * state.get("m", np.zeros_like(theta)) + (1 - spec.beta1) * grad
    v = spec.beta2 * state.get("v", np.zeros_like(theta)) + (1 - spec.beta2) * grad * grad
    state["m"], state["v"] = m, v
    if not spec.bias_correction:
        return theta - lr * m / (np.sqrt(v) + spec.effective_eps)
    bias1 = 1 - spec.beta1 ** t
    bias2 = 1 - spec.beta2 ** t
    denominator = np.sqrt(v) / math.sqrt(bias2) + spec.effective_eps
    return theta - (lr / bias1) * m / denominator


# --------------------------------------------------------------------------- the methods

@dataclass(frozen=True)
class MethodInfo:
    """One optimization method, as data.

    Attributes
    ----------
    method : str
        The name in OptimizerSpec.method, session files and the command line.
    label : str
        How menus name it ("SGD + momentum").
    short_name : str
        How legends name it ("SGD+momentum").
    settings : tuple of str
        The SETTINGS that apply to it; the others have no effect.
    defaults : mapping
        Default values of the settings that apply (``eps`` as torch has it).
    rule : callable or None
        The update rule (see above); None for the derivative-free searches.
    """

    method: str
    label: str
    short_name: str
    settings: tuple
    defaults: MappingProxyType
    rule: Callable | None = None
    # a second-order method (core.optimization.second_order): it steps with the objective
    # itself (Hessian-vector products, a line search), not with the gradient alone
    second_order: bool = False

    @property
    def uses_gradient(self) -> bool:
        return self.rule is not None or self.second_order

    def applies(self, setting: str) -> bool:
        return setting in self.settings


def _info(method, label, short_name, settings, rule=None, second_order=False, **defaults):
    base = {"lr": 1e-3, "momentum": 0.0, "alpha": 0.99, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8,
            "bias_correction": True, "schedule": "constant", "batch_size": None, "damping": 0.0,
            "saddle_free": False, "history": 10}
    base.update(defaults)
    return MethodInfo(method, label, short_name, settings,
                      MappingProxyType({name: base[name] for name in settings}), rule, second_order)


METHOD_INFO = MappingProxyType({info.method: info for info in (
    _info("sgd", "SGD", "SGD", ("lr", "momentum", "schedule", "batch_size"), sgd_rule),
    _info("momentum", "SGD + momentum", "SGD+momentum", ("lr", "momentum", "schedule", "batch_size"), sgd_rule,
          momentum=0.9),
    _info("nesterov", "Nesterov momentum", "Nesterov", ("lr", "momentum", "schedule", "batch_size"), nesterov_rule,
          momentum=0.9),
    _info("adagrad", "AdaGrad", "AdaGrad", ("lr", "eps", "schedule", "batch_size"), adagrad_rule, eps=1e-10),
    _info("rmsprop", "RMSProp", "RMSProp", ("lr", "alpha", "eps", "schedule", "batch_size"), rmsprop_rule),
    _info("adam", "Adam", "Adam", ("lr", "beta1", "beta2", "eps", "bias_correction", "schedule", "batch_size"),
          adam_rule),
    # no learning rate: Newton's step is -H^-1 g, the quasi-Newton steps come from a line search
    _info("newton", "Newton (damped)", "Newton", ("damping", "saddle_free", "batch_size"), second_order=True),
    _info("bfgs", "BFGS", "BFGS", ("batch_size",), second_order=True),
    _info("lbfgs", "L-BFGS", "L-BFGS", ("history", "batch_size"), second_order=True),
    # lr is the searches' scale: of a fresh W (the notes' randn * 0.0001), of a perturbation
    _info("random-search", "random search", "random search", ("lr", "schedule"), lr=1e-4),
    _info("random-local-search", "random local search", "random local search", ("lr", "schedule")),
)})
# The notes' (and lecture code's) values beside torch's defaults above: eps 1e-7 in the
# AdaGrad, RMSProp and Adam snippets, and Adam's beta2 0.99; momentum's values the notes
# cross-validate (0.5 at first, 0.9, up to 0.99).
NOTES_DEFAULTS = MappingProxyType({"eps": 1e-7, "beta2": 0.99})
NOTES_MOMENTA = (0.5, 0.9, 0.99)
DEFAULT_STYLES = ("torch", "notes")
METHODS = tuple(METHOD_INFO)
GRADIENT_METHODS = tuple(m for m, info in METHOD_INFO.items() if info.uses_gradient)
SEARCH_METHODS = tuple(m for m, info in METHOD_INFO.items() if not info.uses_gradient)


def methods_using(setting: str) -> tuple:
    """Labels of the methods a setting applies to, e.g. ("SGD", "SGD + momentum", ...)."""
    require_choice(setting, SETTINGS, "optimizer setting")
    return tuple(info.label for info in METHOD_INFO.values() if info.applies(setting))


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule (see the module docstring for the formulas)."""

    kind: str = "constant"
    gamma: float = 0.5
    every: int = 100
    k: float = 1e-3
    unit: str = "steps"

    def __post_init__(self):
        require_choice(self.kind, SCHEDULES, "schedule")
        require_choice(self.unit, SCHEDULE_UNITS, "schedule unit")
        check("schedule.gamma", self.gamma)
        check("schedule.every", self.every)
        check("schedule.k", self.k)

    def lr(self, lr0: float, t: int, steps_per_epoch: int = 1) -> float:
        """Learning rate of update number ``t`` (0-based); counted in epochs (``unit``),
        ``t`` becomes ``t // steps_per_epoch``."""
        if self.unit == "epochs":
            t = t // max(1, int(steps_per_epoch))
        if self.kind == "constant":
            return lr0
        if self.kind == "step":
            return lr0 * self.gamma ** (t // int(self.every))
        if self.kind == "exp":
            return lr0 * math.exp(-self.k * t)
        return lr0 / (1.0 + self.k * t)


@dataclass(frozen=True)
class OptimizerSpec:
    """Everything that defines one optimizer.

    Attributes
    ----------
    method : one of METHODS
        ``momentum`` and ``nesterov`` are SGD with momentum (0.9 unless given) and
        Nesterov momentum; ``sgd`` with ``momentum > 0`` is momentum SGD, as in torch.
    lr : float
        Learning rate; for random search the scale of the candidates' Gaussian, for
        random local search the scale of the perturbation.
    momentum : float or None
        mu (SGD family). None: 0 for sgd, 0.9 for momentum/nesterov.
    alpha : float
        RMSProp's decay rate of the squared-gradient average.
    beta1, beta2 : float
        Adam's decay rates.
    eps : float or None
        None: torch's default (1e-10 for AdaGrad, 1e-8 otherwise).
    schedule : Schedule
    batch_size : int or None
        Examples per gradient (None: the full batch, i.e. gradient descent).
    sampling : "epoch" or "replacement"
        Minibatches from shuffled epochs, or drawn with replacement.
    label : str
        Display name (defaults to a description of the method).
    damping : float
        Newton's initial damping mu in (H + mu I) p = -g (0: the pure Newton step; it grows
        where H is not positive definite, see core.optimization.second_order.Newton).
    history : int
        L-BFGS's number of kept pairs (s, y).
    bias_correction : bool
        Adam's division of m and v by (1 - beta^t) (False: the notes' uncorrected form).
    saddle_free : bool
        Newton with |H| (the absolute values of the Hessian's eigenvalues) in place of H,
        so that negative curvature is descended rather than climbed (Dauphin et al. 2014);
        it forms the full Hessian, so at most core.curvature.MAX_FULL_HESSIAN parameters.
    """

    method: str = "sgd"
    lr: float = 1e-3
    momentum: float | None = None
    alpha: float = 0.99
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float | None = None
    schedule: Schedule = field(default_factory=Schedule)
    batch_size: int | None = None
    sampling: str = "epoch"
    label: str = ""
    damping: float = 0.0
    history: int = 10
    bias_correction: bool = True
    saddle_free: bool = False

    def __post_init__(self):
        require_choice(self.method, METHODS, "optimizer")
        check("optimizer.damping", self.damping)
        check("optimizer.history", self.history)
        check("optimizer.lr", self.lr)
        check_optional("optimizer.momentum", self.momentum)
        for name in ("alpha", "beta1", "beta2"):
            check(f"optimizer.{name}", getattr(self, name))
        check_optional("optimizer.eps", self.eps)
        check_optional("optimizer.batch_size", self.batch_size)
        for name in ("bias_correction", "saddle_free"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise HillwalkError(f"optimizer.{name} is true or false, got {getattr(self, name)!r}")
            object.__setattr__(self, name, bool(getattr(self, name)))
        if self.sampling not in ("epoch", "replacement"):
            raise HillwalkError(f"unknown minibatch sampling {self.sampling!r}; use epoch or replacement")
        if isinstance(self.schedule, dict):
            object.__setattr__(self, "schedule", Schedule(**self.schedule))

    @classmethod
    def for_method(cls, method: str, **changes) -> "OptimizerSpec":
        """A spec of ``method`` with its own defaults (random search's scale 1e-4, not the
        learning rate 1e-3), then ``changes``."""
        info = METHOD_INFO[require_choice(method, METHODS, "optimizer")]
        return cls(method, **{**({"lr": info.defaults["lr"]} if "lr" in info.defaults else {}), **changes})

    def with_defaults(self, style: str) -> "OptimizerSpec":
        """This spec with the ``style`` values ("torch": the method's own, as torch has
        them; "notes": NOTES_DEFAULTS) of eps and beta2, where the method uses them; the
        learning rate, momentum (NOTES_MOMENTA are choices, not a default) and everything
        else stay."""
        require_choice(style, DEFAULT_STYLES, "defaults")
        changes = {}
        for setting in NOTES_DEFAULTS:
            if self.info.applies(setting):
                changes[setting] = NOTES_DEFAULTS[setting] if style == "notes" else \
                    (None if setting == "eps" else self.info.defaults[setting])
        return replace(self, **changes)

    @property
    def info(self) -> MethodInfo:
        return METHOD_INFO[self.method]

    @property
    def effective_momentum(self) -> float:
        if self.momentum is not None:
            return self.momentum
        return self.info.defaults.get("momentum", 0.0)

    @property
    def effective_eps(self) -> float:
        return self.eps if self.eps is not None else self.info.defaults.get("eps", 1e-8)

    @property
    def uses_gradient(self) -> bool:
        return self.info.uses_gradient

    @property
    def display_name(self) -> str:
        """The method's name in legends and lists (see :meth:`name_on`), on data."""
        return self.name_on(minibatches=True)

    def name_on(self, minibatches: bool) -> str:
        """The method's name in legends and lists: its label if it has one; "GD" and
        "GD+momentum" where every step takes the whole gradient (a full batch, or
        ``minibatches`` False: an objective with no examples to sample, a 2-D function),
        "SGD" and "SGD+momentum" where steps take minibatches."""
        if self.label:
            return self.label
        name = self.info.short_name
        if self.method == "sgd" and self.effective_momentum > 0:
            name = "SGD+momentum"
        elif self.method == "newton" and self.saddle_free:
            name = "saddle-free Newton"
        elif self.method == "adam" and not self.bias_correction:
            name = "Adam (no bias correction)"
        if name.startswith("SGD") and (self.batch_size is None or not minibatches):
            name = name[1:]   # full-batch gradients: not stochastic
        return name

    @property
    def rate_text(self) -> str:
        """'lr 0.02' for the methods that have a learning rate, 'scale 0.0001' for the random
        searches (their "rate" is the scale of their candidates), '' for the second-order
        ones, which have none (labels name the rate only where there is one)."""
        if self.info.second_order:
            return ""
        return f"lr {self.lr:g}" if self.info.uses_gradient else f"scale {self.lr:g}"

    @property
    def name_with_rate(self) -> str:
        """'SGD (lr 0.02)', or 'Newton' for a method without a learning rate."""
        return f"{self.display_name} ({self.rate_text})" if self.rate_text else self.display_name

    def with_changes(self, **changes) -> "OptimizerSpec":
        return replace(self, **changes)

    def to_dict(self) -> dict:
        return asdict(self)

    def build(self, seed: int = 0) -> "Optimizer":
        return Optimizer(self, seed)


class Optimizer:
    """A running optimizer: the spec, its state and its step count.

    ``state`` holds arrays shaped like the parameters: ``velocity`` (momentum buffer),
    ``sum_squares`` (AdaGrad), ``square_avg`` (RMSProp), ``m`` and ``v`` (Adam); random
    searches hold ``best``/``best_loss`` and a random generator. ``t`` counts updates.
    """

    def __init__(self, spec: OptimizerSpec, seed: int = 0):
        self.spec = spec
        self.t = 0
        self.steps_per_epoch = 1   # set by the run (a schedule counted in epochs needs it)
        self.state: dict = {}
        self.loss_evaluations = 0
        self.second = None
        if spec.info.second_order:
            from .second_order import make_second_order

            options = {"newton": {"damping": spec.damping, "saddle_aware": spec.saddle_free},
                       "lbfgs": {"history": spec.history}}.get(spec.method, {})
            self.second = make_second_order(spec.method, **options)
        # An independent stream for the searches' own randomness (minibatches use ``seed``).
        self.rng = np.random.default_rng(np.random.SeedSequence([seed, 7]))

    def current_lr(self) -> float:
        return self.spec.schedule.lr(self.spec.lr, self.t, self.steps_per_epoch)

    def update(self, theta, grad):
        """One gradient update (torch's order of operations). Returns the new parameters;
        ``theta`` is not modified.

        SGD, momentum mu: ``v = mu v + g`` (``v = g`` at the first step), then
        ``x -= lr v``, or with Nesterov ``x -= lr (g + mu v)``. In the notes' form
        ``v = mu v - lr g; x += v`` the velocity is ``-lr`` times torch's: the same path
        at constant lr.
        """
        rule = self.spec.info.rule
        if rule is None:
            raise HillwalkError(f"{self.spec.method} does not use gradients")
        lr = self.current_lr()
        self.t += 1
        return rule(np.asarray(theta, dtype=np.float64), np.asarray(grad, dtype=np.float64), lr, self.spec, self.state,
                    self.t)

    def second_order_step(self, objective, theta, loss, grad):
        """One step of a second-order method on ``objective`` (the step's function: the full
        batch or one minibatch); returns its :class:`~core.optimization.second_order.StepResult`."""
        if self.second is None:
            raise HillwalkError(f"{self.spec.method} is not a second-order method")
        self.t += 1
        return self.second.step(objective, theta, loss, grad)

    def search_step(self, objective, theta, theta_loss, origin):
        """One candidate of a derivative-free method (one loss evaluation).

        Random search, as the notes define it, draws a fresh ``lr * randn`` (independent
        of the start and of every earlier try; within a plane, a fresh (a, b)) and keeps
        the best point so far; random local search tries ``theta + lr * randn`` and moves
        only if the loss drops. Returns (new theta, its loss).
        """
        scale = self.current_lr()
        self.t += 1
        noise = self.rng.standard_normal(np.shape(theta))
        if self.spec.method == "random-search":
            # a fresh W (the notes); a 2-D function has no "W near 0" to draw, so its tries
            # are fresh draws around the start (still independent of the best so far)
            candidate = scale * noise if not getattr(objective, "has_own_plane", False) else origin + scale * noise
        else:
            candidate = theta + scale * noise
        candidate_loss = objective.loss(candidate)
        self.loss_evaluations += 1
        if np.isfinite(candidate_loss) and candidate_loss < theta_loss:
            self.state["accepted"] = self.state.get("accepted", 0) + 1
            return candidate, candidate_loss
        return theta, theta_loss
