"""The race GIF's frame plan and request checks (core.io.animation_frames), without Qt,
and the `main.py race` command refusing an impossible GIF before any work."""
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.io.animation_frames import (
    GIF_MAX_SIDE,
    GIF_MEMORY_BUDGET_BYTES,
    WORKING_BYTES_PER_PIXEL,
    check_gif_request,
    frame_steps,
    gif_memory_estimate,
    race_frames,
)

ROOT = Path(__file__).resolve().parents[2]


def test_frame_steps_are_evenly_spread_from_zero_to_the_last_step():
    np.testing.assert_array_equal(frame_steps(300, 4), [0, 100, 200, 300])
    np.testing.assert_array_equal(frame_steps(10, 3), [0, 5, 10])


def test_frame_steps_merge_when_the_race_is_shorter_than_the_animation():
    np.testing.assert_array_equal(frame_steps(3, 10), [0, 1, 2, 3])


def test_a_frame_shows_the_rows_recorded_up_to_its_step():
    every_step = np.arange(11)              # recorded at 0, 1, ..., 10
    every_fifth = np.array([0, 5, 10])      # a path recorded every 5 steps
    plan = race_frames([every_step, every_fifth], frames=3)
    np.testing.assert_array_equal(plan.steps, [0, 5, 10])
    np.testing.assert_array_equal(plan.rows, [[1, 1], [6, 2], [11, 3]])
    assert not plan.ended.any() and plan.count == 3


def test_a_short_path_stops_growing_and_a_diverged_one_ends_when_its_rows_run_out():
    long_path = np.arange(101)
    diverged = np.arange(31)                 # stopped at step 30
    plan = race_frames([long_path, diverged], frames=5, diverged=[False, True])
    np.testing.assert_array_equal(plan.steps, [0, 25, 50, 75, 100])
    np.testing.assert_array_equal(plan.rows[:, 1], [1, 26, 31, 31, 31])
    np.testing.assert_array_equal(plan.ended[:, 1], [False, False, True, True, True])
    assert not plan.ended[:, 0].any()


def test_every_path_shows_its_start_even_before_its_first_recorded_step():
    plan = race_frames([np.arange(0, 41), np.array([10, 20, 40])], frames=5)
    np.testing.assert_array_equal(plan.rows[:, 1], [1, 1, 2, 2, 3])


@pytest.mark.parametrize("paths", [[], [np.array([], dtype=int)]])
def test_nothing_to_animate_is_refused(paths):
    with pytest.raises(HillwalkError, match="no path to animate"):
        race_frames(paths, frames=10)


@pytest.mark.parametrize("width, height, fps, frames, fragment", [
    (800, 600, 0, 60, "frame rate must be between 1 and 60"),
    (800, 600, 61, 60, "frame rate must be between 1 and 60"),
    (800, 600, 15, 0, "between 2 and 1000 frames"),
    (800, 600, 15, 1, "between 2 and 1000 frames"),
    (800, 600, 15, 1001, "between 2 and 1000 frames"),
    (99, 600, 15, 60, "between 100 and 4000 pixels"),
    (800, 4001, 15, 60, "between 100 and 4000 pixels"),
    (800, 600, 15.5, 60, "frame rate must be a whole number"),
])
def test_out_of_range_requests_are_refused_with_the_range(width, height, fps, frames, fragment):
    with pytest.raises(HillwalkError, match=fragment):
        check_gif_request(width, height, fps, frames)


def test_the_memory_estimate_counts_one_byte_a_pixel_per_frame_plus_the_working_images():
    assert gif_memory_estimate(800, 600, 60) == 800 * 600 * (60 + WORKING_BYTES_PER_PIXEL)


def test_the_largest_size_the_app_offers_fits_the_budget():
    # File > Export > Race as GIF: 60 frames, up to 4000 px wide, height 3/4 of the width
    assert check_gif_request(GIF_MAX_SIDE, GIF_MAX_SIDE * 3 // 4, 15, 60) <= GIF_MEMORY_BUDGET_BYTES


def test_an_oversize_request_is_refused_with_the_estimate_the_budget_and_what_fits():
    with pytest.raises(HillwalkError) as refused:
        check_gif_request(4000, 3000, 15, 200)
    message = str(refused.value)
    assert "about 2.4 GB" in message and "1.0 GB budget" in message
    fitting = GIF_MEMORY_BUDGET_BYTES // (4000 * 3000) - WORKING_BYTES_PER_PIXEL
    assert f"at most {fitting} frames fit" in message
    assert check_gif_request(4000, 3000, 15, fitting) <= GIF_MEMORY_BUDGET_BYTES
    with pytest.raises(HillwalkError, match="budget"):
        check_gif_request(4000, 3000, 15, fitting + 1)


def test_a_smaller_budget_is_respected():
    with pytest.raises(HillwalkError, match="choose a smaller size"):
        check_gif_request(1000, 1000, 15, 2, budget_bytes=10_000_000)


@pytest.mark.parametrize("args, fragment", [
    (["--fps", "0"], "frames per second must be a whole number from 1 to 60"),
    (["--fps", "61"], "frames per second must be a whole number from 1 to 60"),
    (["--frames", "0"], "number of frames must be a whole number from 2 to 1000"),
    (["--frames", "1"], "number of frames must be a whole number from 2 to 1000"),
    (["--gif-size", "4000x3000", "--frames", "500"], "over the 1.0 GB budget"),
])
def test_the_race_command_refuses_an_impossible_gif_before_reading_the_session(tmp_path, args, fragment):
    # the session file does not exist: a refusal that names the GIF setting came before any work
    result = subprocess.run([sys.executable, str(ROOT / "main.py"), "race", "--session", str(tmp_path / "none.json"),
                             "--out", str(tmp_path / "race.gif"), *args], capture_output=True, text=True, cwd=ROOT,
                            timeout=300, check=False)
    assert result.returncode == 2 and fragment in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []
