"""Scenes the GUI tests start from: small ones that compute in a fraction of a second.

The default scene of a first launch (digits, a 101 x 101 slice, a 300-step race) takes
seconds; GUI tests start from :func:`small_session` instead, or from another small scene
named with ``@pytest.mark.scene("small_digits_session")`` (a function of this module) when
what they check needs its data set or a longer race.
"""
from dataclasses import replace


def small_session():
    """A quick scene: iris, a 41 x 41 slice, a 60-step race of the default four methods."""
    from hillwalk.core.io.session import RaceSettings, Session, default_race_optimizers
    from hillwalk.core.landscapes.slices import SliceSpec
    from hillwalk.core.models.problem import ClassifierSpec

    return Session(ClassifierSpec(dataset="iris"), SliceSpec(grid=41, train_steps=50), RaceSettings(steps=60),
                   default_race_optimizers())


def small_digits_session():
    """The default scene's data and model (digits, 64 features, 10 classes, softmax with
    L2) on the small scene's slice and race: for tests whose assertions are about digits."""
    from hillwalk.core.models.problem import ClassifierSpec

    return replace(small_session(), problem=ClassifierSpec())


def default_scene_session():
    """The scene the app opens with (digits, the default slice and race), except a 41 x 41
    slice: the default race's losses (0.99 down to 0.02)."""
    from hillwalk.core.io.session import Session, default_race_optimizers

    session = Session()
    return replace(session, slice=replace(session.slice, grid=41), optimizers=default_race_optimizers())


def long_race_session():
    """The small scene with a 300-step race (the default's length): for exports that must
    take a while, so that they can be cancelled or replaced while they run."""
    session = small_session()
    return replace(session, race=replace(session.race, steps=300))


def small_deep_network_session():
    """The small scene on a deep network: iris, two hidden layers of 12 ReLU units with
    batch norm and dropout (keep probability 0.8), sliced in the default modes (batch norm
    with the centre's running statistics, dropout off)."""
    from hillwalk.core.models.problem import ClassifierSpec

    problem = ClassifierSpec(dataset="iris", model="net", hidden=(12, 12), batchnorm=True, keep_prob=0.8)
    small = small_session()
    # 21 x 21: a deep net's slice takes the generic path, point by point, and these tests
    # recompute it in several modes
    # a 20-step race and centre: each change restarts the runs, and a deep net's step costs
    # several two-layer steps
    return replace(small, problem=problem, slice=replace(small.slice, grid=21, train_steps=20),
                   race=replace(small.race, steps=20))


def small_beale_session():
    """The small scene on a 2-D test function (Beale): its own plane, no data."""
    from hillwalk.core.models.problem import ClassifierSpec

    small = small_session()
    return replace(small, problem=ClassifierSpec(objective="beale"))


def small_wide_network_session():
    """Digits on a 48-unit network (3610 parameters, more than a full Hessian may hold),
    on a 21 x 21 slice and a 10-step race: for the settings refused on large models."""
    from hillwalk.core.models.problem import ClassifierSpec

    small = small_session()
    return replace(small, problem=ClassifierSpec(model="net", hidden=48),
                   slice=replace(small.slice, grid=21, train_steps=10), race=replace(small.race, steps=10))
