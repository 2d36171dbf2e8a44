"""The subcommands with --model net and the network's options."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
NET = ("--model", "net", "--hidden", "16", "--dataset", "spiral", "--preprocess", "standardize")


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_gradcheck_of_a_network_passes_and_says_what_it_checked():
    for activation in ("relu", "leaky_relu", "tanh", "sigmoid", "elu"):
        result = run("gradcheck", *NET, "--activation", activation, "--init", "xavier", "--samples", "0")
        assert result.returncode == 0, result.stderr
        assert f"16 {activation} units" in result.stdout and "W1 2 x 16" in result.stdout
        assert "PASS" in result.stdout
    # the largest error block by block, in layout order, with how many were compared
    tanh = run("gradcheck", *NET, "--activation", "tanh", "--samples", "0")
    line = next(text for text in tanh.stdout.splitlines() if text.startswith("largest relative error by block"))
    blocks = [part.split()[0] for part in line.split(": ", 1)[1].split(", ")]
    counts = [int(part.split("(")[1].rstrip(")")) for part in line.split(": ", 1)[1].split(", ")]
    assert blocks == ["W1", "b1", "W2", "b2"] and counts == [32, 16, 48, 3]   # (tanh: no kinks, all compared)


def test_render_of_a_network_records_the_model_and_the_bias_choice(tmp_path):
    out = tmp_path / "net.npz"
    result = run("render", *NET, "--grid", "15", "--center", "init", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with np.load(out) as archive:
        meta = json.loads(str(archive["meta"]))
        assert archive["loss"].shape == (15, 15) and archive["center"].shape == (2 * 16 + 16 + 16 * 3 + 3,)
    assert meta["objective"]["model"] == "net" and meta["objective"]["hidden"] == 16
    assert meta["landscape"]["plane"]["biases"] == "zeroed" and meta["landscape"]["method"] == "fast"
    assert meta["settings"]["problem"]["activation"] == "relu"


def test_trace_of_a_network_classifier(tmp_path):
    out = tmp_path / "t.csv"
    result = run("trace", "--objective", "classifier", *NET, "--activation", "elu", "--optimizer", "sgd,adam",
                 "--lr", "0.05", "--steps", "40", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with open(out, newline="") as handle:
        rows = list(csv.reader(handle))
    assert len(rows) == 1 + 2 * 41


def test_bad_network_options_are_one_line_errors():
    result = run("gradcheck", "--model", "net", "--hidden", "0")
    assert result.returncode == 2 and "hidden size" in result.stderr and "Traceback" not in result.stderr
    result = run("render", "--model", "net", "--activation", "swish", "--out", "x.npz")
    assert result.returncode == 2 and "--activation" in result.stderr


def test_network_options_given_to_a_linear_session_are_refused():
    import argparse

    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.models.problem import ClassifierSpec
    from hillwalk.main import MODEL_OPTIONS, with_model_options

    def options(**given):
        return argparse.Namespace(**{name: given.get(name) for name in MODEL_OPTIONS})

    linear = ClassifierSpec(dataset="spiral")
    with pytest.raises(HillwalkError, match="--hidden, --residual: the model is linear.*--model net"):
        with_model_options(linear, options(hidden=(8, 8), residual=True))
    assert with_model_options(linear, options(model="net", hidden=(8, 8))).hidden == (8, 8)
    net = ClassifierSpec(dataset="spiral", model="net")
    with pytest.raises(HillwalkError, match="--dropout"):
        with_model_options(net, options(model="linear", keep_prob=0.5))
    assert with_model_options(net, options()) == net


def test_trace_races_second_order_methods_and_reports_their_work(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "trace", "--objective", "rosenbrock",
                             "--optimizer", "newton,lbfgs,sgd", "--lr", "0.001", "--start", "-1.5", "2", "--steps",
                             "40", "--history", "5", "--out", str(tmp_path / "race.csv")],
                            capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = {line.split(":")[0]: line for line in result.stdout.splitlines()}
    assert "Hessian-vector products" in lines["Newton"] and "0 from the nearest minimum" in lines["Newton"]
    assert "final loss" in lines["L-BFGS"] and "at (1, 1)" in lines["L-BFGS"] and "Hessian" not in lines["L-BFGS"]


def test_trace_takes_saddle_free_newton_and_adam_without_bias_correction(tmp_path):
    out = tmp_path / "saddle.csv"
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "trace", "--objective", "saddle", "--optimizer",
                             "newton,adam", "--saddle-free", "--no-bias-correction", "--lr", "0.01", "--start", "0.5",
                             "0.01", "--steps", "4", "--out", str(out)], capture_output=True, text=True, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, result.stderr
    assert "saddle-free Newton" in result.stdout and "Adam (no bias correction)" in result.stdout
    rows = [line.split(",") for line in out.read_text().splitlines()]
    newton = [row for row in rows[1:] if row[0].startswith("saddle-free")]
    # |H| = 2 I on x^2 - y^2: the first step goes from (0.5, 0.01) to (0, 0.02)
    header = rows[0]
    x, y = header.index("theta_0"), header.index("theta_1")
    assert [float(newton[1][x]), float(newton[1][y])] == pytest.approx([0.0, 0.02], abs=1e-15)


def test_race_options_change_the_sessions_methods_or_replace_them():
    from hillwalk import main
    from hillwalk.core.errors import HillwalkError
    from hillwalk.core.io.session import OptimizerSetting
    from hillwalk.core.optimization.optimizers import OptimizerSpec

    parser = main.build_parser()
    session = [OptimizerSetting(OptimizerSpec("lbfgs")), OptimizerSetting(OptimizerSpec("sgd", lr=0.1), "#E69F00")]

    def methods(*options):
        return main.race_methods(session, parser.parse_args(["race", "--out", "x.gif", *options]))

    assert [s.spec for s in methods()] == [s.spec for s in session]     # nothing given: the session's own
    changed = methods("--history", "3", "--lr", "0.5")
    assert changed[0].spec.history == 3 and changed[0].spec.lr == session[0].spec.lr   # L-BFGS has no lr
    assert changed[1].spec.lr == 0.5 and changed[1].spec.history == 10 and changed[1].color == "#E69F00"
    with pytest.raises(HillwalkError, match="--damping applies to none of the session's methods .*Newton"):
        methods("--damping", "1")
    zero = methods("--momentum", "0")          # a value of 0 is a value: SGD takes it
    assert zero[1].spec.momentum == 0.0 and zero[0].spec == session[0].spec
    with pytest.raises(HillwalkError, match="--damping applies to none"):
        methods("--damping", "0")
    replaced = methods("--optimizer", "newton,bfgs", "--saddle-free")
    assert [s.spec.method for s in replaced] == ["newton", "bfgs"] and replaced[0].spec.saddle_free
    assert replaced[0].color != replaced[1].color


def test_trace_refuses_a_switch_none_of_its_methods_has():
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "trace", "--optimizer", "sgd", "--saddle-free",
                             "--out", "x.csv"], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 2 and "--saddle-free applies to Newton (damped), not to --optimizer sgd" in result.stderr
