"""MC dropout on UCI regression (Gal & Ghahramani 2016), fixed mode.

Runs `kerasdrop.apps.uci` (the paper's network, standardization, weight decay
l^2 (1-p) / (2 N tau), Adam, batch 32 (the paper's 2016 scripts), 400 epochs,
T = 10000, all splits)
on bostonHousing, concrete, energy and wine-quality-red with the paper's
(p, tau), and writes benchmarks/results/uci.json and uci.md with the
paper's figures beside. Target: within 2 standard errors of the paper on
RMSE and LL (the gap is reported in combined standard errors,
sqrt(se_ours^2 + se_paper^2)).

Run:  python benchmarks/uci.py [--data ../shared/data/uci] [--jobs 2]
      [--splits N --epochs E --samples T for a quick look]
      python benchmarks/uci.py --batch-size 128 --stem uci_batch128
      (the batch size of the paper's later 2018 code)
"""

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).parent
DATASETS = "bostonHousing,concrete,energy,wine-quality-red"


def main(argv=None):
    from kerasdrop.apps import uci

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default=str(HERE.parent.parent / "shared" / "data" / "uci")
    )
    parser.add_argument("--datasets", default=DATASETS)
    parser.add_argument("--mode", choices=uci.MODES, default="fixed")
    parser.add_argument("--splits", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("--samples", type=int, default=10000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=uci.BATCH_SIZE)
    parser.add_argument("--out", default=str(HERE / "results"))
    parser.add_argument("--stem", default="uci", help="file names: STEM.json, STEM.md")
    args = parser.parse_args(argv)
    results = uci.run(
        uci.select(args.data, args.datasets),
        mode=args.mode,
        splits=args.splits,
        epochs=args.epochs,
        samples=args.samples,
        jobs=args.jobs,
        batch_size=args.batch_size,
        log=lambda line: print(line, flush=True),
    )
    command = "python benchmarks/uci.py " + " ".join(
        argv if argv is not None else sys.argv[1:]
    )
    uci.write(results, args.out, command.strip(), stem=args.stem)
    print(uci.markdown_table(results))


if __name__ == "__main__":
    main()
