"""Write the presets of second-order methods (resources/presets/15-16), each with a
caption: Newton needs no learning rate; L-BFGS goes wrong on minibatches.

Only these files are written (tools/make_presets.py writes 01-10, make_model_presets 11-14).
Run: .venv/bin/python -m tools.make_curvature_presets
"""
from dataclasses import replace
from pathlib import Path

from hillwalk.core.io.session import DEFAULT_RACE_COLORS, PALETTE, OptimizerSetting, RaceSettings, Session
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.optimization.optimizers import OptimizerSpec

ROOT = Path(__file__).resolve().parents[1]
PRESETS = ROOT / "resources" / "presets"
COLORS = DEFAULT_RACE_COLORS + tuple(c for c in PALETTE if c not in DEFAULT_RACE_COLORS)


def race(*specs):
    return [OptimizerSetting(spec, color) for spec, color in zip(specs, COLORS)]


def newton_preset():
    rosenbrock = Session.load(PRESETS / "06-rosenbrock.hillwalk.json")
    return replace(
        rosenbrock, race=RaceSettings(steps=200, start=(-1.5, 2.0)),
        optimizers=race(OptimizerSpec("newton"), OptimizerSpec("lbfgs"), OptimizerSpec("sgd", lr=0.001),
                        OptimizerSpec("momentum", lr=0.001, momentum=0.9), OptimizerSpec("adam", lr=0.02)),
        title="Newton needs no learning rate",
        caption="Rosenbrock's banana valley from (-1.5, 2). Newton's step -H^-1 g uses the curvature itself, so it "
                "has no learning rate to tune: it reaches the minimum (1, 1) to 1e-8 in 23 steps, L-BFGS (no "
                "Hessian, a line search and the last 10 gradient changes) in 39, while gradient descent, momentum "
                "and Adam, each at a learning rate that does not diverge, are still in the valley after 200. Each "
                "Newton step costs a Hessian (2 Hessian-vector products here) and the line search's gradients: "
                "`hillwalk trace` prints the work.")


def lbfgs_preset():
    return Session(
        problem=ClassifierSpec(dataset="digits"),
        slice=SliceSpec(center="trained", directions="hessian", grid=101),
        race=RaceSettings(steps=100, start=(-0.6, 0.4), in_plane=False),
        optimizers=race(OptimizerSpec("lbfgs"), OptimizerSpec("lbfgs", batch_size=64),
                        OptimizerSpec("sgd", lr=0.1, batch_size=64)),
        view={"colormap": "CET-R4", "log_scale": False, "contours": 10, "cut_mode": "angle", "cut_angle": 0.0,
              "cut_points": [[-0.8, -0.5], [0.8, 0.5]], "curves_log": True, "lab": ""},
        title="L-BFGS with minibatches",
        caption="Softmax on digits, optimized in all 650 parameters and drawn on the plane of the Hessian's top two "
                "eigenvectors at the trained weights. Full-batch L-BFGS descends fast; on minibatches of 64 its "
                "pairs (s, y) mix the gradients of two different functions, its curvature model is wrong and it "
                "stalls above: after 100 steps 0.061 against 0.019, worse even than plain SGD on the same minibatches "
                "(0.023), as the notes warn.")


def main():
    for name, session in (("15-newton", newton_preset()), ("16-lbfgs-minibatches", lbfgs_preset())):
        path = session.save(PRESETS / f"{name}.hillwalk.json")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
