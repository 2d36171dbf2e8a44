"""A classification problem described by plain settings, and built from them.

:class:`ClassifierSpec` is what the command line, the GUI and session files share: every
field is a plain value (JSON-friendly), and :meth:`ClassifierSpec.build` turns it into an
objective, deterministically (all randomness comes from ``seed``).
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass

import numpy as np

from ..data.datasets import PREPROCESSING_METHODS, load_dataset
from ..errors import HillwalkError, require_choice
from ..limits import check, check_memory, check_optional
from .layers import ACTIVATIONS as ELEMENTWISE_ACTIVATIONS
from .layers import ALL_INIT_SCHEMES
from .network import INIT_SCHEMES as TWO_LAYER_INIT_SCHEMES
from .network import Network, TwoLayerNet, estimate_pass_bytes
from .objectives import LOSS_NAMES, LinearClassifier, loss_name, prepare_splits
from .regularizers import Regularizer
from .testfunctions import TEST_FUNCTION_NAMES, make_test_function

MODELS = ("linear", "net")
# The choices the command line and the window offer for a network (any depth): the
# elementwise activations and maxout; every initialization, zero and "too large" 1.0
# included (the notes' experiment needs them).
ACTIVATIONS = ELEMENTWISE_ACTIVATIONS + ("maxout",)
INIT_SCHEMES = ALL_INIT_SCHEMES


@dataclass(frozen=True)
class ClassifierSpec:
    """Settings of a linear classification problem.

    Attributes
    ----------
    objective : str
        "classifier" (a linear classifier on ``dataset``) or the name of a 2-D test
        function (quadratic, rosenbrock, beale, himmelblau, saddle, monkey, rastrigin);
        ``condition`` and ``angle`` shape the quadratic.
    dataset : str
        Embedded name (digits, iris, wine), synthetic name (spiral, blobs, xor, circles)
        or a path to a CSV file, an NPZ file or a CIFAR-10 folder.
    preprocessing : {"none", "center", "standardize", "minmax"}
        Fitted on the training part only.
    val_fraction : float
        Share of examples held out for validation (stratified, ``seed``).
    subsample : int or None
        CIFAR-10 only: keep this many examples.
    label_column : str or None
        CSV only: the label column by name or index (default: last).
    loss, delta, regularizer, lam, beta, regularize_bias
        See :class:`~core.models.objectives.LinearClassifier` and :class:`~core.models.regularizers.Regularizer`.
    seed : int
        Seed of every random choice made while building (synthetic data, subsample, split).
    model : {"linear", "net"}
        A linear classifier, or a network (:class:`~core.models.network.Network`; the
        plain one-hidden-layer case is :class:`~core.models.network.TwoLayerNet`, bit for
        bit the app's two-layer network) with hidden layers ``hidden``, ``activation``
        (``slope`` for leaky_relu, ``pieces`` for maxout) and weight initialization ``init``.
    hidden : tuple of int
        The widths of the hidden layers, e.g. (100, 100); an int (or a list) is accepted and
        normalized to a tuple, so ``hidden=64`` and ``hidden=(64,)`` are the same spec.
    batchnorm : bool
        Batch normalization between each hidden affine map and its activation.
    keep_prob : float in (0, 1]
        Inverted dropout's keep probability p after each hidden activation (1: no dropout).
    residual : bool
        Skip connections h + f(h) on every hidden layer after the first whose width equals
        its input's (needs two consecutive hidden layers of equal width).
    pieces : int
        Maxout's k, affine maps per unit (2 .. 8); used only with ``activation="maxout"``.
    """

    dataset: str = "digits"
    preprocessing: str = "center"
    val_fraction: float = 0.2
    subsample: int | None = None
    label_column: str | None = None
    loss: str = "softmax"
    delta: float = 1.0
    regularizer: str = "l2"
    lam: float = 1e-3
    beta: float = 1.0
    regularize_bias: bool = False
    seed: int = 0
    objective: str = "classifier"
    condition: float = 20.0
    angle: float = 30.0
    model: str = "linear"
    hidden: int | tuple = (64,)
    activation: str = "relu"
    slope: float = 0.01
    init: str = "he"
    batchnorm: bool = False
    keep_prob: float = 1.0
    residual: bool = False
    pieces: int = 2

    def __post_init__(self):
        if self.objective != "classifier" and self.objective not in TEST_FUNCTION_NAMES:
            raise HillwalkError(f"unknown objective {self.objective!r}; choose classifier or one of "
                                f"{', '.join(TEST_FUNCTION_NAMES)}")
        if not isinstance(self.dataset, str) or not self.dataset.strip():
            raise HillwalkError("the data set must be a name or a path; choose one in the Data panel or with --dataset")
        if "\0" in self.dataset:
            raise HillwalkError("the data set's path holds a NUL character; give a real file name")
        check("problem.condition", self.condition)
        check("problem.angle", self.angle)
        require_choice(self.model, MODELS, "model")
        object.__setattr__(self, "hidden", _normalized_widths(self.hidden))
        check("problem.slope", self.slope)
        require_choice(self.activation, ACTIVATIONS, "activation")
        require_choice(self.init, INIT_SCHEMES, "initialization")
        for name in ("batchnorm", "residual"):
            if not isinstance(getattr(self, name), bool):
                raise HillwalkError(f"{name} must be true or false, got {getattr(self, name)!r}")
        check("problem.keep_prob", self.keep_prob)
        check("problem.pieces", self.pieces)
        if self.residual and not has_skip(self.hidden):
            raise HillwalkError(f"skip connections need at least two hidden layers, two consecutive ones of equal "
                                f"width (h + f(h) adds a layer's input to its output), got hidden "
                                f"{format_widths(self.hidden)}")
        require_choice(self.preprocessing, PREPROCESSING_METHODS, "preprocessing")
        require_choice(self.loss, LOSS_NAMES, "loss")
        check("problem.lam", self.lam)
        check("problem.beta", self.beta)
        Regularizer(self.regularizer, self.lam, self.beta)  # validates its kind
        check("problem.delta", self.delta)
        check("problem.val_fraction", self.val_fraction)
        check_optional("problem.subsample", self.subsample)
        check("problem.seed", self.seed)
        if self.label_column is not None and not isinstance(self.label_column, str):
            raise HillwalkError(f"the label column must be a column name or index as text, got {self.label_column!r}")

    def load_options(self) -> dict:
        """Loader options that apply to this data set."""
        options = {}
        if self.subsample is not None:
            options["subsample"] = self.subsample
        if self.label_column is not None:
            options["label_column"] = self.label_column
        return options

    @property
    def is_function(self) -> bool:
        return self.objective != "classifier"

    @property
    def network_title(self) -> str:
        """'16-unit relu net' ('' for a linear classifier)."""
        return f"{format_widths(self.hidden)}-unit {self.activation} net" if self.model == "net" else ""

    @property
    def title(self) -> str:
        """For titles: 'softmax on digits', 'SVM, 16-unit relu net, on spiral', or a 2-D
        function's name ('rosenbrock'; a function session keeps the classifier's fields)."""
        if self.is_function:
            return self.objective
        loss = loss_name(self.loss)
        return f"{loss}, {self.network_title}, on {self.dataset}" if self.model == "net" else f"{loss} on {self.dataset}"

    def build(self):
        """Load, split, preprocess and wrap the data in a :class:`LinearClassifier` or a
        :class:`~core.models.network.TwoLayerNet` (or make the 2-D test function)."""
        if self.is_function:
            options = {"condition": self.condition, "angle": self.angle} if self.objective == "quadratic" else {}
            return make_test_function(self.objective, **options)
        # the loaded set is handed over (no name holds it): split and preprocessed in place,
        # and let go once it is split
        train, val = prepare_splits(load_dataset(self.dataset, seed=self.seed, **self.load_options()),
                                    self.preprocessing, self.val_fraction, self.seed, owned=True)
        return self.model_on(train, val)

    @property
    def is_plain_two_layer(self) -> bool:
        """One hidden layer with none of batch norm, dropout, maxout or skip connections and
        an initialization the two-layer network had: :class:`TwoLayerNet`, today's numbers."""
        return (len(self.hidden) == 1 and not self.batchnorm and self.keep_prob == 1.0 and not self.residual
                and self.activation != "maxout" and self.init in TWO_LAYER_INIT_SCHEMES)

    def check_fits(self, train):
        """Refuse a network whose pass over ``train`` would exceed the memory budget, before
        anything is built (a linear model always fits: its data was held to its own budget)."""
        if self.model != "net":
            return
        n, d = train.X.shape
        classes = len(train.class_names)
        pieces = self.pieces if self.activation == "maxout" else 1
        # a slice's centre runs a forward and backward pass on the whole training set;
        # the estimate counts every array its caches and gradients keep, the input X
        # among them, which is the data already loaded (and held to its own budget,
        # DATA_BUDGET_BYTES): only the pass's new arrays count against this one
        needed = estimate_pass_bytes(n, d, classes, self.hidden, pieces, self.batchnorm, self.keep_prob < 1.0,
                                     self.residual, mask_sets=1 if self.keep_prob < 1.0 else 0) - 8 * n * d
        check_memory(needed, f"a {format_widths(self.hidden)}-unit network on {n} examples",
                     "use fewer or narrower hidden layers, or a subsample")

    def model_on(self, train, val=None):
        """The model of these settings (linear or network, loss, regularizer) on data that
        is already split and preprocessed.

        A network with dropout (keep_prob < 1) trains with fresh masks at every step
        (dropout mode "fresh", masks from ``seed`` and the step); outside a run's steps it
        is the function of one fixed mask from ``seed``, and slices choose their own mode."""
        regularizer = Regularizer(self.regularizer, self.lam, self.beta)
        if self.model == "net":
            self.check_fits(train)
            if self.is_plain_two_layer:
                return TwoLayerNet(train, val, self.hidden[0], self.activation, self.slope, self.init, self.loss,
                                   self.delta, regularizer, self.regularize_bias)
            return Network(train, val, self.hidden, self.activation, self.slope, self.init, self.loss, self.delta,
                           regularizer, self.regularize_bias, pieces=self.pieces, batchnorm=self.batchnorm,
                           keep_prob=self.keep_prob, residual=self.residual, mask_seed=self.seed,
                           dropout_mode="fresh" if self.keep_prob < 1.0 else "fixed")
        return LinearClassifier(train, val, self.loss, self.delta, regularizer, self.regularize_bias)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        return data


def format_widths(widths) -> str:
    """'64', '100-100', or '10 x 500' for four or more layers of one width (the widths of
    the hidden layers, for titles and messages)."""
    widths = [int(w) for w in widths]
    if len(widths) >= 4 and len(set(widths)) == 1:
        return f"{len(widths)} x {widths[0]}"
    return "-".join(str(w) for w in widths)


def parse_widths(text: str) -> tuple:
    """``--hidden 100,100`` (or one number) as a tuple of ints; a part may also be ``K x N``,
    K layers of N units (``12 x 16``, or ``2 x 100, 10``); a message naming the bad part
    otherwise (the range of each width is checked by the spec)."""
    parts = [part.strip() for part in str(text).split(",")]
    if not parts or any(not part for part in parts):
        raise HillwalkError(f"the hidden layers must be widths separated by commas, e.g. 100,100 (or 4 x 100 for "
                            f"four layers of 100), got {text!r}")
    widths = []
    for part in parts:
        repeat, width = _repeated_width(part, text)
        widths.extend([width] * repeat)
    return tuple(widths)


_TIMES = re.compile(r"^\s*([^\sxX×*]+)\s*[xX×*]\s*(\S+)\s*$")
_DIGITS = re.compile(r"^[0-9]+$")


def _repeated_width(part: str, text: str) -> tuple:
    """(layers, width) of one comma part of :func:`parse_widths`: "N" or "K x N"."""
    match = _TIMES.match(part)
    count_text, width_text = match.groups() if match else ("1", part)
    # plain ASCII digits only: int() would also take "1_0" and other scripts' digits
    for what, value in (("the number of layers", count_text), ("the hidden size (units per layer)", width_text)):
        if not _DIGITS.match(value):
            bad = part if match is None else value
            raise HillwalkError(f"{what} must be a whole number, got {bad!r} in {text!r}; write widths separated "
                                "by commas (100, 100) or layers x units (4 x 100)")
    count, width = int(count_text), int(width_text)
    if match is not None:
        # checked before the list is built: "1000000000 x 16" must not allocate it
        check("problem.depth", count)
    return count, width


def editable_widths(widths) -> str:
    """The widths as :func:`parse_widths` reads them back, runs of three or more equal
    widths shortened to "K x N": (16,) * 12 -> "12 x 16", (100, 50, 50, 50) -> "100, 3 x 50"."""
    parts, widths = [], [int(w) for w in widths]
    k = 0
    while k < len(widths):
        run = k
        while run < len(widths) and widths[run] == widths[k]:
            run += 1
        count = run - k
        parts.append(f"{count} x {widths[k]}" if count >= 3 else ", ".join([str(widths[k])] * count))
        k = run
    return ", ".join(parts)


def _normalized_widths(hidden) -> tuple:
    """``hidden`` (an int or a sequence of ints) as a tuple of ints, each width and the
    depth checked against RANGES."""
    if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
        widths = (int(hidden),)
    elif isinstance(hidden, (tuple, list)):
        widths = tuple(hidden)
    else:
        raise HillwalkError(f"the hidden layers must be a width or a list of widths, e.g. 64 or [100, 100], "
                            f"got {hidden!r}")
    check("problem.depth", len(widths))
    for width in widths:
        if isinstance(width, np.integer):
            width = int(width)
        check("problem.hidden", width)
    return tuple(int(width) for width in widths)


def has_skip(widths) -> bool:
    """Whether a residual network of these widths has a skip (core.models.network: every
    hidden layer after the first whose input width equals its width): what the panels ask
    before they offer skip connections."""
    return any(a == b for a, b in zip(widths, widths[1:]))


