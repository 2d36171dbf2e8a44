"""Every bad input of the corpus (tests/corpus) through the window: one message, the
state's fields and the current picture unchanged, the folder exactly as it was."""
import dataclasses

import numpy as np
import pytest

from tests.corpus import PlaceUnavailable, place_for, window_cases

# Generous enough for a machine four times slower than ours, under load.
SETTLE_TIMEOUT_MS = 240000


def small_session():
    """A quick scene: iris, a 41 x 41 slice, a 60-step race."""
    from core.io.session import RaceSettings, Session, default_race_optimizers
    from core.landscapes.slices import SliceSpec
    from core.models.problem import ClassifierSpec

    return Session(ClassifierSpec(dataset="iris"), SliceSpec(grid=41, train_steps=50),
                   RaceSettings(steps=60), default_race_optimizers())


@pytest.fixture(scope="module")
def small_window(qapp):
    from gui.main_window import MainWindow

    window = MainWindow(settings=None, autostart=False)
    window.resize(1400, 900)
    window.show()
    window.apply_session(small_session())
    yield window
    window.close()
    window.state.shutdown()


def wait_until(qapp, condition, timeout_ms):
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            return False
        qapp.processEvents()
        time.sleep(0.005)
    return True


def state_fingerprint(state):
    """Every field of the state: settings compared by value, results by identity (a
    refused input may not replace the objective, plane, picture or paths)."""
    settings = {"problem": state.problem, "slice": state.slice, "race": state.race, "view": state.view,
                "optimizers": [dataclasses.astuple(e) for e in state.optimizers],
                "custom_center": None if state.custom_center is None else state.custom_center[0],
                "frame": state.frame, "labs": {k: dict(v) for k, v in state.labs.settings.items()}}
    results = {name: id(getattr(state, name)) for name in ("objective", "plane", "landscape", "cut")}
    results["runs"] = {k: id(run) for k, run in state.runs.items()}
    values = None if state.landscape is None else state.landscape.values.copy()
    return settings, results, values


@pytest.mark.parametrize("case", window_cases(), ids=lambda c: c.name)
def test_bad_input_in_the_window(case, small_window, qapp, tmp_path, monkeypatch):
    window = small_window
    assert wait_until(qapp, window.scene_complete, SETTLE_TIMEOUT_MS), "the scene did not settle"
    window.state.set_playing(False)  # the frame is part of the state compared
    messages = []
    original = window.show_error
    monkeypatch.setattr(window, "show_error", lambda message: (messages.append(message), original(message)))
    window.state.error.disconnect()
    window.state.error.connect(window.show_error)
    try:
        try:
            with place_for(case, tmp_path) as place:
                act = case.window(place)  # makes the case's files
                before_state = state_fingerprint(window.state)
                before_files = place.listing()
                act(window)
                settled = wait_until(qapp, lambda: messages and window.scene_complete(), SETTLE_TIMEOUT_MS)
                after_files = place.listing()
        except PlaceUnavailable as reason:
            pytest.skip(str(reason))
        assert settled, f"no message, or the scene did not settle; messages {messages}"
        wait_until(qapp, lambda: False, 100)  # a second message would arrive now
        assert len(messages) == 1, f"messages: {messages}"
        assert case.message.lower() in messages[0].lower(), f"message: {messages[0]!r}"
        assert "\n" not in messages[0].strip(), f"not one line: {messages[0]!r}"
        settings, results, values = state_fingerprint(window.state)
        assert settings == before_state[0], "a refused input changed the settings"
        assert results == before_state[1], "a refused input replaced a result"
        np.testing.assert_array_equal(values, before_state[2])
        assert after_files == before_files, "the folder changed"
    finally:
        window.state.error.disconnect()
        window.state.error.connect(original)
        if window.error_dialog is not None:
            window.error_dialog.close()
