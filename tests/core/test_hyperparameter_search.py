"""Hyperparameter search (issue 16): grid, random and coarse-to-fine in log space, trials in
worker processes, partial results, cancel, the CSV table."""
import csv
import math

import numpy as np
import pytest

from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs.hyperparameter_search import (
    Dimension,
    SearchSpec,
    best_trials,
    search,
    train_trial,
    write_csv,
)
from hillwalk.core.models.problem import ClassifierSpec

DIGITS = ClassifierSpec()   # digits, linear softmax, L2


@pytest.fixture(scope="module")
def digits():
    return DIGITS.build()


def table(result):
    return [(t.index, t.round, tuple(sorted(t.values.items())), t.train_acc, t.val_acc, t.final_loss,
             t.diverged_at) for t in result.trials]


@pytest.mark.parametrize("strategy", ["grid", "random", "coarse-to-fine"])
def test_the_same_seed_gives_the_same_table(digits, strategy):
    spec = SearchSpec(strategy=strategy, trials=16, epochs=1, seed=3)
    first, second = search(DIGITS, spec, digits), search(DIGITS, spec, digits)
    assert len(first.trials) == 16 and first.complete
    assert table(first) == table(second)
    assert [t.index for t in first.trials] == list(range(16))
    other = search(DIGITS, SearchSpec(strategy=strategy, trials=16, epochs=1, seed=4), digits)
    assert strategy == "grid" or table(other) != table(first)


def test_a_grid_tries_sqrt_n_values_of_each_and_random_search_n(digits):
    grid = search(DIGITS, SearchSpec(strategy="grid", trials=16), digits)
    rand = search(DIGITS, SearchSpec(strategy="random", trials=16), digits)
    assert grid.distinct == {"lr": 4, "reg": 4} and rand.distinct == {"lr": 16, "reg": 16}
    # the grid's values: 4 per axis, evenly spaced in log10 from end to end
    np.testing.assert_allclose(np.log10(np.unique(grid.column("lr"))), np.linspace(-6, 0, 4), atol=1e-12)
    np.testing.assert_allclose(np.log10(np.unique(grid.column("reg"))), np.linspace(-5, 1, 4), atol=1e-12)
    # random draws are log-uniform within the ranges
    assert np.all((rand.column("lr") >= 1e-6) & (rand.column("lr") <= 1.0))
    # a budget that is not a square: the largest grid within it, and the progress counts it
    texts = []
    twenty = search(DIGITS, SearchSpec(strategy="grid", trials=20), digits,
                    report=lambda fraction, text, partial=None: texts.append((fraction, text)))
    assert len(twenty.trials) == 16 == SearchSpec(strategy="grid", trials=20).planned_trials
    assert texts[-1] == (1.0, "16 of 16 trials")


def test_random_search_beats_the_grid_when_one_hyperparameter_matters(digits):
    """The notes' figure (Bergstra and Bengio): one epoch of SGD on digits depends on the
    learning rate far more than on lambda, so the grid's 4 learning rates waste most of its
    budget; random search's 16 find a better one. (lambda up to 1e-1: beyond, a strong
    penalty matters too.)"""
    ranges = {"lr": (1e-6, 1.0), "reg": (1e-5, 1e-1)}
    grid = search(DIGITS, SearchSpec(strategy="grid", trials=16, **ranges), digits)
    lr, reg, val = grid.column("lr"), grid.column("reg"), grid.column("val_acc")
    by_lr = [np.mean(val[lr == v]) for v in np.unique(lr)]
    by_reg = [np.mean(val[reg == v]) for v in np.unique(reg)]
    assert np.ptp(by_lr) > 5 * np.ptp(by_reg)          # the learning rate is what matters (14x)
    for seed in range(6):
        random_best = search(DIGITS, SearchSpec(strategy="random", trials=16, seed=seed, **ranges), digits)
        grid_best = search(DIGITS, SearchSpec(strategy="grid", trials=16, seed=seed, **ranges), digits)
        assert random_best.best.val_acc >= grid_best.best.val_acc, seed


def test_coarse_to_fine_searches_a_narrowed_range_around_the_best_trials(digits):
    result = search(DIGITS, SearchSpec(strategy="coarse-to-fine", trials=16, seed=1), digits)
    assert len(result.rounds) == 2 and [t.round for t in result.trials] == [1] * 8 + [2] * 8
    first, second = result.rounds
    best = best_trials(result.trials[:8], 0.25)
    assert len(best) == 2
    for name in ("lr", "reg"):
        low, high = second[name]
        assert first[name][0] <= low < high <= first[name][1]
        assert high / low < first[name][1] / first[name][0]          # narrower
        values = [t.values[name] for t in best]
        assert low <= min(values) and max(values) <= high            # around the best trials
        tried = [t.values[name] for t in result.trials if t.round == 2]
        assert all(low <= v <= high for v in tried)


def test_dimensions_sample_grid_and_narrow():
    lr = Dimension("lr", 1e-4, 1e-1)
    values = lr.sample(np.random.default_rng(0), 2000)
    assert values.min() >= 1e-4 and values.max() <= 1e-1
    # log-uniform: each decade gets about a third
    counts = np.histogram(np.log10(values), bins=[-4, -3, -2, -1])[0]
    assert np.all(np.abs(counts / 2000 - 1 / 3) < 0.05)
    narrowed = lr.narrowed([1e-3, 1e-2])
    assert narrowed.low == pytest.approx(10 ** -3.1) and narrowed.high == pytest.approx(10 ** -1.9)
    hidden = Dimension("hidden", 8, 128, integer=True)
    assert list(hidden.grid(3)) == [8.0, 32.0, 128.0]
    keep = Dimension("keep_prob", 0.5, 1.0, log=False)
    np.testing.assert_allclose(keep.grid(3), [0.5, 0.75, 1.0])


def test_parallel_trials_match_the_serial_ones_and_post_increments(digits):
    spec = SearchSpec(strategy="random", trials=10, seed=2)
    serial = search(DIGITS, spec, digits)
    increments = []
    parallel = search(DIGITS, spec, digits, workers=2,
                      report=lambda fraction, text, partial=None: partial and increments.append(list(partial)))
    assert table(parallel) == table(serial)
    posted = [t.index for increment in increments for t in increment]
    assert sorted(posted) == list(range(10))                 # each trial posted once, as an increment
    assert len(posted) == len(set(posted))


@pytest.mark.parametrize("workers", [1, 2])
def test_a_stopped_search_keeps_the_trials_it_finished(digits, workers):
    done = []
    spec = SearchSpec(strategy="random", trials=40, epochs=2, seed=0)
    result = search(DIGITS, spec, digits, workers=workers,
                    report=lambda fraction, text, partial=None: done.extend(partial or []),
                    should_stop=lambda: len(done) >= 3)
    assert not result.complete and 3 <= len(result.trials) < 40
    assert "stopped early" in result.verdict()


def test_a_trial_is_a_run_of_the_model_with_its_hyperparameters(digits):
    """train_trial trains exactly what its values say: lambda changes the objective, lr
    the updates; a huge learning rate diverges and is reported, not crashed."""
    spec = SearchSpec(trials=1, epochs=1, seed=0)
    train_acc, val_acc, loss, diverged = train_trial(DIGITS, digits, {"lr": 0.05, "reg": 1e-4}, spec)
    assert 0.8 < val_acc <= 1 and math.isfinite(loss) and diverged is None
    other = train_trial(DIGITS, digits, {"lr": 0.05, "reg": 1.0}, spec)
    assert other != (train_acc, val_acc, loss, diverged)
    *_, huge_loss, huge_diverged = train_trial(DIGITS, digits, {"lr": 1e6, "reg": 1e-4}, spec)
    assert huge_diverged is not None and huge_loss == math.inf


def test_network_hyperparameters_and_refusals(digits):
    net = ClassifierSpec(dataset="iris", model="net", hidden=(8,))
    result = search(net, SearchSpec(strategy="grid", trials=8, hidden=(4, 16), lr=(1e-3, 1e-1), reg=(1e-5, 1e-1),
                                    epochs=2), workers=1)
    assert result.distinct == {"lr": 2, "reg": 2, "hidden": 2}
    assert sorted(set(result.column("hidden"))) == [4.0, 16.0]
    with pytest.raises(HillwalkError, match="network's hyperparameters"):
        search(DIGITS, SearchSpec(hidden=(4, 16)), digits)
    with pytest.raises(HillwalkError, match="runs from low to high"):
        SearchSpec(lr=(1e-1, 1e-3))
    with pytest.raises(HillwalkError, match="log space"):
        SearchSpec(reg=(0.0, 1.0))
    with pytest.raises(HillwalkError, match="learning-rate method"):
        SearchSpec(method="newton")
    with pytest.raises(HillwalkError, match="unknown search strategy"):
        SearchSpec(strategy="bayes")
    with pytest.raises(HillwalkError, match="number of trials"):
        SearchSpec(trials=0)
    with pytest.raises(HillwalkError, match="example passes"):
        search(DIGITS, SearchSpec(trials=10000, epochs=1000), digits)
    with pytest.raises(HillwalkError, match="a 2-D function has none"):
        search(ClassifierSpec(objective="beale"), SearchSpec())
    no_validation = ClassifierSpec(dataset="iris", val_fraction=0.0)
    with pytest.raises(HillwalkError, match="no validation part: give it a validation share"):
        search(no_validation, SearchSpec(trials=2))
    wide = ClassifierSpec(model="net", hidden=(8,))
    with pytest.raises(HillwalkError, match="multiply-adds, more than 1e\\+12.*narrower network"):
        search(wide, SearchSpec(trials=400, epochs=10, hidden=(8, 4096)), wide.build())


def test_a_model_without_a_regularizer_is_searched_with_l2(digits):
    plain = ClassifierSpec(regularizer="none")
    result = search(plain, SearchSpec(trials=2), plain.build())
    assert result.problem["regularizer"] == "l2" and "use L2" in result.notes[0]


def test_the_csv_has_one_row_per_trial(digits, tmp_path):
    result = search(DIGITS, SearchSpec(strategy="coarse-to-fine", trials=6, seed=0), digits)
    path = write_csv(result, tmp_path / "trials.csv")
    rows = list(csv.DictReader(path.read_text().splitlines()))
    assert list(rows[0]) == ["trial", "round", "lr", "reg", "train_acc", "val_acc", "final_loss", "diverged_at"]
    assert [int(r["trial"]) for r in rows] == list(range(6)) and {r["round"] for r in rows} == {"1", "2"}
    for row, trial in zip(rows, result.trials):
        assert float(row["lr"]) == trial.values["lr"] and float(row["val_acc"]) == trial.val_acc


def test_the_search_command_prints_the_best_and_writes_the_table(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    out = tmp_path / "trials.csv"
    result = subprocess.run([sys.executable, str(root / "main.py"), "search", "--dataset", "digits", "--strategy",
                             "grid", "--trials", "9", "--lr", "1e-4", "1e0", "--reg", "1e-5", "1e1", "--epochs", "1",
                             "--optimizer", "sgd", "--seed", "0", "--workers", "2", "--out", str(out)],
                            capture_output=True, text=True, cwd=root, timeout=300)
    assert result.returncode == 0, result.stderr
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 9 and len({r["lr"] for r in rows}) == 3 and len({r["reg"] for r in rows}) == 3
    best = max(rows, key=lambda r: (float(r["val_acc"]), float(r["train_acc"]), -int(r["trial"])))
    assert f"validation accuracy {100 * float(best['val_acc']):.1f}%" in result.stdout
    assert "distinct values tried: lr 3, reg 3" in result.stdout
    bad = subprocess.run([sys.executable, str(root / "main.py"), "search", "--lr", "1", "1e-3"],
                         capture_output=True, text=True, cwd=root, timeout=300)
    assert bad.returncode == 2 and "runs from low to high" in bad.stderr


def test_a_grid_too_small_and_a_search_where_nothing_learned_say_so(digits):
    with pytest.raises(HillwalkError, match="a grid over 2 hyperparameters needs at least 2 values of each, 4"):
        SearchSpec(strategy="grid", trials=3)
    with pytest.raises(HillwalkError, match="a grid over 4 hyperparameters needs .* 16 trials"):
        SearchSpec(strategy="grid", trials=15, hidden=(8, 64), keep_prob=(0.5, 1.0))
    ends = search(DIGITS, SearchSpec(strategy="grid", trials=4, lr=(1e-3, 1e-1), reg=(1e-5, 1e-3)), digits)
    assert "tries only the ranges' ends" in ends.verdict()
    hopeless = search(DIGITS, SearchSpec(strategy="random", trials=3, lr=(1e-9, 1e-8), reg=(1e-5, 1e-4)), digits)
    assert hopeless.chance == 0.1 and "no trial learned: the best is near chance (10%)" in hopeless.verdict()
    assert "edge" not in hopeless.verdict()          # no advice drawn from a search that learned nothing
