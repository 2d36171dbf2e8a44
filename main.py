"""Hillwalk's entry point.

``python main.py`` opens the desktop app; ``python main.py SUBCOMMAND ...`` does headless
work (``python main.py --help`` lists the subcommands). User errors print one line on
stderr and exit with status 2; no traceback reaches the user.
"""
from __future__ import annotations

import argparse
import contextlib
import difflib
import os
import re
import sys

import hillwalk.blas_setup  # noqa: F401  (before NumPy: it sets the BLAS library's environment)

import numpy as np

import hillwalk
from hillwalk.core.data.datasets import PREPROCESSING_METHODS
from hillwalk.core.labs.babysitting import BABYSIT_METHODS
from hillwalk.core.labs.hyperparameter_search import SEARCH_OPTIMIZERS
from hillwalk.core.labs.hyperparameter_search import STRATEGIES as SEARCH_STRATEGIES
from hillwalk.core.landscapes.directions import BIAS_MODES
from hillwalk.core.landscapes.slices import BN_MODES, CENTERS, DIRECTION_CHOICES
from hillwalk.core.models.objectives import LOSS_NAMES
from hillwalk.core.models.problem import ACTIVATIONS, INIT_SCHEMES, MODELS
from hillwalk.core.models.regularizers import REGULARIZER_KINDS
from hillwalk.core.models.testfunctions import TEST_FUNCTION_NAMES
from hillwalk.core.optimization.optimizers import SCHEDULES

EXIT_OK, EXIT_FAILED_CHECK, EXIT_USAGE, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_BROKEN_PIPE = 128 + 13   # as a shell reports a process ended by SIGPIPE


class UsageError(Exception):
    """A command-line mistake; printed as one line, exit status 2."""


# argparse reads "-1" and "-.5" as numbers but "-1e-3" as an unknown option ("expected 2
# arguments" for --range -1e-3 1e-3); no option of ours looks like a number, so any token
# that reads as one (exponent, inf and nan included: their checks give the real message) is a value.
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$|^-(inf|infinity|nan)$", re.IGNORECASE)


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = NEGATIVE_NUMBER

    def error(self, message):  # argparse would print the usage block and exit itself
        raise UsageError(f"{message} (see {self.prog} --help)")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but an option no parser knows is named with the subcommand's own
        help and the nearest option it has ("--datset: did you mean --dataset?"); argparse
        reported it against the top-level parser, which lists no subcommand's options."""
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            command_parser = getattr(parsed, "command_parser", self)
            known = [flag for action in command_parser._actions for flag in action.option_strings]
            hints = []
            for word in unknown:
                if word.startswith("-"):
                    flag = word.split("=", 1)[0]
                    near = difflib.get_close_matches(flag, known, n=1)
                    if near:
                        hints.append(f"{flag}: did you mean {near[0]}?")
            hint = f"; {'; '.join(hints)}" if hints else ""
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)}{hint} (see {command_parser.prog} --help)")
        return parsed


class _PrintVersion(argparse.Action):
    """``--version``: reads the version only when asked (the metadata lookup costs tens of ms)."""

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"hillwalk {hillwalk.__version__}")
        parser.exit()


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _finite_float(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def _in_range(name):
    """An argparse type: a number within core.limits.RANGES[name] (the table every spec
    checks with), for options that reach no spec."""
    def parse(text):
        from hillwalk.core.errors import HillwalkError
        from hillwalk.core.limits import RANGES, check

        value = _whole_number(text) if RANGES[name].integer else _finite_float(text)
        try:
            return check(name, value)
        except HillwalkError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse


def _whole_number(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None


def _widths(text):
    """--hidden: one width or a comma list (each width's range is the spec's check)."""
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.models.problem import parse_widths

    try:
        return parse_widths(text)
    except HillwalkError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def add_problem_arguments(parser, regularizer_option="--reg"):
    """The data set and model options shared by every subcommand that needs a classifier
    (``search`` names the regularizer's kind --regularizer: its --reg is lambda's range)."""
    group = parser.add_argument_group("data and model")
    group.add_argument("--dataset", default="digits",
                       help="digits, iris, wine, spiral, blobs, xor, circles, or a path to a .csv file, "
                            "a .npz file (arrays X, y) or a CIFAR-10 python folder (default: digits)")
    group.add_argument("--preprocess", default="center", choices=PREPROCESSING_METHODS,
                       help="feature preprocessing, fitted on the training part (default: center)")
    group.add_argument("--val-fraction", type=_finite_float, default=0.2,
                       help="share held out for validation (default: 0.2)")
    group.add_argument("--subsample", type=_positive_int, default=None,
                       help="CIFAR-10 only: use this many randomly chosen examples")
    group.add_argument("--label-column", default=None,
                       help="CSV only: label column by name or index (default: the last column)")
    group.add_argument("--loss", default="softmax", choices=LOSS_NAMES, help="(default: softmax)")
    group.add_argument("--delta", type=_finite_float, default=1.0, help="SVM margin (default: 1)")
    group.add_argument(regularizer_option, dest="reg", default="l2", choices=REGULARIZER_KINDS,
                       help="regularizer: l2 = lam*sum W^2, l1 = lam*sum |W|, elastic = lam*(beta*sum W^2 + "
                            "sum |W|) (default: l2)")
    group.add_argument("--lam", type=_finite_float, default=1e-3, help="regularization strength (default: 1e-3)")
    group.add_argument("--beta", type=_finite_float, default=1.0, help="elastic net's L2 weight (default: 1)")
    group.add_argument("--reg-bias", action="store_true", help="also regularize the bias column (network: b1, b2)")
    group.add_argument("--seed", type=_whole_number, default=0,
                       help="seed of every random choice, 0 to 2^31 - 1 (default: 0)")
    add_model_arguments(parser)


def add_model_arguments(parser, defaults=True):
    """--model and the network's options. With ``defaults`` false every option defaults to
    None, meaning "keep what the session says" (``race``)."""
    def default(value):
        return value if defaults else None

    group = parser.add_argument_group("network (--model net)")
    group.add_argument("--model", choices=MODELS, default=default("linear"),
                       help="a linear classifier, or a network: each hidden layer h = act(h W + b) (with the "
                            "options below: affine -> [batch norm] -> activation -> [dropout], [+ h]), then "
                            "scores = h W + b" + (" (default: linear)" if defaults else ""))
    group.add_argument("--hidden", type=_widths, default=default((64,)), metavar="W[,W...]",
                       help="widths of the hidden layers, e.g. 64 (one layer), 100,100 (two) or '8 x 32' "
                            "(eight layers of 32)"
                            + (" (default: 64)" if defaults else ""))
    group.add_argument("--activation", choices=ACTIVATIONS,
                       default=default("relu"), help="hidden activation; maxout keeps the largest of --pieces "
                                                     "affine maps per unit" + (" (default: relu)" if defaults else ""))
    group.add_argument("--slope", type=_finite_float, default=default(0.01),
                       help="leaky_relu's negative slope" + (" (default: 0.01)" if defaults else ""))
    group.add_argument("--pieces", type=_whole_number, default=default(2), metavar="K",
                       help="maxout: affine maps per unit, 2 to 8" + (" (default: 2)" if defaults else ""))
    group.add_argument("--init", choices=INIT_SCHEMES, default=default("he"),
                       help="weight initialization: zero = all 0, small = 0.01 randn, large = 1.0 randn, "
                            "xavier = randn / sqrt(fan_in), he = randn * sqrt(2 / fan_in)"
                            + (" (default: he)" if defaults else ""))
    group.add_argument("--batchnorm", action=argparse.BooleanOptionalAction, default=default(False),
                       help="batch normalization between each hidden affine map and its activation (runs and "
                            "gradient checks use batch statistics; slices: --bn-mode)")
    group.add_argument("--dropout", dest="keep_prob", type=_finite_float, default=default(1.0), metavar="P",
                       help="inverted dropout after each hidden activation with keep probability P in (0, 1]; "
                            "1 is none. Runs draw fresh masks at every step (step t's from --seed and t); "
                            "gradient checks use one fixed mask drawn from --seed; slices: --dropout-mode"
                            + (" (default: 1)" if defaults else ""))
    group.add_argument("--residual", action=argparse.BooleanOptionalAction, default=default(False),
                       help="skip connections h + f(h) on hidden layers of the width of their input (needs two "
                            "consecutive hidden layers of equal width)")


MODEL_OPTIONS = ("model", "hidden", "activation", "slope", "init", "pieces", "batchnorm", "keep_prob", "residual")


def with_model_options(problem, args):
    """``problem`` with the model options given on the command line (those not None)."""
    import dataclasses

    changes = {name: getattr(args, name) for name in MODEL_OPTIONS if getattr(args, name, None) is not None}
    if changes and problem.is_function:   # (a 2-D function's session keeps a classifier's fields, unused)
        from hillwalk.core.errors import HillwalkError

        raise HillwalkError(f"{', '.join(option_flag(args, name) for name in changes)}: options of a network, but "
                            f"the session's objective is the 2-D function {problem.objective}; leave "
                            f"{'it' if len(changes) == 1 else 'them'} out")
    if changes.get("model", problem.model) == "linear":
        refuse_network_options([name for name in NETWORK_OPTIONS if name in changes])
    refuse_activation_options([name for name in ("slope", "pieces") if name in changes],
                              changes.get("activation", problem.activation))
    return dataclasses.replace(problem, **changes) if changes else problem


# options of one activation: --slope leaky ReLU's, --pieces maxout's
ACTIVATION_OPTIONS = {"slope": "leaky_relu", "pieces": "maxout"}


def refuse_activation_options(names, activation):
    """--slope and --pieces mean something for one activation each (leaky ReLU's negative
    slope, maxout's pieces): refuse those of ``names`` given with another activation."""
    from hillwalk.core.errors import HillwalkError

    wrong = [name for name in names if ACTIVATION_OPTIONS[name] != activation]
    if wrong:
        raise HillwalkError("; ".join(f"--{name}: an option of --activation {ACTIVATION_OPTIONS[name]}, but the "
                                      f"activation is {activation}; add --activation {ACTIVATION_OPTIONS[name]} "
                                      "(or leave it out)" for name in wrong))


# trace's options that describe a classifier on data (refused with a 2-D function)
CLASSIFIER_OPTIONS = ("dataset", "preprocess", "val_fraction", "subsample", "label_column", "loss", "delta", "reg",
                      "lam", "beta", "reg_bias", "model", "hidden", "activation", "slope", "pieces", "init",
                      "batchnorm", "keep_prob", "residual", "init_scale")
# The network's options: a linear model refuses them
NETWORK_OPTIONS = tuple(name for name in MODEL_OPTIONS if name != "model")


def refuse_network_options(names):
    """A network option given to a linear model would be silently ignored: refuse the
    options ``names`` (MODEL_OPTIONS' names) with the way out."""
    from hillwalk.core.errors import HillwalkError

    if names:
        flags = ", ".join(option_flag(None, name) for name in names)
        raise HillwalkError(f"{flags}: the model is linear, which has no such option; add --model net (or leave "
                            f"{'it' if len(names) == 1 else 'them'} out)")


def options_given(args, dests):
    """Of the options ``dests`` (argparse destinations), those given on the command line:
    the ones whose value is not their subcommand's default (a default typed again cannot be
    told apart, and changes nothing)."""
    parser = getattr(args, "command_parser", None)
    if parser is None:
        return []
    return [dest for dest in dests if hasattr(args, dest) and getattr(args, dest) != parser.get_default(dest)]


def option_flag(args, dest) -> str:
    """The flag a user types for ``dest``."""
    if dest == "reg":
        return "--regularizer" if getattr(args, "command", None) == "search" else "--reg"
    return {"keep_prob": "--dropout"}.get(dest, "--" + dest.replace("_", "-"))


def refuse_options_that_do_not_apply(args, dests, applies: bool, why: str):
    """An option that means nothing for what was asked would be silently ignored: where
    ``applies`` is false, refuse those of ``dests`` that were given, saying ``why`` (and
    the way out; "{it}" there becomes "it" or "them")."""
    from hillwalk.core.errors import HillwalkError

    given = [] if applies else options_given(args, dests)
    if given:   # (``why`` says "{it}" where it names the options)
        raise HillwalkError(f"{', '.join(option_flag(args, dest) for dest in given)}: "
                            + why.format(it="it" if len(given) == 1 else "them"))


def refuse_schedule_options(args, schedule):
    """Each learning-rate schedule's own options (step: --gamma, --every; exp and inv: --k)
    given with another ``schedule`` would be ignored: refuse them (those typed: see
    :func:`options_given`)."""
    refuse_options_that_do_not_apply(args, ["gamma", "every"], schedule == "step",
                                     f"step decay's options, but the schedule is {schedule}; add --schedule "
                                     "step (or leave {it} out)")
    refuse_options_that_do_not_apply(args, ["k"], schedule in ("exp", "inv"),
                                     f"the exp and inv schedules' rate, but the schedule is {schedule}; add "
                                     "--schedule exp or inv (or leave {it} out)")


def problem_spec_from_args(args):
    from hillwalk.core.models.problem import ClassifierSpec

    if args.model == "linear":   # (options_given: the options' defaults cannot be told from typed ones)
        refuse_network_options(options_given(args, NETWORK_OPTIONS))
    else:
        refuse_activation_options(options_given(args, list(ACTIVATION_OPTIONS)), args.activation)
    refuse_options_that_do_not_apply(args, ["delta"], args.loss == "svm",
                                     f"the SVM's margin, but the loss is {args.loss}; add --loss svm (or leave {{it}} out)")
    refuse_options_that_do_not_apply(args, ["beta"], args.reg == "elastic",
                                     f"the elastic net's L2 weight, but the regularizer is {args.reg}; add "
                                     f"{option_flag(args, 'reg')} elastic (or leave {{it}} out)")
    return ClassifierSpec(dataset=args.dataset, preprocessing=args.preprocess, val_fraction=args.val_fraction,
                          subsample=args.subsample, label_column=args.label_column, loss=args.loss,
                          delta=args.delta, regularizer=args.reg, lam=args.lam, beta=args.beta,
                          regularize_bias=args.reg_bias, seed=args.seed, model=args.model, hidden=args.hidden,
                          activation=args.activation, slope=args.slope, init=args.init, pieces=args.pieces,
                          batchnorm=args.batchnorm, keep_prob=args.keep_prob, residual=args.residual)


def build_parser():
    parser = _Parser(prog="hillwalk", description="Hillwalk: a desktop lab for loss functions and optimizers. "
                                                  "Without a subcommand it opens the desktop app.")
    parser.add_argument("--version", action=_PrintVersion, nargs=0, help="print Hillwalk's version and exit")
    parser.add_argument("--screenshot", metavar="FILE", help="open the app offscreen, save a PNG of the window, exit")
    parser.add_argument("--size", default="1600x1000", help="window size for --screenshot, WIDTHxHEIGHT")
    parser.add_argument("--session", metavar="FILE",
                        help="open the app (or take the --screenshot) with this session file (.hillwalk.json)")
    commands = parser.add_subparsers(dest="command", metavar="SUBCOMMAND", parser_class=_Parser)

    check = commands.add_parser("gradcheck", help="compare analytic and numerical gradients of a classifier",
                                description="Compare the analytic gradient of the classifier's loss with "
                                            "centered (or forward) finite differences at a random W. Exit status "
                                            "0 when the largest relative error away from kinks is below the "
                                            "threshold, 1 otherwise, 2 on bad input.")
    add_problem_arguments(check)
    check.add_argument("--samples", type=_in_range("gradcheck.samples"), default=50,
                       help="number of randomly chosen parameters to check; 0 checks all (default: 50)")
    check.add_argument("--h", type=_in_range("gradcheck.h"), default=1e-5, help="difference step (default: 1e-5)")
    check.add_argument("--method", default="centered", choices=["centered", "forward"])
    check.add_argument("--scale", type=_in_range("gradcheck.scale"), default=1e-3,
                       help="linear: check at W = scale * randn(C, D+1) drawn with --seed; a network is checked at "
                            "its --init initialization (default: 1e-3)")
    check.add_argument("--threshold", type=_finite_float, default=None,
                       help="pass threshold on the relative error (default: 1e-6 centered, 1e-3 forward)")
    check.set_defaults(handler=run_gradcheck)

    render = commands.add_parser("render", help="compute a 1-D cut or 2-D slice of the loss and write it to a file",
                                 description="Compute L(W + a*d1) (a cut) or L(W + a*d1 + b*d2) (a slice) and write "
                                             "it as .npz (self-contained), .csv (long format) or .png (picture).")
    add_problem_arguments(render)
    add_slice_arguments(render)
    render.add_argument("--session", metavar="FILE", help="take the data, model and slice settings from this session "
                                                         "file (the options above are then ignored)")
    render.add_argument("--out", required=True, help="output file: .npz, .csv or .png")
    render.add_argument("--save-data", action="store_true",
                        help=".npz only: also store X (with the bias column) and y, to recompute without Hillwalk")
    render.add_argument("--color-scale", default=None, choices=["linear", "log"],
                        help=".png colour scale (default: the session's with --session, else linear)")
    render.add_argument("--contours", type=_in_range("view.contours"), default=None,
                        help=".png: number of contour lines, 0 to 100 (default: the session's with --session, "
                             "else 10)")
    render.add_argument("--png-size", default="1200x900", help=".png size, WIDTHxHEIGHT (default: 1200x900)")
    add_axis_scales_argument(render)
    render.set_defaults(handler=run_render)

    hessian = commands.add_parser("hessian", help="the Hessian's extreme eigenvalues, trace and density at a point",
                                  description="Exact Hessian-vector products and Lanczos (seeded) at a classifier's "
                                              "initial or trained weights: the largest and smallest eigenvalues "
                                              "with their residuals, Hutchinson's trace, the eigenvalue density, "
                                              "lambda_max and 2 / lambda_max, the step size above which full-batch "
                                              "gradient descent on the quadratic model diverges. Writes .npz "
                                              "(eigenvalues, the point theta, meta), .csv or .png (the density).")
    add_problem_arguments(hessian)
    hessian.add_argument("--at", choices=("init", "trained"), default="trained",
                         help="the initial weights, or those after --train-steps of full-batch gradient descent "
                              "(default: trained)")
    hessian.add_argument("--train-steps", type=_in_range("slice.train_steps"), default=300,
                         help="full-batch gradient descent steps for --at trained (default: 300)")
    hessian.add_argument("--scale", type=_in_range("slice.init_scale"), default=1e-3,
                         help="linear: initial W = scale * randn (a network uses its --init) (default: 1e-3)")
    hessian.add_argument("--top", type=_in_range("hessian.top"), default=5,
                         help="how many of the largest eigenvalues (default: 5)")
    hessian.add_argument("--bottom", type=_in_range("hessian.bottom"), default=0,
                         help="how many of the smallest eigenvalues (default: 0)")
    hessian.add_argument("--trace", dest="trace_samples", nargs="?", const=64, default=0,
                         type=_in_range("hessian.trace_samples"),
                         help="Hutchinson's trace estimate with this many probes (default when given: 64)")
    hessian.add_argument("--density", action="store_true", help="the eigenvalue density (stochastic Lanczos "
                                                                 "quadrature, 4 probes)")
    hessian.add_argument("--iterations", type=_in_range("hessian.iterations"), default=None,
                         help="Lanczos steps (default: max(4 k + 20, 60), at most the number of parameters)")
    hessian.add_argument("--out", default=None, help="output file: .npz, .csv or .png (default: print only)")
    hessian.add_argument("--save-data", action="store_true",
                         help=".npz only: also store X (with the bias column) and y, to recompute without Hillwalk")
    hessian.set_defaults(handler=run_hessian)

    search = commands.add_parser(
        "search", help="hyperparameter search: grid, random or coarse-to-fine over lr and lambda",
        description="Train the model once per trial (the same start and minibatches for every trial) and record "
                    "training and validation accuracy; hyperparameters drawn in log space by a grid (sqrt(n) "
                    "values of each of two), random search (n values of each) or coarse to fine (a random round, "
                    "then one in a range narrowed around the best quarter). Trials run in worker processes. "
                    "Prints the best trials and a verdict; --out writes one CSV row per trial.")
    add_problem_arguments(search, regularizer_option="--regularizer")
    search.add_argument("--strategy", choices=SEARCH_STRATEGIES, default="random", help="(default: random)")
    search.add_argument("--trials", type=_in_range("search.trials"), default=16, help="the budget (default: 16)")
    search.add_argument("--lr", dest="lr_range", type=_in_range("optimizer.lr"), nargs=2, metavar=("LOW", "HIGH"),
                        default=(1e-6, 1.0), help="the learning rate's range (default: 1e-6 1)")
    search.add_argument("--reg", dest="reg_range", type=_in_range("problem.lam"), nargs=2, metavar=("LOW", "HIGH"),
                        default=(1e-5, 10.0), help="lambda's range (default: 1e-5 10); the regularizer's kind is "
                                                   "--regularizer")
    search.add_argument("--search-hidden", type=_in_range("problem.hidden"), nargs=2, metavar=("LOW", "HIGH"),
                        default=None, help="networks: also search the width of every hidden layer (log space)")
    search.add_argument("--search-keep-prob", type=_in_range("problem.keep_prob"), nargs=2, metavar=("LOW", "HIGH"),
                        default=None, help="networks: also search dropout's keep probability")
    search.add_argument("--epochs", type=_in_range("search.epochs"), default=1, help="per trial (default: 1)")
    search.add_argument("--optimizer", choices=SEARCH_OPTIMIZERS, default="sgd", help="(default: sgd)")
    search.add_argument("--batch-size", type=_in_range("optimizer.batch_size"), default=64,
                        help="(default: 64)")
    search.add_argument("--workers", type=_in_range("search.workers"), default=None,
                        help="worker processes (default: every core)")
    search.add_argument("--out", default=None, help="output .csv, one row per trial (default: print only)")
    search.set_defaults(handler=run_search)

    babysit = commands.add_parser(
        "babysit", help="babysit the learning process: the notes' checks, a rate probe and range test, curves",
        description="The CS231n notes' babysitting sequence on a classifier (the Babysitting lab's core task): the "
                    "initial loss against ln C or (C - 1) delta, 20 examples overfitted without regularization, "
                    "100-step runs at lr 1e-6, the range test's suggestion and 1e6, a range test (lr from 1e-7 to "
                    "10), and training curves of --method at --lr for --epochs (accuracies per epoch and their "
                    "gap, ||update|| / ||W|| per weight matrix, the schedule counted in epochs). Prints the "
                    "verdicts; writes .json (every number; NaN or infinity as null, listed under 'nonfinite') or "
                    ".png (the six plots).")
    add_problem_arguments(babysit)
    babysit.add_argument("--method", default="sgd", choices=BABYSIT_METHODS, help="(default: sgd)")
    babysit.add_argument("--lr", type=_in_range("optimizer.lr"), default=1e-2,
                         help="learning rate of the training curves, the schedule's lr0 (default: 0.01)")
    babysit.add_argument("--batch-size", type=_positive_int, default=64,
                         help="examples per minibatch; 0 is the full batch (default: 64)")
    babysit.add_argument("--epochs", type=_in_range("babysit.epochs"), default=10, help="(default: 10)")
    babysit.add_argument("--schedule", default="constant", choices=SCHEDULES,
                         help="per epoch e: constant, step = lr0 gamma^(e // every), exp = lr0 exp(-k e), "
                              "inv = lr0 / (1 + k e) (default: constant)")
    babysit.add_argument("--gamma", type=_in_range("schedule.gamma"), default=0.5,
                         help="step decay's factor (default: 0.5)")
    babysit.add_argument("--every", type=_in_range("schedule.every"), default=5,
                         help="step decay: epochs between decays (default: 5)")
    babysit.add_argument("--k", type=_in_range("schedule.k"), default=0.1,
                         help="exp and inv schedules' rate per epoch (default: 0.1)")
    babysit.add_argument("--out", default=None, help="output file: .json or .png (default: print only)")
    babysit.set_defaults(handler=run_babysit)

    trace = commands.add_parser("trace", help="run optimizers and record their paths",
                                description="Run one optimizer (or several, comma-separated: a race from the same "
                                            "start with the same minibatches) on a 2-D test function or on a data "
                                            "set's classifier, and write the path: .csv, .npz, or .png (2-D "
                                            "functions: the paths on the surface; classifiers: loss curves).")
    trace.add_argument("--objective", default="rosenbrock",
                       choices=(*TEST_FUNCTION_NAMES, "classifier"),
                       help="a 2-D test function, or classifier: the data and model options below "
                            "(default: rosenbrock)")
    add_optimizer_arguments(trace)
    trace.add_argument("--steps", type=_in_range("race.steps"), default=500,
                       help="1 to 100000 (default: 500)")
    trace.add_argument("--start", type=_in_range("race.start"), nargs=2, metavar=("X", "Y"), default=None,
                       help="2-D functions: the start point (default: the function's own)")
    trace.add_argument("--condition", type=_in_range("problem.condition"), default=20.0,
                       help="quadratic: condition number, 1 to 1e8")
    trace.add_argument("--angle", type=_in_range("problem.angle"), default=30.0,
                       help="quadratic: rotation in degrees")
    trace.add_argument("--init-scale", type=_in_range("slice.init_scale"), default=1e-3,
                       help="classifier: start at W = scale * randn (seed --seed)")
    trace.add_argument("--record-every", type=_in_range("race.steps"), default=None,
                       help="keep parameters every k-th step (default: every step that fits in 64 MB)")
    add_problem_arguments(trace)
    trace.add_argument("--session", metavar="FILE",
                       help="run this session's race (its data, model, plane, start, optimizers, steps and seed; "
                            "the options above are then ignored)")
    trace.add_argument("--out", required=True, help="output file: .csv, .npz or .png")
    trace.add_argument("--png-size", default="1000x800")
    add_axis_scales_argument(trace)
    trace.set_defaults(handler=run_trace)

    race = commands.add_parser("race", help="animate a session's race over its slice as a GIF",
                               description="Compute a session's slice and race (or the default scene) and write "
                                           "the race as an animated GIF.")
    race.add_argument("--session", metavar="FILE", help="the session (default: the app's default scene)")
    add_model_arguments(race, defaults=False)
    add_mode_arguments(race.add_argument_group("slice (networks with batch norm or dropout)"), defaults=False)
    race.add_argument("--out", required=True, help="output .gif")
    race.add_argument("--fps", type=_in_range("gif.fps"), default=15,
                      help="frames per second, 1 to 60 (default: 15)")
    race.add_argument("--frames", type=_in_range("gif.frames"), default=60,
                      help="number of frames, 2 to 1000 (default: 60)")
    race.add_argument("--gif-size", default="800x600", help="WIDTHxHEIGHT (default: 800x600)")
    add_axis_scales_argument(race, ".gif")
    add_optimizer_arguments(race.add_argument_group(
        "methods", "--optimizer replaces the session's race with these methods (the other options as for trace); "
                   "without it, each option given changes the session's methods that use it (--history: its "
                   "L-BFGS runs)"), race=True)
    race.set_defaults(handler=run_race)
    for command_parser in commands.choices.values():
        # what an option is when not given (options_given): each subcommand's own defaults
        command_parser.set_defaults(command_parser=command_parser)
    return parser


# trace's defaults of the optimizer options (race leaves an option it was not given alone)
OPTIMIZER_DEFAULTS = {"optimizer": "sgd", "lr": None, "momentum": None, "decay": 0.99, "damping": 0.0,
                      "history": 10, "beta1": 0.9, "beta2": None, "eps": None, "no_bias_correction": False,
                      "defaults": "torch", "saddle_free": False, "schedule": "constant", "schedule_unit": "steps",
                      "gamma": 0.5, "every": 100, "k": 1e-3, "batch_size": None, "sampling": "epoch"}


def add_optimizer_arguments(parser, race=False):
    """The options that define optimizers, shared by trace and race (race: no defaults, so
    that only what is given changes the session's methods)."""
    def default(name):
        return None if race else OPTIMIZER_DEFAULTS[name]

    parser.add_argument("--optimizer", default=default("optimizer"),
                        help="sgd, momentum, nesterov, adagrad, rmsprop, adam, newton, bfgs, lbfgs, random-search, "
                             "random-local-search; several separated by commas race each other"
                             + ("" if race else " (default: sgd)"))
    parser.add_argument("--lr", type=_finite_float, default=default("lr"),
                        help="learning rate (default: 1e-3); the random searches' scale (of a fresh W for "
                             "random-search, default 1e-4 as in the notes; of a perturbation for "
                             "random-local-search, default 1e-3)")
    parser.add_argument("--momentum", type=_finite_float, default=default("momentum"),
                        help="mu; with sgd it gives momentum SGD (default: 0 for sgd, 0.9 for momentum/nesterov)")
    parser.add_argument("--decay", type=_finite_float, default=default("decay"),
                        help="RMSProp's alpha (default: 0.99)")
    parser.add_argument("--damping", type=_in_range("optimizer.damping"), default=default("damping"),
                        help="Newton's initial damping mu in (H + mu I) p = -g (default: 0, the pure Newton step)")
    parser.add_argument("--saddle-free", action="store_true", default=default("saddle_free"),
                        help="Newton with the absolute values of the Hessian's eigenvalues (descends negative "
                             "curvature; forms the full Hessian: at most 3000 parameters)")
    parser.add_argument("--history", type=_in_range("optimizer.history"), default=default("history"),
                        help="L-BFGS's kept pairs m (default: 10)")
    parser.add_argument("--beta1", type=_finite_float, default=default("beta1"), help="Adam's beta1 (default: 0.9)")
    parser.add_argument("--beta2", type=_finite_float, default=default("beta2"),
                        help="Adam's beta2 (default: 0.999; 0.99 with --defaults notes)")
    parser.add_argument("--defaults", choices=("torch", "notes"), default=default("defaults"),
                        help="torch's eps and beta2 (default), or the notes' (eps 1e-7, Adam's beta2 0.99); "
                             "--eps and --beta2 override either")
    parser.add_argument("--eps", type=_finite_float, default=default("eps"),
                        help="default as in torch: 1e-10 for adagrad, 1e-8 otherwise")
    parser.add_argument("--no-bias-correction", action="store_true", default=default("no_bias_correction"),
                        help="Adam without dividing m and v by (1 - beta^t), the notes' first form")
    parser.add_argument("--schedule", default=default("schedule"), choices=SCHEDULES,
                        help="constant; step: lr*gamma^(t//every); exp: lr*exp(-k t); inv: lr/(1 + k t)")
    parser.add_argument("--schedule-unit", choices=("steps", "epochs"), default=default("schedule_unit"),
                        help="what the schedule's t counts: updates (default) or epochs, as the notes count "
                             "(ceil(n / batch size) updates each)")
    parser.add_argument("--gamma", type=_finite_float, default=default("gamma"))
    parser.add_argument("--every", type=_positive_int, default=default("every"))
    parser.add_argument("--k", type=_finite_float, default=default("k"))
    parser.add_argument("--batch-size", type=_positive_int, default=default("batch_size"),
                        help="classifier: examples per gradient (default: the full batch)")
    parser.add_argument("--sampling", default=default("sampling"), choices=["epoch", "replacement"])


def run_race(args, out=None):
    out = sys.stdout if out is None else out  # looked up now: a test may have replaced it
    import dataclasses

    from hillwalk.core import experiment
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.animation_frames import check_gif_request
    from hillwalk.core.io.session import Session, default_race_optimizers

    if not args.out.lower().endswith(".gif"):
        raise HillwalkError(f"{args.out}: the race is written as an animated .gif")
    width, height = parse_size(args.gif_size, "--gif-size", "gif.side")
    # refuse an impossible GIF (frame rate, frame count, size, memory) before the slice and race are computed
    check_gif_request(width, height, args.fps, args.frames)
    from hillwalk.core.io.files import check_output_folder

    check_output_folder(os.path.abspath(args.out), "animation")  # before the slice and race are computed
    session = Session.load(args.session) if args.session else Session(optimizers=default_race_optimizers())
    enabled = race_methods([o for o in session.optimizers if o.enabled], args)
    if not enabled:
        raise HillwalkError("the session has no enabled optimizer to race")
    problem = with_model_options(session.problem, args)
    slice_spec = with_mode_options(session.slice, args)
    if problem != session.problem:   # another model: its plane is its own (as the app finds it)
        slice_spec = dataclasses.replace(slice_spec, center_regularization=None, center_point=None)
    # The same tasks, in the same order, as the app's workers: objective, plane, slice, runs.
    objective = experiment.build_objective(problem)
    plane = experiment.build_plane(objective, slice_spec, problem=problem)
    if plane.dir2 is None:
        raise HillwalkError("the race is drawn on a 2-D slice; the session's slice is a 1-D cut")
    landscape = experiment.compute_landscape(objective, plane, slice_spec)
    use_offscreen_without_display()
    from hillwalk.gui.animation import PathToDraw, render_race_gif
    from hillwalk.gui.app import application
    from hillwalk.gui.figures import draws_equal_scales
    from hillwalk.gui.state import run_label

    labels = [run_label(setting.spec, objective.has_data) for setting in enabled]
    records = experiment.record_race(objective, plane, session.race, [o.spec for o in enabled], labels)
    application()
    view = picture_view(args, session.view)
    paths = [PathToDraw(record.label, record.steps, record.a, record.b, setting.color, record.diverged_at,
                        record.escaped_at) for setting, record in zip(enabled, records)]
    written, frames = render_race_gif(landscape, paths, args.out, (width, height), args.fps, args.frames,
                                      title=session.title or problem.title,
                                      log_scale=view.log_scale, colormap=view.colormap, contours=view.contours,
                                      equal_scales=draws_equal_scales(view.axis_scales, plane))
    print(f"wrote {written}: {frames} frames at {args.fps} frames per second, {width}x{height}", file=out)
    print_modes(objective, plane, out)
    return EXIT_OK


# race's option -> the OptimizerSpec field it sets (the settings a method may use)
RACE_SETTING_OPTIONS = {"lr": "lr", "momentum": "momentum", "decay": "alpha", "beta1": "beta1", "beta2": "beta2",
                        "eps": "eps", "damping": "damping", "history": "history", "batch_size": "batch_size",
                        "no_bias_correction": "bias_correction", "saddle_free": "saddle_free"}
SCHEDULE_OPTIONS = ("schedule", "gamma", "every", "k", "schedule_unit")


def race_methods(enabled, args):
    """The methods race draws: with --optimizer, those (colours from the session palette,
    unset options at trace's defaults); otherwise the session's enabled methods, each with
    the given options that apply to it. An option that applies to none of them is refused
    (it would silently change nothing)."""
    import dataclasses

    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.session import PALETTE, OptimizerSetting
    from hillwalk.core.optimization.optimizers import METHOD_INFO, Schedule

    if args.optimizer is not None:
        # (before the defaults are filled in: race's options default to None, "not given")
        refuse_schedule_options(args, args.schedule or OPTIMIZER_DEFAULTS["schedule"])
        for name, value in OPTIMIZER_DEFAULTS.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
        specs = optimizer_specs_from_args(args)
        return [OptimizerSetting(spec, PALETTE[i % len(PALETTE)]) for i, spec in enumerate(specs)]
    given = {option: getattr(args, option) for option in (*RACE_SETTING_OPTIONS, *SCHEDULE_OPTIONS, "sampling")
             if getattr(args, option) is not None}
    # a schedule's own options where none of the schedules they would set is that kind
    kinds = sorted({args.schedule} if args.schedule else {s.spec.schedule.kind for s in enabled if s.spec.uses_gradient})
    for options, wanted, owner in ((("gamma", "every"), ("step",), "step decay's"),
                                   (("k",), ("exp", "inv"), "the exp and inv schedules'")):
        stray = [option for option in options if option in given]
        if stray and kinds and not set(kinds) & set(wanted):
            raise HillwalkError(f"{', '.join('--' + option for option in stray)}: {owner} "
                                f"option{'s' if len(stray) > 1 else ''}, but the session's schedule is "
                                f"{' and '.join(kinds)}; add --schedule {' or '.join(wanted)} (or leave "
                                f"{'it' if len(stray) == 1 else 'them'} out)")
    result = []
    used = set()
    style = args.defaults
    if style and not any(s.spec.info.applies(name) for s in enabled for name in ("eps", "beta2", "momentum")):
        raise HillwalkError("--defaults sets eps, beta2 and momentum; none of the session's methods uses them")
    for setting in enabled:
        spec, changes = setting.spec.with_defaults(style) if style else setting.spec, {}
        for option, value in given.items():
            field = RACE_SETTING_OPTIONS.get(option, "schedule" if option in SCHEDULE_OPTIONS else option)
            if field != "sampling" and not spec.info.applies(field):
                continue
            used.add(option)
            if field == "bias_correction":
                changes[field] = False
            elif field == "schedule":
                current = dataclasses.asdict(changes.get("schedule", spec.schedule))
                field_name = {"schedule": "kind", "schedule_unit": "unit"}.get(option, option)
                changes["schedule"] = Schedule(**{**current, field_name: value})
            else:
                changes[field] = value
        result.append(dataclasses.replace(setting, spec=dataclasses.replace(spec, **changes)))
    unused = sorted(set(given) - used)
    if unused:
        names = ", ".join("--" + option.replace("_", "-") for option in unused)
        methods = ", ".join(sorted({s.spec.info.label for s in enabled})) or "none"
        users = sorted({info.label for info in METHOD_INFO.values()
                        for option in unused if info.applies(RACE_SETTING_OPTIONS.get(option, "schedule"))})
        raise HillwalkError(f"{names} applies to none of the session's methods ({methods}); it is used by "
                            f"{', '.join(users)}: add one with --optimizer")
    return result


def with_mode_options(slice_spec, args):
    """``slice_spec`` with --bn-mode / --dropout-mode when given."""
    import dataclasses

    changes = {name: getattr(args, name) for name in ("bn_mode", "dropout_mode") if getattr(args, name, None)}
    return dataclasses.replace(slice_spec, **changes) if changes else slice_spec


def run_modes(objective) -> str:
    """How optimizer runs evaluate a network with batch norm or dropout, in words; "" for
    any other objective."""
    objective = getattr(objective, "objective", objective)  # a run within the plane: its network
    parts = []
    if getattr(objective, "batchnorm", False):
        parts.append("batch norm in training mode (each step normalizes with its batch's statistics)")
    if getattr(objective, "keep_prob", 1.0) < 1.0:
        if getattr(objective, "has_step_noise", False):
            parts.append(f"dropout p = {objective.keep_prob:g} with fresh masks at every step (step t's masks drawn "
                         f"from seed ({objective.mask_seed}, t): reproducible, the same for every method of a race); "
                         f"the recorded loss and accuracies with dropout off (evaluation)")
        else:
            parts.append(f"dropout p = {objective.keep_prob:g} with one fixed mask per example drawn from seed "
                         f"{objective.mask_seed}, the same at every step")
    return "; ".join(parts)


def print_modes(objective, plane, out):
    """The modes of a network with batch norm or dropout: the slice's (recorded in the
    plane's info) and the runs'."""
    if plane is not None and plane.info.get("modes"):
        print(f"slice modes: {plane.info['modes']}", file=out)
    if run_modes(objective):
        print(f"runs: {run_modes(objective)}", file=out)


def optimizer_specs_from_args(args):
    from dataclasses import replace

    from hillwalk.core.optimization.optimizers import METHOD_INFO, OptimizerSpec

    methods = [m.strip() for m in args.optimizer.split(",") if m.strip()]
    if not methods:
        raise UsageError("hillwalk trace: --optimizer names no method")
    if len(set(methods)) != len(methods):
        raise UsageError("hillwalk trace: --optimizer names a method twice")
    # a switch none of the methods has would change nothing: say so (as race does)
    for flag, setting in (("saddle_free", "saddle_free"), ("no_bias_correction", "bias_correction")):
        if getattr(args, flag) and not any(METHOD_INFO[m].applies(setting) for m in methods if m in METHOD_INFO):
            users = ", ".join(info.label for info in METHOD_INFO.values() if info.applies(setting))
            raise UsageError(f"--{flag.replace('_', '-')} applies to {users}, not to --optimizer {args.optimizer}")
    specs = []
    for method in methods:
        options = spec_options_from_args(args, method)
        spec = OptimizerSpec.for_method(method)
        if args.defaults == "notes":   # the notes' eps and beta2 unless given
            spec = spec.with_defaults("notes")
            options = {k: v for k, v in options.items() if not (k in ("eps", "beta2") and v is None)}
        specs.append(replace(spec, **options))
    return specs


def spec_options_from_args(args, method):
    """The OptimizerSpec fields the options give; each method receives those that apply to
    it (a Newton in a race with SGD takes no learning rate)."""
    from hillwalk.core.errors import require_choice
    from hillwalk.core.optimization.optimizers import METHOD_INFO, METHODS, Schedule

    info = METHOD_INFO[require_choice(method, METHODS, "optimizer")]
    options = {"lr": args.lr, "momentum": args.momentum, "alpha": args.decay, "beta1": args.beta1,
               "beta2": args.beta2, "eps": args.eps, "batch_size": args.batch_size, "damping": args.damping,
               "history": args.history, "bias_correction": not args.no_bias_correction,
               "saddle_free": args.saddle_free,
               "schedule": Schedule(args.schedule, args.gamma, args.every, args.k, args.schedule_unit)}
    kept = {name: value for name, value in options.items() if info.applies(name)}
    for name in ("lr", "beta2"):
        if kept.get(name, 0.0) is None:
            del kept[name]   # the method's own default (random search: its scale 1e-4)
    return {**kept, "sampling": args.sampling}


def trace_setup_from_session(args):
    """(objective, start, optimizer specs, settings) of a session's race; also sets the
    steps, seed and objective kind on ``args``. The run starts where the app's would
    (core.experiment.start_run: in the plane, or at the plane's point); a 2-D function's
    race is the function's own from the plane's point, whose x and y are the plane."""
    from hillwalk.core import experiment
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.session import Session

    session = Session.load(args.session)
    specs = [o.spec for o in session.optimizers if o.enabled]
    if not specs:
        raise HillwalkError(f"{args.session}: the session has no enabled optimizer")
    objective = experiment.build_objective(session.problem)
    plane = experiment.build_plane(objective, session.slice, problem=session.problem)
    args.steps, args.seed = session.race.steps, session.race.seed
    if objective.has_own_plane:
        # a 2-D function: its plane is its own x and y, so "in the plane" changes nothing
        # (the app greys the box), and the race is the function's itself: its minima, its
        # surface under the paths
        args.objective = session.problem.objective
        return objective, plane.point(*session.race.start), specs, {"session": session.to_dict()}
    run = experiment.start_run(objective, plane, session.race, specs[0])
    args.objective = "classifier"
    return run.objective, run.origin, specs, {"session": session.to_dict()}


def trace_setup_from_options(args):
    """(objective, start, optimizer specs, settings) from the command-line options."""
    from hillwalk.core import experiment
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.models.testfunctions import make_test_function

    refuse_schedule_options(args, args.schedule)
    specs = optimizer_specs_from_args(args)
    objective_named = args.objective + (" (the default)" if not options_given(args, ["objective"]) else "")
    refuse_options_that_do_not_apply(args, ["condition", "angle"], args.objective == "quadratic",
                                      f"for the quadratic only, but --objective is {objective_named}; add "
                                      "--objective quadratic (or leave {it} out)")
    refuse_options_that_do_not_apply(args, CLASSIFIER_OPTIONS, args.objective == "classifier",
                                      f"for a classifier on data, but --objective is {objective_named}, a 2-D "
                                      "function; add --objective classifier (or leave {it} out)")
    if args.objective == "classifier":
        problem = problem_spec_from_args(args)
        objective = experiment.build_objective(problem)
        if args.start is not None:
            raise HillwalkError("--start is for 2-D functions; a classifier starts at --init-scale * randn")
        if not args.init_scale > 0:
            raise HillwalkError(f"--init-scale must be positive, got {args.init_scale}")
        return objective, objective.initial_theta(args.init_scale, args.seed), specs, {"problem": problem.to_dict()}
    if args.batch_size is not None:
        raise HillwalkError("--batch-size applies to --objective classifier (a 2-D function has no data)")
    options = {"condition": args.condition, "angle": args.angle} if args.objective == "quadratic" else {}
    objective = make_test_function(args.objective, **options)
    start = args.start if args.start is not None else objective.default_start
    return objective, start, specs, {"function": objective.describe(), "start": list(map(float, start))}


def run_trace(args, out=None):
    out = sys.stdout if out is None else out  # looked up now: a test may have replaced it
    from pathlib import Path

    from hillwalk.core import experiment
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.export import save_trajectories_csv, save_trajectories_npz
    from hillwalk.core.io.files import check_output_folder
    from hillwalk.core.optimization.trajectory import Race

    path = Path(args.out)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".npz", ".png"):
        raise HillwalkError(f"{path}: unknown output format {suffix or '(none)'}; use .csv, .npz or .png")
    check_output_folder(path)  # before the race is run
    png_size = parse_size(args.png_size, "--png-size") if suffix == ".png" else None
    if args.session:
        objective, start, specs, settings = trace_setup_from_session(args)
    else:
        objective, start, specs, settings = trace_setup_from_options(args)
    settings["optimizers"] = [spec.to_dict() for spec in specs]
    settings.update(steps=args.steps, seed=args.seed)
    race = Race(objective, specs, start, args.steps, args.seed, record_every=args.record_every)
    trajectories = race.run_to_end()
    empty = [t.label for t in trajectories if t.steps.size == 0]
    if empty:  # the start itself is not finite: nothing to write or draw
        raise HillwalkError(f"{', '.join(empty)}: the loss is not finite at the start, so there is no path; "
                            "start nearer the function's minima (--start) or at smaller weights")
    meta = {"format": "hillwalk-trajectory", "version": 1, "settings": settings,
            "objective": objective.describe()}
    if suffix == ".csv":
        save_trajectories_csv(path, trajectories, with_data=args.objective == "classifier")
    elif suffix == ".npz":
        save_trajectories_npz(path, trajectories, meta)
    else:
        from hillwalk.gui.figures import draws_equal_scales, render_race_png
        from hillwalk.gui.state import run_label

        landscape = None
        if objective.has_own_plane:  # a 2-D function: its surface under the paths
            landscape = experiment.function_landscape(objective, np.concatenate(
                [t.thetas.reshape(-1, 2) for t in trajectories] or [np.zeros((0, 2))]))
        headless_application()
        # with --session: its colours and view, as the app draws the race (the session as
        # trace_setup_from_session read it)
        session = settings.get("session")
        colors = [o["color"] for o in session["optimizers"] if o["enabled"]] if session else None
        view = picture_view(args, session["view"] if session else None)
        # the legend as the app's: the method, its rate and (on data) its batch
        render_race_png(objective, trajectories, path, png_size, landscape,
                        labels=[run_label(spec, objective.has_data) for spec in specs], colors=colors,
                        equal_scales=landscape is not None and draws_equal_scales(view.axis_scales, landscape.plane))
    for trajectory in trajectories:
        final = trajectory.thetas[-1]
        where = ", ".join(f"{v:.6g}" for v in final.ravel()[:2]) if final.size <= 2 else f"|W| = {np.linalg.norm(final):.4g}"
        extra = ""
        if objective.has_own_plane:  # a 2-D function knows its minima (a saddle has none)
            distance = objective.distance_to_nearest_minimum(final)
            extra = f", {distance:.3g} from the nearest minimum" if np.isfinite(distance) else ", no minimum to reach"
        elif trajectory.train_acc.size:
            extra = f", train accuracy {trajectory.train_acc[-1]:.3f}"
        if trajectory.gradient_evaluations is not None and trajectory.gradient_evaluations.size:
            # the work behind the steps: a second-order step's line search and Hessian products
            work = f"{int(trajectory.gradient_evaluations[-1])} gradient evaluations"
            if trajectory.hvps[-1]:
                work += f", {int(trajectory.hvps[-1])} Hessian-vector products"
            extra += f" ({work})"
        print(f"{trajectory.label}: {trajectory.steps.size} rows, final loss {trajectory.loss[-1]:.6g} at "
              f"({where}){extra}", file=out)
        if trajectory.diverged_at is not None:
            print(f"hillwalk: {trajectory.label} diverged at step {trajectory.diverged_at}: its rows stop at step "
                  f"{trajectory.diverged_at - 1} (lower the learning rate)", file=sys.stderr)
        if trajectory.escaped_at is not None:
            print(f"{trajectory.label}: unbounded below, escaped at step {trajectory.escaped_at} (the loss fell under "
                  f"the floor; its rows stop at step {trajectory.escaped_at - 1})", file=out)
    if run_modes(objective):
        print(f"runs: {run_modes(objective)}", file=out)
    print(f"wrote {path}", file=out)
    return EXIT_OK


def add_slice_arguments(parser):
    group = parser.add_argument_group("slice")
    group.add_argument("--center", default="trained", choices=CENTERS,
                       help="centre W: the initial weights or those after --train-steps of full-batch gradient "
                            "descent (default: trained)")
    group.add_argument("--train-steps", type=_positive_int, default=300, help="(default: 300)")
    group.add_argument("--init-scale", type=_finite_float, default=1e-3,
                       help="initial W = scale * randn (default: 1e-3)")
    group.add_argument("--directions", default="filter",
                       choices=DIRECTION_CHOICES,
                       help="gaussian (raw), filter/layer/model (normalized Gaussian), gradient, pca (of the training "
                            "path), coords (--coords), interpolate (initial -> trained line) (default: filter)")
    group.add_argument("--orthogonalize", action="store_true", help="make the second direction orthogonal")
    group.add_argument("--biases", choices=BIAS_MODES, default="zero",
                       help="networks: zero the biases in random/gradient directions, or keep them (the direction's "
                            "bias = the centre's, as in Li et al.'s code) (default: zero)")
    group.add_argument("--coords", type=int, nargs=4, default=[0, 0, 1, 0], metavar=("R1", "C1", "R2", "C2"),
                       help="for --directions coords: W[R1, C1] and W[R2, C2] (default: 0 0 1 0)")
    group.add_argument("--grid", type=_positive_int, default=101, help="points per axis (default: 101)")
    group.add_argument("--cut", action="store_true", help="a 1-D cut along the first direction")
    group.add_argument("--range", type=_finite_float, nargs=2, default=[-1.0, 1.0], metavar=("LOW", "HIGH"),
                       help="range of a (default: -1 1)")
    group.add_argument("--brange", type=_finite_float, nargs=2, default=None, metavar=("LOW", "HIGH"),
                       help="range of b (default: the range of a)")
    group.add_argument("--component", default="total",
                       help="total, data, reg, accuracy or example:K (default: total)")
    group.add_argument("--budget-mb", type=_finite_float, default=256.0,
                       help="working memory budget in MB (default: 256); a smaller one computes in smaller pieces, "
                            "which is slower (a digits network's 101 x 101 slice: 1.5 s at 16 MB or more, 6.6 s at "
                            "4 MB, 12 s at 1 MB)")
    add_mode_arguments(group)


def add_mode_arguments(group, defaults=True):
    """--bn-mode and --dropout-mode, how a slice evaluates a network with batch norm or
    dropout. With ``defaults`` false they default to None: keep the session's (``race``)."""
    group.add_argument("--bn-mode", choices=BN_MODES, default="eval" if defaults else None,
                       help="networks with --batchnorm: normalize every point of the slice with the centre's "
                            "running statistics (eval, deterministic) or with the batch statistics of the full "
                            "training data at that point (train)" + (" (default: eval)" if defaults else ""))
    group.add_argument("--dropout-mode", default="off" if defaults else None, metavar="off|fixed|mean:K",
                       help="networks with --dropout: the slice without dropout (off), with one fixed mask drawn "
                            "from --seed (fixed: the function the runs train on), or the mean over K masks "
                            "(mean:K, K from 2 to 100)" + (" (default: off)" if defaults else ""))


def slice_spec_from_args(args):
    from hillwalk.core.landscapes.slices import SliceSpec

    refuse_options_that_do_not_apply(args, ["coords"], args.directions == "coords",
                                      f"the weights of --directions coords, but the directions are {args.directions}; "
                                      "add --directions coords (or leave {it} out)")
    one_direction = args.cut or args.directions == "interpolate"   # (SliceSpec.is_cut)
    refuse_options_that_do_not_apply(args, ["brange"], not one_direction,
                                      "the second direction's range, but "
                                      f"{'--cut' if args.cut else '--directions interpolate'} draws one direction; "
                                      "leave {it} out")
    # (the interpolation trains a centre to reach, whatever --center says)
    refuse_options_that_do_not_apply(args, ["train_steps"], args.center == "trained" or args.directions == "interpolate",
                                      "how long the centre is trained, but --center init is the initial weights; "
                                      "leave {it} out (or use --center trained)")

    return SliceSpec(center=args.center, train_steps=args.train_steps, init_scale=args.init_scale,
                     directions=args.directions, orthogonalize=args.orthogonalize, biases=args.biases,
                     coords=tuple(args.coords),
                     grid=args.grid, cut=args.cut, alpha_range=tuple(args.range),
                     beta_range=tuple(args.brange if args.brange is not None else args.range),
                     component=args.component, seed=args.seed, budget_mb=args.budget_mb, bn_mode=args.bn_mode,
                     dropout_mode=args.dropout_mode)


def add_axis_scales_argument(parser, picture=".png"):
    parser.add_argument("--axis-scales", choices=["auto", "equal", "fill"], default=None,
                        help=f"{picture}: 'equal' draws a unit of a (x) as long as a unit of b (y): true angles; "
                             "'fill' fills the picture; 'auto' is equal for a 2-D function's x and y (default: the "
                             "session's view with --session, else auto)")


def picture_view(args, session_view=None):
    """The :class:`~core.io.session.ViewSettings` a picture is drawn with: the session's
    view (``session_view``, a session's 'view' object, or that of ``--session``), else the
    defaults, with the picture options given (``--color-scale``, ``--contours``,
    ``--axis-scales``) on top: a session's picture looks as it does in the app."""
    from dataclasses import replace

    from hillwalk.core.io.session import Session, ViewSettings, view_from_dict

    if session_view is None and getattr(args, "session", None):
        session_view = Session.load(args.session).view
    view = view_from_dict(session_view) if session_view is not None else ViewSettings()
    given = {"log_scale": None if getattr(args, "color_scale", None) is None else args.color_scale == "log",
             "contours": getattr(args, "contours", None), "axis_scales": getattr(args, "axis_scales", None)}
    return replace(view, **{name: value for name, value in given.items() if value is not None})


def run_render(args, out=None):
    out = sys.stdout if out is None else out  # looked up now: a test may have replaced it
    from pathlib import Path

    from hillwalk.core import experiment
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.export import FORMATS, landscape_meta, save_landscape_csv, save_landscape_npz
    from hillwalk.core.io.files import check_output_folder
    path = Path(args.out)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise HillwalkError(f"{path}: unknown output format {suffix or '(none)'}; use .npz, .csv or .png")
    if args.save_data and suffix != ".npz":
        raise HillwalkError("--save-data only applies to .npz output")
    check_output_folder(path)  # before the slice is computed
    png_size = parse_size(args.png_size, "--png-size") if suffix == ".png" else None
    if args.session:
        from hillwalk.core.io.session import Session

        session = Session.load(args.session)
        problem, spec = session.problem, session.slice
    else:
        problem, spec = problem_spec_from_args(args), slice_spec_from_args(args)
    objective = experiment.build_objective(problem)
    plane = experiment.build_plane(objective, spec, problem=problem)
    landscape = experiment.compute_landscape(objective, plane, spec)
    settings = {"problem": problem.to_dict(), "slice": spec.to_dict()}
    meta = landscape_meta(landscape, settings, objective)
    if suffix == ".npz":
        save_landscape_npz(path, landscape, meta, objective, args.save_data)
    elif suffix == ".csv":
        save_landscape_csv(path, landscape)
    else:
        headless_application()
        from hillwalk.gui.figures import draws_equal_scales, loss_title, render_landscape_png

        if objective.has_own_plane:   # a 2-D function: no data set, no centre to name
            title = f"{objective.name}: {objective.formula}"
        else:
            model = f" of a {problem.network_title}" if problem.model == "net" else ""
            title = f"{loss_title(problem, spec.component)}{model} on {objective.train.name}, {spec.center} centre"
        if plane.info.get("modes"):  # which function of a BN or dropout network the picture shows
            title += f"<br>{plane.info['modes']}"  # the title is rich text: a second line
        view = picture_view(args, session.view if args.session else None)
        render_landscape_png(landscape, path, png_size, title, view.log_scale, view.contours, view.colormap,
                             equal_scales=draws_equal_scales(view.axis_scales, plane))
    values = landscape.values
    shape = "x".join(str(v) for v in values.shape[::-1])
    info = plane.info
    if objective.has_own_plane:   # a 2-D function over its own x and y: no centre, no directions
        print(f"wrote {path}: {'cut' if landscape.is_cut else 'slice'} of {shape} points, f(x, y) from "
              f"{np.nanmin(values):.6g} to {np.nanmax(values):.6g} ({objective.name}: {objective.formula}), "
              f"{landscape.seconds:.2f} s", file=out)
        return EXIT_OK
    found_under = info.get("center_regularization")   # (a session saved after a regularization change)
    under = (f" under {found_under['regularizer']}, lambda {found_under['lam']:g}, as the session recorded"
             if found_under else "")
    print(f"wrote {path}: {'cut' if landscape.is_cut else 'slice'} of {shape} points, {spec.component} from "
          f"{np.nanmin(values):.6g} to {np.nanmax(values):.6g}, centre {info.get('center', spec.center)}{under} (loss "
          f"{info['center_loss']:.4g}{' there' if found_under else ''}), {landscape.seconds:.2f} s", file=out)
    cosine = f", cosine {info['cosine']:.3g}" if "cosine" in info else ""
    norms = f"|d1| = {info['norm1']:.4g}" + (f", |d2| = {info['norm2']:.4g}" if "norm2" in info else "")
    print(f"directions: {info.get('label1')}; {norms}{cosine}", file=out)
    if info.get("modes"):
        print(f"modes: {info['modes']} (the centre's training loss: {info['train_center_loss']:.4g})", file=out)
    return EXIT_OK


def optional_output(out, suffixes):
    """The Path of an optional ``--out`` (None when not given), refused before any work when
    its format is not one of ``suffixes`` or its folder cannot be written."""
    from pathlib import Path

    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.files import check_output_folder

    if not out:
        return None
    path = Path(out)
    if path.suffix.lower() not in suffixes:
        choices = suffixes[0] if len(suffixes) == 1 else f"{', '.join(suffixes[:-1])} or {suffixes[-1]}"
        raise HillwalkError(f"{path}: unknown output format {path.suffix or '(none)'}; use {choices}")
    check_output_folder(path)
    return path


def run_search(args, out=None):
    """A hyperparameter search (core.labs.tasks.search_task, the lab's task)."""
    out = sys.stdout if out is None else out

    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.labs.hyperparameter_search import SearchSpec, default_workers, write_csv
    from hillwalk.core.labs.tasks import search_task

    path = optional_output(args.out, (".csv",))
    # the search draws lambda itself: a fixed one, or none to draw, would be ignored
    refuse_options_that_do_not_apply(args, ["lam"], False,
                                     "the search draws lambda from its range, --reg LOW HIGH; leave {it} out")
    if args.reg == "none":
        raise HillwalkError("--regularizer none: the search draws lambda, the regularizer's strength, and there is "
                            "none to draw without one; choose --regularizer l2 (the default), l1 or elastic")
    problem = problem_spec_from_args(args)
    spec = SearchSpec(strategy=args.strategy, trials=args.trials, lr=tuple(args.lr_range), reg=tuple(args.reg_range),
                      hidden=None if args.search_hidden is None else tuple(args.search_hidden),
                      keep_prob=None if args.search_keep_prob is None else tuple(args.search_keep_prob),
                      epochs=args.epochs, method=args.optimizer, batch_size=args.batch_size, seed=args.seed)
    workers = args.workers or default_workers()
    result = search_task(problem, spec, None, workers)
    names = [d.name for d in spec.dimensions()]
    print(f"{args.strategy} search of {problem.title}: {len(result.trials)} trials, {args.epochs} epoch(s) "
          f"of {args.optimizer} (batch {args.batch_size}) each, seed {args.seed}, {workers} worker(s)", file=out)
    for number, ranges in enumerate(result.rounds, start=1):
        print(f"round {number}: " + ", ".join(f"{k} in [{lo:.3g}, {hi:.3g}]" for k, (lo, hi) in ranges.items()),
              file=out)
    for note in result.notes:
        print(note, file=out)
    ranked = result.ranked()
    print("best trials:", file=out)
    print("  trial round " + " ".join(f"{n:>10}" for n in names) + "  train_acc  val_acc  final_loss", file=out)
    for trial in ranked[:5]:
        values = " ".join(f"{trial.values[n]:>10.3g}" for n in names)
        print(f"  {trial.index:>5} {trial.round:>5} {values}  {trial.train_acc:>9.4f}  {trial.val_acc:>7.4f}  "
              f"{trial.final_loss:>10.4g}", file=out)
    print(result.verdict(), file=out)
    if path is not None:
        print(f"wrote {write_csv(result, path)}", file=out)
    return EXIT_OK


def run_hessian(args, out=None):
    """The Hessian's spectrum at the initial or trained weights (core.labs.tasks.curvature_task)."""
    out = sys.stdout if out is None else out

    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.export import save_curvature_csv, save_curvature_npz
    from hillwalk.core.labs.tasks import curvature_task
    from hillwalk.core.landscapes.centers import train_full_batch

    path = optional_output(args.out, (".npz", ".csv", ".png"))
    if args.save_data and (path is None or path.suffix.lower() != ".npz"):
        raise HillwalkError("--save-data only applies to .npz output")
    problem = problem_spec_from_args(args)
    refuse_options_that_do_not_apply(args, ["train_steps"], args.at == "trained",
                                      "how long the weights are trained, but --at init takes the initial ones; leave "
                                      "{it} out (or use --at trained)")
    objective = problem.build()
    theta = objective.initial_theta(args.scale, args.seed)
    if args.at == "trained":
        theta = train_full_batch(objective, theta, args.train_steps, record=False)[0]
    report = curvature_task(objective, theta, args.top, args.bottom, args.trace_samples, args.density,
                            args.iterations, args.seed)
    print(f"Hessian of {problem.title} at the {args.at} weights ({report.size} parameters, loss "
          f"{objective.loss(theta):.6g}); Lanczos, {report.iterations} steps, seed {args.seed}", file=out)
    print("largest eigenvalues: " + ", ".join(f"{v:.6g} (residual {r:.1e})"
                                               for v, r in zip(report.top, report.top_residuals)), file=out)
    if report.bottom.size:
        print("smallest eigenvalues: " + ", ".join(f"{v:.6g} (residual {r:.1e})"
                                                    for v, r in zip(report.bottom, report.bottom_residuals)), file=out)
        print(f"condition number lambda_max / lambda_min: {report.condition:.6g} (from the eigenvalues found; a "
              "residual comparable to an eigenvalue means it has not converged: raise --iterations)", file=out)
    if args.trace_samples:
        exact = f"; exact {report.exact_trace:.6g}" if np.isfinite(report.exact_trace) else ""
        print(f"trace (Hutchinson, {args.trace_samples} probes): {report.trace:.6g} +- {report.trace_error:.2g}{exact}",
              file=out)
    print(f"lambda_max {report.lambda_max:.6g}: full-batch gradient descent on the quadratic model diverges above "
          f"lr = 2 / lambda_max = {report.largest_stable_lr:.6g}", file=out)
    if path is not None:
        meta = {"problem": problem.to_dict(), "at": args.at, "train_steps": args.train_steps if args.at == "trained"
                else 0, "scale": args.scale, "seed": args.seed, "top": args.top, "bottom": args.bottom,
                "trace_samples": args.trace_samples, "density": bool(args.density), "iterations": report.iterations,
                "lambda_max": report.lambda_max, "trace": report.trace, "trace_error": report.trace_error,
                "exact_trace": report.exact_trace}
        if path.suffix.lower() == ".npz":
            save_curvature_npz(path, report, meta, objective, args.save_data)
        elif path.suffix.lower() == ".csv":
            save_curvature_csv(path, report)
        else:
            headless_application()
            from hillwalk.gui.figures import render_spectrum_png

            render_spectrum_png(report, path, title=f"Hessian of {problem.title} at the {args.at} weights: "
                                f"lambda_max {report.lambda_max:.4g}, 2 / lambda_max = {report.largest_stable_lr:.4g}")
        print(f"wrote {path}", file=out)
    return EXIT_OK


def run_babysit(args, out=None):
    """The babysitting sequence (core.labs.tasks.babysit_task, as the lab runs it): its
    verdicts on ``out``, every number in .json or the plots in .png."""
    out = sys.stdout if out is None else out
    import json

    from hillwalk.core.experiment import build_objective
    from hillwalk.core.io.files import write_bytes_atomically
    from hillwalk.core.labs.tasks import babysit_task

    path = optional_output(args.out, (".json", ".png"))
    refuse_schedule_options(args, args.schedule)
    problem = problem_spec_from_args(args)
    objective = build_objective(problem)
    report = babysit_task(objective, args.method, args.lr, args.batch_size or None, args.epochs, args.schedule,
                          args.gamma, args.every, args.k, args.seed)
    curves = report.curves
    batch = f"batch {args.batch_size}" if args.batch_size else "full batch"
    print(f"babysitting {problem.title} ({objective.n_train} training examples), seed {args.seed}; curves: "
          f"{args.method}, lr {args.lr:g}, {batch}, {args.epochs} epochs, {args.schedule} schedule", file=out)
    for title, text in report.verdicts():
        print(f"{title}: {text}", file=out)
    print("lr per epoch: " + ", ".join(f"{rate:.3g}" for rate in curves.epoch_lr), file=out)
    if path is not None:
        if path.suffix.lower() == ".json":
            data = report.to_dict()
            data["problem"] = problem.to_dict()
            write_bytes_atomically(path, (json.dumps(data, indent=1, allow_nan=False) + "\n").encode("utf-8"))
        else:
            headless_application()
            from hillwalk.gui.babysit_figure import render_babysit_png

            render_babysit_png(report, path, title=f"Babysitting {problem.title}: {args.method}, lr "
                                                   f"{args.lr:g}, {batch}, {args.epochs} epochs")
        print(f"wrote {path}", file=out)
    return EXIT_OK


def run_gradcheck(args, out=None):
    """The gradient check's report on ``out`` (standard output by default); its last line
    is the verdict (PASS, or FAIL with the reason). Exit status 0 for PASS, 1 for FAIL (a
    NaN or infinite derivative is a failure: nothing was compared)."""
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.labs.gradcheck import METHOD_THRESHOLDS, gradient_check, parameter_blocks

    out = sys.stdout if out is None else out  # looked up now: a test may have replaced it since import

    if args.h <= 0:
        raise HillwalkError(f"--h must be positive, got {args.h}")
    if args.scale <= 0:
        raise HillwalkError(f"--scale must be positive, got {args.scale}")
    objective = problem_spec_from_args(args).build()
    theta = objective.initial_theta(args.scale, args.seed)
    result = gradient_check(objective, theta, samples=args.samples or None, h=args.h, method=args.method,
                            seed=args.seed)
    threshold = args.threshold if args.threshold is not None else METHOD_THRESHOLDS[args.method]
    verdict = result.verdict(threshold)
    reg = "no regularization" if args.reg == "none" else f"{args.reg} regularization (lambda {args.lam:g})"
    print(f"gradient check: {objective.train.name}, {objective.n_train} training examples, {args.loss} loss, {reg}",
          file=out)
    if args.model == "net":
        from hillwalk.core.models.problem import format_widths

        shapes = ", ".join(f"{name} {' x '.join(map(str, shape))}" for name, shape in objective.shapes.items())
        where = f"{args.init} initialization (seed {args.seed})"
        units = f"{format_widths(objective.widths)} {args.activation}" + (
            f" ({objective.pieces} pieces)" if args.activation == "maxout" else "")
        extras = [name for name, on in (("batch norm", objective.batchnorm), ("skip connections", objective.residual),
                                        (f"dropout p = {objective.keep_prob:g}", objective.keep_prob < 1.0)) if on]
        print(f"network: {units} units{''.join(', ' + e for e in extras)}; {shapes} = {objective.size} parameters "
              f"at {where}; {result.indices.size} checked, {args.method} differences, h = {args.h:g}", file=out)
        by_block = result.worst_by_block(parameter_blocks(objective))
        if by_block:   # where a gradient bug lives shows as one block's error
            print("largest relative error by block (parameters compared): "
                  + ", ".join(f"{name} {worst:.2e} ({count})" for name, count, worst in by_block), file=out)
        if objective.batchnorm:
            print(f"batch norm: checked in training mode (the batch statistics of the {objective.n_train} training "
                  "examples, through which the gradient flows)", file=out)
        if objective.keep_prob < 1.0:
            print(f"dropout: checked under one fixed mask drawn from seed {objective.mask_seed} (the same mask for "
                  "the analytic gradient and every difference)", file=out)
    else:
        C, D1 = objective.param_shape
        print(f"W: {C} x {D1} = {C * D1} parameters at {args.scale:g} * randn (seed {args.seed}); "
              f"{result.indices.size} checked, {args.method} differences, h = {args.h:g}", file=out)
    bands = ", ".join(f"{k}: {v}" for k, v in result.band_counts().items())
    pct = result.percentiles()
    if pct:
        print(f"relative error: median {pct['median']:.2e}, 90th percentile {pct['p90']:.2e}, bands {bands}",
              file=out)
    else:
        print(f"relative error: none could be formed, bands {bands}", file=out)
    kinks = result.near_kink & ~result.nonfinite
    if kinks.any():
        print(f"{int(kinks.sum())} parameter(s) straddle a kink (SVM margin, ReLU or L1 at 0) and are left out of the "
              f"verdict; their largest error is {result.rel_error[kinks].max():.2e}", file=out)
    if result.unresolved_text():
        print(result.unresolved_text(), file=out)
    print(verdict.line(), file=out)
    return EXIT_OK if verdict.passed else EXIT_FAILED_CHECK


def parse_size(text, option="--size", limit="picture.side"):
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"{option} must look like 1600x1000, got {text!r}") from None
    from hillwalk.core.limits import RANGES

    side = RANGES[limit]
    if not (side.contains(width) and side.contains(height)):
        raise UsageError(f"{option} must be between {int(side.low)}x{int(side.low)} and "
                         f"{int(side.high)}x{int(side.high)}, got {text!r}")
    return width, height


def has_display():
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")) or sys.platform in ("win32", "darwin")


def use_offscreen_without_display():
    """A command that draws a figure without a window: Qt's offscreen platform where there
    is no display (the variable must be set before the application is made)."""
    if not has_display():
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def headless_application():
    """The QApplication a figure-writing command draws with (offscreen without a display)."""
    use_offscreen_without_display()
    from hillwalk.gui.app import application

    return application()


def run_gui(args):
    if args.screenshot:
        size = parse_size(args.size)
        use_offscreen_without_display()
        from hillwalk.gui.app import take_screenshot

        return take_screenshot(args.screenshot, size, session=load_session_arg(args))
    if not has_display() and os.environ.get("QT_QPA_PLATFORM") not in ("offscreen", "minimal"):
        raise UsageError("no display found (DISPLAY is not set); run it on a desktop, under "
                         "'xvfb-run hillwalk', or save a picture with 'hillwalk --screenshot shot.png'")
    session = load_session_arg(args)
    from hillwalk.gui.app import run_app

    return run_app(session=session)


def load_session_arg(args):
    if not args.session:
        return None
    from hillwalk.core.io.session import Session

    return Session.load(args.session)


def use_all_cores():
    """Let the network slice paths share each chunk of points among the machine's cores,
    with the BLAS library held to one thread meanwhile (threadpoolctl).

    Small per-point products gain little from BLAS threads and leave the elementwise work
    on one core; one thread per core with single-threaded BLAS measured 1.5x faster on a
    64-unit net (benchmarks/bench_landscape.py). Values agree with one thread's to 1 ulp
    (single- and multi-threaded BLAS round a few products differently). One controller
    serves every limit: ``threadpool_limits`` would look the libraries up again at each
    chunk (0.4 ms against 8 us).
    """
    from hillwalk.core.landscapes.landscape import Parallelism, set_parallelism

    set_parallelism(Parallelism.all_cores(SharedBlasLimit()))


class SharedBlasLimit:
    """``SharedBlasLimit()()`` is a context manager that holds the BLAS libraries to one
    thread; overlapping holds (the slice, the cut and the contours run at once) share one
    limit: the first in sets it and the last out restores the threads the libraries had.
    threadpoolctl's own limits each restore what they found, so the last of two
    overlapping ones to end would leave the process on one thread for good."""

    def __init__(self):
        import threading

        from threadpoolctl import ThreadpoolController

        self._controller = ThreadpoolController()
        self._lock = threading.Lock()
        self._holders = 0
        self._limit = None

    @contextlib.contextmanager
    def __call__(self):
        with self._lock:
            if self._holders == 0:
                self._limit = self._controller.limit(limits=1, user_api="blas")
            self._holders += 1
        try:
            yield
        finally:
            with self._lock:
                self._holders -= 1
                if self._holders == 0:
                    self._limit.restore_original_limits()
                    self._limit = None


def printable_output():
    """Let stdout and stderr print any path: a file name that is not valid in the locale's
    encoding (bytes kept as surrogates) would otherwise fail the final "wrote ..." line,
    after the file was written."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="backslashreplace")
        except (AttributeError, ValueError, OSError):
            pass  # not a text stream we can reconfigure (a test's capture, a closed stream)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    printable_output()
    from hillwalk.core.errors import HillwalkError

    try:
        args = build_parser().parse_args(argv)
        use_all_cores()
        if args.command is None:
            return run_gui(args)
        status = args.handler(args)
        sys.stdout.flush()   # (a closed pipe is then reported below, not at the interpreter's exit)
        return status
    except (UsageError, HillwalkError) as error:
        print(f"hillwalk: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("hillwalk: interrupted", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        # whoever read the output stopped reading (``| head``): stop quietly, as other
        # command-line tools do, and let nothing more be written to the closed pipe (the
        # interpreter flushes stdout at exit)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE
    except Exception as error:  # a bug: one line for the user, the traceback only on request
        if os.environ.get("HILLWALK_DEBUG"):
            raise
        print(f"hillwalk: internal error ({type(error).__name__}: {error}); set HILLWALK_DEBUG=1 for details "
              "and please report it", file=sys.stderr)
        return EXIT_INTERNAL


if __name__ == "__main__":
    sys.exit(main())
