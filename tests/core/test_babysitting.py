"""The Babysitting lab's core (issue 16): each step's numbers against their definitions on
digits (the default ClassifierSpec(): linear softmax), divergence kept out of the arrays,
seeds, schedules per epoch, refusals."""
import math

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs import babysitting, tasks
from hillwalk.core.labs.babysitting import (
    EMA_BETA,
    PROBE_STEPS,
    ema,
    epoch_rates,
    learning_rate_probe,
    suggested_range,
    training_curves,
    update_ratio,
)
from hillwalk.core.labs.lessons import sanity_checks
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.testfunctions import make_test_function
from hillwalk.core.optimization.optimizers import OptimizerSpec, Schedule


@pytest.fixture(scope="module")
def digits():
    return ClassifierSpec().build()


@pytest.fixture(scope="module")
def report(digits):
    return tasks.babysit_task(digits, epochs=4, seed=3)


def all_arrays(value):
    """Every float array reachable from a result dataclass (lists and nested dataclasses)."""
    if isinstance(value, np.ndarray):
        yield value
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from all_arrays(item)
    elif hasattr(value, "__dataclass_fields__"):
        for name in value.__dataclass_fields__:
            yield from all_arrays(getattr(value, name))


def test_the_tiny_rate_barely_moves_the_loss_and_the_huge_one_is_flagged_with_finite_arrays(digits, report):
    small, middle, large = report.probe
    assert (small.lr, large.lr) == (1e-6, 1e6)
    assert small.steps.size == PROBE_STEPS + 1
    change = abs(small.loss[-1] - small.loss[0]) / small.loss[0]
    assert change < 0.01 and small.verdict == "barely changes" and f"{change:.2%}" in small.text
    assert large.diverged and large.verdict == "diverged" and f"diverged at step {large.diverged_at}" in large.text
    assert large.loss.size == large.diverged_at          # rows up to the step before
    # the middle rate is the range test's suggestion, and there the loss falls
    assert middle.lr == report.range_test.suggested and middle.verdict == "falls"
    assert middle.loss[-1] < middle.loss[0]
    for array in [*all_arrays(report.probe), *all_arrays(report.range_test)]:
        assert np.all(np.isfinite(array))


def test_the_probe_runs_share_start_and_minibatches(digits):
    start = digits.initial_theta(1e-3, 0)
    spec = OptimizerSpec("sgd", batch_size=32)
    first, second = learning_rate_probe(digits, spec, start, (1e-2, 1e-2), seed=5, steps=20)
    np.testing.assert_array_equal(first.loss, second.loss)
    assert first.loss[0] == pytest.approx(digits.loss(start), rel=1e-12)


def test_overfitting_20_examples_reaches_training_accuracy_one(digits, report):
    overfit = report.sanity.overfit
    assert overfit.size == 20 and overfit.accuracy == 1.0 and overfit.verdict == "fits"
    assert "training accuracy 1.000" in report.overfit_text
    # the sanity lab's checks, reused as they are: the same numbers
    again = sanity_checks(digits, seed=3)
    np.testing.assert_array_equal(again.overfit.losses, overfit.losses)
    assert again.initial.loss == report.sanity.initial.loss
    assert f"{again.initial.loss:.4f}" in report.initial_text and "ln C = ln 10" in report.initial_text


def test_the_update_ratio_is_its_definition(digits, report):
    curves = report.curves
    (block,) = babysitting.weight_blocks(digits)
    before, after = curves.previous_theta.reshape(block.shape), curves.final_theta.reshape(block.shape)
    by_hand = np.linalg.norm(after - before) / np.linalg.norm(before)
    assert curves.ratios.shape == (1, curves.step_loss.size)
    assert curves.ratios[0, -1] == pytest.approx(by_hand, rel=1e-12)
    # the first update of full-batch SGD is -lr g: the ratio is lr |g| / |W0|
    start = digits.initial_theta(1e-3, 0)
    one = training_curves(digits, OptimizerSpec("sgd", lr=0.05), start, 1, Schedule())
    gradient = digits.loss_and_grad(start)[1]
    assert one.ratios[0, 0] == pytest.approx(0.05 * np.linalg.norm(gradient) / np.linalg.norm(start), rel=1e-12)
    np.testing.assert_allclose(one.final_theta, np.ravel(start - 0.05 * gradient), rtol=0, atol=1e-15)


def test_a_network_has_one_ratio_per_weight_matrix():
    network = ClassifierSpec(dataset="iris", model="net", hidden=(8, 6)).build()
    start = network.initial_theta(None, 0)
    curves = training_curves(network, OptimizerSpec("adam", lr=1e-2, batch_size=16), start, 2, Schedule())
    assert curves.layer_names == ("W1", "W2", "W3")
    blocks = babysitting.weight_blocks(network)
    for k, block in enumerate(blocks):
        assert curves.ratios[k, -1] == pytest.approx(update_ratio(curves.previous_theta, curves.final_theta, block),
                                                     rel=1e-12)
    # each ratio from the blocks' own entries: a change of the biases alone moves none of them
    moved = curves.final_theta.copy()
    for block in network.parameter_blocks():
        if block.is_bias:
            block.view(moved)[...] += 1.0
    assert all(update_ratio(curves.final_theta, moved, block) == 0.0 for block in blocks)


@pytest.mark.parametrize("kind, formula", [
    ("constant", lambda lr0, e: lr0),
    ("step", lambda lr0, e: lr0 * 0.5 ** (e // 3)),
    ("exp", lambda lr0, e: lr0 * math.exp(-0.2 * e)),
    ("inv", lambda lr0, e: lr0 / (1 + 0.2 * e)),
])
def test_schedules_follow_their_formulas_per_epoch(digits, kind, formula):
    schedule = Schedule(kind, gamma=0.5, every=3, k=0.2)
    np.testing.assert_allclose(epoch_rates(schedule, 0.1, 8), [formula(0.1, e) for e in range(8)], rtol=1e-15)
    # the curves run each epoch at its rate: full-batch SGD's update is that rate times the gradient
    start = digits.initial_theta(1e-3, 0)
    curves = training_curves(digits, OptimizerSpec("sgd", lr=0.1), start, 5, schedule)
    np.testing.assert_allclose(curves.epoch_lr, [formula(0.1, e) for e in range(5)], rtol=1e-15)
    gradient = digits.loss_and_grad(curves.previous_theta.reshape(digits.param_shape))[1]
    np.testing.assert_allclose(curves.final_theta - curves.previous_theta, -formula(0.1, 4) * np.ravel(gradient),
                               rtol=1e-10, atol=1e-16)


def test_curves_per_epoch_and_the_smoothing(digits, report):
    curves = report.curves
    assert curves.steps_per_epoch == math.ceil(digits.n_train / 64)
    assert curves.step_loss.size == 4 * curves.steps_per_epoch and curves.train_acc.size == 5
    # the last epoch's accuracies and gap against the final weights, evaluated here
    final = curves.final_theta.reshape(digits.param_shape)
    train, val = digits.accuracy(final, "train"), digits.accuracy(final, "val")
    assert (curves.train_acc[-1], curves.val_acc[-1]) == pytest.approx((train, val))
    assert curves.gap[-1] == pytest.approx(train - val)
    expected, average = [], 0.0
    for t, value in enumerate(curves.step_loss):
        average = EMA_BETA * average + (1 - EMA_BETA) * value
        expected.append(average / (1 - EMA_BETA ** (t + 1)))
    np.testing.assert_allclose(curves.step_smoothed, expected, rtol=1e-12)
    np.testing.assert_allclose(ema([2.0, 2.0, 2.0]), [2.0, 2.0, 2.0])
    assert f"{curves.gap[-1]:+.3f}" in curves.verdict


def test_the_verdicts_thresholds():
    assert "overfitting: increase regularization" in babysitting.curves_verdict([0.5, 1.0], [0.5, 0.9], None)
    level = np.full(40, 0.6)   # a smoothed loss that has levelled off, 10 updates an epoch
    assert "capacity to spare: a bigger model" in babysitting.curves_verdict([0.5, 0.7, 0.8], [0.5, 0.7, 0.8], None,
                                                                             level, 10)
    assert "diverged at step 7" in babysitting.curves_verdict([0.5], [0.5], 7)
    assert "too high" in babysitting.ratio_verdict("W", np.array([0.05, 0.02]))
    assert "too low" in babysitting.ratio_verdict("W", np.array([1e-6]))
    assert "near the notes' ~0.001" in babysitting.ratio_verdict("W", np.array([1e-3, 2e-3]))


def test_low_accuracy_is_not_capacity_to_spare_while_training_is_not_done():
    """The trial's cases: 'a bigger model' for a run still learning, and for a run of one
    epoch; the verdict says to train longer instead."""
    falling = np.linspace(1.6, 1.4, 40)   # 10 updates an epoch: 1.45 -> 1.4 over the last one, 3.4%
    steeper = np.linspace(1.6, 1.0, 40)   # 1.15 -> 1.0, 13%
    assert "capacity to spare" in babysitting.curves_verdict([0.5, 0.7, 0.8], [0.5, 0.7, 0.8], None, falling, 10)
    verdict = babysitting.curves_verdict([0.5, 0.7, 0.8], [0.5, 0.7, 0.8], None, steeper, 10)
    assert "the loss still fell 13% over the last 10 updates" in verdict and "train for more epochs" in verdict
    assert "capacity" not in verdict.split(":", 1)[1].split("judge")[0]
    short = babysitting.curves_verdict([0.5, 0.8], [0.5, 0.8], None, np.full(10, 0.6), 10)
    assert "too short to judge the model's capacity (1 epoch(s))" in short


def test_the_ratio_is_judged_over_the_last_epoch_and_a_still_small_w_is_not_a_high_rate():
    """A model started near W = 0 has large ratios at first: the median of every update
    said "too high" on the default scene (0.013), the last epoch's is 0.0084."""
    ratios = np.concatenate([np.full(30, 0.05), np.full(10, 0.004)])   # 10 updates an epoch
    text = babysitting.ratio_verdict("W", ratios, 10, grew_from_start=True)
    assert "median ||update|| / ||W|| 0.004 over the last 10 updates" in text and "near the notes'" in text
    assert "the first 10: 0.05, larger while W grew from its small start" in text
    # the reason only where W did grow (a He-initialized network's did not)
    assert "the first 10: 0.05)" in babysitting.ratio_verdict("W", ratios, 10).replace(", within", ")")
    assert "larger while" not in babysitting.ratio_verdict("W", ratios, 10)
    # undefined ratios (an all-zero start) do not shorten the count of the updates judged
    undefined = np.concatenate([np.full(30, 0.05), [np.nan, np.nan], np.full(8, 0.003)])
    assert "over the last 10 updates" in babysitting.ratio_verdict("W", undefined, 10)
    assert "too high" in babysitting.ratio_verdict("W", ratios)   # (every update counted)
    high = np.full(40, 0.02)
    assert "likely too high" in babysitting.ratio_verdict("W", high, 10, growth=1.02)
    growing = babysitting.ratio_verdict("W", high, 10, growth=1.3)
    assert "still grew x1.3 over the last updates" in growing and "not (yet) a sign of too high a rate" in growing


def test_a_full_batch_run_is_judged_over_more_than_its_one_update_an_epoch(digits):
    """Full batch: an epoch is one update, over which the smoothed loss barely moves: a run
    still going 2.30 -> 1.30 read "capacity to spare: a bigger model" and its ratio (W still
    small) "likely too high". Judged over 10 updates, it is not trained enough, and W's
    smallness explains the ratio."""
    curves = tasks.babysit_task(digits, lr=1e-3, batch_size=None, epochs=30).curves
    assert "not trained enough to judge the model's capacity" in curves.verdict
    assert "over the last 10 updates" in curves.verdict
    assert "not (yet) a sign of too high a rate" in curves.ratio_texts[0]


def test_the_default_scenes_curves_verdicts(digits):
    """Digits at the lab's defaults (sgd, lr 0.01, batch 64, 10 epochs): trained, and the
    update ratio within the notes' range (it said "likely too high" beside a range test
    suggesting 0.0098 .. 0.4)."""
    curves = tasks.babysit_task(digits).curves
    assert "no sign of overfitting" in curves.verdict
    assert "within 0.0001 .. 0.01" in curves.ratio_texts[0]


def test_the_range_rule_on_a_made_up_curve():
    lrs = 10.0 ** np.linspace(-6, 0, 61)
    # flat, then a fall steepest at 1e-3, lowest at 1e-1, then up
    logs = np.log10(lrs)
    smoothed = 2.0 - np.tanh(2 * (logs + 3)) + np.where(logs > -1, 10 * (logs + 1) ** 2, 0.0)
    low, high, found = suggested_range(lrs, smoothed)
    assert found and low == pytest.approx(1e-3, rel=0.3) and high == pytest.approx(1e-1, rel=0.3)
    assert suggested_range(lrs, np.linspace(1, 2, 61))[2] is False


def test_the_range_test_stops_before_it_blows_up(report):
    test = report.range_test
    assert test.blew_up_at is not None and test.lrs.size == test.blew_up_at
    assert np.all(np.diff(np.log(test.lrs)) > 0)
    assert test.low <= test.high and test.low == test.suggested
    assert f"{test.low:.2g}" in test.text and f"{test.high:.2g}" in test.text
    lowest_so_far = np.minimum.accumulate(test.smoothed)
    assert np.all(test.smoothed[1:] <= babysitting.BLOWUP_FACTOR * lowest_so_far[:-1])


def test_same_seed_same_result_and_another_seed_differs(digits, report):
    again = tasks.babysit_task(digits, epochs=4, seed=3)
    for first, second in zip(all_arrays(report), all_arrays(again)):
        np.testing.assert_array_equal(first, second)
    assert [text for _, text in again.verdicts()] == [text for _, text in report.verdicts()]
    other = tasks.babysit_task(digits, epochs=4, seed=4)
    assert not np.array_equal(other.curves.step_loss, report.curves.step_loss)


def test_the_json_form_holds_finite_numbers_only(report):
    data = report.to_dict()
    assert data["nonfinite"] == []
    assert data["probe"][2]["diverged"] is True and data["probe"][2]["diverged_at"] == report.probe[2].diverged_at
    assert data["curves"]["ratios"] == report.curves.ratios.tolist()


def test_progress_and_cancel(digits):
    fractions = []
    tasks.babysit_task(digits, epochs=2, report=lambda fraction, text: fractions.append(fraction))
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert tasks.babysit_task(digits, epochs=2, should_stop=lambda: True) is None


@pytest.mark.parametrize("settings, message", [
    ({"epochs": 0}, "the number of epochs must be a whole number from 1 to 1000"),
    ({"epochs": 1001}, "from 1 to 1000"),
    ({"lr": 0.0}, "the learning rate must be"),
    ({"lr": float("nan")}, "the learning rate must be"),
    ({"batch_size": -3}, "the batch size must be"),
    ({"method": "newton"}, "unknown babysitting method 'newton'"),
    ({"schedule": "cosine"}, "unknown schedule 'cosine'"),
    ({"schedule": "step", "gamma": 2.0}, "the step-decay factor gamma"),
    ({"batch_size": 1, "epochs": 100}, "use fewer epochs or a larger batch size"),
])
def test_absurd_settings_are_refused_with_what_to_change(digits, settings, message):
    with pytest.raises(HillwalkError, match=None) as caught:
        tasks.babysit_task(digits, **settings)
    assert message in str(caught.value)


def test_the_budget_refuses_the_largest_job_with_what_to_reduce(monkeypatch, digits):
    import re

    monkeypatch.setattr(babysitting, "WORK_BUDGET", 2e9)
    with pytest.raises(HillwalkError, match=r"the training curves are .* reduce the epochs \(at most \d+ here\), "
                                            "subsample the data, or choose a smaller model") as caught:
        tasks.babysit_task(digits, epochs=1000, batch_size=None)
    most = int(re.search(r"at most (\d+) here", str(caught.value)).group(1))
    settings = ("sgd", 1e-2, None)
    babysitting.check_settings(digits, *settings, most, "constant", 0)   # the epochs it names fit
    with pytest.raises(HillwalkError):
        babysitting.check_settings(digits, *settings, most + 1, "constant", 0)
    # where the probe and range test are most of the work, fewer epochs cannot help: it says so
    # (a 512-512 network on digits was told to reduce the epochs at any epoch count)
    monkeypatch.setattr(babysitting, "WORK_BUDGET", 5e8)
    with pytest.raises(HillwalkError, match="whatever the epochs: choose a smaller model") as caught:
        babysitting.check_settings(digits, "sgd", 1e-2, 64, 1, "constant", 0)
    assert "reduce the epochs" not in str(caught.value)
    bound = int(re.search(r"at most about ([\d,]+) parameters", str(caught.value)).group(1).replace(",", ""))
    assert bound < digits.size   # (the linear model's 650 parameters are over the lowered budget)


def test_a_two_d_function_has_no_babysitting():
    function = make_test_function("rosenbrock")
    assert "needs a classifier on data" in tasks.unavailable_reason("babysit", function)
    with pytest.raises(HillwalkError, match="Choose a data set"):
        tasks.babysit_task(function)


def test_a_probe_whose_loss_and_accuracy_both_stand_still_says_so():
    """'loss barely changes ... but accuracy does not' read as a contradiction: 'and
    neither does accuracy'; where the accuracy rises, 'but accuracy rises'."""
    from hillwalk.core.labs.babysitting import probe_verdict

    steps = np.arange(5)
    flat = np.full(5, 1.0986)
    still = probe_verdict(1e-6, "small", steps, flat, np.zeros(5), None, None, 4)
    assert still.verdict == "barely changes" and "and neither does accuracy (training accuracy 0.000 -> 0.000)" in still.text
    rising = probe_verdict(1e-6, "small", steps, flat, np.linspace(0.1, 0.2, 5), None, None, 4)
    assert "but accuracy rises (training accuracy 0.100 -> 0.200)" in rising.text
