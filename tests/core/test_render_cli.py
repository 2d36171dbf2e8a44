"""`main.py render`: files that parse back and reproduce the slice without Hillwalk."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@pytest.fixture(scope="module")
def softmax_npz(tmp_path_factory):
    out = tmp_path_factory.mktemp("render") / "s.npz"
    result = run("render", "--dataset", "digits", "--loss", "softmax", "--out", str(out), "--save-data",
                 "--grid", "21")
    assert result.returncode == 0, result.stderr
    return out


def test_npz_is_self_contained_and_reproducible_with_plain_numpy(softmax_npz):
    with np.load(softmax_npz) as archive:
        keys = set(archive.files)
        loss, alphas, betas = archive["loss"], archive["alphas"], archive["betas"]
        center, dir1, dir2, X, y = (archive[k] for k in ("center", "dir1", "dir2", "X", "y"))
        meta = json.loads(str(archive["meta"]))
    assert {"loss", "alphas", "betas", "center", "dir1", "dir2", "meta", "X", "y"} <= keys
    assert loss.shape == (21, 21) and center.shape == dir1.shape == dir2.shape == (10, 65)
    assert X.shape[1] == 65 and np.all(X[:, -1] == 1.0)  # the bias column is included
    assert meta["settings"]["problem"]["loss"] == "softmax"
    plane = meta["landscape"]["plane"]
    assert {"norm1", "norm2", "cosine"} <= set(plane)
    assert meta["objective"]["data"]["name"] == "digits" and meta["landscape"]["seconds"] > 0
    lam = meta["settings"]["problem"]["lam"]
    for j, i in [(0, 0), (10, 10), (20, 3)]:
        W = center + alphas[i] * dir1 + betas[j] * dir2
        scores = X @ W.T
        scores -= scores.max(axis=1, keepdims=True)
        data = np.mean(np.log(np.exp(scores).sum(axis=1)) - scores[np.arange(len(y)), y])
        assert loss[j, i] == pytest.approx(data + lam * np.sum(W[:, :-1] ** 2), rel=1e-10)


def test_csv_is_long_format(tmp_path):
    out = tmp_path / "s.csv"
    assert run("render", "--dataset", "iris", "--loss", "svm", "--grid", "7", "--out", str(out)).returncode == 0
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0] == ["a", "b", "loss"] and len(rows) == 1 + 49
    assert float(rows[1][0]) == -1.0 and float(rows[1][1]) == -1.0


def test_cut_csv_and_npz(tmp_path):
    out = tmp_path / "c.npz"
    assert run("render", "--dataset", "wine", "--cut", "--grid", "31", "--out", str(out)).returncode == 0
    with np.load(out) as archive:
        assert archive["loss"].shape == (31,) and archive["betas"].size == 0
    csv_out = tmp_path / "c.csv"
    assert run("render", "--dataset", "wine", "--cut", "--grid", "31", "--out", str(csv_out)).returncode == 0
    assert csv_out.read_text().splitlines()[0] == "a,loss"


@pytest.mark.parametrize("component, column", [("accuracy", "accuracy"), ("data", "data_loss"),
                                               ("reg", "reg_penalty"), ("example:3", "loss_example_3")])
def test_a_csv_names_its_values_by_the_component(tmp_path, component, column):
    """`--component accuracy`: the column says accuracy, not "loss"."""
    out = tmp_path / "c.csv"
    result = run("render", "--dataset", "iris", "--cut", "--grid", "5", "--component", component, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text().splitlines()[0] == f"a,{column}"


@pytest.mark.parametrize("directions", ["gaussian", "layer", "model", "gradient", "pca", "coords"])
def test_every_direction_kind_renders(tmp_path, directions):
    out = tmp_path / "s.npz"
    result = run("render", "--dataset", "iris", "--directions", directions, "--grid", "9", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "directions:" in result.stdout


def test_interpolation_line(tmp_path):
    out = tmp_path / "line.npz"
    result = run("render", "--dataset", "iris", "--directions", "interpolate", "--range", "-0.5", "1.5",
                 "--grid", "41", "--out", str(out))
    assert result.returncode == 0, result.stderr
    with np.load(out) as archive:
        loss, alphas = archive["loss"], archive["alphas"]
    assert loss.shape == (41,)
    assert loss[np.argmin(np.abs(alphas - 1.0))] < loss[np.argmin(np.abs(alphas))]  # trained beats initial


@pytest.mark.parametrize("args, fragment", [
    (("--grid", "0"), "grid size must be a whole number from 2"),
    (("--range", "1", "-1"), "must go from low to high"),
    (("--component", "bogus"), "unknown component 'bogus'"),
    (("--component", "example:99999"), "example index 99999 is out of range"),
    (("--out", "/tmp/x.gif"), "unknown output format .gif"),
    (("--out", "/no/such/dir/x.npz"), "no such folder"),
    (("--directions", "pca", "--center", "init"), "use a trained centre"),
    (("--save-data", "--out", "/tmp/x.csv"), "--save-data only applies to .npz"),
])
def test_bad_render_arguments_exit_2_with_one_line(args, fragment):
    base = ["render", "--dataset", "iris", "--out", "/tmp/hillwalk-test.npz"]
    if "--out" in args:
        base = base[:-2]
    result = run(*base, *args)
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], result.stderr


def test_a_pngs_axis_scales_come_from_the_option_else_the_session_else_auto(tmp_path):
    from hillwalk.core.io.session import Session, draws_equal_scales
    from hillwalk.core.landscapes.slices import SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec
    from hillwalk.main import build_parser, picture_view

    function_plane = SliceSpec().plane(ClassifierSpec(objective="quadratic").build())
    model_plane = SliceSpec(grid=5, train_steps=0).plane(ClassifierSpec(dataset="iris").build())
    parser = build_parser()

    def asked(plane, *options):
        view = picture_view(parser.parse_args(["render", "--out", str(tmp_path / "x.png"), *options]))
        return draws_equal_scales(view.axis_scales, plane)

    assert asked(function_plane) and not asked(model_plane)                       # auto
    assert not asked(function_plane, "--axis-scales", "fill") and asked(model_plane, "--axis-scales", "equal")
    session = Session.load(ROOT / "resources" / "presets" / "05-ravine.hillwalk.json")
    free = Session(problem=session.problem, slice=session.slice, race=session.race, optimizers=session.optimizers,
                   view={**session.view, "axis_scales": "fill"})
    path = free.save(tmp_path / "free.hillwalk.json")
    assert not asked(function_plane, "--session", str(path))
    assert asked(function_plane, "--session", str(path), "--axis-scales", "equal")   # the option wins


def test_an_unknown_axis_scales_option_is_refused_with_the_choices(tmp_path):
    result = run("render", "--dataset", "iris", "--out", str(tmp_path / "x.png"), "--axis-scales", "square")
    assert result.returncode == 2 and "--axis-scales" in result.stderr and "auto, equal, fill" in result.stderr.replace("'", "")


def test_a_session_picture_takes_the_sessions_view_and_the_options_given_on_top():
    """`render --session` drew the ravine preset linear with 10 contour lines, where the app
    (and the session) draw log10 with 14: its valley was a featureless blob."""
    from hillwalk.main import build_parser, picture_view

    parser = build_parser()
    preset = str(ROOT / "resources" / "presets" / "05-ravine.hillwalk.json")

    def view(*options):
        return picture_view(parser.parse_args(["render", "--out", "x.png", *options]))

    from_session = view("--session", preset)
    assert from_session.log_scale and from_session.contours == 14 and from_session.colormap == "CET-R4"
    mixed = view("--session", preset, "--color-scale", "linear", "--contours", "3")
    assert not mixed.log_scale and mixed.contours == 3
    plain = view()
    assert not plain.log_scale and plain.contours == 10 and plain.axis_scales == "auto"
