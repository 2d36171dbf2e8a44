"""Write the preset sessions shipped in resources/presets/ (run after changing a preset).

Each preset reproduces a figure of the CS231n notes or a classic optimizer scene.
Run: .venv/bin/python tools/make_presets.py
"""
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

from hillwalk.core.io.session import DEFAULT_RACE_COLORS, PALETTE, OptimizerSetting, RaceSettings, Session  # noqa: E402
from hillwalk.core.landscapes.slices import SliceSpec  # noqa: E402
from hillwalk.core.models.problem import ClassifierSpec  # noqa: E402
from hillwalk.core.models.testfunctions import make_test_function  # noqa: E402
from hillwalk.core.optimization.optimizers import OptimizerSpec  # noqa: E402

VIEW = {"colormap": "CET-R4", "log_scale": False, "contours": 10, "cut_mode": "angle", "cut_angle": 0.0,
        "cut_points": [[-0.8, -0.5], [0.8, 0.5]], "curves_log": True, "lab": ""}


def race(*specs):
    # the race's colours first: none of them is the basin's blue
    colors = DEFAULT_RACE_COLORS + tuple(c for c in PALETTE if c not in DEFAULT_RACE_COLORS)
    return [OptimizerSetting(spec, colors[k]) for k, spec in enumerate(specs)]


def digits_race():
    return race(OptimizerSpec("sgd", lr=0.1, batch_size=64), OptimizerSpec("adam", lr=0.003, batch_size=64))


def function_session(name, title, specs, steps, start=None, log=True, **options):
    function = make_test_function(name, **options)
    (x0, x1), (y0, y1) = function.view
    return Session(problem=ClassifierSpec(objective=name, **options),
                   slice=SliceSpec(center="init", alpha_range=(x0, x1), beta_range=(y0, y1), grid=201),
                   race=RaceSettings(steps=steps, start=tuple(start or function.default_start)),
                   optimizers=race(*specs), view={**VIEW, "log_scale": log, "contours": 14}, title=title)


PRESETS = {
    "01-svm-cut": Session(
        problem=ClassifierSpec(loss="svm"),
        slice=SliceSpec(center="trained", alpha_range=(-2.0, 2.0), beta_range=(-2.0, 2.0)),
        race=RaceSettings(steps=200), optimizers=digits_race(), view=dict(VIEW),
        title="SVM loss along a 1-D cut (the cut view) through the trained W"),
    "02-svm-one-example": Session(
        problem=ClassifierSpec(loss="svm"),
        slice=SliceSpec(center="init", directions="gaussian", component="example:0", alpha_range=(-0.05, 0.05),
                        beta_range=(-0.05, 0.05)),
        race=RaceSettings(steps=100, start=(0.03, 0.03)), optimizers=digits_race(), view={**VIEW, "contours": 14},
        title="SVM loss of one example on a 2-D slice: piecewise linear, angular"),
    "03-svm-all-examples": Session(
        problem=ClassifierSpec(loss="svm"),
        slice=SliceSpec(center="init", directions="gaussian", component="data", alpha_range=(-0.05, 0.05),
                        beta_range=(-0.05, 0.05)),
        race=RaceSettings(steps=100, start=(0.03, 0.03)), optimizers=digits_race(), view={**VIEW, "contours": 14},
        title="SVM data loss over all examples on the same slice: a bowl"),
    "04-step-size": Session(
        problem=ClassifierSpec(preprocessing="none", regularizer="none"), slice=SliceSpec(center="init"),
        race=RaceSettings(steps=100), optimizers=digits_race(), view={**VIEW, "lab": "Step size"},
        title="Step size: the loss after one step of size 10^k from a random W (raw pixels)"),
    "05-ravine": function_session(
        "quadratic", "Momentum against SGD on an ill-conditioned bowl (condition 50)",
        [OptimizerSpec("sgd", lr=0.038), OptimizerSpec("momentum", lr=0.038, momentum=0.9),
         OptimizerSpec("rmsprop", lr=0.038), OptimizerSpec("adam", lr=0.038)], 80, condition=50.0, angle=30.0),
    "06-rosenbrock": function_session(
        "rosenbrock", "The race on Rosenbrock's valley",
        [OptimizerSpec("sgd", lr=1e-3), OptimizerSpec("momentum", lr=1e-3, momentum=0.9),
         OptimizerSpec("nesterov", lr=1e-3, momentum=0.9), OptimizerSpec("adam", lr=0.02)], 1000),
    "07-beale": function_session(
        "beale", "The race on Beale's function",
        [OptimizerSpec("sgd", lr=0.01), OptimizerSpec("momentum", lr=0.01, momentum=0.9),
         OptimizerSpec("rmsprop", lr=0.01), OptimizerSpec("adam", lr=0.01)], 600, start=(0.7, 1.4)),
    "08-saddle": function_session(
        "saddle", "A saddle point: who escapes first",
        [OptimizerSpec("sgd", lr=0.02), OptimizerSpec("momentum", lr=0.02, momentum=0.9),
         OptimizerSpec("rmsprop", lr=0.02), OptimizerSpec("adam", lr=0.02)], 150, log=False),
    "09-random-search": Session(
        problem=ClassifierSpec(), slice=SliceSpec(center="init", directions="filter"),
        race=RaceSettings(steps=300, start=(0.0, 0.0)),
        optimizers=race(OptimizerSpec("random-search", lr=0.01), OptimizerSpec("random-local-search", lr=0.01),
                        OptimizerSpec("sgd", lr=0.1)),
        view=dict(VIEW), title="Random search, random local search and gradient descent on digits"),
    "10-spiral-network": Session(
        problem=ClassifierSpec(dataset="spiral", preprocessing="standardize", model="net", hidden=64,
                               activation="relu", init="he", lam=1e-3),
        slice=SliceSpec(center="trained", train_steps=500, directions="filter"),
        race=RaceSettings(steps=300),
        optimizers=race(OptimizerSpec("sgd", lr=0.5), OptimizerSpec("momentum", lr=0.1, momentum=0.9),
                        OptimizerSpec("adam", lr=0.01)),
        view={**VIEW, "lab": "Compare two models"},
        title="The spiral: a linear classifier fails, a 64-unit ReLU network separates the arms"),
}


def main():
    folder = ROOT / "resources" / "presets"
    folder.mkdir(exist_ok=True)
    for name, session in PRESETS.items():
        path = session.save(folder / f"{name}.hillwalk.json")
        print(f"wrote {path.relative_to(ROOT)}: {session.title}")


if __name__ == "__main__":
    main()
