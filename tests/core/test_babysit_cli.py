"""`hillwalk babysit`: the Babysitting lab's core task from the command line, its numbers in
.json (finite only) and its refusals."""
import json
import subprocess
import sys

import numpy as np

from hillwalk.core.labs.tasks import babysit_task
from hillwalk.core.models.problem import ClassifierSpec

PYTHON = sys.executable


def run(tmp_path, *args):
    return subprocess.run([PYTHON, "-m", "hillwalk", "babysit", *args], capture_output=True, text=True, cwd=tmp_path,
                          timeout=600)


def test_the_json_holds_the_same_numbers_as_the_core_task(tmp_path):
    result = run(tmp_path, "--dataset", "digits", "--method", "momentum", "--lr", "0.005", "--epochs", "3",
                 "--schedule", "step", "--every", "2", "--gamma", "0.1", "--seed", "2", "--out", "report.json")
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "report.json").read_text())
    core = babysit_task(ClassifierSpec(seed=2).build(), "momentum", 0.005, 64, 3, "step", 0.1, 2, 0.1, 2)
    assert data["nonfinite"] == [] and data["problem"]["dataset"] == "digits"
    assert data["curves"]["epoch_lr"] == core.curves.epoch_lr.tolist() == [0.005, 0.005, 0.005 * 0.1]
    np.testing.assert_array_equal(data["curves"]["step_loss"], core.curves.step_loss)
    np.testing.assert_array_equal(data["curves"]["ratios"], core.curves.ratios)
    np.testing.assert_array_equal(data["curves"]["val_acc"], core.curves.val_acc)
    np.testing.assert_array_equal(data["range_test"]["smoothed"], core.range_test.smoothed)
    assert [p["lr"] for p in data["probe"]] == [run.lr for run in core.probe]
    diverged = data["probe"][2]
    assert diverged["diverged"] is True and diverged["diverged_at"] == core.probe[2].diverged_at
    assert len(diverged["loss"]) == diverged["diverged_at"]
    assert data["overfit"]["accuracy"] == 1.0
    assert data["initial_loss"]["loss"] == core.sanity.initial.loss
    # what it prints: every verdict with its computed numbers
    for _, text in core.verdicts():
        assert text in result.stdout
    assert "lr per epoch: 0.005, 0.005, 0.0005" in result.stdout and "wrote report.json" in result.stdout


def test_what_is_refused(tmp_path):
    for args, message in ((("--out", "report.csv"), "use .json or .png"),
                          (("--epochs", "0"), "from 1 to 1000"),
                          (("--lr", "-1"), "the learning rate must be"),
                          (("--method", "newton"), "invalid choice"),
                          (("--batch-size", "1", "--epochs", "1000"), "use fewer epochs or a larger batch size"),
                          (("--out", "missing/report.json"), "missing")):
        result = run(tmp_path, "--dataset", "iris", *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert not (tmp_path / "report.csv").exists()
