"""Session files: round trips that reproduce the same numbers, and every kind of bad file."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.io.session import SCHEMA_VERSION, OptimizerSetting, RaceSettings, Session
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.optimization.optimizers import OptimizerSpec, Schedule
from hillwalk.core.optimization.trajectory import Race

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def session():
    return Session(problem=ClassifierSpec(dataset="iris", loss="svm", regularizer="elastic", lam=0.01),
                   slice=SliceSpec(grid=21, directions="layer", orthogonalize=True, seed=3),
                   race=RaceSettings(steps=40, seed=2, start=(0.3, -0.2), in_plane=False),  # the full model
                   optimizers=[OptimizerSetting(OptimizerSpec("adam", lr=0.01, batch_size=16), "#E69F00"),
                               OptimizerSetting(OptimizerSpec("sgd", lr=0.05, momentum=0.5, batch_size=16,
                                                              schedule=Schedule("step", 0.5, 10)), "#0072B2",
                                                False)],
                   view={"colormap": "viridis", "log_scale": True}, title="test scene")


def compute(session):
    objective = session.problem.build()
    plane = session.slice.plane(objective)
    landscape = session.slice.compute(objective, plane)
    specs = [o.spec for o in session.optimizers if o.enabled]
    paths = Race(objective, specs, plane.point(*session.race.start), session.race.steps,
                 session.race.seed).run_to_end()
    return landscape.values, [p.thetas for p in paths]


def test_round_trip_reproduces_the_same_slice_and_paths(session, tmp_path):
    path = session.save(tmp_path / "scene.hillwalk.json")
    loaded = Session.load(path)
    assert loaded.to_dict() == session.to_dict()
    assert loaded.optimizers[1].spec.schedule == Schedule("step", 0.5, 10) and not loaded.optimizers[1].enabled
    values_a, paths_a = compute(session)
    values_b, paths_b = compute(loaded)
    np.testing.assert_array_equal(values_a, values_b)
    for a, b in zip(paths_a, paths_b):
        np.testing.assert_array_equal(a, b)


def write(tmp_path, content):
    path = tmp_path / "bad.hillwalk.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


def valid(session):
    return json.loads(json.dumps(session.to_dict()))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(version=SCHEMA_VERSION + 1), "written by a newer Hillwalk"),
    (lambda d: d.update(format="something-else"), "not a Hillwalk session"),
    (lambda d: d.update(version="1"), "'version' must be a whole number"),
    (lambda d: d["problem"].update(lam="a lot"), "problem.lam must be a finite number"),
    (lambda d: d["problem"].update(lam=-1.0), "lambda must be a number in"),
    (lambda d: d["problem"].update(color="red"), "problem: unknown field\\(s\\) color"),
    (lambda d: d["slice"].update(grid=1), "grid size must be a whole number from 2"),
    (lambda d: d["slice"].update(grid=10.5), "slice.grid must be a whole number"),
    (lambda d: d["slice"].update(directions="sideways"), "unknown directions 'sideways'"),
    (lambda d: d["race"].update(start=[1.0]), "start must be two numbers"),
    (lambda d: d["optimizers"][0]["spec"].update(lr=-0.1), "learning rate must be a number in"),
    (lambda d: d["optimizers"][0]["spec"]["schedule"].update(kind="weekly"), "unknown schedule 'weekly'"),
    (lambda d: d["optimizers"][0].update(enabled="yes"), "enabled must be true or false"),
    (lambda d: d.update(optimizers={"a": 1}), "'optimizers' must be a list"),
    (lambda d: d.update(view=[]), "'view' must be an object"),
    (lambda d: d.update(extra=1), "unknown field\\(s\\) extra"),
    (lambda d: d["slice"].update(center_regularization=0.1), "center_regularization must be an object"),
    (lambda d: d["slice"].update(center_regularization={"lam": 0.1}), "must have exactly regularizer, lam, beta"),
    (lambda d: d["slice"].update(center_regularization={"regularizer": "l2", "lam": -1, "beta": 1.0,
                                                        "regularize_bias": False}), "lambda must be a number in"),
    (lambda d: d["slice"].update(center_regularization={"regularizer": "l3", "lam": 0.1, "beta": 1.0,
                                                        "regularize_bias": False}), "unknown regularizer 'l3'"),
    (lambda d: d["slice"].update(center_point=[1.0, 2.0]), "center_point must be an object"),
    (lambda d: d["slice"].update(center_point={"label": "x", "size": 2}), "center_point must have label, size, "
                                                                          "values .* missing: values"),
    (lambda d: d["slice"].update(center_point={"label": "x", "size": 2, "values": "AAAA", "seed": 1}),
     "unknown: seed"),
    (lambda d: d["slice"].update(center_point={"label": "x", "size": 2, "values": "not base64!"}),
     "slice.center_point: the centre point's values are not base64"),
    (lambda d: d["slice"].update(center_point={"label": "x", "size": 3, "values": "AAAAAAAAAAAAAAAAAAAAAA=="}),
     "hold 2 numbers, not its size 3"),
    (lambda d: d["slice"].update(center_point={"label": "x", "size": 1, "values": "AAAAAAAA+H8="}),
     "NaN or infinite"),
    (lambda d: d["slice"].update(center_point={"label": "x", "size": 0, "values": ""}), "size must be a whole number"),
    (lambda d: d["slice"].update(center_point={"label": "x", "size": 1, "values": "AAAAAAAAAAA=", "method": -1}),
     "method must be an optimizer's index"),
])
def test_hand_edited_invalid_sessions_are_refused_with_the_field_named(session, tmp_path, mutate, message):
    data = valid(session)
    mutate(data)
    with pytest.raises(HillwalkError, match=message):
        Session.load(write(tmp_path, data))


def test_corrupt_truncated_empty_and_missing_files(session, tmp_path):
    text = json.dumps(session.to_dict(), indent=2)
    with pytest.raises(HillwalkError, match="not valid JSON .*truncated"):
        Session.load(write(tmp_path, text[: len(text) // 2]))
    with pytest.raises(HillwalkError, match="not valid JSON"):
        Session.load(write(tmp_path, "{this is not json"))
    with pytest.raises(HillwalkError, match="the session file is empty"):
        Session.load(write(tmp_path, "  \n"))
    with pytest.raises(HillwalkError, match="no such session file"):
        Session.load(tmp_path / "absent.hillwalk.json")
    with pytest.raises(HillwalkError, match="a session is a JSON object"):
        Session.load(write(tmp_path, "[1, 2]"))
    binary = tmp_path / "binary.hillwalk.json"
    binary.write_bytes(bytes(range(256)))
    with pytest.raises(HillwalkError, match="not a text file"):
        Session.load(binary)


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "main.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


def test_render_and_trace_take_a_session(session, tmp_path):
    path = session.save(tmp_path / "scene.hillwalk.json")
    out = tmp_path / "slice.npz"
    result = run("render", "--session", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    values, paths = compute(session)
    with np.load(out) as archive:
        np.testing.assert_array_equal(archive["loss"], values)
    trace_out = tmp_path / "race.npz"
    result = run("trace", "--session", str(path), "--out", str(trace_out))
    assert result.returncode == 0, result.stderr
    with np.load(trace_out) as archive:
        np.testing.assert_array_equal(archive["theta"], paths[0])  # one enabled optimizer


def test_a_bad_session_on_the_command_line_exits_2(tmp_path):
    path = write(tmp_path, '{"format": "hillwalk-session", "version": 99}')
    for command in (["render", "--session", str(path), "--out", str(tmp_path / "x.npz")],
                    ["trace", "--session", str(path), "--out", str(tmp_path / "x.csv")]):
        result = run(*command)
        assert result.returncode == 2
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and "written by a newer Hillwalk" in lines[0]


def test_a_version_1_session_spelling_colour_still_opens(session, tmp_path):
    data = session.to_dict()
    data["version"] = 1
    for item in data["optimizers"]:
        item["colour"] = item.pop("color")
    path = tmp_path / "old.hillwalk.json"
    path.write_text(json.dumps(data))
    reopened = Session.load(path)
    assert [o.color for o in reopened.optimizers] == [o.color for o in session.optimizers]


def test_axis_scales_are_kept_by_a_session_and_default_to_auto_in_an_older_one(session, tmp_path):
    from hillwalk.core.io.session import view_from_dict

    # a session written before the setting existed has no axis_scales in its view
    assert "axis_scales" not in session.view
    path = session.save(tmp_path / "old.hillwalk.json")
    assert view_from_dict(Session.load(path).view).axis_scales == "auto"
    equal = Session(problem=session.problem, slice=session.slice, race=session.race, optimizers=session.optimizers,
                    view={**session.view, "axis_scales": "equal"})
    path = equal.save(tmp_path / "equal.hillwalk.json")
    assert view_from_dict(Session.load(path).view).axis_scales == "equal"


def test_a_session_with_unknown_axis_scales_is_refused_with_the_choices(session, tmp_path):
    data = session.to_dict()
    data["view"]["axis_scales"] = "square"
    path = tmp_path / "bad.hillwalk.json"
    path.write_text(json.dumps(data))
    with pytest.raises(HillwalkError, match="axis scales.*'square'.*auto.*equal.*fill"):
        Session.load(path)


def test_equal_scales_are_automatic_on_a_functions_own_x_and_y_only():
    from hillwalk.core import experiment
    from hillwalk.core.io.session import draws_equal_scales

    function = ClassifierSpec(objective="quadratic").build()
    function_plane = SliceSpec().plane(function)
    model = ClassifierSpec(dataset="iris").build()
    model_plane = SliceSpec(grid=5, train_steps=0).plane(model)
    assert draws_equal_scales("auto", function_plane) and not draws_equal_scales("auto", model_plane)
    # the trace picture's landscape of a function is the same kind of plane
    assert draws_equal_scales("auto", experiment.function_landscape(function, np.zeros((1, 2)), grid=5).plane)
    for plane in (function_plane, model_plane):
        assert draws_equal_scales("equal", plane) and not draws_equal_scales("fill", plane)
    with pytest.raises(HillwalkError, match="axis scales"):
        draws_equal_scales("square", model_plane)


def test_a_slice_centred_under_another_regularization_finds_that_plane_again(tmp_path):
    """A session saved after a regularization change alone (the app keeps the plane)
    records the old settings as slice.center_regularization: the plane is found for them,
    the slice drawn for the problem's, in the app and on the command line alike."""
    from dataclasses import replace

    from hillwalk.core import experiment
    from hillwalk.core.landscapes.slices import CenterRegularization

    before = ClassifierSpec(dataset="iris", lam=1e-3)
    after = replace(before, lam=0.5)
    spec = SliceSpec(grid=11, train_steps=40)
    old_objective = experiment.build_objective(before)
    kept_plane = experiment.build_plane(old_objective, spec)
    objective = experiment.rebuild_regularization(after, old_objective)
    recorded = replace(spec, center_regularization=CenterRegularization.of(before))
    found = experiment.build_plane(experiment.build_objective(after), recorded, problem=after)
    np.testing.assert_array_equal(found.center, kept_plane.center)
    np.testing.assert_array_equal(found.dir1, kept_plane.dir1)
    retrained = experiment.build_plane(objective, spec)
    assert not np.allclose(retrained.center, kept_plane.center)   # (what opening without the record gave)
    with pytest.raises(HillwalkError, match="needs the problem"):
        experiment.build_plane(objective, recorded)
    # render --session draws the kept plane's slice at the new lambda
    session = Session(after, recorded, RaceSettings(steps=5), [OptimizerSetting(OptimizerSpec("sgd", lr=0.1))])
    path = session.save(tmp_path / "kept.hillwalk.json")
    assert Session.load(path).slice.center_regularization == CenterRegularization.of(before)
    out = tmp_path / "slice.npz"
    result = run("render", "--session", str(path), "--out", str(out))
    assert result.returncode == 0, result.stderr
    # its centre loss is the old regularization's: said so (it read as the slice's own)
    assert "centre trained under l2, lambda 0.001, as the session recorded (loss " in result.stdout
    assert found.info["center_regularization"] == {"regularizer": "l2", "lam": 1e-3, "beta": 1.0,
                                                   "regularize_bias": False}
    expected = experiment.compute_landscape(objective, kept_plane, recorded)
    with np.load(out) as archive:
        np.testing.assert_array_equal(archive["loss"], expected.values)


def test_a_slice_centred_on_a_point_finds_that_plane_again_from_a_session(tmp_path):
    """A session's slice.center_point (a method's position the app centred on) holds the
    parameters exactly (base64 of float64: a JSON round trip changes no bit), and the plane
    built from it is the one centred there with the same directions; a point of another
    model's size is refused with what to do, and a version-5 file has none."""
    from dataclasses import replace

    from hillwalk.core import experiment
    from hillwalk.core.landscapes.slices import CenterPoint

    problem = ClassifierSpec(dataset="iris", lam=1e-3)
    objective = experiment.build_objective(problem)
    spec = SliceSpec(grid=11, train_steps=40)
    theta = objective.initial_theta(0.5, 3) + np.random.default_rng(1).standard_normal(objective.param_shape) * 1e-7
    direct = experiment.build_plane(objective, spec, center=theta, center_label="SGD at step 7")
    saved = Session(problem, replace(spec, center_point=CenterPoint.of("SGD at step 7", theta, 0)))
    path = tmp_path / "point.hillwalk.json"
    saved.save(path)
    opened = Session.load(path)
    assert opened == saved
    np.testing.assert_array_equal(opened.slice.center_point.theta(), theta.ravel())
    found = experiment.build_plane(objective, opened.slice, problem=problem)
    np.testing.assert_array_equal(found.center, direct.center)
    np.testing.assert_array_equal(found.dir1, direct.dir1)
    np.testing.assert_array_equal(found.dir2, direct.dir2)
    assert found.info["center"] == "SGD at step 7"
    other = experiment.build_objective(replace(problem, dataset="digits"))
    with pytest.raises(HillwalkError, match="centre point has 15 parameters but the model takes 650.*remove"):
        experiment.build_plane(other, opened.slice, problem=replace(problem, dataset="digits"))
    data = json.loads(path.read_text())
    del data["slice"]["center_point"]
    data["version"] = 5
    assert Session.from_dict(data).slice.center_point is None
