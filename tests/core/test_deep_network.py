"""The layered network (core/models/network.py: Network): gradient checks of every layer
type and combination, the two-layer special case against numbers recorded before the
generalization, zero init's symmetry, residual blocks, batch norm's modes, dropout's
modes, the generic batched landscape path, kinks at depth, layout and settings."""
import hashlib

import numpy as np
import pytest

from hillwalk.core.data.datasets import Dataset
from hillwalk.core.errors import HillwalkError
from hillwalk.core.labs.gradcheck import gradient_check
from hillwalk.core.landscapes.directions import layout_of, normalize, random_plane
from hillwalk.core.landscapes.landscape import compute_slice, make_axis, reference_slice
from hillwalk.core.models.layers import ACTIVATIONS, ALL_INIT_SCHEMES
from hillwalk.core.models.network import Network, TwoLayerNet, estimate_pass_bytes
from hillwalk.core.models.problem import ClassifierSpec
from hillwalk.core.models.regularizers import Regularizer

TOLERANCE = 1e-7  # the brief's bar for a correct gradient away from kinks


def prepared(name):
    return ClassifierSpec(dataset=name, preprocessing="standardize", model="net", hidden=4).build().train


def subset(data, every):
    """Every ``every``-th example (each class keeps examples): small data, fast checks."""
    return Dataset(data.X[::every], data.y[::every], data.class_names, data.feature_names, data.provenance)


SPIRAL = prepared("spiral")   # 240 training examples, 2 features, 3 classes
IRIS = prepared("iris")       # 120 training examples, 4 features, 3 classes
SMALL = {"spiral": subset(SPIRAL, 3), "iris": subset(IRIS, 2)}


def away_from_init(net, seed=2, scale=0.1):
    return net.initial_theta(seed=1) + scale * np.random.default_rng(seed).standard_normal(net.size)


def digest(array):
    return hashlib.sha256(np.ascontiguousarray(array, dtype=np.float64).tobytes()).hexdigest()[:16]


# --------------------------------------------------------------------------- gradient checks

L1, L2 = Regularizer("l1", 1e-2), Regularizer("l2", 1e-2)
ELASTIC = Regularizer("elastic", 1e-2, 0.5)
# A product chosen so that every option appears with depth >= 2 at least once: depth 1-3,
# every activation (maxout with 2 and 3 pieces), batch norm (train, and eval below),
# dropout (fixed, mean:K), residual on and off, both losses, every regularizer.
GRADIENT_CASES = {
    "depth1-relu": dict(hidden=(8,), activation="relu"),
    "depth1-maxout3-svm": dict(hidden=(6,), activation="maxout", pieces=3, loss="svm"),
    "depth2-tanh-svm-l1": dict(hidden=(8, 8), activation="tanh", loss="svm", regularizer=L1),
    "depth2-sigmoid-l2": dict(hidden=(8, 6), activation="sigmoid", regularizer=L2),
    "depth2-elu-elastic": dict(hidden=(7, 7), activation="elu", regularizer=ELASTIC, regularize_bias=True),
    "depth2-leaky-none-svm": dict(hidden=(8, 8), activation="leaky_relu", slope=0.05, loss="svm"),
    "depth2-maxout2-elastic": dict(hidden=(6, 6), activation="maxout", pieces=2, regularizer=ELASTIC),
    "depth3-maxout3-svm": dict(hidden=(6, 5, 4), activation="maxout", pieces=3, loss="svm", regularizer=L2),
    "depth3-leaky-residual-l2": dict(hidden=(8, 8, 8), activation="leaky_relu", residual=True, regularizer=L2),
    "depth3-relu-no-residual": dict(hidden=(8, 8, 8), activation="relu", residual=False, regularizer=L1),
    "depth2-relu-bn": dict(hidden=(8, 8), activation="relu", batchnorm=True),
    "depth2-maxout2-bn-svm": dict(hidden=(6, 6), activation="maxout", pieces=2, batchnorm=True, loss="svm"),
    "depth2-sigmoid-bn-dropout": dict(hidden=(8, 8), activation="sigmoid", batchnorm=True, keep_prob=0.7),
    "depth2-relu-dropout-fixed-svm": dict(hidden=(8, 8), activation="relu", keep_prob=0.6, loss="svm",
                                          regularizer=L1),
    "depth2-elu-dropout-mean3-residual": dict(hidden=(8, 8), activation="elu", keep_prob=0.6,
                                              dropout_mode="mean:3", residual=True),
    "depth3-tanh-everything": dict(hidden=(8, 8, 8), activation="tanh", batchnorm=True, residual=True,
                                   keep_prob=0.8, loss="svm", regularizer=ELASTIC, regularize_bias=True),
}


def assert_gradient_correct(net, theta):
    result = gradient_check(net, theta)
    assert result.indices.size == net.size
    assert result.max_rel_error_away_from_kinks < TOLERANCE
    # the verdict covers most parameters (BN makes the biases before it exactly 0: unresolved)
    assert (~result.near_kink & ~result.unresolved).sum() > 0.6 * net.size
    return result


@pytest.mark.parametrize("data", ["spiral", "iris"])
@pytest.mark.parametrize("case", sorted(GRADIENT_CASES))
def test_gradient_check_of_every_layer_type(case, data):
    net = Network(SMALL[data], **GRADIENT_CASES[case])
    assert_gradient_correct(net, away_from_init(net))


def test_every_activation_is_checked_at_depth_two():
    checked = {case["activation"] for case in GRADIENT_CASES.values() if len(case["hidden"]) >= 2}
    assert checked == set(ACTIVATIONS) | {"maxout"}
    assert {case.get("pieces") for case in GRADIENT_CASES.values() if case["activation"] == "maxout"} == {2, 3}
    regularizers = {case.get("regularizer", Regularizer()).kind for case in GRADIENT_CASES.values()
                    if len(case["hidden"]) >= 2}
    assert regularizers == {"none", "l1", "l2", "elastic"}


@pytest.mark.parametrize("options", [dict(hidden=(8, 8), activation="relu"),
                                     dict(hidden=(6, 6, 6), activation="maxout", pieces=2, residual=True,
                                          loss="svm", regularizer=L2)])
def test_gradient_check_in_batchnorm_eval_mode(options):
    net = Network(SMALL["spiral"], batchnorm=True, **options)
    theta = away_from_init(net)
    net.estimate_running_stats(away_from_init(net, seed=5))  # statistics of another point: a fixed affine map
    evaluation = net.with_modes(bn_mode="eval")
    assert_gradient_correct(evaluation, theta)
    # in eval mode the biases before batch norm matter (they are not cancelled by a batch mean)
    b1 = evaluation.offsets["b1"]
    assert np.any(evaluation.loss_and_grad(theta)[1][b1:b1 + 6] != 0)


def test_gradient_on_a_minibatch_matches_differences():
    net = Network(SMALL["iris"], hidden=(6, 6), activation="tanh", batchnorm=True, keep_prob=0.7)
    theta, batch = away_from_init(net), np.arange(3, 50, 4)
    analytic = net.loss_and_grad(theta, batch=batch)[1]
    h, worst = 1e-5, 0.0
    for i in np.random.default_rng(0).choice(net.size, 40, replace=False):
        plus, minus = theta.copy(), theta.copy()
        plus[i] += h
        minus[i] -= h
        numerical = (net.loss_and_grad(plus, batch=batch, need_grad=False)[0]
                     - net.loss_and_grad(minus, batch=batch, need_grad=False)[0]) / (2 * h)
        if max(abs(numerical), abs(analytic[i])) > 1e-6:
            worst = max(worst, abs(numerical - analytic[i]) / max(abs(numerical), abs(analytic[i])))
    assert worst < 1e-6  # differences of the rounded total (no term-wise sum on a batch)


# --------------------------------------------------------------------------- the two-layer special case

# Recorded from the two-layer network before Network generalized it (commit b86b341) by a
# script doing what the test below does: ClassifierSpec(dataset, preprocessing="standardize", model="net",
# hidden=10, lam=1e-2, activation, loss, regularizer, init).build(); theta0 =
# initial_theta(seed=3); theta = theta0 + 0.1 * default_rng(4).standard_normal(size); loss and
# gradient at theta (full and on the batch arange(5, 40, 3)), gradient entries 0, 7, 31, -1,
# sha256 prefixes of the whole gradients and of theta0, and evaluate_batch at
# [theta, theta0 + 0.05, 1.5 theta] for "total", "accuracy" and "example:4".
RECORDED = {
    ('spiral', 'relu', 'softmax', 'l2', 'he'): dict(
        loss=1.4164901047053762,
        grad=(-0.029412034864715268, 0.0037755321888271534, -0.2290270475916283, 0.13447393859849985),
        batch_loss=1.3397853393319152, grad_hash='c7e41363407d427e', batch_grad_hash='455214ec81f0516e',
        init_hash='9e798afe6583a53b', batch_values=(1.4164901047053762, 1.4885417267070313, 2.23139729707262),
        accuracy=(0.4166666666666667, 0.3333333333333333, 0.4166666666666667),
        example=(1.1217673801943133, 1.2029722595954542, 1.1503588336844506)),
    ('spiral', 'tanh', 'svm', 'l1', 'xavier'): dict(
        loss=1.6663018200986888,
        grad=(0.0989033340199107, -0.18790996305863897, 0.2515693898548107, 0.012499999999998984),
        batch_loss=2.506187699193141, grad_hash='c865e91f3123002f', batch_grad_hash='8c2873248f5a320d',
        init_hash='ac1c584a20011357', batch_values=(1.6663018200986888, 1.6591953558212769, 2.017379722476077),
        accuracy=(0.4375, 0.43333333333333335, 0.4375),
        example=(2.4359562950089386, 2.17526286334001, 2.973798594721906)),
    ('iris', 'relu', 'svm', 'elastic', 'small'): dict(
        loss=2.076308151127313,
        grad=(-0.00307462703415772, -0.0198197491095086, -0.09764635035952479, -2.8449465006019636e-16),
        batch_loss=2.3981683600599975, grad_hash='17fb6514c936547e', batch_grad_hash='99bbeb083acdf804',
        init_hash='856da5cf04f462a3', batch_values=(2.076308151127313, 2.0422519028675827, 2.127288607533819),
        accuracy=(0.3333333333333333, 0.275, 0.3333333333333333),
        example=(2.338627779779638, 2.0, 2.5614513144206543)),
    ('iris', 'tanh', 'softmax', 'none', 'he'): dict(
        loss=2.196399578074065,
        grad=(0.07701225053704937, -0.1575909070505566, -0.1858018813876079, -0.008715893044703996),
        batch_loss=3.149749091646621, grad_hash='be5a6e53d2cf31de', batch_grad_hash='a29035063eabc12e',
        init_hash='d23c12ca99b9e58c', batch_values=(2.196399578074065, 2.109955728131198, 3.1461358047730807),
        accuracy=(0.15, 0.15, 0.15),
        example=(3.559959084529377, 3.0592852809525413, 5.491238274807657)),
}


@pytest.mark.parametrize("key", sorted(RECORDED))
@pytest.mark.parametrize("build", ["two_layer_net", "network"])
def test_the_two_layer_case_reproduces_the_recorded_numbers_bit_for_bit(key, build):
    dataset, activation, loss, regularizer, init = key
    spec = ClassifierSpec(dataset=dataset, preprocessing="standardize", model="net", hidden=10, lam=1e-2,
                          activation=activation, loss=loss, regularizer=regularizer, init=init)
    net = spec.build()
    assert type(net) is TwoLayerNet
    if build == "network":
        net = Network(net.train, net.val, (10,), activation, 0.01, init, loss, 1.0, net.regularizer)
    expected = RECORDED[key]
    assert net.block_names == ("W1", "b1", "W2", "b2")
    theta0 = net.initial_theta(seed=3)
    theta = theta0 + 0.1 * np.random.default_rng(4).standard_normal(net.size)
    value, grad = net.loss_and_grad(theta)
    batch_value, batch_grad = net.loss_and_grad(theta, batch=np.arange(5, 40, 3))
    assert value == expected["loss"] and batch_value == expected["batch_loss"]
    assert tuple(float(grad[i]) for i in (0, 7, 31, -1)) == expected["grad"]
    assert (digest(grad), digest(batch_grad), digest(theta0)) == \
        (expected["grad_hash"], expected["batch_grad_hash"], expected["init_hash"])
    thetas = np.stack([theta, theta0 + 0.05, theta * 1.5])
    assert tuple(net.evaluate_batch(thetas)) == expected["batch_values"]
    assert tuple(net.evaluate_batch(thetas, "accuracy")) == expected["accuracy"]
    assert tuple(net.evaluate_batch(thetas, "example:4")) == expected["example"]


def test_two_layer_net_keeps_its_int_hidden_and_description():
    net = TwoLayerNet(SPIRAL, hidden=7, activation="tanh")
    assert net.hidden == 7 and net.widths == (7,) and net.is_network and net.has_batch_evaluation
    description = net.describe()
    assert description["model"] == "net" and description["hidden"] == 7
    assert description["blocks"] == {"W1": [2, 7], "b1": [7], "W2": [7, 3], "b2": [3]}


# --------------------------------------------------------------------------- initialization

def test_zero_init_units_stay_identical_through_training():
    # Imbalanced classes, so the output layer's gradient is not zero from the first step.
    keep = np.concatenate([np.flatnonzero(SPIRAL.y == c)[:n] for c, n in ((0, 80), (1, 40), (2, 20))])
    data = Dataset(SPIRAL.X[keep], SPIRAL.y[keep], SPIRAL.class_names, SPIRAL.feature_names, SPIRAL.provenance)

    def train(net):
        theta = net.initial_theta(seed=0)
        for _ in range(20):
            theta = theta - 1.0 * net.loss_and_grad(theta)[1]
        return net.unpack(theta, as_dict=True)

    zero = train(Network(data, hidden=(6, 5), activation="sigmoid", init="zero"))
    for name in ("W1", "W2"):   # every hidden unit's incoming weights: one column each
        W = zero[name]
        assert np.abs(W).max() > 1e-5, f"{name} never moved: the test would show nothing"
        np.testing.assert_allclose(W, np.repeat(W[:, :1], W.shape[1], axis=1), rtol=1e-12, atol=0)
    for name in ("b1", "b2"):
        np.testing.assert_allclose(zero[name], zero[name][0], rtol=1e-12, atol=0)
    W_out = zero["W3"]   # a hidden unit's outgoing weights: one row each
    np.testing.assert_allclose(W_out, np.repeat(W_out[:1], W_out.shape[0], axis=0), rtol=1e-12, atol=0)
    # with He init the same training leaves distinct units
    he = train(Network(data, hidden=(6, 5), activation="sigmoid", init="he"))
    assert np.abs(he["W1"] - he["W1"][:, :1]).max() > 1e-2
    # with ReLU (or tanh) at zero init the hidden layers never move at all: act(0) = 0
    dead = train(Network(data, hidden=(6, 5), activation="relu", init="zero"))
    assert not dead["W1"].any() and not dead["W2"].any() and not dead["W3"].any()


@pytest.mark.parametrize("scheme", ALL_INIT_SCHEMES)
def test_initial_theta_draws_every_scheme_layer_by_layer(scheme):
    net = Network(SMALL["iris"], hidden=(5, 4), init=scheme, batchnorm=True)
    theta = net.initial_theta(seed=7)
    np.testing.assert_array_equal(theta, net.initial_theta(seed=7))
    blocks = net.unpack(theta, as_dict=True)
    assert all(not blocks[f"b{k}"].any() for k in (1, 2, 3)) and not blocks["beta1"].any()
    assert np.all(blocks["gamma1"] == 1) and np.all(blocks["gamma2"] == 1)
    rng = np.random.default_rng(7)
    if scheme == "zero":
        assert not any(blocks[f"W{k}"].any() for k in (1, 2, 3))
    elif scheme == "large":   # the draws in layer order, 1.0 * randn
        for name, shape in (("W1", (4, 5)), ("W2", (5, 4)), ("W3", (4, 3))):
            np.testing.assert_array_equal(blocks[name], rng.standard_normal(shape))
    else:
        assert not np.array_equal(theta, net.initial_theta(seed=8))


def test_maxout_pieces_are_drawn_one_after_another():
    net = Network(SMALL["iris"], hidden=(3,), activation="maxout", pieces=2, init="large")
    blocks = net.unpack(net.initial_theta(seed=4), as_dict=True)
    rng = np.random.default_rng(4)
    np.testing.assert_array_equal(blocks["W1"][0], rng.standard_normal((4, 3)))
    np.testing.assert_array_equal(blocks["W1"][1], rng.standard_normal((4, 3)))
    np.testing.assert_array_equal(blocks["W2"], rng.standard_normal((3, 3)))


# --------------------------------------------------------------------------- residual blocks

def test_a_residual_layer_with_zero_weights_is_the_identity():
    net = Network(SMALL["spiral"], hidden=(6, 6, 6), activation="relu", residual=True)
    theta = net.initial_theta(seed=0)
    net.unpack(theta, as_dict=True)["W2"][...] = 0.0    # f of layer 2: zero weights, zero bias
    values = net.layer_values(theta)
    np.testing.assert_array_equal(values[1]["output"], values[0]["output"])
    assert np.abs(values[2]["output"] - values[1]["output"]).max() > 0  # layer 3 still adds its f
    # the same weights without skip connections: layer 2 outputs relu(0) = 0
    plain = Network(SMALL["spiral"], hidden=(6, 6, 6), activation="relu", residual=False)
    assert not plain.layer_values(theta)[1]["output"].any()
    assert plain.loss(theta) != net.loss(theta)


def test_which_layers_skip():
    data = SMALL["spiral"]   # 2 features: a first hidden layer of width 2 still never skips
    assert Network(data, hidden=(2, 2, 3, 3), residual=True).residual_blocks == 2
    assert [layer.residual for layer in Network(data, hidden=(2, 2, 3, 3), residual=True).layers] == \
        [False, True, False, True]
    uneven = Network(data, hidden=(6, 5, 4), residual=True)
    assert uneven.residual_blocks == 0 and uneven.describe()["residual_blocks"] == 0
    assert Network(data, hidden=(4, 4), residual=False).residual_blocks == 0


# --------------------------------------------------------------------------- batch normalization

def test_batchnorm_train_mode_normalizes_each_feature_over_the_batch():
    net = Network(SMALL["iris"], hidden=(7, 5), activation="maxout", pieces=2, batchnorm=True)
    theta = net.initial_theta(seed=0)   # gamma 1, beta 0: the normalized values themselves
    for values in net.layer_values(theta):
        features = values["normalized"].transpose(1, 0, 2).reshape(net.n_train, -1)   # (N, k*width)
        assert np.abs(features.mean(axis=0)).max() < 1e-12
        np.testing.assert_allclose(features.var(axis=0), 1.0, rtol=1e-3)
        assert np.abs(values["affine"].mean(axis=1)).max() > 1e-3   # before BN they were not centred


def test_batchnorm_eval_with_estimated_statistics_equals_train_mode_on_the_full_data():
    net = Network(SMALL["spiral"], hidden=(8, 8), activation="relu", batchnorm=True, keep_prob=0.7,
                  dropout_mode="off")
    theta = away_from_init(net)
    with pytest.raises(HillwalkError, match="estimate them first"):
        net.with_modes(bn_mode="eval").loss(theta)
    stats = net.estimate_running_stats(theta)
    assert len(stats) == 2 and stats[0][0].shape == (8,)
    evaluation = net.with_modes(bn_mode="eval")
    assert evaluation.loss(theta) == net.loss(theta)
    # on a minibatch they differ: train mode uses the batch's own statistics
    batch = np.arange(0, 40, 3)
    assert evaluation.loss_and_grad(theta, batch)[0] != net.loss_and_grad(theta, batch)[0]
    # the running statistics are the population mean and variance of each layer's affine map
    first = SMALL["spiral"].X @ net.unpack(theta, as_dict=True)["W1"] + net.unpack(theta, as_dict=True)["b1"]
    np.testing.assert_allclose(stats[0][0], first.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(stats[0][1], first.var(axis=0), rtol=1e-12)


def test_running_statistics_follow_the_momentum():
    net = Network(SMALL["iris"], hidden=(5,), batchnorm=True, bn_momentum=0.8)
    theta, batch = away_from_init(net), np.arange(10, 30)
    first = net.update_running_stats(theta, batch)
    affine = IRIS.X[::2][batch] @ net.unpack(theta)[0] + net.unpack(theta)[1]
    np.testing.assert_allclose(first[0][0], 0.2 * affine.mean(axis=0), rtol=1e-12)
    np.testing.assert_allclose(first[0][1], 0.8 + 0.2 * affine.var(axis=0), rtol=1e-12)
    second = net.update_running_stats(theta, batch)
    np.testing.assert_allclose(second[0][0], 0.8 * first[0][0] + 0.2 * affine.mean(axis=0), rtol=1e-12)


def test_evaluation_uses_running_statistics_when_there_are_some():
    net = Network(SMALL["spiral"], hidden=(8,), batchnorm=True)
    theta = away_from_init(net)
    X = SMALL["spiral"].X[:5]
    train_scores = net.forward(theta, X, None, "train")[0]
    assert np.array_equal(net.predict(theta, X), np.argmax(train_scores, axis=1))
    net.estimate_running_stats(theta)
    eval_scores = net.forward(theta, X, None, "eval")[0]
    assert not np.allclose(eval_scores, train_scores)
    assert np.array_equal(net.predict(theta, X), np.argmax(eval_scores, axis=1))


# --------------------------------------------------------------------------- dropout

def test_dropout_off_equals_keep_probability_one():
    data = SMALL["spiral"]
    off = Network(data, hidden=(8, 8), activation="tanh", keep_prob=0.5, dropout_mode="off")
    none = Network(data, hidden=(8, 8), activation="tanh", keep_prob=1.0)
    fixed = off.with_modes(dropout_mode="fixed")
    theta = away_from_init(off)
    assert off.loss_and_grad(theta)[0] == none.loss_and_grad(theta)[0]
    np.testing.assert_array_equal(off.loss_and_grad(theta)[1], none.loss_and_grad(theta)[1])
    assert fixed.loss(theta) != off.loss(theta)


def test_a_fixed_mask_is_one_function_and_a_batch_uses_its_rows():
    net = Network(SMALL["iris"], hidden=(8, 8), activation="relu", keep_prob=0.5, dropout_mode="fixed",
                  mask_seed=3)
    theta = away_from_init(net)
    assert net.loss(theta) == net.loss(theta) == net.with_modes(mask_seed=3).loss(theta)
    assert net.with_modes(mask_seed=4).loss(theta) != net.loss(theta)
    mask = net.masks[0][0]
    assert mask.shape == (net.n_train, 8) and set(np.unique(mask)) <= {0.0, 2.0}
    assert 0.35 < np.mean(mask == 0) < 0.65
    batch = np.array([3, 17, 4, 40, 41])
    # without batch norm an example's loss does not depend on the others: the batch's loss
    # is the mean of the full set's per-example losses at its rows
    per_example = net.per_example_losses(theta)
    assert np.isclose(net.loss_and_grad(theta, batch)[0], per_example[batch].mean(), rtol=1e-14)
    # and it is what the batch's own rows of the masks give
    scores = net.forward(theta, net.X[batch], [m[batch] for m in net.masks[0]])[0]
    assert net.loss_and_grad(theta, batch)[0] == net.score_loss(scores, net.y[batch])[0]


def test_mean_over_k_masks_is_the_mean_of_single_mask_losses():
    net = Network(SMALL["spiral"], hidden=(8, 8), activation="elu", keep_prob=0.6, dropout_mode="mean:4",
                  mask_seed=10, batchnorm=True)
    theta = away_from_init(net)
    singles = [net.with_modes(dropout_mode="fixed", mask_seed=10 + k) for k in range(4)]
    loss, grad = net.loss_and_grad(theta)
    np.testing.assert_allclose(loss, np.mean([s.loss(theta) for s in singles]), rtol=1e-14)
    np.testing.assert_allclose(grad, np.mean([s.loss_and_grad(theta)[1] for s in singles], axis=0),
                               rtol=1e-12, atol=1e-15)
    assert net.with_modes(dropout_mode="mean:1").loss(theta) == singles[0].loss(theta)
    np.testing.assert_allclose(net.loss_terms(theta).sum(), loss, rtol=1e-13)


# --------------------------------------------------------------------------- batched evaluation

DEEP_NETS = {
    "bn-dropout": dict(hidden=(8, 8, 8), activation="relu", batchnorm=True, keep_prob=0.7),
    "maxout-residual-svm": dict(hidden=(6, 6), activation="maxout", pieces=3, residual=True, loss="svm",
                                regularizer=L2),
    "tanh-mean2": dict(hidden=(8, 8), activation="tanh", keep_prob=0.8, dropout_mode="mean:2", regularizer=L1),
}


@pytest.mark.parametrize("component", ["total", "data", "reg", "accuracy", "example:3"])
@pytest.mark.parametrize("case", sorted(DEEP_NETS))
def test_deep_batched_landscape_matches_point_by_point(case, component):
    net = Network(SMALL["spiral"], **DEEP_NETS[case])
    plane = random_plane(net, away_from_init(net), "filter", seed=3)
    alphas, betas = make_axis(-1, 1, 5), make_axis(-0.5, 0.5, 4)
    landscape = compute_slice(net, plane, alphas, betas, component, budget_bytes=3 * net.bytes_per_point(),
                              method="generic")
    reference = reference_slice(net, plane, alphas, betas, component)
    np.testing.assert_array_equal(landscape.values, reference)
    if component == "total":
        losses = [net.loss_and_grad(plane.point(a, b))[0] for b in betas for a in alphas]
        np.testing.assert_array_equal(landscape.values.ravel(), losses)


def test_deep_batched_values_do_not_depend_on_workers():
    net = Network(SMALL["iris"], hidden=(6, 6), batchnorm=True, keep_prob=0.5)
    thetas = np.stack([away_from_init(net, seed=s) for s in range(5)])
    np.testing.assert_array_equal(net.evaluate_batch(thetas, workers=3), net.evaluate_batch(thetas))


def test_pass_bytes_bound_what_a_forward_pass_keeps():
    net = Network(SMALL["spiral"], hidden=(16, 16, 16), activation="maxout", pieces=3, batchnorm=True,
                  keep_prob=0.5, residual=True)
    theta = away_from_init(net)
    _, caches = net.forward(theta, net.X, net.masks[0])
    held, seen = 0, set()

    def count(item):
        nonlocal held
        if isinstance(item, np.ndarray):
            if id(item) not in seen:
                seen.add(id(item))
                held += item.nbytes
        elif isinstance(item, (tuple, list)):
            for part in item:
                count(part)

    count(caches)
    estimate = net.pass_bytes(need_grad=False)
    assert held <= estimate < 4 * held
    assert net.pass_bytes() > estimate
    deeper = estimate_pass_bytes(240, 2, 3, (16,) * 6, 3, True, True, True)
    assert deeper > estimate_pass_bytes(240, 2, 3, (16,) * 3, 3, True, True, True)
    assert estimate_pass_bytes(480, 2, 3, (16,), need_grad=False) > estimate_pass_bytes(240, 2, 3, (16,),
                                                                                         need_grad=False)


# --------------------------------------------------------------------------- kinks at depth

def test_relu_kinks_deep_in_the_network_are_flagged():
    net = Network(SMALL["iris"], hidden=(6, 5, 4), activation="relu", loss="softmax")
    theta = away_from_init(net)
    blocks = net.unpack(theta, as_dict=True)
    # put example 0 exactly on unit 1's kink in the second hidden layer
    h1 = net.layer_values(theta)[0]["output"]
    blocks["b2"][1] = -(h1[0] @ blocks["W2"][:, 1])
    result = gradient_check(net, theta)
    flagged = {(name, tuple(int(v) for v in where)) for name, where in
               (net._locate(int(i)) for i in result.indices[result.near_kink])}
    assert ("b2", (1,)) in flagged
    assert all(name in ("W1", "b1", "W2", "b2") for name, _ in flagged)   # only what can move that unit
    assert result.rel_error[result.near_kink].max() > 1e-4   # straddling it, the difference disagrees
    assert result.max_rel_error_away_from_kinks < TOLERANCE


def test_maxout_ties_and_l1_zeros_are_flagged():
    net = Network(SMALL["spiral"], hidden=(4, 4), activation="maxout", pieces=2, regularizer=L1)
    theta = away_from_init(net)
    blocks = net.unpack(theta, as_dict=True)
    h1 = net.layer_values(theta)[0]["output"]
    # example 0, unit 2 of layer 2: piece 1 ties with piece 0
    blocks["b2"][1, 2] = h1[0] @ blocks["W2"][0, :, 2] + blocks["b2"][0, 2] - h1[0] @ blocks["W2"][1, :, 2]
    blocks["W3"][0, 0] = 0.0
    index_b = net.offsets["b2"] + 1 * 4 + 2
    index_w = net.offsets["W3"]
    untouched = net.offsets["b3"]   # an output bias: no ReLU, softmax, unpenalized
    assert list(net.kinks_near(theta, [index_b, index_w, untouched], 1e-5)) == [True, True, False]
    assert gradient_check(net, theta).max_rel_error_away_from_kinks < TOLERANCE


def test_smooth_networks_flag_nothing():
    net = Network(SMALL["spiral"], hidden=(6, 6), activation="tanh", batchnorm=True, regularizer=L2)
    assert not net.kinks_near(away_from_init(net), np.arange(net.size), 1e-5).any()


# --------------------------------------------------------------------------- layout, modes and settings

def test_layout_orders_blocks_by_layer():
    net = Network(SMALL["iris"], hidden=(5, 4), activation="maxout", pieces=3, batchnorm=True)
    assert net.block_names == ("W1", "b1", "gamma1", "beta1", "W2", "b2", "gamma2", "beta2", "W3", "b3")
    shapes = {block.name: block.shape for block in net.parameter_blocks()}
    assert shapes["W1"] == (3, 4, 5) and shapes["b1"] == (3, 5) and shapes["gamma2"] == (3, 4)
    assert shapes["W3"] == (4, 3)
    biases = {block.name for block in net.parameter_blocks() if block.is_bias}
    assert biases == {"b1", "gamma1", "beta1", "b2", "gamma2", "beta2", "b3"}
    theta = np.arange(net.size, dtype=float)
    np.testing.assert_array_equal(net.pack(*net.unpack(theta)), theta)
    np.testing.assert_array_equal(net.pack(net.unpack(theta, as_dict=True)), theta)
    assert net._locate(net.offsets["gamma2"] + 4)[0] == "gamma2"
    # only weights are penalized unless biases are asked for (gamma and beta count as biases)
    assert net.reg_mask.sum() == 3 * 4 * 5 + 3 * 5 * 4 + 4 * 3
    with_bias = Network(SMALL["iris"], hidden=(5, 4), activation="maxout", pieces=3, batchnorm=True,
                        regularize_bias=True)
    assert with_bias.reg_mask.all()


def test_filter_normalization_is_per_unit_across_maxout_pieces():
    net = Network(SMALL["iris"], hidden=(5, 4), activation="maxout", pieces=2, batchnorm=True)
    center = away_from_init(net)
    raw = np.random.default_rng(0).standard_normal(net.size)
    direction = net.unpack(normalize(raw, center, layout_of(net), "filter"), as_dict=True)
    c = net.unpack(center, as_dict=True)
    for name in ("W1", "W2"):   # one unit: all its pieces' incoming weights
        np.testing.assert_allclose(np.linalg.norm(direction[name], axis=(0, 1)),
                                   np.linalg.norm(c[name], axis=(0, 1)), rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(direction["W3"], axis=0), np.linalg.norm(c["W3"], axis=0),
                               rtol=1e-12)
    assert not any(direction[name].any() for name in ("b1", "gamma1", "beta1", "gamma2", "b3"))
    kept = net.unpack(normalize(raw, center, layout_of(net), "filter", biases="keep"), as_dict=True)
    np.testing.assert_array_equal(kept["gamma1"], c["gamma1"])


def test_describe_states_the_modes():
    net = Network(SMALL["spiral"], hidden=(8, 8), activation="maxout", pieces=3, batchnorm=True, keep_prob=0.5,
                  dropout_mode="mean:3", mask_seed=2, residual=True)
    description = net.describe()
    assert description["hidden"] == [8, 8] and description["pieces"] == 3 and description["residual_blocks"] == 1
    assert description["modes"] == {"batchnorm": "train", "dropout": "mean:3", "mask_seed": 2}
    net.estimate_running_stats(net.initial_theta())
    evaluation = net.with_modes(bn_mode="eval", dropout_mode="off")
    assert evaluation.describe()["modes"] == {"batchnorm": "eval (running statistics set)", "dropout": "off",
                                              "mask_seed": None}
    assert evaluation.X is net.X and evaluation.masks is None and net.masks is not None
    assert net.describe()["dropout_mode"] == "mean:3"   # the original is unchanged
    with pytest.raises(HillwalkError, match="cannot be changed by with_modes"):
        net.with_modes(keep_prob=0.9)


@pytest.mark.parametrize("options, message", [
    (dict(hidden=()), "hidden layers"),
    (dict(hidden=(8, 0)), "hidden width"),
    (dict(hidden=(8, 2.5)), "hidden width"),
    (dict(activation="swish"), "activation"),
    (dict(activation="maxout", pieces=1), "pieces"),
    (dict(init="orthogonal"), "initialization"),
    (dict(keep_prob=0.0), "keep probability"),
    (dict(bn_momentum=1.5), "momentum"),
    (dict(bn_mode="test"), "batch-norm mode"),
    (dict(dropout_mode="mean:0"), "number of masks"),
    (dict(dropout_mode="sometimes"), "dropout mode"),
    (dict(mask_seed=-1), "mask seed"),
])
def test_bad_settings_are_clear_errors(options, message):
    with pytest.raises(HillwalkError, match=message):
        Network(SMALL["spiral"], **options)


def test_a_network_trains_on_the_spiral_with_every_extra():
    net = Network(SPIRAL, hidden=(32, 32), activation="relu", batchnorm=True, residual=True)
    theta = net.initial_theta(seed=0)
    start = net.loss(theta)
    for _ in range(150):
        theta = theta - 0.5 * net.loss_and_grad(theta)[1]
    assert net.loss(theta) < 0.5 * start
    net.estimate_running_stats(theta)
    assert net.accuracy(theta) > 0.9


@pytest.mark.parametrize("activation, loss, regularizer", [("relu", "svm", "none"), ("leaky_relu", "softmax", "l1"),
                                                            ("tanh", "svm", "elastic")])
def test_the_two_layer_bound_flags_at_least_the_exact_kinks(activation, loss, regularizer):
    # TwoLayerNet keeps its first-order bound (the app's gradient checks flag as before);
    # it must flag every parameter the exact pattern comparison of Network flags.
    net = ClassifierSpec(dataset="spiral", preprocessing="standardize", model="net", hidden=10, lam=1e-2,
                         activation=activation, loss=loss, regularizer=regularizer).build()
    theta = net.initial_theta(seed=1) + 0.5 * np.random.default_rng(2).standard_normal(net.size)
    indices, h = np.arange(net.size), 1e-2   # a large step, so that many intervals hold kinks
    bound = net.kinks_near(theta, indices, h)
    exact = Network.kinks_near(net, theta, indices, h)
    assert exact.sum() > 3
    assert np.all(bound[exact])
