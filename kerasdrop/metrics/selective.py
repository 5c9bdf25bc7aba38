"""Selective prediction: the risk-coverage curve, AURC, AUGRC.

A selective classifier answers only for the inputs it is most confident
about and abstains on the rest. Accepting the `k` most confident of `N`
test inputs gives the coverage `k / N` and the selective risk: the error
rate among the accepted inputs. The risk-coverage curve traces this for
`k = 1..N`; a good confidence score makes it start low and rise late.

- `risk_coverage_curve`: `(coverage, risk)` at `k = 1..N`.
- `aurc`: Area Under the Risk-Coverage curve, the mean selective risk over
  the `N` coverages (Geifman & El-Yaniv 2017, "Selective Classification
  for Deep Neural Networks"; Geifman et al. 2019, "Bias-Reduced
  Uncertainty Estimation for Deep Neural Classifiers").
- `augrc`: Area Under the Generalized Risk-Coverage curve (Traub et al.
  2024, "Overcoming Common Flaws in the Evaluation of Selective
  Classification Systems"): the generalized risk at a coverage is the
  fraction of *all* inputs that are accepted and wrong (selective risk x
  coverage), so AUGRC is the average risk of an undetected failure.
- `selective_accuracy`: accuracy on the accepted inputs at a coverage.

Confidence defaults to the largest class probability; any score where
higher means "more likely right" works (e.g. `-mutual_information`).

Ties: inputs of equal confidence are accepted in a uniformly random order,
and every value returned is the expectation over that order (each tied
input counts with the mean error of its group). So no result depends on
the order of the inputs, and the curve is exact at each group's end. For
distinct confidences AURC is exactly Geifman et al.'s mean of the selective
risks, and AUGRC the trapezoid area from `(0, 0)` of Traub et al.'s
reference implementation (fd-shifts `RiskCoverageStats.augrc`, which
groups ties the same way). torch-uncertainty's `AURC` integrates the same
points by trapezoids over `[1/N, 1]`, rescaled by `1 / (1 - 1/N)`: it
differs by at most `1 / (N - 1)`.
"""

import math

import numpy as np

from kerasdrop import _checks
from kerasdrop.metrics import _inputs
from kerasdrop.metrics._numeric import tie_means


def _ranked_errors(y_true, probs, confidence):
    """Errors (1 wrong, 0 right; tie-group means) by decreasing confidence."""
    conf, correct = _inputs.top_label(y_true, probs, confidence)
    errors = tie_means(conf, 1.0 - correct)
    return errors[np.argsort(-conf, kind="mergesort")]


def risk_coverage_curve(y_true, probs, confidence=None):
    """The risk-coverage curve: selective risk at every coverage `k / N`.

    Args:
        y_true: integer labels `(N,)` or one-hot rows `(N, K)`.
        probs: class probabilities `(N, K)`; the prediction is the top
            class.
        confidence: optional score per input `(N,)`, higher for inputs to
            accept first (default: the largest class probability).

    Returns:
        `(coverage, risk)`: float arrays `(N,)`, coverage `k / N` rising to
        1, risk the error rate among the `k` most confident inputs. The
        generalized risk of Traub et al. is `risk * coverage`.

    Example:

    >>> y = [0, 0, 0, 0]
    >>> p = [[.9, .1], [.8, .2], [.3, .7], [.6, .4]]  # third one wrong
    >>> coverage, risk = risk_coverage_curve(y, p)
    >>> coverage.tolist(), risk.round(4).tolist()
    ([0.25, 0.5, 0.75, 1.0], [0.0, 0.0, 0.3333, 0.25])
    """
    errors = _ranked_errors(y_true, probs, confidence)
    accepted = np.arange(1, errors.shape[0] + 1, dtype="float64")
    return accepted / errors.shape[0], np.cumsum(errors) / accepted


def aurc(y_true, probs, confidence=None):
    """Area under the risk-coverage curve (lower is better).

    `(1/N) sum_k risk(k / N)`: the mean selective risk over the `N`
    coverages (Geifman et al. 2019). Arguments as `risk_coverage_curve`.

    Example:

    >>> y, p = [0, 0, 0, 0], [[.9, .1], [.8, .2], [.3, .7], [.6, .4]]
    >>> round(aurc(y, p), 6)  # (0 + 0 + 1/3 + 1/4) / 4
    0.145833
    """
    return float(np.mean(risk_coverage_curve(y_true, probs, confidence)[1]))


def augrc(y_true, probs, confidence=None):
    """Area under the generalized risk-coverage curve (lower is better).

    The generalized risk at coverage `k / N` is the fraction of all `N`
    inputs that are among the `k` accepted and wrong; AUGRC is its
    trapezoid area over coverage from `(0, 0)` to `(1, error rate)` (Traub
    et al. 2024). Arguments as `risk_coverage_curve`.

    Example:

    >>> y, p = [0, 0, 0, 0], [[.9, .1], [.8, .2], [.3, .7], [.6, .4]]
    >>> round(augrc(y, p), 6)  # ((0+0)/2 + (0+0)/2 + (0+1/4)/2 + (1/4+1/4)/2) / 4
    0.09375
    """
    coverage, risk = risk_coverage_curve(y_true, probs, confidence)
    generalized = np.concatenate([[0.0], risk * coverage])
    return float(np.sum(generalized[1:] + generalized[:-1]) / (2 * coverage.shape[0]))


def selective_accuracy(y_true, probs, coverage, confidence=None):
    """Accuracy on the `ceil(coverage * N)` most confident inputs.

    Args:
        coverage: the fraction of inputs to accept, in (0, 1].
        y_true: as `risk_coverage_curve`.
        probs: as `risk_coverage_curve`.
        confidence: as `risk_coverage_curve`.

    Example:

    >>> y, p = [0, 0, 0, 0], [[.9, .1], [.8, .2], [.3, .7], [.6, .4]]
    >>> selective_accuracy(y, p, 0.5), selective_accuracy(y, p, 1.0)
    (1.0, 0.75)
    """
    expected = "a coverage in (0, 1]"
    if not _checks.is_real(coverage):
        raise _checks.type_error("coverage", expected, coverage)
    if not 0 < coverage <= 1:  # NaN too
        raise _checks.value_error("coverage", expected, coverage)
    _, risk = risk_coverage_curve(y_true, probs, confidence)
    # Rounded first: 0.3 * 10 is 3.0000000000000004, which is 3 inputs.
    accepted = max(1, math.ceil(round(coverage * risk.shape[0], 9)))
    return float(1.0 - risk[accepted - 1])
