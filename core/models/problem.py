"""A classification problem described by plain settings, and built from them.

:class:`ClassifierSpec` is what the command line, the GUI and session files share: every
field is a plain value (JSON-friendly), and :meth:`ClassifierSpec.build` turns it into an
objective, deterministically (all randomness comes from ``seed``).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

from ..data.datasets import PREPROCESSING_METHODS, load_dataset
from ..errors import HillwalkError, require_choice
from ..limits import check, check_memory, check_optional
from .network import TwoLayerNet, check_network_settings
from .objectives import LOSS_NAMES, LinearClassifier, prepare_splits
from .regularizers import Regularizer
from .testfunctions import TEST_FUNCTION_NAMES, make_test_function

MODELS = ("linear", "net")


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
        A linear classifier, or a two-layer network (:class:`~core.models.network.TwoLayerNet`)
        with ``hidden`` units, ``activation`` (``slope`` for leaky_relu) and weight
        initialization ``init``.
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
    hidden: int = 64
    activation: str = "relu"
    slope: float = 0.01
    init: str = "he"

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
        check("problem.hidden", self.hidden)
        check("problem.slope", self.slope)
        check_network_settings(self.hidden, self.activation, self.slope, self.init)
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

    def build(self):
        """Load, split, preprocess and wrap the data in a :class:`LinearClassifier` or a
        :class:`~core.models.network.TwoLayerNet` (or make the 2-D test function)."""
        if self.is_function:
            options = {"condition": self.condition, "angle": self.angle} if self.objective == "quadratic" else {}
            return make_test_function(self.objective, **options)
        data = load_dataset(self.dataset, seed=self.seed, **self.load_options())
        train, val = prepare_splits(data, self.preprocessing, self.val_fraction, self.seed)
        return self.model_on(train, val)

    def model_on(self, train, val=None):
        """The model of these settings (linear or network, loss, regularizer) on data that
        is already split and preprocessed."""
        regularizer = Regularizer(self.regularizer, self.lam, self.beta)
        if self.model == "net":
            # a forward and backward pass keeps about four N x H arrays (pre-activations,
            # activations, their gradients) besides the parameters
            n, d = train.X.shape
            classes = len(train.class_names)
            check_memory(8.0 * (4 * n * self.hidden + 3 * self.hidden * (d + classes + 2)),
                         f"a {self.hidden}-unit network on {n} examples", "use fewer hidden units or a subsample")
            return TwoLayerNet(train, val, int(self.hidden), self.activation, self.slope, self.init, self.loss,
                               self.delta, regularizer, self.regularize_bias)
        return LinearClassifier(train, val, self.loss, self.delta, regularizer, self.regularize_bias)

    def to_dict(self) -> dict:
        return asdict(self)


