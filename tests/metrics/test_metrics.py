"""Uncertainty and calibration metrics against hand computations."""

import itertools
import math

import numpy as np
import pytest

from kerasdrop import metrics as M
from helpers import to_numpy

LOG2 = math.log(2.0)


def test_entropies_by_hand():
    assert M.predictive_entropy([[0.5, 0.5]])[0] == pytest.approx(LOG2)
    # One-hot rows: zero entropy (0 log 0 = 0, no NaN).
    np.testing.assert_array_equal(
        to_numpy(M.predictive_entropy([[1.0, 0.0, 0.0]])), [0.0]
    )
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
    assert M.regression_log_likelihood(y, samples, tau) == pytest.approx(
        np.mean(to_numpy(per))
    )
    np.testing.assert_allclose(
        to_numpy(M.regression_log_likelihood(y, samples, tau, reduction=None)),
        to_numpy(per),
    )
    # (N, 1) targets with (T, N, 1) samples, and a far-off target stays
    # finite thanks to logsumexp.
    assert M.regression_log_likelihood(
        y[:, None], samples[..., None], tau
    ) == pytest.approx(np.mean(to_numpy(per)))
    assert np.isfinite(
        to_numpy(M.regression_log_likelihood([1e4], [[0.0], [1.0]], 100.0))
    )
    np.testing.assert_allclose(
        to_numpy(M.predictive_variance(samples, tau=tau)), samples.var(axis=0) + 2.0
    )


def test_heteroscedastic_split_and_likelihood():
    means = np.array([[0.0, 1.0], [2.0, 1.0]])  # (T=2, N=2)
    log_vars = np.log(np.array([[1.0, 4.0], [3.0, 4.0]]))
    split = M.heteroscedastic_uncertainty(means, log_vars)
    np.testing.assert_allclose(to_numpy(split["mean"]), [1.0, 1.0])
    np.testing.assert_allclose(to_numpy(split["aleatoric"]), [2.0, 4.0])
    np.testing.assert_allclose(to_numpy(split["epistemic"]), [1.0, 0.0])
    np.testing.assert_allclose(to_numpy(split["total"]), [3.0, 4.0])

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
    assert np.isnan(to_numpy(diagram["accuracy"][0]))  # empty bin
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
    assert np.isfinite(to_numpy(M.negative_log_likelihood([1], [[1.0, 0.0]])))


@pytest.mark.parametrize(
    "ece", [M.expected_calibration_error, M.adaptive_calibration_error]
)
def test_ece_of_a_perfectly_calibrated_synthetic_case_is_small(ece):
    rng = np.random.default_rng(0)
    n = 100_000
    confidence = rng.uniform(0.5, 1.0, size=n)
    correct = rng.uniform(size=n) < confidence  # Bernoulli(confidence)
    labels = np.where(to_numpy(correct), 0, 1)
    probs = np.stack([confidence, 1 - confidence], axis=-1)
    # Sampling noise only: each of the 15 bins' accuracy has a standard
    # deviation <= 0.5 / sqrt(n / 15) ~ 0.006.
    assert ece(labels, probs) < 0.01
    # A miscalibrated twin (overconfident by 0.1) is clearly worse.
    over = np.minimum(confidence + 0.1, 1.0)
    shifted = np.stack([over, 1 - over], axis=-1)
    assert ece(labels, shifted) > 0.05


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
    np.testing.assert_allclose(
        to_numpy(M.max_probability(probs, multi_label=True)), [[0.5, 0.9]]
    )
    np.testing.assert_allclose(
        to_numpy(M.variation_ratio(samples, multi_label=True)), [[0.5, 0.0]]
    )
    # Without multi_label, such rows are refused (they do not sum to 1).
    with pytest.raises(ValueError, match="multi_label=True"):
        M.predictive_entropy(probs)


# ----------------------------------------------------------------------
# Adaptive (equal-mass) ECE.
# ----------------------------------------------------------------------
def _reference_adaptive_ece(confidence, correct, n_bins):
    """torch-uncertainty's AdaptiveCalibrationError (L1) re-derived: sort by
    confidence, cut into `n_bins` runs of near-equal size (the first ones
    one larger), sum of bin weight x |accuracy - confidence|."""
    order = np.argsort(to_numpy(confidence))
    total = 0.0
    for part in np.array_split(to_numpy(order), to_numpy(n_bins)):
        gap = abs(
            np.mean(to_numpy(correct[part])) - np.mean(to_numpy(confidence[part]))
        )
        total += len(part) / len(confidence) * gap
    return total


def test_adaptive_ece_by_hand_and_against_its_reference():
    y = [0, 1, 1, 0]
    probs = [[0.9, 0.1], [0.3, 0.7], [0.6, 0.4], [0.55, 0.45]]
    # Sorted confidences .55 (right), .6 (wrong) | .7 (right), .9 (right).
    by_hand = 0.5 * abs(0.5 - 0.575) + 0.5 * abs(1.0 - 0.8)
    assert M.adaptive_calibration_error(y, probs, n_bins=2) == pytest.approx(by_hand)
    # One bin: |accuracy - mean confidence| over everything.
    assert M.adaptive_calibration_error(y, probs, n_bins=1) == pytest.approx(
        abs(0.75 - np.mean([0.9, 0.7, 0.6, 0.55]))
    )
    # 7 inputs in 3 bins of 3, 2, 2 (distinct confidences).
    rng = np.random.default_rng(3)
    probs = rng.dirichlet(np.ones(3), size=7)
    labels = rng.integers(0, 3, size=7)
    confidence = probs.max(axis=-1)
    correct = (probs.argmax(axis=-1) == labels).astype(float)
    d = M.reliability_diagram(labels, probs, n_bins=3, binning="adaptive")
    assert d["count"].tolist() == [3.0, 2.0, 2.0]
    assert np.all(np.diff(to_numpy(d["edges"])) > 0)
    assert d["edges"][0] == confidence.min() and d["edges"][-1] == confidence.max()
    for n_bins in (1, 2, 3, 5, 7):
        assert M.adaptive_calibration_error(labels, probs, n_bins) == pytest.approx(
            _reference_adaptive_ece(confidence, correct, n_bins)
        )
    # More bins than inputs: one input per bin, none empty.
    d = M.reliability_diagram(labels, probs, n_bins=50, binning="adaptive")
    assert d["count"].tolist() == [1.0] * 7 and len(d["edges"]) == 8


def test_adaptive_bins_do_not_depend_on_the_order_of_tied_inputs():
    # Four inputs at confidence 0.8 (two right), split across two bins.
    y = np.array([0, 1, 0, 1, 0, 0])
    probs = np.array([[0.8, 0.2]] * 4 + [[0.6, 0.4], [0.95, 0.05]])
    values = set()
    for perm in ([0, 1, 2, 3, 4, 5], [1, 3, 0, 2, 5, 4], [3, 2, 1, 0, 4, 5]):
        values.add(round(M.adaptive_calibration_error(y[perm], probs[perm], 2), 12))
    assert len(values) == 1
    # Bins {.6 right, .8, .8} and {.8, .8, .95 right}; tied inputs count
    # with their mean correctness 0.5.
    first = abs((1 + 0.5 + 0.5) / 3 - (0.6 + 0.8 + 0.8) / 3)
    second = abs((0.5 + 0.5 + 1) / 3 - (0.8 + 0.8 + 0.95) / 3)
    assert values.pop() == pytest.approx(0.5 * first + 0.5 * second)


# ----------------------------------------------------------------------
# Selective prediction.
# ----------------------------------------------------------------------
def _geifman_aurc(confidence, errors):
    """Geifman et al. 2019: mean over k of the error rate of the k most
    confident inputs (distinct confidences)."""
    order = np.argsort(-confidence)
    risks = [np.mean(to_numpy(errors[order[:k]])) for k in range(1, len(errors) + 1)]
    return np.mean(to_numpy(risks))


def _fd_shifts_augrc(confidence, errors):
    """Traub et al.'s reference (fd-shifts RiskCoverageStats.augrc)
    re-derived: one point per distinct confidence threshold (ties accepted
    together), generalized risk = accepted errors / N, trapezoids over
    coverage down to (0, 0)."""
    n = len(errors)
    points = [(0.0, 0.0)]
    for threshold in sorted(set(confidence), reverse=True):
        accepted = confidence >= threshold
        points.append((accepted.sum() / n, errors[accepted].sum() / n))
    cov, risk = np.array(to_numpy(points)).T
    return np.sum(np.diff(to_numpy(cov)) * (risk[1:] + risk[:-1]) / 2)


def _torch_uncertainty_aurc(confidence, errors):
    """torch-uncertainty's AURC re-derived: error rates of the k most
    confident, trapezoids over coverage k/N in [1/N, 1], / (1 - 1/N)."""
    n = len(errors)
    rates = np.cumsum(to_numpy(errors[np.argsort(-confidence)])) / np.arange(1, n + 1)
    cov = np.arange(1, n + 1) / n
    return np.sum(np.diff(to_numpy(cov)) * (rates[1:] + rates[:-1]) / 2) / (1 - 1 / n)


def test_risk_coverage_by_hand():
    y = [0, 0, 0, 0, 0]
    probs = [[0.9, 0.1], [0.4, 0.6], [0.8, 0.2], [0.3, 0.7], [0.65, 0.35]]
    # By confidence: .9 right, .8 right, .7 wrong, .65 right, .6 wrong.
    coverage, risk = M.risk_coverage_curve(y, probs)
    np.testing.assert_allclose(to_numpy(coverage), [0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(to_numpy(risk), [0, 0, 1 / 3, 1 / 4, 2 / 5])
    assert M.aurc(y, probs) == pytest.approx((1 / 3 + 1 / 4 + 2 / 5) / 5)
    generalized = [0, 0, 0, 0.2, 0.2, 0.4]  # accepted and wrong / 5
    trapezoids = sum((a + b) / 2 * 0.2 for a, b in zip(generalized, generalized[1:]))
    assert M.augrc(y, probs) == pytest.approx(trapezoids)
    assert M.selective_accuracy(y, probs, 0.4) == 1.0
    assert M.selective_accuracy(y, probs, 0.5) == pytest.approx(2 / 3)  # 3 of 5
    assert M.selective_accuracy(y, probs, 1.0) == pytest.approx(0.6)
    assert M.selective_accuracy(y, probs, 1e-9) == 1.0  # at least one input
    # 0.3 * 10 is 3.0000000000000004 in floating point: still 3 inputs.
    y10, p10 = [0] * 10, [[0.9 - 0.01 * i, 0.1 + 0.01 * i] for i in range(10)]
    p10[3] = [0.13, 0.87]  # the 4th most confident, and wrong
    assert M.selective_accuracy(y10, p10, 0.3) == 1.0
    # A confidence of our own (e.g. -mutual information) reorders the inputs:
    # the two errors first.
    own = [0.1, 0.9, 0.2, 0.8, 0.3]
    np.testing.assert_allclose(
        to_numpy(M.risk_coverage_curve(y, probs, own)[1]), [1, 1, 2 / 3, 2 / 4, 2 / 5]
    )


def test_aurc_and_augrc_against_their_reference_definitions():
    rng = np.random.default_rng(5)
    for n in (2, 7, 40):
        probs = rng.dirichlet(np.ones(3), size=n)
        labels = rng.integers(0, 3, size=n)
        confidence = probs.max(axis=-1)
        errors = (probs.argmax(axis=-1) != labels).astype(float)
        assert M.aurc(labels, probs) == pytest.approx(_geifman_aurc(confidence, errors))
        assert M.augrc(labels, probs) == pytest.approx(
            _fd_shifts_augrc(confidence, errors)
        )
        # torch-uncertainty's trapezoids differ by at most 1 / (N - 1).
        gap = abs(M.aurc(labels, probs) - _torch_uncertainty_aurc(confidence, errors))
        assert gap <= 1 / (n - 1) + 1e-12


def test_ties_in_confidence_give_the_expectation_over_their_order():
    # Confidences with ties: every order of the tied inputs, averaged.
    confidence = np.array([0.9, 0.7, 0.7, 0.7, 0.5, 0.5])
    errors = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    y = np.zeros(6, dtype=int)
    probs = np.stack([1 - errors, errors], axis=-1)  # predict 0 when right
    orders = list(itertools.permutations(range(6)))
    orders = [o for o in orders if np.all(np.diff(to_numpy(confidence[list(o)])) <= 0)]
    assert len(orders) == 3 * 2 * 1 * 2  # 3! orders of the 0.7s, 2! of the 0.5s
    expected_aurc = np.mean([_geifman_run(errors[list(o)]) for o in orders])
    assert M.aurc(y, probs, confidence) == pytest.approx(expected_aurc)
    # AUGRC: also the tie-grouped reference, and the curve's group ends exact.
    assert M.augrc(y, probs, confidence) == pytest.approx(
        _fd_shifts_augrc(confidence, errors)
    )
    coverage, risk = M.risk_coverage_curve(y, probs, confidence)
    assert risk[3] == pytest.approx(2 / 4) and coverage[3] == pytest.approx(4 / 6)
    # The input order does not matter.
    perm = [5, 3, 1, 0, 4, 2]
    assert M.aurc(y, probs[perm], confidence[perm]) == pytest.approx(expected_aurc)


def _geifman_run(ranked_errors):
    n = len(ranked_errors)
    return np.mean(np.cumsum(to_numpy(ranked_errors)) / np.arange(1, n + 1))


# ----------------------------------------------------------------------
# Out-of-distribution detection.
# ----------------------------------------------------------------------
def _sklearn_reference(scores_in, scores_out):
    metrics = pytest.importorskip("sklearn.metrics")
    y = np.r_[np.zeros(len(scores_in)), np.ones(len(scores_out))]
    s = np.r_[scores_in, scores_out]
    fpr, tpr, _ = metrics.roc_curve(y, s, drop_intermediate=False)
    return {
        "auroc": metrics.roc_auc_score(y, s),
        "fpr95": fpr[np.searchsorted(tpr, 0.95, side="left")],
        "aupr_out": metrics.average_precision_score(y, s),
        "aupr_in": metrics.average_precision_score(1 - y, -s),
    }


def test_ood_detection_by_hand():
    inside, outside = [0.1, 0.2, 0.45, 0.6], [0.4] + [0.5] * 19
    # 19 of 20 OOD inputs (95%) at threshold 0.5, with 1 of 4 known ones.
    assert M.fpr_at_tpr(inside, outside) == 0.25
    # All 20 need threshold 0.4: 2 known inputs (0.45, 0.6) flagged.
    assert M.fpr_at_tpr(inside, outside, tpr=1.0) == 0.5
    assert M.fpr_at_tpr(inside, outside, tpr=0.5) == 0.25
    # AUPR-out by hand: ranked out .9, in .8, out .7, in .1.
    assert M.aupr_out([0.8, 0.1], [0.9, 0.7]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # AUPR-in ranks by -score: in .1, out .7, in .8, out .9.
    assert M.aupr_in([0.8, 0.1], [0.9, 0.7]) == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)
    # Perfect separation; chance level of a constant score.
    assert M.aupr_out([0.1, 0.2], [0.8, 0.9]) == 1.0
    assert M.aupr_in([0.1, 0.2], [0.8, 0.9]) == 1.0
    assert M.fpr_at_tpr([0.1, 0.2], [0.8, 0.9]) == 0.0
    assert M.aupr_out([0.5] * 3, [0.5]) == pytest.approx(0.25)
    assert M.fpr_at_tpr([0.5] * 3, [0.5]) == 1.0  # ties flagged together


def test_ood_detection_against_scikit_learn():
    rng = np.random.default_rng(2)
    for n_in, n_out, decimals in ((50, 30, 1), (200, 100, 3), (7, 40, 0)):
        scores_in = rng.normal(size=n_in).round(decimals)  # many ties
        scores_out = (rng.normal(size=n_out) + 1.0).round(decimals)
        ref = _sklearn_reference(scores_in, scores_out)
        assert M.ood_auroc(scores_in, scores_out) == pytest.approx(ref["auroc"])
        assert M.fpr_at_tpr(scores_in, scores_out) == pytest.approx(ref["fpr95"])
        assert M.aupr_out(scores_in, scores_out) == pytest.approx(ref["aupr_out"])
        assert M.aupr_in(scores_in, scores_out) == pytest.approx(ref["aupr_in"])


def test_fpr95_against_torch_uncertainty_definition():
    """torch-uncertainty's FPRx (after Hendrycks' anomaly-seg code) takes the
    threshold whose recall is closest to 95%; where 95% is reached exactly,
    as with 20 OOD inputs and distinct scores, both agree."""
    rng = np.random.default_rng(4)
    scores_in, scores_out = rng.normal(size=30), rng.normal(size=20) + 1.5
    thresholds = np.sort(to_numpy(np.r_[scores_in, scores_out]))[::-1]
    recall = np.array([(scores_out >= t).mean() for t in thresholds])
    fpr = np.array([(scores_in >= t).mean() for t in thresholds])
    closest = fpr[np.argmin(np.abs(recall - 0.95))]
    assert M.fpr_at_tpr(scores_in, scores_out) == pytest.approx(closest)


# ----------------------------------------------------------------------
# Logits heads.
# ----------------------------------------------------------------------
def test_max_logit_and_energy_by_hand():
    logits = [[2.0, -1.0, 0.5], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(to_numpy(M.max_logit(logits)), [2.0, 0.0])
    energy = [-math.log(math.exp(2) + math.exp(-1) + math.exp(0.5)), -math.log(3)]
    np.testing.assert_allclose(to_numpy(M.energy_score(logits)), to_numpy(energy))
    # Temperature: -T log sum exp(z / T).
    t = 2.0
    by_hand = -t * math.log(math.exp(1.0) + math.exp(-0.5) + math.exp(0.25))
    assert M.energy_score(logits, temperature=t)[0] == pytest.approx(by_hand)
    # Large logits stay finite; energy tends to -max logit as T -> 0.
    assert M.energy_score([[1000.0, 999.0]])[0] == pytest.approx(
        -(1000 + math.log(1 + math.exp(-1)))
    )
    assert M.energy_score(logits, temperature=1e-3)[0] == pytest.approx(-2.0)
    # A binary head's single logit z is softmax over [0, z].
    np.testing.assert_allclose(to_numpy(M.max_logit([[-3.0], [2.0]])), [0.0, 2.0])
    assert M.energy_score([[0.0]])[0] == pytest.approx(-math.log(2))
    # Higher energy flags OOD as it is; max logit after negation.
    assert M.ood_auroc(M.energy_score([[5.0, 0.0]]), M.energy_score([[0.1, 0.0]])) == 1
    assert M.ood_auroc(-M.max_logit([[5.0, 0.0]]), -M.max_logit([[0.1, 0.0]])) == 1


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: M.aurc([0, 1], [[0.9, 0.1]] * 3), ValueError, "y_true"),
        (
            lambda: M.aurc([0, 1], [[0.9, 0.1]] * 2, confidence=[0.5]),
            ValueError,
            "confidence of shape",
        ),
        (
            lambda: M.augrc([0, 1], [[0.9, 0.1]] * 2, confidence=[0.5, np.nan]),
            ValueError,
            "`confidence`. Expected finite",
        ),
        (lambda: M.augrc([0, 1], [[1.2, -0.2]] * 2), ValueError, "in \\[0, 1\\]"),
        (
            lambda: M.selective_accuracy([0], [[0.9, 0.1]], 0.0),
            ValueError,
            "coverage=0.0",
        ),
        (
            lambda: M.selective_accuracy([0], [[0.9, 0.1]], 1.5),
            ValueError,
            "coverage=1.5",
        ),
        (
            lambda: M.selective_accuracy([0], [[0.9, 0.1]], "all"),
            TypeError,
            "coverage='all'",
        ),
        (
            lambda: M.risk_coverage_curve(["a"], [[0.9, 0.1]]),
            TypeError,
            "y_true",
        ),
        (
            lambda: M.adaptive_calibration_error([0], [[0.9, 0.1]], n_bins=0),
            ValueError,
            "n_bins=0",
        ),
        (
            lambda: M.reliability_diagram([0], [[0.9, 0.1]], binning="quantile"),
            ValueError,
            "binning='quantile'",
        ),
        (lambda: M.fpr_at_tpr([0.1, np.nan], [0.2]), ValueError, "scores_in"),
        (lambda: M.fpr_at_tpr([0.1], [0.2], tpr=0), ValueError, "tpr=0"),
        (lambda: M.fpr_at_tpr([0.1], [0.2], tpr=True), TypeError, "tpr=True"),
        (lambda: M.aupr_in([0.1], []), ValueError, "scores_out"),
        (lambda: M.aupr_out([0.1], [[np.inf]]), ValueError, "scores_out"),
        (lambda: M.max_logit([[np.nan, 1.0]]), ValueError, "logits"),
        (lambda: M.energy_score([[1.0]], temperature=0), ValueError, "temperature=0"),
        (lambda: M.energy_score([[1.0]], temperature="1"), TypeError, "temperature"),
    ],
)
def test_bad_inputs_of_the_decision_metrics(call, error, match):
    with pytest.raises(error, match=match):
        call()
