"""Uncertainty and calibration metrics against hand computations."""

import math

import numpy as np
import pytest

from kerasdrop import metrics as M

LOG2 = math.log(2.0)


def test_entropies_by_hand():
    assert M.predictive_entropy([[0.5, 0.5]])[0] == pytest.approx(LOG2)
    # One-hot rows: zero entropy (0 log 0 = 0, no NaN).
    np.testing.assert_array_equal(M.predictive_entropy([[1.0, 0.0, 0.0]]), [0.0])
    p = [0.2, 0.3, 0.5]
    by_hand = -sum(q * math.log(q) for q in p)
    assert M.predictive_entropy([p])[0] == pytest.approx(by_hand)
    # A single column is P(class 1) of a binary problem.
    assert M.predictive_entropy([[0.5]])[0] == pytest.approx(LOG2)
    samples = [[[1.0, 0.0]], [[0.0, 1.0]]]  # (T=2, N=1, K=2)
    assert M.predictive_entropy(samples)[0] == pytest.approx(LOG2)
    assert M.expected_entropy(samples)[0] == 0.0
    assert M.mutual_information(samples)[0] == pytest.approx(LOG2)


def test_mutual_information_is_zero_when_samples_agree_and_never_negative():
    agree = [[[0.7, 0.3]]] * 5
    assert M.mutual_information(agree)[0] == pytest.approx(0.0, abs=1e-12)
    assert M.expected_entropy(agree)[0] == pytest.approx(
        -(0.7 * math.log(0.7) + 0.3 * math.log(0.3))
    )
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(4), size=(20, 30))
    assert np.all(M.mutual_information(probs) >= 0)


def test_variation_ratio_and_max_probability():
    samples = np.array(
        [[[0.9, 0.1]], [[0.8, 0.2]], [[0.4, 0.6]], [[0.6, 0.4]]]
    )  # votes: 0, 0, 1, 0
    assert M.variation_ratio(samples)[0] == pytest.approx(0.25)
    assert M.max_probability(samples)[0] == pytest.approx(0.675)
    assert M.max_probability([[0.1, 0.9], [0.5, 0.5]]).tolist() == [0.9, 0.5]


def test_regression_log_likelihood_by_hand():
    y = np.array([1.0, -2.0])
    samples = np.array([[0.5, -2.0], [1.5, -1.0], [1.0, -3.0]])  # (T=3, N=2)
    tau = 0.5
    per = []
    for i in range(2):
        terms = [math.exp(-tau / 2 * (y[i] - s) ** 2) for s in samples[:, i]]
        per.append(
            math.log(sum(terms) / 3) - 0.5 * math.log(2 * math.pi) + 0.5 * math.log(tau)
        )
    assert M.regression_log_likelihood(y, samples, tau) == pytest.approx(np.mean(per))
    np.testing.assert_allclose(
        M.regression_log_likelihood(y, samples, tau, reduction=None), per
    )
    # (N, 1) targets with (T, N, 1) samples, and a far-off target stays
    # finite thanks to logsumexp.
    assert M.regression_log_likelihood(
        y[:, None], samples[..., None], tau
    ) == pytest.approx(np.mean(per))
    assert np.isfinite(M.regression_log_likelihood([1e4], [[0.0], [1.0]], 100.0))
    np.testing.assert_allclose(
        M.predictive_variance(samples, tau=tau), samples.var(axis=0) + 2.0
    )


def test_heteroscedastic_split_and_likelihood():
    means = np.array([[0.0, 1.0], [2.0, 1.0]])  # (T=2, N=2)
    log_vars = np.log(np.array([[1.0, 4.0], [3.0, 4.0]]))
    split = M.heteroscedastic_uncertainty(means, log_vars)
    np.testing.assert_allclose(split["mean"], [1.0, 1.0])
    np.testing.assert_allclose(split["aleatoric"], [2.0, 4.0])
    np.testing.assert_allclose(split["epistemic"], [1.0, 0.0])
    np.testing.assert_allclose(split["total"], [3.0, 4.0])

    def normal(y, mu, var):
        return math.exp(-((y - mu) ** 2) / (2 * var)) / math.sqrt(2 * math.pi * var)

    y = [0.5, 1.0]
    by_hand = np.mean(
        [
            math.log((normal(0.5, 0.0, 1.0) + normal(0.5, 2.0, 3.0)) / 2),
            math.log(normal(1.0, 1.0, 4.0)),
        ]
    )
    assert M.heteroscedastic_log_likelihood(y, means, log_vars) == pytest.approx(
        by_hand
    )


def test_calibration_by_hand():
    y = [0, 1, 1, 0]
    probs = [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.55, 0.45]]
    # Confidences 0.9 (right), 0.7 (right), 0.6 (wrong), 0.55 (right).
    # 10 bins: (0.8, 0.9]: acc 1 conf .9; (0.6, 0.7]: 1, .7; (0.5, 0.6]: two
    # items, acc 0.5, conf 0.575.
    by_hand = (1 * 0.1 + 1 * 0.3 + 2 * abs(0.5 - 0.575)) / 4
    assert M.expected_calibration_error(y, probs, n_bins=10) == pytest.approx(by_hand)
    diagram = M.reliability_diagram(y, probs, n_bins=10)
    assert diagram["count"].sum() == 4 and len(diagram["edges"]) == 11
    assert np.isnan(diagram["accuracy"][0])  # empty bin
    nll = -np.mean(np.log([0.9, 0.7, 0.4, 0.55]))
    assert M.negative_log_likelihood(y, probs) == pytest.approx(nll)
    brier = np.mean([0.1**2 * 2, 0.3**2 * 2, 0.6**2 * 2, 0.45**2 * 2])
    assert M.brier_score(y, probs) == pytest.approx(brier)
    # One-hot labels give the same numbers; perfect one-hot predictions
    # score 0 everywhere.
    onehot = np.eye(2)[y]
    assert M.brier_score(onehot, probs) == pytest.approx(brier)
    assert M.expected_calibration_error(y, onehot) == 0.0
    assert M.brier_score(y, onehot) == 0.0
    assert M.negative_log_likelihood(y, onehot) == pytest.approx(0.0)
    # Zero probability on the true class: clipped, finite.
    assert np.isfinite(M.negative_log_likelihood([1], [[1.0, 0.0]]))


def test_ece_of_a_perfectly_calibrated_synthetic_case_is_small():
    rng = np.random.default_rng(0)
    n = 200_000
    confidence = rng.uniform(0.5, 1.0, size=n)
    correct = rng.uniform(size=n) < confidence
    labels = np.where(correct, 0, 1)
    probs = np.stack([confidence, 1 - confidence], axis=-1)
    ece = M.expected_calibration_error(labels, probs)
    # Sampling noise only: each bin's accuracy has std <= 0.5/sqrt(n/8).
    assert ece < 0.01
    # A miscalibrated twin (overconfident by 0.1) is clearly worse.
    over = np.minimum(confidence + 0.1, 1.0)
    shifted = np.stack([over, 1 - over], axis=-1)
    assert M.expected_calibration_error(labels, shifted) > 0.05


def test_ood_auroc():
    assert M.ood_auroc([0.1, 0.2], [0.3, 0.4]) == 1.0
    assert M.ood_auroc([0.3, 0.4], [0.1, 0.2]) == 0.0
    # Ties count half: pairs (in, out): (.1,.3) 1, (.1,.2) 1, (.2,.3) 1,
    # (.2,.2) 0.5 -> 3.5 / 4.
    assert M.ood_auroc([0.1, 0.2], [0.3, 0.2]) == 0.875
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=3000), rng.normal(size=3000)
    assert M.ood_auroc(a, b) == pytest.approx(0.5, abs=0.03)
    # Brute force on a small case.
    a, b = rng.normal(size=17).round(1), rng.normal(size=13).round(1)
    brute = np.mean([[1.0 if o > i else 0.5 if o == i else 0.0 for o in b] for i in a])
    assert M.ood_auroc(a, b) == pytest.approx(brute)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: M.predictive_entropy([[0.5, 0.6]]), ValueError, "summing to 1"),
        (lambda: M.predictive_entropy([[1.5, -0.5]]), ValueError, "in \\[0, 1\\]"),
        (lambda: M.predictive_entropy([[np.nan, 1.0]]), ValueError, "finite"),
        (lambda: M.predictive_entropy([]), ValueError, "non-empty"),
        (lambda: M.mutual_information([[0.5, 0.5]]), ValueError, "3 dimension"),
        (
            lambda: M.expected_calibration_error([0, 1, 1], [[0.5, 0.5]] * 2),
            ValueError,
            "y_true",
        ),
        (
            lambda: M.expected_calibration_error([0, 2], [[0.5, 0.5]] * 2),
            ValueError,
            "labels in \\[0, 1\\]",
        ),
        (
            lambda: M.expected_calibration_error([0, 1], [[0.5, 0.5]] * 2, n_bins=0),
            ValueError,
            "n_bins=0",
        ),
        (
            lambda: M.expected_calibration_error([0, 1], [[0.5, 0.5]] * 2, n_bins=2.0),
            TypeError,
            "n_bins=2.0",
        ),
        (lambda: M.brier_score([0.5, 1], [[0.5, 0.5]] * 2), ValueError, "integer"),
        (
            lambda: M.regression_log_likelihood([1.0], [[1.0]], tau=0),
            ValueError,
            "tau=0",
        ),
        (
            lambda: M.regression_log_likelihood([1.0], [[1.0]], tau="1"),
            TypeError,
            "tau='1'",
        ),
        (
            lambda: M.regression_log_likelihood([1.0, 2.0], [[1.0, 2.0, 3.0]], 1.0),
            ValueError,
            "samples of shape",
        ),
        (
            lambda: M.regression_log_likelihood([1.0], [[1.0]], 1.0, reduction="sum"),
            ValueError,
            "reduction='sum'",
        ),
        (
            lambda: M.heteroscedastic_uncertainty([[1.0]], [[1.0, 2.0]]),
            ValueError,
            "log_var_samples of shape",
        ),
        (lambda: M.ood_auroc([], [1.0]), ValueError, "scores_in"),
        (lambda: M.ood_auroc(["a"], [1.0]), TypeError, "scores_in"),
    ],
)
def test_bad_inputs(call, error, match):
    with pytest.raises(error, match=match):
        call()


def h(q):
    """Entropy of a Bernoulli(q), in nats."""
    return -(q * math.log(q) + (1 - q) * math.log(1 - q))


def test_multi_label_rows_are_independent_bernoullis_summed_over_units():
    # Two sigmoid units: entropies add up, one value per input.
    probs = [[0.5, 0.9]]
    assert M.predictive_entropy(probs, multi_label=True)[0] == pytest.approx(
        h(0.5) + h(0.9)
    )
    # A single unit reads the same with or without multi_label.
    assert M.predictive_entropy([[0.9]], multi_label=True)[0] == pytest.approx(h(0.9))
    # Samples (T=2, N=1, K=2): unit 0 disagrees completely, unit 1 agrees.
    samples = [[[1.0, 0.2]], [[0.0, 0.2]]]
    assert M.mutual_information(samples, multi_label=True)[0] == pytest.approx(LOG2)
    assert M.expected_entropy(samples, multi_label=True)[0] == pytest.approx(h(0.2))
    # Decisions are per unit.
    np.testing.assert_allclose(M.max_probability(probs, multi_label=True), [[0.5, 0.9]])
    np.testing.assert_allclose(
        M.variation_ratio(samples, multi_label=True), [[0.5, 0.0]]
    )
    # Without multi_label, such rows are refused (they do not sum to 1).
    with pytest.raises(ValueError, match="multi_label=True"):
        M.predictive_entropy(probs)
