"""The headless command line: exit codes and one-line errors (run as a real process)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_help_lists_the_subcommands():
    result = run("--help")
    assert result.returncode == 0 and "gradcheck" in result.stdout


def test_gradcheck_softmax_l2_on_digits_passes():
    result = run("gradcheck", "--dataset", "digits", "--loss", "softmax", "--reg", "l2", "--lam", "1e-3")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "max relative error" in result.stdout and "PASS" in result.stdout


@pytest.mark.parametrize("loss, reg", [("svm", "l1"), ("svm", "elastic"), ("softmax", "none")])
def test_gradcheck_other_combinations_pass(loss, reg):
    result = run("gradcheck", "--loss", loss, "--reg", reg, "--samples", "30", "--seed", "2")
    assert result.returncode == 0, result.stdout + result.stderr


def test_gradcheck_exits_1_when_the_error_exceeds_the_threshold():
    result = run("gradcheck", "--dataset", "iris", "--threshold", "1e-300", "--samples", "0")
    assert result.returncode == 1 and "FAIL" in result.stdout


@pytest.mark.parametrize("args, fragment", [
    (("gradcheck", "--dataset", "nowhere"), "unknown data set 'nowhere'"),
    (("gradcheck", "--loss", "hinge"), "invalid choice: 'hinge'"),
    (("gradcheck", "--samples", "-3"), "must be a whole number from 0"),
    (("gradcheck", "--lam", "-1"), "lambda must be a number in [0, 1e+06]"),
    (("gradcheck", "--lam", "nan"), "expected a finite number"),
    (("gradcheck", "--h", "0"), "difference step h must be a number in (0"),
    (("gradcheck", "--dataset", "digits", "--subsample", "5"), "subsample does not apply"),
    (("frobnicate",), "invalid choice: 'frobnicate'"),
    # a mistyped option: once "hillwalk: error: hillwalk: unrecognized arguments" and the top-level help
    (("render", "--datset", "digits", "--out", "x.npz"),
     "hillwalk: error: unrecognized arguments: --datset digits; --datset: did you mean --dataset? "
     "(see hillwalk render --help)"),
    (("render", "--datset=iris", "--out", "x.npz"), "--datset: did you mean --dataset? (see hillwalk render --help)"),
    (("gradcheck", "--samples=x"), "hillwalk: error: argument --samples: "),
])
def test_user_errors_print_one_line_and_exit_2(args, fragment):
    result = run(*args)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args, fragment", [
    (("trace", "--dataset", "iris", "--loss", "svm"),
     "--dataset, --loss: for a classifier on data, but --objective is rosenbrock (the default), a 2-D function; "
     "add --objective classifier (or leave them out)"),
    (("trace", "--objective", "beale", "--model", "net"), "--model: for a classifier on data, but --objective is beale"),
    (("trace", "--objective", "rosenbrock", "--condition", "50"), "--condition: for the quadratic only"),
    (("trace", "--objective", "classifier", "--angle", "10"), "--angle: for the quadratic only"),
    (("gradcheck", "--delta", "2"), "--delta: the SVM's margin, but the loss is softmax; add --loss svm"),
    (("gradcheck", "--beta", "2"), "--beta: the elastic net's L2 weight, but the regularizer is l2; add --reg elastic"),
    (("render", "--coords", "1", "2", "3", "4"), "--coords: the weights of --directions coords"),
    (("render", "--cut", "--brange", "-1", "1"), "--brange: the second direction's range, but --cut draws one"),
    (("render", "--directions", "interpolate", "--brange", "-1", "1"),
     "--brange: the second direction's range, but --directions interpolate draws one"),
    (("render", "--center", "init", "--train-steps", "50"), "--train-steps: how long the centre is trained"),
    (("hessian", "--dataset", "iris", "--at", "init", "--train-steps", "50"),
     "--train-steps: how long the weights are trained, but --at init"),
    # an activation's own options with another activation
    (("gradcheck", "--model", "net", "--slope", "0.2"),
     "--slope: an option of --activation leaky_relu, but the activation is relu; add --activation leaky_relu"),
    (("gradcheck", "--model", "net", "--activation", "tanh", "--pieces", "3"),
     "--pieces: an option of --activation maxout, but the activation is tanh; add --activation maxout"),
    (("render", "--model", "net", "--activation", "maxout", "--slope", "0.2"), "--slope: an option of --activation"),
    # a schedule's own options with another schedule
    (("babysit", "--dataset", "iris", "--gamma", "0.3"),
     "--gamma: step decay's options, but the schedule is constant; add --schedule step"),
    (("babysit", "--dataset", "iris", "--schedule", "exp", "--every", "3"), "--every: step decay's options"),
    (("babysit", "--dataset", "iris", "--schedule", "step", "--k", "0.3"),
     "--k: the exp and inv schedules' rate, but the schedule is step; add --schedule exp or inv"),
    (("trace", "--gamma", "0.3"), "--gamma: step decay's options, but the schedule is constant"),
    # what the search draws itself
    (("search", "--dataset", "iris", "--lam", "0.1"), "--lam: the search draws lambda from its range, --reg LOW HIGH"),
    (("search", "--dataset", "iris", "--regularizer", "none"),
     "--regularizer none: the search draws lambda, the regularizer's strength"),
])
def test_an_option_that_means_nothing_for_what_was_asked_is_refused(tmp_path, args, fragment):
    """Not silently ignored: one line naming the options, and the way out, before any work."""
    out = tmp_path / ("out.npz" if args[0] in ("render", "hessian") else "out.json" if args[0] == "babysit" else
                      "out.csv")
    result = run(*args, *(("--out", str(out)) if args[0] in ("render", "trace", "hessian", "babysit", "search")
                          else ()))
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr
    assert not out.exists()


def test_options_that_apply_are_taken(tmp_path):
    """The refusals above leave the options that apply alone: an activation's and a
    schedule's own options with it."""
    for args in (("gradcheck", "--dataset", "iris", "--model", "net", "--hidden", "4", "--activation", "leaky_relu",
                  "--slope", "0.2", "--samples", "5"),
                 ("gradcheck", "--dataset", "iris", "--model", "net", "--hidden", "4", "--activation", "maxout",
                  "--pieces", "3", "--samples", "5"),
                 ("trace", "--schedule", "step", "--gamma", "0.3", "--every", "5", "--steps", "5", "--out",
                  str(tmp_path / "step.csv")),
                 ("trace", "--schedule", "inv", "--k", "0.3", "--steps", "5", "--out", str(tmp_path / "inv.csv"))):
        result = run(*args)
        assert result.returncode == 0, result.stdout + result.stderr


def test_a_function_sessions_race_refuses_network_options(tmp_path):
    """`race --session 05-ravine --model net`: the function would be raced as it is, the
    network options silently unused; refused instead."""
    result = run("race", "--session", str(ROOT / "resources" / "presets" / "05-ravine.hillwalk.json"), "--model",
                 "net", "--hidden", "32", "--out", str(tmp_path / "r.gif"))
    assert result.returncode == 2 and not (tmp_path / "r.gif").exists()
    assert "--model, --hidden: options of a network, but the session's objective is the 2-D function quadratic" \
        in result.stderr


def test_classifier_options_are_every_data_and_model_option_of_trace():
    """The list trace refuses with a 2-D function is the options of its data-and-model and
    network groups (a new option added there would otherwise be silently ignored)."""
    from hillwalk.main import CLASSIFIER_OPTIONS, build_parser

    trace = build_parser().parse_args(["trace", "--out", "x.csv"]).command_parser
    groups = [group for group in trace._action_groups if group.title in ("data and model", "network (--model net)")]
    dests = {action.dest for group in groups for action in group._group_actions} - {"seed"}
    assert set(CLASSIFIER_OPTIONS) == dests | {"init_scale"}


def test_the_options_that_apply_still_run(tmp_path):
    """The same options where they mean something (and a default typed again) are taken."""
    for args in (("trace", "--objective", "quadratic", "--condition", "50", "--steps", "3"),
                 ("trace", "--objective", "classifier", "--dataset", "iris", "--loss", "svm", "--delta", "2",
                  "--steps", "3"),
                 ("trace", "--objective", "rosenbrock", "--dataset", "digits", "--steps", "3"),
                 ("render", "--dataset", "iris", "--grid", "5", "--reg", "elastic", "--beta", "2",
                  "--directions", "coords", "--coords", "0", "1", "2", "1", "--train-steps", "20"),
                 # the interpolation trains a centre to reach, whatever --center says
                 ("render", "--dataset", "iris", "--grid", "5", "--center", "init", "--directions", "interpolate",
                  "--train-steps", "50")):
        out = tmp_path / ("out.npz" if args[0] == "render" else "out.csv")
        result = run(*args, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert out.exists()


def test_malformed_csv_is_a_user_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("1,2,0\n3,4\n")
    result = run("gradcheck", "--dataset", str(path))
    assert result.returncode == 2 and "line 2 has 2 fields" in result.stderr


@pytest.mark.parametrize("unbuffered", [True, False])
def test_a_reader_that_stops_reading_ends_the_command_quietly(tmp_path, unbuffered):
    """`hillwalk render ... | head -0`: the output's reader goes away; the command stops with
    the status a shell gives a process ended by SIGPIPE (141), not an "internal error"
    (buffered, the write fails only when the output is flushed, at the end)."""
    command = [sys.executable, str(ROOT / "main.py"), "render", "--dataset", "iris", "--grid", "5",
               "--out", str(tmp_path / "slice.npz")]
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if unbuffered:
        environment["PYTHONUNBUFFERED"] = "1"
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=ROOT, env=environment)
    process.stdout.close()   # the reader is gone before the command writes its report
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 141, stderr
    assert stderr == b""
    assert (tmp_path / "slice.npz").exists()   # the work was done; only its report had no reader


def test_a_race_refuses_an_activation_option_its_network_does_not_use(tmp_path):
    """race --model net --slope: the session's (and the default) activation is ReLU, which
    has no negative slope; refused before anything is computed."""
    result = run("race", "--model", "net", "--slope", "0.2", "--out", str(tmp_path / "r.gif"))
    assert result.returncode == 2 and not (tmp_path / "r.gif").exists()
    assert "--slope: an option of --activation leaky_relu, but the activation is relu" in result.stderr


def test_a_race_over_a_sessions_methods_refuses_schedule_options_its_schedules_do_not_use(tmp_path):
    """Without --optimizer, race sets the session's methods' settings: --gamma on constant
    schedules did nothing, silently. With --schedule step it applies."""
    out = tmp_path / "r.gif"
    result = run("race", "--gamma", "0.3", "--out", str(out))
    assert result.returncode == 2 and not out.exists()
    assert "--gamma: step decay's option, but the session's schedule is constant; add --schedule step" in result.stderr
    result = run("race", "--k", "0.3", "--out", str(out))
    assert result.returncode == 2 and "--k: the exp and inv schedules' option" in result.stderr


def test_a_functions_session_ignores_a_centre_regularization_record(tmp_path):
    """A 2-D function has no regularization: a hand-edited slice.center_regularization was
    an internal error ('Rosenbrock' object has no attribute 'train'); it changes nothing."""
    data = json.loads((ROOT / "resources" / "presets" / "06-rosenbrock.hillwalk.json").read_text())
    data["slice"]["center_regularization"] = {"regularizer": "l2", "lam": 0.1, "beta": 1.0,
                                              "regularize_bias": False}
    data["version"] = 5
    path = tmp_path / "f.hillwalk.json"
    path.write_text(json.dumps(data))
    out = tmp_path / "f.npz"
    result = run("render", "--session", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr


def test_render_of_a_session_centred_on_a_point_draws_and_names_that_centre(tmp_path):
    """`render --session` centres on the session's slice.center_point (a method's position
    the app centred on) and says so; the slice's middle value is the loss there."""
    import numpy as np

    from hillwalk.core import experiment
    from hillwalk.core.io.session import Session
    from hillwalk.core.landscapes.slices import CenterPoint, SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec

    problem = ClassifierSpec(dataset="iris")
    objective = experiment.build_objective(problem)
    theta = objective.initial_theta(0.3, 5)
    path = tmp_path / "point.hillwalk.json"
    Session(problem, SliceSpec(grid=11, train_steps=20,
                               center_point=CenterPoint.of("Adam, lr 0.03 at step 12", theta, 0))).save(path)
    out = tmp_path / "p.npz"
    result = run("render", "--session", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "centre Adam, lr 0.03 at step 12 (loss" in result.stdout
    with np.load(out) as data:
        assert data["loss"][5, 5] == pytest.approx(objective.loss(theta), rel=1e-12)
