"""`kerasdrop demo`: four ways to train one MLP, judged on calibration and OOD.

On scikit-learn's bundled 8x8 digits (nothing is downloaded), the digits
0-8 are the in-distribution task and every image of the digit 9, never seen
in training, is the out-of-distribution (OOD) set. The same MLP
(64 -> 128 -> 128 -> 9, ReLU, softmax) is trained four ways:

- `no dropout`;
- `constant`: `kerasdrop.layers.Dropout(0.3)` after each hidden layer;
- `scheduled`: the same layers started at 0 and driven per batch by
  `kerasdrop.recipes.curriculum_dropout` (Morerio et al. 2017) to 0.3;
- `concrete`: `ConcreteDropout` wrappers on the same two places, their rates
  learned, regularizers from `concrete_regularizers(n_train)`.

Each is evaluated on the test digits with one deterministic pass and with
MC dropout (`kerasdrop.mc.predict`; not applicable without dropout), with
`kerasdrop.metrics`: accuracy, NLL, ECE, adaptive (equal-mass) ECE, Brier
score, AURC and AUGRC (selective prediction by the max probability); and
telling the unseen digit 9 from test digits by predictive entropy and by
mutual information: AUROC, FPR at 95% TPR, AUPR-in and AUPR-out. The
dropout variant with the best MC validation NLL is exported with
`kerasdrop.export(..., mc_samples=T)`, verified on the test digits
(`kerasdrop.export` loads the SavedModel back and runs both signatures).
A report folder gets `report.md`, `report.html` (images embedded: one file,
viewable offline; rendered by `kerasdrop.apps.report`), `results.json`,
five PNG plots and the exported SavedModel.

The package's modules, one part of the demo each:

- `settings`: the constants (variants, file names, figures) and the checks
  of the arguments and the report folder made before any work;
- `models`: the digits split, the MLP of each variant, one variant's fit;
- `evaluation`: deterministic and MC figures of one model, and plot data;
- `exporting`: the best model exported with `kerasdrop.export` and verified;
- `content`: the report's tables, text blocks and PNG plots;
- `runner`: `run(...)`, the orchestration, its printed lines and files.

Example:

>>> from kerasdrop.apps import demo
>>> results = demo.run("/tmp/kerasdrop-demo", quick=True,
...                    verbose=0)  # doctest: +SKIP
>>> results["best"]  # doctest: +SKIP
'concrete'
"""

from kerasdrop.apps.demo.content import (
    DECIMALS,
    MODES,
    against_baseline,
    ood_table,
    report_blocks,
    results_table,
)
from kerasdrop.apps.demo.evaluation import evaluate
from kerasdrop.apps.demo.exporting import export_best
from kerasdrop.apps.demo.models import build_model, load_data
from kerasdrop.apps.demo.runner import run
from kerasdrop.apps.demo.settings import (
    DEFAULT_OUT,
    EXPORT_ATOL,
    EXPORT_RTOL,
    HIDDEN,
    METRICS,
    MODEL_DIR,
    OOD_CLASS,
    OOD_METRICS,
    OOD_SCORES,
    PLOTS,
    RATE,
    REPORT_FILES,
    TEST_METRICS,
    VARIANTS,
    check_out_dir,
)

__all__ = [
    "DECIMALS",
    "DEFAULT_OUT",
    "EXPORT_ATOL",
    "EXPORT_RTOL",
    "HIDDEN",
    "METRICS",
    "MODEL_DIR",
    "MODES",
    "OOD_CLASS",
    "OOD_METRICS",
    "OOD_SCORES",
    "PLOTS",
    "RATE",
    "REPORT_FILES",
    "TEST_METRICS",
    "VARIANTS",
    "against_baseline",
    "build_model",
    "check_out_dir",
    "evaluate",
    "export_best",
    "load_data",
    "ood_table",
    "report_blocks",
    "results_table",
    "run",
]
