"""Uncertainty, calibration and decision metrics for MC dropout outputs.

NumPy functions in float64 (post-processing of `kerasdrop.mc.predict`
results, exact enough to check by hand), one concept per module. Shapes:
`N` inputs, `K` classes, `T` samples. Class probabilities are rows summing
to 1 (a softmax head); a single column is read as the probability of class
1 of a binary problem. With `multi_label=True` (a sigmoid head with several
units) every column is the probability of its own independent binary label
(a Bernoulli): the entropies are summed over the units (the entropy of the
joint of independent labels, one score per input), and `variation_ratio`
and `max_probability` are per unit, `(N, K)`. Logarithms are natural
(nats); `0 log 0 = 0`. Bad inputs raise Keras-style errors naming the
argument (`TypeError` for a wrong type, `ValueError` for a bad value).

- Distributions and entropy (`entropies`): `class_distributions`, `entropy`,
  `per_input`, the one entropy of the package (`kerasdrop.mc.predict` and
  `kerasdrop.export` call them with `keras.ops`).
- Classification uncertainty (`uncertainty`), from sample probabilities
  `(T, N, K)`: `predictive_entropy`, `expected_entropy`,
  `mutual_information` (BALD), `variation_ratio`; from mean probabilities
  `(N, K)`: `max_probability`.
- Regression (`regression`): `predictive_variance`,
  `regression_log_likelihood` (Gal & Ghahramani 2016, logsumexp over
  samples), heteroscedastic heads: `heteroscedastic_uncertainty`,
  `heteroscedastic_log_likelihood`.
- Calibration (`calibration`): `reliability_diagram` (equal-width or
  equal-mass bins), `expected_calibration_error`,
  `adaptive_calibration_error` (equal-mass bins, Nixon et al. 2019).
- Proper scoring rules (`scoring_rules`): `negative_log_likelihood`,
  `brier_score`.
- Selective prediction (`selective`): `risk_coverage_curve`, `aurc`,
  `augrc`, `selective_accuracy`.
- Out-of-distribution detection (`ood`; higher score = more likely OOD):
  `ood_auroc`, `fpr_at_tpr` (FPR95), `aupr_in`, `aupr_out`.
- Logits heads (`logits`): `max_logit`, `energy_score`.

Example:

>>> from kerasdrop import metrics
>>> y, p = [0, 1, 1, 0], [[.9, .1], [.3, .7], [.6, .4], [.55, .45]]
>>> round(metrics.aurc(y, p), 4), round(metrics.adaptive_calibration_error(y, p, 2), 4)
(0.1458, 0.1375)
"""  # noqa: E501

from kerasdrop.metrics.calibration import (
    adaptive_calibration_error,
    expected_calibration_error,
    reliability_diagram,
)
from kerasdrop.metrics.entropies import class_distributions, entropy, per_input
from kerasdrop.metrics.logits import energy_score, max_logit
from kerasdrop.metrics.ood import aupr_in, aupr_out, fpr_at_tpr, ood_auroc
from kerasdrop.metrics.regression import (
    heteroscedastic_log_likelihood,
    heteroscedastic_uncertainty,
    predictive_variance,
    regression_log_likelihood,
)
from kerasdrop.metrics.scoring_rules import brier_score, negative_log_likelihood
from kerasdrop.metrics.selective import (
    augrc,
    aurc,
    risk_coverage_curve,
    selective_accuracy,
)
from kerasdrop.metrics.uncertainty import (
    expected_entropy,
    max_probability,
    mutual_information,
    predictive_entropy,
    variation_ratio,
)

__all__ = [
    "class_distributions",
    "entropy",
    "per_input",
    "predictive_entropy",
    "expected_entropy",
    "mutual_information",
    "variation_ratio",
    "max_probability",
    "predictive_variance",
    "regression_log_likelihood",
    "heteroscedastic_uncertainty",
    "heteroscedastic_log_likelihood",
    "reliability_diagram",
    "expected_calibration_error",
    "adaptive_calibration_error",
    "negative_log_likelihood",
    "brier_score",
    "risk_coverage_curve",
    "aurc",
    "augrc",
    "selective_accuracy",
    "ood_auroc",
    "fpr_at_tpr",
    "aupr_in",
    "aupr_out",
    "max_logit",
    "energy_score",
]
