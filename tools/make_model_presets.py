"""Write the presets of deep networks (resources/presets/11-14): each opens the Compare
two models lab on one lesson of the notes' second half, with a caption.

Only these four files are written (tools/make_presets.py writes 01-10). The tests
(tests/core/test_model_presets.py) check the lesson each preset claims on its own numbers.
Run: .venv/bin/python -m tools.make_model_presets
"""
from pathlib import Path

from hillwalk.core.io.session import DEFAULT_RACE_COLORS, OptimizerSetting, RaceSettings, Session
from hillwalk.core.labs.comparison import ModelVariant
from hillwalk.core.landscapes.slices import SliceSpec
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.optimization.optimizers import OptimizerSpec

ROOT = Path(__file__).resolve().parents[1]
VIEW = {"colormap": "CET-R4", "log_scale": True, "contours": 10, "cut_mode": "angle", "cut_angle": 0.0,
        "cut_points": [[-0.8, -0.5], [0.8, 0.5]], "curves_log": True, "lab": "Compare two models"}
SPIRAL = ClassifierSpec(dataset="spiral", preprocessing="standardize", loss="softmax", model="net")
# the lab's slices and the main one: filter-normalized, around the trained weights
PLANE = SliceSpec(center="trained", train_steps=500, directions="filter", grid=61)
DEEP = (16,) * 12


def race():
    specs = (OptimizerSpec("momentum", lr=0.05, momentum=0.9, batch_size=64),
             OptimizerSpec("adam", lr=0.003, batch_size=64))
    return [OptimizerSetting(spec, color) for spec, color in zip(specs, DEFAULT_RACE_COLORS[1:])]


def preset(title, caption, a, b, shown, plane=PLANE, view=None):
    """A session whose main model is side ``shown`` ("a" or "b") of the comparison."""
    main = a if shown == "a" else b
    return Session(problem=main.problem(SPIRAL), slice=main.slice_spec(plane),
                   race=RaceSettings(steps=150), optimizers=race(), view={**VIEW, **(view or {})}, title=title,
                   caption=caption, comparison=(a, b))


PRESETS = {
    "11-batch-norm": preset(
        "Batch norm smooths the landscape",
        "The same 12-layer network of 16 ReLU units on the spiral, without (A) and with (B) batch normalization, "
        "each trained by the same 500 full-batch steps from the same seed and sliced around its minimum along "
        "filter-normalized directions. Without batch norm the loss explodes a short way from the minimum: every "
        "layer multiplies the change of the weights. With it (the slice in train mode: every point normalized "
        "by its own batch statistics, as in training) each layer's output is re-standardized, the loss stays "
        "bounded and its curvature, the roughness under each map, is many times smaller (Santurkar et al. "
        "2018). Smoothness is the shape around the minimum, not a better model by itself: here B's 500 steps "
        "end at a higher loss. Try B's slice in eval mode: frozen statistics lose the effect.",
        ModelVariant("no batch norm", hidden=DEEP),
        ModelVariant("batch norm (slice in train mode)", hidden=DEEP, batchnorm=True, bn_mode="train"),
        shown="b"),
    "12-skip-connections": preset(
        "Skip connections turn a chaotic landscape into a bowl",
        "A 12-layer network of 16 ReLU units with batch norm on the spiral, without (A) and with (B) skip "
        "connections h + f(h), as in Li et al. (2018, Fig. 5): the same training, the same kind of "
        "filter-normalized directions. Without skips the deep stack is hard to train and its landscape is "
        "rough, with walls and ridges; with them it trains to a low loss in a wide, convex-looking basin: a lower "
        "roughness, and a smaller share of the plane curving downwards.",
        ModelVariant("no skip connections", hidden=DEEP, batchnorm=True),
        ModelVariant("skip connections", hidden=DEEP, batchnorm=True, residual=True),
        shown="b"),
    "13-dropout": preset(
        "Dropout makes the training loss a random surface",
        "One network (two layers of 64 ReLU units, keep probability p = 0.5) on the spiral, trained with a fresh "
        "dropout mask at every step and sliced twice around the same trained weights: (A) with dropout off, the "
        "loss at test time; (B) with one fixed mask, the loss one training step sees. With half the units "
        "dropped and the rest doubled, every weight moves the loss more: B's bowl is about three times as "
        "sharply curved (its roughness figure) and has its own shape. It is one draw of a random surface: every "
        "step draws another mask, so training descends a different surface each time. Choose 'mean of 32' for B "
        "to see the surface dropout optimizes on average.",
        ModelVariant("dropout off (evaluation)", hidden=(64, 64), keep_prob=0.5),
        ModelVariant("one fixed dropout mask", hidden=(64, 64), keep_prob=0.5, dropout_mode="fixed"),
        shown="b"),
    "14-zero-init": preset(
        "Zero initialization: the symmetry never breaks",
        "A network of 32 tanh units on the spiral, started from zero weights (A) and from 0.01 * randn (B), "
        "trained alike. With every weight 0, every hidden unit computes the same output and receives the same "
        "gradient, so they stay identical (here the gradients are exactly 0 and only the output bias learns): "
        "'distinct units 1/32', a model no better than guessing. A little randomness breaks the symmetry: "
        "32 distinct units, and the spiral's arms separated. The directions are Gaussian (filter normalization "
        "needs non-zero filters).",
        ModelVariant("zero init", hidden=(32,), activation="tanh", init="zero"),
        ModelVariant("small random init (0.01)", hidden=(32,), activation="tanh", init="small"),
        shown="a", plane=SliceSpec(center="trained", train_steps=500, directions="gaussian", grid=61),
        view={"log_scale": False}),
}


def main():
    folder = ROOT / "resources" / "presets"
    for name, session in PRESETS.items():
        path = session.save(folder / f"{name}.hillwalk.json")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
