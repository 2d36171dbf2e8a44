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


def test_render_of_a_network_records_the_model_and_the_bias_choice(tmp_path):
    out = tmp_path / "net.npz"
    result = run("render", *NET, "--grid", "15", "--center", "init", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with np.load(out) as archive:
        meta = json.loads(str(archive["meta"]))
        assert archive["loss"].shape == (15, 15) and archive["center"].shape == (2 * 16 + 16 + 16 * 3 + 3,)
    assert meta["objective"]["model"] == "net" and meta["objective"]["hidden"] == 16
    assert meta["landscape"]["plane"]["biases"] == "zeroed" and meta["landscape"]["method"] == "generic"
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
