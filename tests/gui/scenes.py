"""Scenes the GUI tests share: a small one that computes in a moment."""


def small_session():
    """A quick scene: iris, a 41 x 41 slice, a 60-step race."""
    from hillwalk.core.io.session import RaceSettings, Session, default_race_optimizers
    from hillwalk.core.landscapes.slices import SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec

    return Session(ClassifierSpec(dataset="iris"), SliceSpec(grid=41, train_steps=50), RaceSettings(steps=60),
                   default_race_optimizers())
