"""Deep networks in the spec, sessions, slices and the command line (issue 14): the fields
of ClassifierSpec and SliceSpec, their validation, old sessions' numbers bit for bit, the
slice modes of batch norm and dropout, and the subcommands' options."""
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hillwalk.core import experiment
from hillwalk.core.errors import HillwalkError
from hillwalk.core.io.session import SCHEMA_VERSION, Session
from hillwalk.core.labs.lessons import unregularized_copy
from hillwalk.core.landscapes.landscape import compute_slice
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.limits import RANGES
from hillwalk.core.models.network import Network, TwoLayerNet
from hillwalk.core.models.problem import ACTIVATIONS, INIT_SCHEMES, ClassifierSpec

ROOT = Path(__file__).resolve().parents[2]

# a small deep problem every test can afford
DEEP = dict(dataset="iris", model="net", hidden=(8, 8), activation="tanh", init="xavier", seed=2)
SMALL_SLICE = dict(center="trained", train_steps=10, grid=5, seed=2)


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=600)


def digest(values):
    return hashlib.sha256(np.ascontiguousarray(values, dtype=np.float64).tobytes()).hexdigest()


# --------------------------------------------------------------------------- the spec's fields

def test_hidden_is_normalized_to_a_tuple_of_ints():
    assert ClassifierSpec(hidden=64) == ClassifierSpec(hidden=(64,)) == ClassifierSpec(hidden=[64])
    assert ClassifierSpec(hidden=np.int64(64)).hidden == (64,)
    assert ClassifierSpec(hidden=[100, 100]).hidden == (100, 100)
    assert all(type(w) is int for w in ClassifierSpec(hidden=(np.int32(3), 5.0)).hidden)
    data = ClassifierSpec(hidden=(100, 50)).to_dict()
    assert data["hidden"] == [100, 50] and json.loads(json.dumps(data))["hidden"] == [100, 50]
    assert ClassifierSpec().hidden == (64,)


def test_new_fields_and_choices():
    spec = ClassifierSpec()
    assert (spec.batchnorm, spec.keep_prob, spec.residual, spec.pieces) == (False, 1.0, False, 2)
    assert "maxout" in ACTIVATIONS and set(INIT_SCHEMES) == {"zero", "small", "large", "xavier", "he"}
    assert (SliceSpec().bn_mode, SliceSpec().dropout_mode) == ("eval", "off")
    assert SliceSpec(dropout_mode="mean:08").dropout_mode == "mean:8"  # one spelling per mode
    for name in ("problem.depth", "problem.hidden", "problem.keep_prob", "problem.pieces", "slice.dropout_masks"):
        assert name in RANGES


@pytest.mark.parametrize("settings, message", [
    (dict(hidden=()), "number of hidden layers must be a whole number from 1 to 64, got 0"),
    (dict(hidden=(4,) * 65), "number of hidden layers must be a whole number from 1 to 64, got 65"),
    (dict(hidden=(16, 0)), "hidden size (units per layer) must be a whole number from 1 to 4096, got 0"),
    (dict(hidden=(16, 5000)), "from 1 to 4096, got 5000"),
    (dict(hidden=(16, 2.5)), "from 1 to 4096, got 2.5"),
    (dict(hidden=(16, True)), "got True"),
    (dict(hidden="64"), "a width or a list of widths"),
    (dict(hidden=None), "a width or a list of widths"),
    (dict(keep_prob=0.0), "keep probability p must be a number in (0, 1], got 0.0"),
    (dict(keep_prob=1.5), "keep probability p must be a number in (0, 1]"),
    (dict(keep_prob=float("nan")), "keep probability p"),
    (dict(pieces=1), "pieces per unit k must be a whole number from 2 to 8, got 1"),
    (dict(pieces=9), "from 2 to 8, got 9"),
    (dict(residual=True), "skip connections need at least two hidden layers"),
    (dict(residual=True, hidden=(16, 8, 4)), "two consecutive ones of equal width"),
    (dict(batchnorm=1), "batchnorm must be true or false"),
    (dict(activation="swish"), "unknown activation 'swish'"),
    (dict(init="huge"), "unknown initialization 'huge'"),
])
def test_bad_network_settings_are_one_clear_error(settings, message):
    with pytest.raises(HillwalkError) as caught:
        ClassifierSpec(**settings)
    assert message in str(caught.value)


@pytest.mark.parametrize("settings, message", [
    (dict(bn_mode="test"), "unknown batch-norm mode of the slice 'test'"),
    (dict(dropout_mode="on"), "choose off, fixed or mean:K"),
    (dict(dropout_mode="mean:1"), "mean:K must be a whole number from 2 to 100, got 1"),
    (dict(dropout_mode="mean:101"), "from 2 to 100, got 101"),
    (dict(dropout_mode="mean:"), "e.g. mean:8"),
    (dict(dropout_mode="mean:-3"), "e.g. mean:8"),
    (dict(dropout_mode=3), "off, fixed or mean:K"),
])
def test_bad_slice_modes_are_one_clear_error(settings, message):
    with pytest.raises(HillwalkError) as caught:
        SliceSpec(**settings)
    assert message in str(caught.value)


def test_residual_accepts_any_two_equal_consecutive_widths():
    assert ClassifierSpec(hidden=(16, 8, 8), residual=True).residual


# --------------------------------------------------------------------------- model_on

def test_model_on_builds_the_two_layer_net_for_the_plain_case_and_a_network_otherwise():
    plain = ClassifierSpec(dataset="iris", model="net", hidden=16).build()
    assert type(plain) is TwoLayerNet and plain.hidden == 16
    for change in (dict(hidden=(16, 16)), dict(batchnorm=True), dict(keep_prob=0.5), dict(activation="maxout"),
                   dict(hidden=(16, 16), residual=True), dict(init="zero"), dict(init="large")):
        net = ClassifierSpec(**{"dataset": "iris", "model": "net", "hidden": 16, **change}).build()
        assert type(net) is Network, change
    net = ClassifierSpec(dataset="iris", model="net", hidden=(8, 8), batchnorm=True, keep_prob=0.7, residual=True,
                         activation="maxout", pieces=3, init="large", seed=5).build()
    assert (net.widths, net.batchnorm, net.keep_prob, net.residual, net.pieces, net.init) == \
        ((8, 8), True, 0.7, True, 3, "large")
    # runs train in training mode with fresh masks per step drawn from the problem's seed
    assert (net.bn_mode, net.dropout_mode, net.mask_seed, net.has_step_noise) == ("train", "fresh", 5, True)


def test_the_memory_check_uses_the_deep_pass_estimate():
    with pytest.raises(HillwalkError, match="8 x 4096-unit network .* over the"):
        ClassifierSpec(dataset="digits", model="net", hidden=(4096,) * 8, batchnorm=True).build()


def test_unregularized_copy_keeps_every_setting_of_a_deep_network():
    spec = ClassifierSpec(**{**DEEP, "hidden": (6, 6), "activation": "maxout"}, batchnorm=True, keep_prob=0.6,
                          residual=True, pieces=3, lam=0.5)
    net = spec.build()
    copy = unregularized_copy(net, net.train)
    assert type(copy) is Network and not copy.regularizer.active
    for name in ("widths", "activation", "init", "pieces", "batchnorm", "keep_prob", "residual", "bn_mode",
                 "dropout_mode", "mask_seed", "residual_blocks"):
        assert getattr(copy, name) == getattr(net, name), name
    theta = net.initial_theta(seed=1)
    # the same function without the penalty: the same data loss, bit for bit
    assert copy.loss(theta) == net.components(theta)["data"]
    plain = ClassifierSpec(dataset="iris", model="net", hidden=7, lam=0.5).build()
    assert type(unregularized_copy(plain, plain.train)) is TwoLayerNet


# --------------------------------------------------------------------------- sessions

# A version-2 session (written before deep networks): "hidden" is an int.
VERSION_2 = {"format": "hillwalk-session", "version": 2, "title": "two-layer net, saved before deep networks",
             "problem": {"dataset": "iris", "model": "net", "hidden": 64, "activation": "tanh", "init": "xavier",
                         "lam": 0.01, "seed": 3},
             "slice": {"center": "trained", "train_steps": 25, "directions": "filter", "grid": 7, "seed": 3,
                       "alpha_range": [-0.5, 0.5], "beta_range": [-0.5, 0.5]}}
# Recorded with Hillwalk at 8140d27, before this change (sha256 of the float64 slice values).
VERSION_2_DIGEST = "7dd923aa0aac6ea16e5f2d9e08b117888630128025b545f69d8d94b698862bf6"


def test_a_version_2_session_with_an_int_hidden_reproduces_its_slice_bit_for_bit(tmp_path):
    path = tmp_path / "old.hillwalk.json"
    path.write_text(json.dumps(VERSION_2))
    session = Session.load(path)
    assert session.problem.hidden == (64,) and session.slice.bn_mode == "eval"
    objective = experiment.build_objective(session.problem)
    assert type(objective) is TwoLayerNet
    plane = experiment.build_plane(objective, session.slice)
    spec = session.slice
    # the generic path, which evaluated it then, reproduces it bit for bit; the exact fast
    # path that now draws networks (issue 17) rounds the first layer differently
    generic = sum(compute_slice(objective, plane, spec.alpha_axis(), spec.beta_axis(), part, method="generic").values
                  for part in ("data", "reg"))   # the total is drawn as data + regularization
    assert digest(generic) == VERSION_2_DIGEST
    values = experiment.compute_landscape(objective, plane, session.slice).values
    np.testing.assert_allclose(values, generic, rtol=1e-13)
    assert values[3, 3] == pytest.approx(0.49850008032316684, rel=1e-14)
    assert values[0, 6] == pytest.approx(0.7641312891042837, rel=1e-14)
    assert "modes" not in plane.info  # no batch norm or dropout: nothing to state


def test_a_deep_session_round_trips_and_newer_versions_are_refused(tmp_path):
    session = Session(problem=ClassifierSpec(**DEEP, batchnorm=True, keep_prob=0.8, residual=True),
                      slice=SliceSpec(**SMALL_SLICE, bn_mode="train", dropout_mode="mean:3"))
    path = session.save(tmp_path / "deep.hillwalk.json")
    data = json.loads(path.read_text())
    assert data["version"] == SCHEMA_VERSION == 6 and data["problem"]["hidden"] == [8, 8]
    assert data["slice"]["dropout_mode"] == "mean:3"
    again = Session.load(path)
    assert again.problem == session.problem and again.slice == session.slice
    data["version"] = SCHEMA_VERSION + 1
    with pytest.raises(HillwalkError, match="newer Hillwalk"):
        Session.from_dict(data)
    for bad, message in (([8, "8"], "list of whole numbers"), ([8, 8.5], "list of whole numbers"),
                         (True, "list of whole numbers"), ([], "number of hidden layers")):
        broken = json.loads(path.read_text())
        broken["problem"]["hidden"] = bad
        with pytest.raises(HillwalkError, match=message):
            Session.from_dict(broken)


# --------------------------------------------------------------------------- slices in modes

def scene(problem, slice_spec):
    objective = experiment.build_objective(problem)
    plane = experiment.build_plane(objective, slice_spec)
    return objective, plane, experiment.compute_landscape(objective, plane, slice_spec)


def test_a_batch_norm_slice_in_eval_mode_uses_the_centres_running_statistics():
    problem = ClassifierSpec(**DEEP, batchnorm=True)
    objective, plane, landscape = scene(problem, SliceSpec(**SMALL_SLICE))
    assert plane.info["bn_mode"] == "eval" and "running statistics" in plane.info["modes"]
    assert landscape.plane.info["bn_mode"] == "eval"
    # the reference: evaluation mode with the statistics of the full training data at the centre
    reference = objective.with_modes(bn_mode="eval", running_stats=objective.estimate_running_stats(plane.center))
    grid = landscape.alphas
    expected = [[reference.loss(plane.point(a, b)) for a in grid] for b in landscape.betas]
    np.testing.assert_allclose(landscape.values, expected, rtol=1e-12)
    assert plane.info["center_loss"] == pytest.approx(reference.loss(plane.center), rel=1e-12)
    assert plane.info["train_center_loss"] == pytest.approx(objective.loss(plane.center), rel=1e-12)
    # deterministic: the same slice again
    assert np.array_equal(scene(problem, SliceSpec(**SMALL_SLICE))[2].values, landscape.values)


def test_a_batch_norm_slice_in_train_mode_differs_and_is_the_training_loss():
    problem = ClassifierSpec(**DEEP, batchnorm=True)
    objective, plane, evaluation = scene(problem, SliceSpec(**SMALL_SLICE))
    _, plane_t, training = scene(problem, SliceSpec(**SMALL_SLICE, bn_mode="train"))
    assert plane_t.info["bn_mode"] == "train" and "batch statistics" in plane_t.info["modes"]
    assert not np.allclose(evaluation.values, training.values)
    # at the centre both modes agree: the running statistics are the centre's own
    middle = len(evaluation.alphas) // 2
    assert evaluation.values[middle, middle] == pytest.approx(training.values[middle, middle], rel=1e-10)
    expected = [[objective.loss(plane_t.point(a, b)) for a in training.alphas] for b in training.betas]
    np.testing.assert_allclose(training.values, expected, rtol=1e-12)


def test_dropout_slices_off_fixed_and_mean():
    problem = ClassifierSpec(**DEEP, keep_prob=0.6)
    objective, plane, off = scene(problem, SliceSpec(**SMALL_SLICE))
    assert plane.info["dropout_mode"] == "off" and "dropout: off" in plane.info["modes"]
    evaluation = objective.with_modes(dropout_mode="off")
    np.testing.assert_allclose(off.values, [[evaluation.loss(plane.point(a, b)) for a in off.alphas]
                                            for b in off.betas], rtol=1e-12)
    _, plane_f, fixed = scene(problem, SliceSpec(**SMALL_SLICE, dropout_mode="fixed"))
    assert "one fixed mask (seed 2)" in plane_f.info["modes"] and plane_f.info["mask_seed"] == 2
    # "fixed" is the function the runs train on: the objective's own mask
    np.testing.assert_allclose(fixed.values, [[objective.loss(plane_f.point(a, b)) for a in fixed.alphas]
                                              for b in fixed.betas], rtol=1e-12)
    _, plane_m, mean = scene(problem, SliceSpec(**SMALL_SLICE, dropout_mode="mean:3"))
    assert "mean over 3 masks" in plane_m.info["modes"]
    assert not np.allclose(off.values, fixed.values) and not np.allclose(fixed.values, mean.values)


def test_the_cut_through_a_slice_uses_the_slices_modes():
    problem = ClassifierSpec(**DEEP, batchnorm=True, keep_prob=0.7)
    spec = SliceSpec(**SMALL_SLICE, bn_mode="eval", dropout_mode="fixed")
    objective, plane, landscape = scene(problem, spec)
    geometry = experiment.cut_geometry(spec, "angle", 0.0, None)
    cut = experiment.compute_cut(objective, plane, spec, geometry)
    assert cut.plane.info["bn_mode"] == "eval" and cut.plane.info["dropout_mode"] == "fixed"
    sliced = spec.objective_in_modes(objective, plane.center)
    expected = [sliced.loss(cut.plane.point(s)) for s in cut.alphas]
    np.testing.assert_allclose(cut.values, expected, rtol=1e-12)
    # the cut along a through the centre meets the slice's middle row
    middle = len(landscape.betas) // 2
    assert cut.values[len(cut.alphas) // 2] == pytest.approx(landscape.values[middle, len(landscape.alphas) // 2],
                                                            rel=1e-10)


def test_modes_change_nothing_for_a_network_without_batch_norm_or_dropout():
    problem = ClassifierSpec(**DEEP)
    _, plane, one = scene(problem, SliceSpec(**SMALL_SLICE))
    _, _, other = scene(problem, SliceSpec(**SMALL_SLICE, bn_mode="train", dropout_mode="mean:4"))
    assert np.array_equal(one.values, other.values) and "modes" not in plane.info


# --------------------------------------------------------------------------- command line

def test_gradcheck_of_a_deep_bn_dropout_residual_network_passes_below_1e_7_and_says_its_modes():
    result = run("gradcheck", "--model", "net", "--hidden", "16,16", "--batchnorm", "--dropout", "0.8",
                 "--residual", "--dataset", "iris", "--samples", "0", "--threshold", "1e-7")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "16-16 relu units, batch norm, skip connections, dropout p = 0.8" in out
    assert "gamma1 16, beta1 16" in out
    assert "batch norm: checked in training mode" in out
    assert "one fixed mask drawn from seed 0" in out
    assert out.strip().splitlines()[-1].endswith("PASS")


def test_gradcheck_of_maxout_passes_below_1e_7():
    result = run("gradcheck", "--model", "net", "--hidden", "8,8", "--activation", "maxout", "--pieces", "3",
                 "--dataset", "iris", "--samples", "0", "--threshold", "1e-7", "--seed", "4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "8-8 maxout (3 pieces) units" in result.stdout and "W1 3 x 4 x 8" in result.stdout
    assert "dropout" not in result.stdout and "batch norm" not in result.stdout
    assert result.stdout.strip().endswith("PASS")


def test_render_of_a_bn_network_in_eval_and_train_modes_differ_and_record_the_mode(tmp_path):
    common = ("render", "--model", "net", "--hidden", "8,8", "--batchnorm", "--dataset", "iris", "--grid", "7",
              "--train-steps", "20")
    values, metas = {}, {}
    for mode in ("eval", "train"):
        out = tmp_path / f"{mode}.npz"
        result = run(*common, "--bn-mode", mode, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert f"modes: batch norm: {mode}" in result.stdout
        with np.load(out) as archive:
            values[mode], metas[mode] = archive["loss"], json.loads(str(archive["meta"]))
    assert not np.allclose(values["eval"], values["train"])
    for mode, meta in metas.items():
        assert meta["settings"]["slice"]["bn_mode"] == mode
        assert meta["landscape"]["plane"]["bn_mode"] == mode
        assert meta["objective"]["batchnorm"] is True and meta["objective"]["hidden"] == [8, 8]
        assert meta["settings"]["problem"]["hidden"] == [8, 8]


def test_render_of_a_dropout_network_writes_its_dropout_mode(tmp_path):
    out = tmp_path / "d.csv"
    result = run("render", "--model", "net", "--hidden", "8", "--dropout", "0.5", "--dataset", "iris", "--grid",
                 "5", "--train-steps", "5", "--dropout-mode", "mean:4", "--cut", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "dropout: mean over 4 masks" in result.stdout
    assert len(out.read_text().splitlines()) == 1 + 5


def test_trace_of_a_bn_dropout_network_says_how_runs_train(tmp_path):
    result = run("trace", "--objective", "classifier", "--model", "net", "--hidden", "8,8", "--batchnorm",
                 "--dropout", "0.5", "--dataset", "iris", "--steps", "5", "--lr", "0.1", "--out",
                 str(tmp_path / "t.csv"))
    assert result.returncode == 0, result.stderr
    assert "batch norm in training mode" in result.stdout
    assert "fresh masks at every step" in result.stdout and "seed (0, t)" in result.stdout
    assert "dropout off (evaluation)" in result.stdout and "not offered" not in result.stdout


# Recorded with Hillwalk at 8140d27, before this change.
TWO_LAYER_GRADCHECK = """\
gradient check: spiral, 240 training examples, svm loss, l2 regularization (lambda 0.001)
network: 16 relu units; W1 2 x 16, b1 16, W2 16 x 3, b2 3 = 99 parameters at he initialization (seed 0); \
99 checked, centered differences, h = 1e-05
largest relative error by block (parameters compared): W1 5.31e-09 (32), b1 4.77e-10 (16), W2 2.50e-10 (48), \
b2 3.51e-11 (3)
relative error: median 5.92e-12, 90th percentile 7.88e-11, bands <1e-07: 99, 1e-07..0.0001: 0, \
0.0001..0.01: 0, >=0.01: 0
max relative error: 5.314e-09 (threshold 1e-06) -> PASS
"""
TWO_LAYER = ("--model", "net", "--hidden", "16", "--dataset", "spiral", "--preprocess", "standardize")


def test_the_two_layer_command_line_outputs_are_unchanged(tmp_path):
    # (the numbers as before deep networks; the per-block line came later, with its own numbers)
    result = run("gradcheck", *TWO_LAYER, "--loss", "svm", "--samples", "0")
    assert result.returncode == 0 and result.stdout == TWO_LAYER_GRADCHECK
    out = tmp_path / "r.npz"
    result = run("render", *TWO_LAYER, "--grid", "11", "--train-steps", "30", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"wrote {out}: slice of 11x11 points, total from 0.428592 to 4.76592, centre "
                                    "trained (loss 0.4286)")
    assert "modes" not in result.stdout
    with np.load(out) as archive:
        loss, center = archive["loss"], archive["center"]
        meta = json.loads(str(archive["meta"]))
    # the centre is trained point by point: bit for bit; the grid runs on every core
    # (BLAS may round a product differently across threads), so to a few ulp
    assert digest(center) == "bb0790c8b20d37c2fc151a88e8508a57a4adf38717b480a377c92e1d6fc3fa35"
    np.testing.assert_allclose([loss[5, 5], loss[0, 0], loss[10, 3], loss.sum()],
                               [0.42859195772718495, 4.765917079077868, 1.8602063000700408, 238.7391414978334],
                               rtol=1e-13)
    assert meta["objective"]["model"] == "net" and meta["objective"]["hidden"] == 16


def test_a_problems_title_names_its_loss_model_and_data():
    """Titles of figures and reports: "SVM" as an acronym, the network, a function's name
    (a function session keeps a classifier's fields, which the title must not show)."""
    from hillwalk.core.models.problem import ClassifierSpec

    assert ClassifierSpec(dataset="digits").title == "softmax on digits"
    assert ClassifierSpec(dataset="spiral", loss="svm", model="net", hidden=(16,)).title == \
        "SVM, 16-unit relu net, on spiral"
    assert ClassifierSpec(dataset="spiral", model="net", hidden=(16,)).network_title == "16-unit relu net"
    assert ClassifierSpec(objective="rosenbrock").title == "rosenbrock"
