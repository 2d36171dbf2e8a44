"""Bad values: out of every setting's valid range (core/limits.py), typed on the command
line or into the window's boxes."""
from PyQt6 import QtCore  # noqa: F401 - the window actions run where Qt is loaded anyway

from . import BadInput


def _cli(*args, out="out.npz"):
    def cli(place):
        return [str(place.folder / a[1:]) if isinstance(a, str) and a.startswith("@") else a for a in args] + \
            (["--out", str(place.folder / out)] if out else [])
    return cli


def type_into(box, text):
    """Type ``text`` into a spin box over what it shows, then press Enter (as a person would)."""
    from PyQt6 import QtCore as Qt
    from PyQt6 import QtTest

    box.setFocus()
    box.lineEdit().selectAll()
    QtTest.QTest.keyClicks(box, text)
    QtTest.QTest.keyClick(box, Qt.Qt.Key.Key_Return)


def _typed(panel, box, text, select_method=None):
    def prepare(place):
        def act(window):
            owner = getattr(window, panel)
            if select_method is not None:  # the optimizer whose box is typed into
                row = next(k for k, e in enumerate(window.state.optimizers) if e.spec.method == select_method)
                owner.list.setCurrentRow(row)
            widget = getattr(owner, box)
            assert widget.isEnabled(), f"{panel}.{box} is disabled"
            type_into(widget, text)
        return act
    return prepare


def _value(name, what, message, cli=None, window=None):
    return BadInput(name, "value", what, message, cli=cli, window=window)


RENDER_FAST = ("render", "--dataset", "iris", "--grid", "5", "--train-steps", "2")
TRACE_FAST = ("trace", "--steps", "5")

CASES = [
    _value("seed-negative", "a negative seed", "seed must be a whole number from 0",
           cli=_cli(*RENDER_FAST, "--seed", "-1"), window=_typed("data_panel", "seed", "-1")),
    _value("seed-too-large", "a seed beyond a C int", "seed must be a whole number from 0",
           cli=_cli("gradcheck", "--seed", "99999999999", out=None)),
    _value("race-seed-negative", "a negative race seed typed into the Optimizers panel",
           "race's seed must be a whole number from 0", window=_typed("optimizers_panel", "seed", "-5")),
    _value("val-share-0.99", "a validation share of 0.99", "validation share must be a number in [0, 0.9]",
           cli=_cli(*RENDER_FAST, "--val-fraction", "0.99"), window=_typed("data_panel", "val_fraction", "0.99")),
    _value("contours-million", "10^6 contour levels", "contours must be a whole number from 0 to 100",
           cli=_cli(*RENDER_FAST, "--contours", "1000000", out="out.png"),
           window=_typed("landscape_panel", "contours", "1000000")),
    _value("steps-billion", "10^9 optimizer steps", "steps must be a whole number from 1 to 100000",
           cli=_cli(*TRACE_FAST[:1], "--steps", "1000000000", out="out.csv"),
           window=_typed("optimizers_panel", "steps", "1000000000")),
    _value("grid-huge", "a 100000-point grid", "grid size must be a whole number from 2 to 2001",
           cli=_cli(*RENDER_FAST[:3], "--grid", "100000")),
    _value("range-reversed-exponents", "a range typed high to low, in exponent notation (-1e-3 read as a number)",
           "swap the two values", cli=_cli(*RENDER_FAST, "--range", "1e-3", "-1e-3")),
    _value("range-empty", "a range from 0 to 0", "from low to high", cli=_cli(*RENDER_FAST, "--range", "0", "0")),
    _value("range-typed-zero", "the landscape's range typed as 0", "range +- must be a number in (0, 1e+06]",
           window=_typed("landscape_panel", "extent", "0")),
    _value("range-typed-negative", "the landscape's range typed as -1", "range +- must be a number in (0, 1e+06]",
           window=_typed("landscape_panel", "extent", "-1")),
    _value("hidden-million", "a hidden layer of 10^6 units",
           "hidden size (units per layer) must be a whole number from 1 to 4096",
           cli=_cli("gradcheck", "--model", "net", "--hidden", "1000000", out=None)),
    _value("gif-fps-zero", "a GIF at 0 frames per second (checked before any computing)",
           "frames per second must be a whole number from 1 to 60", cli=_cli("race", "--fps", "0", out="race.gif")),
    _value("gif-frames-zero", "a GIF of 0 frames (checked before any computing)",
           "number of frames must be a whole number from 2", cli=_cli("race", "--frames", "0", out="race.gif")),
    _value("lr-zero", "a learning rate of 0", "learning rate must be a number in (0, 1e+06]",
           cli=_cli(*TRACE_FAST, "--lr", "0", out="out.csv"), window=_typed("optimizers_panel", "lr", "0")),
    _value("momentum-1.5", "momentum 1.5 (typed: it once became 0.5 silently)", "momentum mu must be a number in [0, 1)",
           cli=_cli(*TRACE_FAST, "--optimizer", "momentum", "--momentum", "1.5", out="out.csv"),
           window=_typed("optimizers_panel", "momentum", "1.5", select_method="momentum")),
    _value("beta2-one", "Adam's beta2 of 1", "beta2 must be a number in [0, 1)",
           cli=_cli(*TRACE_FAST, "--optimizer", "adam", "--beta2", "1", out="out.csv"),
           window=_typed("optimizers_panel", "beta2", "1", select_method="adam")),
    _value("batch-zero", "a batch of 0 examples", "batch size must be a whole number from 1",
           cli=_cli(*TRACE_FAST, "--objective", "classifier", "--dataset", "iris", "--batch-size", "0",
                    out="out.csv")),
    _value("budget-zero", "a memory budget of 0 MB", "memory budget (MB) must be a number in [1, 16384]",
           cli=_cli(*RENDER_FAST, "--budget-mb", "0")),
    _value("start-overflow", "a start of 1e400", "expected a finite number",
           cli=_cli(*TRACE_FAST, "--start", "1e400", "0", out="out.csv")),
    _value("start-far", "a start of 1e7", "start coordinate must be a number in [-1e+06, 1e+06]",
           cli=_cli(*TRACE_FAST, "--start", "1e7", "0", out="out.csv")),
    _value("picture-tiny", "a 10 x 10 picture", "between 200x200", cli=_cli(*RENDER_FAST, "--png-size", "10x10",
                                                                             out="out.png")),
    _value("subsample-one", "a subsample of one example", "subsample must be a whole number from 2",
           cli=_cli(*RENDER_FAST, "--subsample", "1")),
    _value("example-million", "an example index of 10^6 on iris", "example",
           cli=_cli(*RENDER_FAST, "--component", "example:1000000")),
    _value("delta-zero", "an SVM margin of 0", "margin delta must be a number in (0, 1e+06]",
           cli=_cli(*RENDER_FAST, "--loss", "svm", "--delta", "0")),
    _value("lambda-negative", "a negative lambda typed", "lambda must be a number in [0, 1e+06]",
           window=_typed("model_panel", "lam", "-1")),
    _value("condition-below-one", "a quadratic of condition 0.5", "condition number must be a number in [1, 1e+08]",
           cli=_cli(*TRACE_FAST, "--objective", "quadratic", "--condition", "0.5", out="out.csv")),
    _value("coords-outside", "coords directions outside W", "outside",
           cli=_cli(*RENDER_FAST, "--directions", "coords", "--coords", "0", "0", "99", "0")),
    # deep networks (issue 14)
    _value("hidden-list-word", "a comma list of widths with a word in it", "must be a whole number, got 'x'",
           cli=_cli(*RENDER_FAST, "--model", "net", "--hidden", "16,x")),
    _value("hidden-list-empty-part", "a comma list of widths with an empty part",
           "widths separated by commas", cli=_cli("gradcheck", "--model", "net", "--hidden", "16,,16", out=None)),
    _value("hidden-list-wide", "a second hidden layer of 10^5 units",
           "hidden size (units per layer) must be a whole number from 1 to 4096",
           cli=_cli("gradcheck", "--model", "net", "--hidden", "16,100000", out=None)),
    _value("depth-65", "65 hidden layers", "number of hidden layers must be a whole number from 1 to 64",
           cli=_cli("gradcheck", "--model", "net", "--hidden", ",".join(["4"] * 65), out=None)),
    _value("depth-65-times", "65 hidden layers written '65 x 4'",
           "number of hidden layers must be a whole number from 1 to 64",
           cli=_cli("gradcheck", "--model", "net", "--hidden", "65 x 4", out=None)),
    _value("network-option-of-a-linear-model", "--hidden and --batchnorm without --model net",
           "add --model net", cli=_cli("gradcheck", "--hidden", "32,32", "--batchnorm", out=None)),
    _value("dropout-zero", "dropout keeping no unit (p = 0)", "keep probability p must be a number in (0, 1]",
           cli=_cli(*RENDER_FAST, "--model", "net", "--dropout", "0")),
    _value("dropout-above-one", "a keep probability of 1.5", "keep probability p must be a number in (0, 1]",
           cli=_cli("gradcheck", "--model", "net", "--dropout", "1.5", out=None)),
    _value("pieces-one", "maxout with one piece", "pieces per unit k must be a whole number from 2 to 8",
           cli=_cli("gradcheck", "--model", "net", "--activation", "maxout", "--pieces", "1", out=None)),
    _value("pieces-nine", "maxout with nine pieces", "pieces per unit k must be a whole number from 2 to 8",
           cli=_cli(*RENDER_FAST, "--model", "net", "--activation", "maxout", "--pieces", "9")),
    _value("residual-one-layer", "skip connections on one hidden layer", "skip connections need",
           cli=_cli("gradcheck", "--model", "net", "--residual", out=None)),
    _value("residual-unequal-widths", "skip connections on layers 16 and 8 wide", "two consecutive ones of equal width",
           cli=_cli(*RENDER_FAST, "--model", "net", "--hidden", "16,8", "--residual")),
    _value("dropout-mode-mean-one", "the mean over one dropout mask", "mean:K must be a whole number from 2 to 100",
           cli=_cli(*RENDER_FAST, "--dropout-mode", "mean:1")),
    _value("dropout-mode-mean-word", "the mean over 'many' dropout masks", "e.g. mean:8",
           cli=_cli(*RENDER_FAST, "--dropout-mode", "mean:many")),
    _value("dropout-mode-unknown", "a dropout mode 'on'", "choose off, fixed or mean:K",
           cli=_cli(*RENDER_FAST, "--dropout-mode", "on")),
    _value("bn-mode-unknown", "a batch-norm mode 'test'", "invalid choice",
           cli=_cli(*RENDER_FAST, "--bn-mode", "test")),
]
