"""Every bad input of the corpus (tests/corpus) through the window: one message, the
state's fields and the current picture unchanged, the folder exactly as it was."""
import dataclasses

import numpy as np
import pytest

from tests.corpus import PlaceUnavailable, place_for, window_cases
from tests.gui.conftest import SCENE_TIMEOUT_MS, wait_for_frames
from tests.gui.scenes import small_session


def wait_until(qapp, condition, timeout_ms):
    import time

    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            return False
        qapp.processEvents()
        time.sleep(0.005)
    return True


PLAIN = (type(None), bool, int, float, str, tuple)


def state_fingerprint(state):
    """Every public field of the state (and of its labs): settings (plain values,
    dataclasses, lists of them) compared by value, everything else (the objective, plane,
    picture, paths, lab results) by identity: a refused input may not replace any of them."""
    settings, results = {}, {}
    for owner, prefix in ((state, ""), (state.labs, "labs.")):
        for name, value in vars(owner).items():
            if name.startswith("_") or name in ("jobs", "labs", "app"):
                continue
            frozen = dataclasses.is_dataclass(value) and type(value).__dataclass_params__.frozen  # a spec
            if (isinstance(value, PLAIN) and not isinstance(value, tuple)) or frozen:
                settings[prefix + name] = value
            elif isinstance(value, list) and all(dataclasses.is_dataclass(v) for v in value):
                settings[prefix + name] = [dataclasses.astuple(v) for v in value]
            elif isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
                settings[prefix + name] = {k: dict(v) for k, v in value.items()}
            elif isinstance(value, dict):
                results[prefix + name] = {k: id(v) for k, v in value.items()}
            else:
                results[prefix + name] = id(value)
    values = None if state.landscape is None else state.landscape.values.copy()
    return settings, results, values


@pytest.mark.parametrize("case", window_cases(), ids=lambda c: c.name)
def test_bad_input_in_the_window(case, small_window, qapp, qtbot, tmp_path, monkeypatch):
    window = small_window
    assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS), "the scene did not settle"
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
                settled = wait_until(qapp, lambda: messages and window.scene_complete(), SCENE_TIMEOUT_MS)
                after_files = place.listing()
        except PlaceUnavailable as reason:
            pytest.skip(str(reason))
        assert settled, f"no message, or the scene did not settle; messages {messages}"
        wait_for_frames(qtbot, window)  # a second message would arrive now
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


def test_a_large_session_is_read_off_the_gui_thread(small_window, qapp, tmp_path):
    """A valid 100 MB session (padded with whitespace) opens without holding up the window:
    opening returns at once, a queued callback runs while the file is read and checked, and
    then the session takes effect."""
    from PyQt6 import QtCore

    window = small_window
    assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS)
    session = small_session()
    session.title = "padded"
    data = session.to_dict()
    data["race"]["steps"] = 40
    import json

    text = json.dumps(data)
    path = tmp_path / "large.hillwalk.json"
    path.write_text(text[:-1] + " " * (100 * 2 ** 20) + "}")
    ran = []
    window.open_session(path)
    assert window.state.jobs.is_live("session")  # opening returned before the file was read
    QtCore.QTimer.singleShot(0, lambda: ran.append(window.state.jobs.is_live("session")))
    assert wait_until(qapp, lambda: ran, SCENE_TIMEOUT_MS)
    assert ran == [True], "the GUI thread was held until the session was read"
    assert wait_until(qapp, lambda: window.state.race.steps == 40 and window.scene_complete(), SCENE_TIMEOUT_MS)
    window.state.set_race(steps=60)  # back to the module's scene
    assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS)


def test_an_example_index_beyond_the_data_is_refused_and_does_not_stick(small_window, qapp):
    from tests.corpus.values import type_into

    window, state = small_window, small_window.state
    panel = window.landscape_panel
    assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS)
    panel.component.setCurrentIndex(panel.component.findData("example"))
    assert wait_until(qapp, lambda: state.slice.component == "example:0" and window.scene_complete(),
                      SCENE_TIMEOUT_MS)
    messages = []
    state.error.connect(messages.append)
    try:
        before = state.slice
        type_into(panel.example, "1000000")
        assert wait_until(qapp, lambda: messages, SCENE_TIMEOUT_MS)
        assert len(messages) == 1 and "example" in messages[0]
        assert state.slice == before and panel.example.value() == 0
    finally:
        state.error.disconnect(messages.append)
        if window.error_dialog is not None:
            window.error_dialog.close()
        panel.component.setCurrentIndex(panel.component.findData("total"))
        assert wait_until(qapp, lambda: state.slice.component == "total" and window.scene_complete(),
                          SCENE_TIMEOUT_MS)


def test_a_refused_file_during_a_race_lets_the_race_finish(small_window, qapp, tmp_path):
    """Opening a data file stops the scene's work while it loads; when the file is refused,
    the settings stay and the interrupted runs are run again to their end."""
    window, state = small_window, small_window.state
    assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS)
    messages = []
    state.error.connect(messages.append)
    try:
        state.set_race(steps=1000)  # a race still running when the file is opened
        assert wait_until(qapp, lambda: any(len(run) > 1 for run in state.runs.values()), SCENE_TIMEOUT_MS)
        before = (state.problem, state.slice, state.race)
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b,label\n1,2\n")
        window.data_panel.open_path(bad)
        assert wait_until(qapp, lambda: messages and window.scene_complete(), SCENE_TIMEOUT_MS)
        assert len(messages) == 1 and (state.problem, state.slice, state.race) == before
        assert all(run.finished or run.diverged_at is not None for run in state.runs.values())
        assert all(int(run.steps[-1]) == 1000 for run in state.runs.values() if run.diverged_at is None)
    finally:
        state.error.disconnect(messages.append)
        if window.error_dialog is not None:
            window.error_dialog.close()
        state.set_race(steps=60)
        assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS)


def test_a_refused_file_redoes_the_plane_and_contours_it_interrupted(small_window, qapp, tmp_path):
    """A new plane seed or contour count asked for just before a data file that is refused:
    the work the file's loading stopped is done again, so the picture matches the settings."""
    window, state = small_window, small_window.state
    assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS)
    messages, contours = [], []
    state.error.connect(messages.append)
    def on_contours(*args):
        contours.append(args)
    state.contours_ready.connect(on_contours)
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,label\n1,2\n")
    try:
        old_plane = state.plane
        state.set_slice(seed=5)
        state.set_view(contours=20)
        window.data_panel.open_path(bad)
        assert wait_until(qapp, lambda: messages and window.scene_complete(), SCENE_TIMEOUT_MS)
        assert len(messages) == 1 and state.slice.seed == 5 and state.view.contours == 20
        assert state.plane is not old_plane and state.landscape.plane is state.plane
        assert contours and contours[-1][0] is state.landscape
    finally:
        state.error.disconnect(messages.append)
        state.contours_ready.disconnect(on_contours)
        if window.error_dialog is not None:
            window.error_dialog.close()
        state.set_slice(seed=0)
        state.set_view(contours=10)
        assert wait_until(qapp, window.scene_complete, SCENE_TIMEOUT_MS)
