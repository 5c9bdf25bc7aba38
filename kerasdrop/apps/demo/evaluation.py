"""The demo's evaluation: the figures of one trained model, and its plot data.

`evaluate` predicts the test digits, the unseen 9s and the validation
digits once deterministically and once with MC dropout, and scores each
prediction with `kerasdrop.metrics` (`METRICS`: calibration, selective
prediction, and OOD detection by predictive entropy and mutual
information); `plot_data` turns what it keeps into the reliability
diagrams, risk-coverage curves and uncertainty scores the plots show.
"""

import numpy as np

from kerasdrop.apps.demo.settings import OOD_METRICS


def _ood_scores(name, pair):
    """OOD figures of one uncertainty score `(in, out)`; None without it."""
    from kerasdrop import metrics

    functions = {
        "auroc": metrics.ood_auroc,
        "fpr95": metrics.fpr_at_tpr,
        "aupr_in": metrics.aupr_in,
        "aupr_out": metrics.aupr_out,
    }
    return {
        f"{m}_{name}": None if pair is None else functions[m](*pair)
        for m in OOD_METRICS
    }


def _scores(y, probs, entropy, mi=None):
    """`METRICS` of one prediction; `entropy` and `mi` are `(in, out)`
    uncertainty scores (test digits, unseen 9s)."""
    from kerasdrop import metrics

    scores = {
        "accuracy": float(np.mean(np.argmax(probs, axis=-1) == y)),
        "nll": metrics.negative_log_likelihood(y, probs),
        "ece": metrics.expected_calibration_error(y, probs),
        "ace": metrics.adaptive_calibration_error(y, probs),
        "brier": metrics.brier_score(y, probs),
        "aurc": metrics.aurc(y, probs),
        "augrc": metrics.augrc(y, probs),
    }
    return {**scores, **_ood_scores("entropy", entropy), **_ood_scores("mi", mi)}


def _normalized(probs):
    probs = np.asarray(probs, dtype="float64")
    return probs / probs.sum(axis=-1, keepdims=True)


def evaluate(model, data, samples, seed=0, mc_applicable=True):
    """Deterministic and MC figures of one trained model.

    Returns `(figures, arrays)`: `figures["deterministic"]` and
    `figures["mc"]` (None when `mc_applicable` is False) hold `METRICS`;
    `figures["val_nll"]` is the validation NLL of the prediction the model
    would be served with (MC when applicable); `arrays` keeps the test
    probabilities and the in/OOD uncertainty scores for the plots.
    """
    from kerasdrop import mc, metrics

    y_test, y_val = data["y_test"], data["y_val"]
    # One array, split afterwards: one compiled shape per model (JAX
    # compiles each new input shape).
    parts = [data["x_test"], data["x_ood"], data["x_val"]]
    cuts = np.cumsum([len(p) for p in parts])[:-1]
    x_all = np.concatenate(parts, axis=0)
    det, det_ood, det_val = np.split(
        _normalized(model.predict(x_all, batch_size=len(x_all), verbose=0)), cuts
    )
    h_in = metrics.predictive_entropy(det)
    h_out = metrics.predictive_entropy(det_ood)
    figures = {"deterministic": _scores(y_test, det, (h_in, h_out)), "mc": None}
    arrays = {
        "deterministic": {"probs": det, "entropy": (h_in, h_out)},
        "mc": None,
    }
    if not mc_applicable:
        figures["val_nll"] = metrics.negative_log_likelihood(y_val, det_val)
        return figures, arrays
    # task given: a softmax Dense wrapped in ConcreteDropout hides its
    # activation from the automatic detection.
    result = mc.predict(
        model,
        x_all,
        samples=samples,
        seed=seed,
        batch_size=len(x_all),
        verbose=0,
        task="classification",
    )
    probs, probs_ood, probs_val = np.split(_normalized(result.mean), cuts)
    entropy = np.split(result.predictive_entropy, cuts)[:2]
    mi = np.split(result.mutual_information, cuts)[:2]
    figures["mc"] = _scores(y_test, probs, entropy, mi)
    figures["val_nll"] = metrics.negative_log_likelihood(y_val, probs_val)
    arrays["mc"] = {
        "probs": probs,
        "entropy": (entropy[0], entropy[1]),
        "mi": (mi[0], mi[1]),
    }
    return figures, arrays


def plot_data(y_test, arrays):
    """One variant's reliability diagrams, risk-coverage curves and in/OOD
    uncertainty scores."""
    from kerasdrop import metrics

    det, mc = arrays["deterministic"], arrays["mc"]
    modes = {"deterministic": det["probs"]}
    if mc is not None:
        modes["MC dropout"] = mc["probs"]
    uncertainty = {
        "predictive entropy": det["entropy"] if mc is None else mc["entropy"],
        "mutual information": None if mc is None else mc["mi"],
    }
    return {
        "reliability": {
            mode: metrics.reliability_diagram(y_test, probs)
            for mode, probs in modes.items()
        },
        "risk_coverage": {
            mode: metrics.risk_coverage_curve(y_test, probs)
            for mode, probs in modes.items()
        },
        "uncertainty": uncertainty,
    }
