"""The demo's settings: its constants, and the checks made before any work.

The task (`OOD_CLASS`), the variants and what they share (`VARIANTS`, `RATE`,
`HIDDEN`), the report folder's names (`DEFAULT_OUT`, `PLOTS`,
`REPORT_FILES`, `MODEL_DIR`), the figures of a prediction (`TEST_METRICS`,
`OOD_METRICS`, `OOD_SCORES`, `METRICS`), the export tolerances, and the
checks of `run`'s arguments: `check_out_dir` and `check_count`.
"""

import os

from kerasdrop import _checks
from kerasdrop.serving import artifacts

#: Where `kerasdrop demo` writes its report when `--out` is not given
#: (relative to the working directory).
DEFAULT_OUT = "kerasdrop-demo-report"
OOD_CLASS = 9
VARIANTS = ("no dropout", "constant", "scheduled", "concrete")
RATE = 0.3
HIDDEN = 128
PLOTS = {
    "rates": "rates.png",
    "curves": "curves.png",
    "reliability": "reliability.png",
    "uncertainty": "uncertainty.png",
    "risk_coverage": "risk_coverage.png",
}
REPORT_FILES = ("report.md", "report.html", "results.json") + tuple(PLOTS.values())
MODEL_DIR = "model"
#: In-distribution figures of a prediction (the first table).
TEST_METRICS = ("accuracy", "nll", "ece", "ace", "brier", "aurc", "augrc")
#: OOD detection figures, each per uncertainty score (the second table).
OOD_METRICS = ("auroc", "fpr95", "aupr_in", "aupr_out")
OOD_SCORES = {"entropy": "predictive entropy", "mi": "mutual information"}
#: Every figure of a prediction in `results.json`: `auroc_mi` and the other
#: mutual-information figures need samples (None without them).
METRICS = TEST_METRICS + tuple(f"{m}_{s}" for s in OOD_SCORES for m in OOD_METRICS)
#: The tolerances `kerasdrop.export` checks the served outputs with.
EXPORT_RTOL, EXPORT_ATOL = 1e-5, 1e-6


def check_out_dir(out):
    """Creates `out` (with parents) and proves it writable; returns its Path.

    Raises a `ValueError` naming the problem (an existing file, a path under
    a file, no permission, ...) before anything is trained, a `TypeError`
    for a value that is not a path. An existing directory is reused: the
    demo's own files in it are replaced.

    Example:

    >>> import tempfile
    >>> check_out_dir(tempfile.mkdtemp() + "/new/report").is_dir()
    True
    >>> check_out_dir("/proc/report")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: ...argument `out`. Expected a writable directory; ...
    """  # noqa: E501
    path = artifacts.as_path(out, name="out").expanduser()
    if path.exists() and not path.is_dir():
        raise _checks.value_error(
            "out",
            f"a directory (new or existing), but '{path}' is an existing file",
            str(out),
        )
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".kerasdrop-write-probe-{os.getpid()}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        raise _checks.value_error(
            "out",
            f"a writable directory; cannot create or write '{path}': "
            f"{err.strerror or err}",
            str(out),
        ) from None
    return path


def check_count(name, value, minimum, default):
    """`default` when `value` is None, else `value` checked to be an int of at
    least `minimum` (a `ValueError` naming `name` if not).

    Example:

    >>> check_count("epochs", None, 1, 30), check_count("epochs", 3, 1, 30)
    (30, 3)
    """
    return default if value is None else _checks.check_int(name, value, minimum=minimum)
