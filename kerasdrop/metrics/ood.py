"""Out-of-distribution (OOD) detection by an uncertainty score.

Every function takes `scores_in` (inputs from the training distribution)
and `scores_out` (OOD inputs), one score per input, and reads a **higher
score as "more likely OOD"**: any uncertainty score works as is
(predictive entropy, mutual information, variance, `energy_score`);
a confidence (`max_probability`, `max_logit`) is negated first. OOD
inputs are the positive class, as in `ood_auroc`, except for `aupr_in`.

- `ood_auroc`: area under the ROC curve (0.5 chance, 1 perfect).
- `fpr_at_tpr`: FPR at 95% TPR, the fraction of in-distribution inputs
  flagged when the threshold catches 95% of the OOD inputs (lower is
  better).
- `aupr_out`, `aupr_in`: area under the precision-recall curve with the
  OOD inputs, respectively the in-distribution inputs (scored by
  `-score`), as the positive class (Hendrycks & Gimpel 2017, "A Baseline
  for Detecting Misclassified and Out-of-Distribution Examples").

Thresholds run over the distinct scores (inputs with equal scores are
flagged together, never split), as scikit-learn's `roc_curve` and
`average_precision_score` do: the AUPRs are average precisions,
`sum_k (R_k - R_{k-1}) P_k`, without interpolation.
"""

import numpy as np

from kerasdrop import _checks
from kerasdrop.metrics import _inputs


def _detection_counts(positives, negatives):
    """Positives and negatives flagged (`score >= threshold`) at each
    distinct score taken as the threshold, from the highest down."""
    scores = np.concatenate([positives, negatives])
    positive = np.concatenate([np.ones_like(positives), np.zeros_like(negatives)])
    order = np.argsort(-scores, kind="mergesort")
    scores, positive = scores[order], positive[order]
    ends = np.append(np.flatnonzero(np.diff(scores)), scores.shape[0] - 1)
    true_positives = np.cumsum(positive)[ends]
    return true_positives, ends + 1.0 - true_positives


def _pair(scores_in, scores_out):
    """One score per input each: `(N,)`, or an `(N, 1)` column; a 2-D array
    of several columns is refused, not flattened."""
    return (
        _inputs.scores("scores_in", scores_in),
        _inputs.scores("scores_out", scores_out),
    )


def ood_auroc(scores_in, scores_out):
    """AUROC of telling out-of-distribution inputs by a higher score.

    The probability that an OOD input scores higher than an
    in-distribution one, ties counted half (the Mann-Whitney statistic):
    1.0 perfect, 0.5 chance.

    Example:

    >>> ood_auroc([0.1, 0.2], [0.3, 0.2])
    0.875
    """
    inside, outside = _pair(scores_in, scores_out)
    tp, fp = _detection_counts(outside, inside)
    tpr = np.append(0.0, tp / outside.shape[0])
    fpr = np.append(0.0, fp / inside.shape[0])
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1])) / 2)


def fpr_at_tpr(scores_in, scores_out, tpr=0.95):
    """False positive rate at a true positive rate (FPR95 by default).

    With the OOD inputs as positives: the highest threshold that flags at
    least a fraction `tpr` of them (`score >= threshold`), and the fraction
    of in-distribution inputs it flags too. Lower is better.

    Args:
        scores_in: scores of in-distribution inputs.
        scores_out: scores of OOD inputs.
        tpr: the true positive rate to reach, in (0, 1].

    Example:

    >>> # 95% of 20 OOD inputs is 19 (threshold 0.5): 1 of 4 known ones too.
    >>> inside = [0.1, 0.2, 0.45, 0.6]
    >>> outside = [0.4] + [0.5] * 19
    >>> fpr_at_tpr(inside, outside)
    0.25
    """
    expected = "a true positive rate in (0, 1]"
    if not _checks.is_real(tpr):
        raise _checks.type_error("tpr", expected, tpr)
    if not 0 < tpr <= 1:  # NaN too
        raise _checks.value_error("tpr", expected, tpr)
    inside, outside = _pair(scores_in, scores_out)
    tp, fp = _detection_counts(outside, inside)
    first = np.searchsorted(tp / outside.shape[0], tpr, side="left")
    return float(fp[first] / inside.shape[0])


def _average_precision(positives, negatives):
    tp, fp = _detection_counts(positives, negatives)
    recall = np.append(0.0, tp / positives.shape[0])
    return float(np.sum(np.diff(recall) * tp / (tp + fp)))


def aupr_out(scores_in, scores_out):
    """Area under the precision-recall curve, OOD inputs positive.

    Average precision of finding the OOD inputs by a high score. Chance
    level is the fraction of OOD inputs.

    Example:

    >>> # Ranked: out .9, in .8, out .7: precisions 1 and 2/3 at recall 1/2, 1.
    >>> round(aupr_out([0.8], [0.9, 0.7]), 6)
    0.833333
    """
    inside, outside = _pair(scores_in, scores_out)
    return _average_precision(outside, inside)


def aupr_in(scores_in, scores_out):
    """Area under the precision-recall curve, in-distribution positive.

    Average precision of finding the in-distribution inputs by a low score
    (ranked by `-score`). Chance level is their fraction.

    Example:

    >>> # Ranked by -score: in .1, out .2, in .3: precisions 1 and 2/3.
    >>> round(aupr_in([0.1, 0.3], [0.2]), 6)
    0.833333
    """
    inside, outside = _pair(scores_in, scores_out)
    return _average_precision(-inside, -outside)
