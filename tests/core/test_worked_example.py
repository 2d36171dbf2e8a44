"""The notes' worked example of the SVM and softmax losses (core.labs.worked_example), against
the reference numbers of the notes (DOMAIN.md section 2) and the losses' definitions."""
import math

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs import tasks
from hillwalk.core.labs.worked_example import (
    NOTES_LABELS,
    NOTES_SCORES,
    regularization_example,
    worked_example,
)
from hillwalk.core.models.losses import (
    softmax_loss,
    softmax_probabilities,
    svm_hinge_terms,
    svm_loss,
    svm_loss_per_example,
)
from hillwalk.core.models.problem import ClassifierSpec


@pytest.fixture(scope="module")
def notes():
    return worked_example()


def test_the_notes_svm_losses_term_by_term(notes):
    # max(0, s_j - s_y + 1) written out for each image, the correct class left out
    expected_terms = [[0.0, 5.1 - 3.2 + 1, 0.0],          # cat: car's 2.9; frog's -3.9 clipped
                      [0.0, 0.0, 0.0],                    # car: 1.3 - 4.9 + 1 and 2.0 - 4.9 + 1 both < 0
                      [2.2 + 3.1 + 1, 2.5 + 3.1 + 1, 0.0]]  # frog: 6.3 and 6.6
    np.testing.assert_allclose(notes.svm_terms, expected_terms, rtol=0, atol=1e-12)
    np.testing.assert_allclose(notes.svm_losses, [2.9, 0.0, 12.9], rtol=0, atol=1e-12)
    assert notes.svm_mean == pytest.approx(15.8 / 3, abs=1e-12)
    assert round(notes.svm_mean, 2) == 5.27
    np.testing.assert_array_equal(notes.svm_losses, notes.svm_terms.sum(axis=1))


def test_the_notes_softmax_probabilities_and_losses(notes):
    np.testing.assert_allclose(notes.probabilities[0], [0.12998254, 0.86904954, 0.00096793], rtol=0, atol=1e-8)
    np.testing.assert_allclose(notes.probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    assert notes.softmax_losses[0] == pytest.approx(2.0403, abs=1e-4)   # the notes print 2.04035... cut short
    assert notes.softmax_losses[0] == pytest.approx(-math.log(0.12998254), abs=1e-7)
    # L_i = -ln p_{y_i}, the probability of each image's correct class
    np.testing.assert_allclose(notes.softmax_losses, -np.log(notes.probabilities[[0, 1, 2], [0, 1, 2]]), rtol=1e-12)
    assert notes.softmax_mean == pytest.approx(notes.softmax_losses.mean(), rel=1e-12)
    # the definition, one row at a time: e^s / sum e^s
    row = np.exp(np.array(NOTES_SCORES[2]))
    np.testing.assert_allclose(notes.probabilities[2], row / row.sum(), rtol=1e-12)


def test_question_a_the_correct_class_adds_delta_to_every_example():
    for delta in (1.0, 2.5, 1e-3):
        example = worked_example(delta=delta)
        np.testing.assert_allclose(example.correct_class_term, delta, rtol=0, atol=1e-12)
        np.testing.assert_allclose(example.svm_losses_with_correct, example.svm_losses + delta, rtol=0, atol=1e-12)
    np.testing.assert_allclose(worked_example().svm_losses_with_correct, [3.9, 1.0, 13.9], rtol=0, atol=1e-12)


def test_question_b_the_car_score_moved_by_half_keeps_the_loss_at_zero(notes):
    assert notes.wiggle_example == 1 and notes.labels[1] == 1
    np.testing.assert_array_equal(notes.wiggle_shifts, [-0.5, 0.0, 0.5])
    np.testing.assert_array_equal(notes.wiggle_losses, [0.0, 0.0, 0.0])
    assert notes.wiggle_stays_zero
    assert notes.wiggle_lead == pytest.approx(4.9 - 2.0)   # over frog, the best other score


def test_question_b_with_an_edited_table_the_loss_does_not_stay_zero():
    scores = [list(NOTES_SCORES[0]), [1.3, 2.5, 2.0], list(NOTES_SCORES[2])]
    example = worked_example(scores)
    # car score 2.0, 2.5, 3.0 against cat 1.3 and frog 2.0, delta 1
    expected = [max(0, 1.3 - 2.0 + 1) + max(0, 2.0 - 2.0 + 1), max(0, 1.3 - 2.5 + 1) + max(0, 2.0 - 2.5 + 1), 0.0]
    np.testing.assert_allclose(example.wiggle_losses, expected, rtol=0, atol=1e-12)
    assert not example.wiggle_stays_zero
    assert example.wiggle_lead == pytest.approx(0.5)


def test_question_c_scores_near_zero(notes):
    assert notes.zero_svm == pytest.approx(2.0, abs=1e-15) == notes.zero_svm_expected
    assert notes.zero_softmax == pytest.approx(1.0986, abs=5e-5)
    assert notes.zero_softmax == pytest.approx(math.log(3), rel=1e-15)
    wider = worked_example(np.arange(8.0).reshape(2, 4), labels=[3, 0], delta=0.7, wiggle_example=0)
    assert wider.zero_svm == pytest.approx(3 * 0.7, rel=1e-15)
    assert wider.zero_softmax == pytest.approx(math.log(4), rel=1e-15)


def test_the_l2_example_prefers_the_spread_out_weights(notes):
    example = notes.regularization
    np.testing.assert_array_equal(example.scores, [1.0, 1.0])
    np.testing.assert_allclose(example.l2, [1.0, 0.25], rtol=1e-15)   # sum w^2, the app's convention
    np.testing.assert_allclose(example.l1, [1.0, 1.0], rtol=1e-15)
    assert example.l2_preferred == 1
    other = regularization_example([1.0, 2.0], [[0.0, 1.0], [2.0, 0.0]])
    np.testing.assert_allclose(other.scores, [2.0, 2.0])
    np.testing.assert_allclose(other.l2, [1.0, 4.0])
    assert other.l2_preferred == 0


def test_the_results_are_the_app_losses_and_read_only(notes):
    y = np.array(NOTES_LABELS)
    assert notes.svm_mean == svm_loss(NOTES_SCORES, y, 1.0)[0]
    _, dscores = softmax_loss(NOTES_SCORES, y)
    np.testing.assert_allclose(notes.probabilities, 3 * dscores + np.eye(3), rtol=0, atol=1e-15)
    with pytest.raises(ValueError):
        notes.scores[0, 0] = 0.0
    with pytest.raises(AttributeError):
        notes.delta = 2.0


def test_cells_may_be_text_as_a_table_holds_them(notes):
    typed = [["3.2", " 5.1 ", "\u22121.7"], ["1.3", "4.9", "2"], ["2.2", "2.5", "-3.1"]]
    np.testing.assert_array_equal(worked_example(typed).scores, notes.scores)


@pytest.mark.parametrize("scores, labels, delta, message", [
    ([[1.0, 2.0], [3.0]], [0, 1], 1.0, "unequal length"),
    ([[1.0, 2.0, 3.0]], [0], 1.0, r"example 2, but the table has 1 row"),
    ([[1.0], [2.0]], [0, 0], 1.0, "2 classes"),
    ([], [], 1.0, "shape"),
    ([["3.2", "abc", "1"], ["1", "2", "3"], ["1", "2", "3"]], NOTES_LABELS, 1.0,
     "the cat image's score for car is 'abc', which is not a number"),
    ([[3.2, 5.1, -1.7], [1.3, float("nan"), 2.0], [2.2, 2.5, -3.1]], NOTES_LABELS, 1.0,
     "the car image's score for car is nan; a score must be a finite number"),
    ([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, "inf"]], NOTES_LABELS, 1.0, "finite"),
    ([[True, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]], NOTES_LABELS, 1.0, "not a number"),
    (NOTES_SCORES, [0, 1, 3], 1.0, "label 3 is not a class"),
    (NOTES_SCORES, [0, -1, 2], 1.0, "label -1 is not a class"),
    (NOTES_SCORES, [0, 1], 1.0, "one label per example"),
    (NOTES_SCORES, [0, 1.5, 2], 1.0, "whole class numbers"),
    ([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, "2e6"]], NOTES_LABELS, 1.0,
     r"the frog image's score for frog is 2e\+06; a score must be a number in \[-1e\+06, 1e\+06\]"),
    (NOTES_SCORES, NOTES_LABELS, -1.0, r"the SVM margin delta must be a number in \(0, 1e\+06\], got -1.0"),
    (NOTES_SCORES, NOTES_LABELS, 0.0, r"delta must be a number in \(0"),
    (NOTES_SCORES, NOTES_LABELS, float("nan"), r"delta must be a number in \(0"),
    (NOTES_SCORES, NOTES_LABELS, "one", "delta must be a number"),
])
def test_bad_inputs_are_refused_with_a_clear_message(scores, labels, delta, message):
    with pytest.raises(HillwalkError, match=message):
        worked_example(scores, labels, delta)


def test_the_public_per_example_losses_match_the_means():
    rng = np.random.default_rng(0)
    scores, y = rng.normal(size=(7, 5)) * 3, rng.integers(0, 5, size=7)
    per_example = svm_loss_per_example(scores, y, 0.8)
    np.testing.assert_allclose(per_example, svm_hinge_terms(scores, y, 0.8).sum(axis=1), rtol=1e-15)
    assert per_example.mean() == pytest.approx(svm_loss(scores, y, 0.8)[0], rel=1e-14)
    np.testing.assert_allclose(svm_hinge_terms(scores, y, 0.8, include_correct=True)[np.arange(7), y], 0.8)
    huge = softmax_probabilities([[1e4, 0.0, -1e4]])    # no overflow: the row maximum is subtracted first
    np.testing.assert_array_equal(huge, [[1.0, 0.0, 0.0]])


def test_the_lab_task_runs_the_worked_example_with_progress_and_cancel():
    reports = []
    result = tasks.loss_example_task(NOTES_SCORES, 1.0, report=lambda fraction, text: reports.append(fraction))
    np.testing.assert_array_equal(result.svm_losses, worked_example().svm_losses)
    assert reports[-1] == 1.0
    assert tasks.loss_example_task(NOTES_SCORES, 1.0, should_stop=lambda: True) is None
    with pytest.raises(HillwalkError, match="not a number"):
        tasks.loss_example_task([["x", 1, 2], [1, 2, 3], [1, 2, 3]], 1.0)
    # the notes' own example: it applies whatever the scene
    function = ClassifierSpec(objective="rosenbrock").build()
    assert "loss" in tasks.SCENE_FREE_LABS and tasks.unavailable_reason("loss", function) is None


def test_the_verdicts_the_panel_shows_are_computed_in_core():
    from hillwalk.core.labs.worked_example import regularization_example, worked_example

    notes = worked_example()
    assert notes.correct_term_is_delta
    assert worked_example(delta=2.5).correct_term_is_delta
    reg = regularization_example()
    assert reg.same_scores and reg.same_l1 and reg.l2_preferred == 1
    other = regularization_example(weights=([1.0, 0, 0, 0], [0.5, 0.5, 0.5, 0.0]))
    assert not other.same_scores and not other.same_l1
