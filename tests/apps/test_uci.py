"""The UCI protocol on a small synthetic folder of the same layout."""

import json
from pathlib import Path

import numpy as np
import pytest

from kerasdrop.apps import cli, uci
from helpers import to_numpy

SHARED_UCI = Path(__file__).resolve().parents[3] / "shared" / "data" / "uci"


def make_folder(root, name="toy", rows=400, splits=2, seed=0):
    """A UCI-layout folder: y = x @ w + 0.1 noise; column 2 is the target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 3))
    y = x @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=rows)
    data = np.column_stack([x[:, :2], y, x[:, 2], np.ones(rows)])  # const col
    folder = Path(root) / name
    folder.mkdir(parents=True)
    np.savetxt(folder / "data.txt", data)
    np.savetxt(folder / "index_features.txt", [0, 1, 3, 4], fmt="%d")
    np.savetxt(folder / "index_target.txt", [2], fmt="%d")
    for k in range(splits):
        order = np.random.default_rng(k).permutation(rows)
        cut = int(0.9 * rows)
        np.savetxt(folder / f"index_train_{k}.txt", order[:cut], fmt="%d")
        np.savetxt(folder / f"index_test_{k}.txt", order[cut:], fmt="%d")
    for name_, value in (("n_splits", splits), ("n_hidden", 16), ("n_epochs", 3)):
        (folder / f"{name_}.txt").write_text(f"{value}\n")
    (folder / "dropout_rates.txt").write_text("0.01\n0.1\n")
    (folder / "tau_values.txt").write_text("1.0\n")
    return folder


def test_reader(tmp_path):
    folder = make_folder(tmp_path)
    dataset = uci.UCIDataset(folder)
    assert dataset.x.shape == (400, 4) and dataset.y.shape == (400,)
    assert (dataset.n_splits, dataset.n_hidden, dataset.n_epochs) == (2, 16, 3)
    assert dataset.dropout_rates == [0.01, 0.1] and dataset.tau_values == [1.0]
    train, test = dataset.split(1)
    assert len(train) == 360 and len(test) == 40
    assert not set(train) & set(test)
    assert uci.find_datasets(tmp_path) == [folder]
    assert uci.find_datasets(folder) == [folder]


@pytest.mark.one_backend
def test_fixed_mode_learns_and_reports(tmp_path):
    folder = make_folder(tmp_path)
    (result,) = uci.run(
        folder, rate=0.01, tau=50.0, epochs=100, samples=200, batch_size=128
    )  # the test's speed, not the default
    assert result["splits"] == 2 and result["epochs"] == 100
    assert [row["split"] for row in result["per_split"]] == [0, 1]
    summary = result["summary"]
    # A linear target with noise 0.1 (target std ~2.5): the network learns
    # it (~0.4 after 100 epochs; predicting the mean would score ~2.5).
    assert summary["rmse"] < 0.8
    assert np.isfinite(to_numpy(summary["ll"])) and summary["rmse_se"] >= 0
    for row in result["per_split"]:
        assert row["rate"] == 0.01 and row["tau"] == 50.0
        assert np.isfinite(to_numpy(row["rmse_deterministic"]))
    # The standard error is the one of the split means.
    rmses = [row["rmse"] for row in result["per_split"]]
    assert summary["rmse_se"] == pytest.approx(
        np.std(to_numpy(rmses), ddof=1) / np.sqrt(2)
    )
    table = uci.markdown_table([result])
    assert "| toy | fixed | 2 | 100 | 128 | 200 |" in table


@pytest.mark.one_backend
def test_grid_mode_picks_by_validation_likelihood(tmp_path):
    folder = make_folder(tmp_path, splits=1)
    (result,) = uci.run(folder, mode="grid", epochs=10, samples=50)
    (row,) = result["per_split"]
    assert row["rate"] in (0.01, 0.1) and row["tau"] == 1.0
    assert np.isfinite(to_numpy(row["validation_ll"]))


def test_paper_table_and_gap():
    summary = uci.summarize(
        "bostonHousing",
        [{"rmse": 3.0, "ll": -2.5}, {"rmse": 3.2, "ll": -2.4}],
    )
    assert summary["paper"]["rmse"] == 2.97 and summary["paper"]["tau"] == 0.1597
    combined = np.hypot(0.1, 0.19)  # se of (3.0, 3.2) is 0.1
    assert summary["rmse_gap_in_se"] == pytest.approx(0.13 / combined)
    assert summary["rmse_within_2se"] is True


@pytest.mark.one_backend
def test_cli_writes_json_and_markdown(tmp_path, capsys):
    make_folder(tmp_path / "data")
    out = tmp_path / "report"
    code = cli.main(
        [
            "uci",
            str(tmp_path / "data"),
            "--datasets",
            "toy",
            "--splits",
            "1",
            "--epochs",
            "5",
            "--samples",
            "20",
            "--rate",
            "0.05",
            "--tau",
            "1.0",
            "--batch-size",
            "64",
            "--out",
            str(out),
        ]
    )
    assert code == 0
    payload = json.loads((out / "uci.json").read_text())
    assert payload["results"][0]["dataset"] == "toy"
    assert payload["results"][0]["splits"] == 1
    assert payload["results"][0]["batch_size"] == 64
    assert "| toy | fixed | 1 | 5 | 64 | 20 |" in (out / "uci.md").read_text()
    assert "toy split 0" in capsys.readouterr().out


def test_default_batch_is_the_papers_2016_scripts(tmp_path, monkeypatch):
    """Batch 32 reproduces the paper's table (128 missed it on energy)."""
    import inspect

    assert inspect.signature(uci.run).parameters["batch_size"].default == 32
    make_folder(tmp_path / "data")
    seen = {}

    def fake_run(folders, **kwargs):
        seen.update(kwargs)
        return []

    monkeypatch.setattr(uci, "run", fake_run)
    assert cli.main(["uci", str(tmp_path / "data"), "--rate", "0.1", "--tau", "1"]) == 0
    assert seen["batch_size"] == 32


def test_bad_inputs(tmp_path, capsys):
    folder = make_folder(tmp_path)
    with pytest.raises(ValueError, match="not in the paper's table"):
        uci.run(folder)  # 'toy' has no paper (p, tau)
    with pytest.raises(ValueError, match="mode='best'"):
        uci.run(folder, mode="best", rate=0.1, tau=1.0)
    with pytest.raises(ValueError, match="splits=0"):
        uci.run(folder, splits=0, rate=0.1, tau=1.0)
    with pytest.raises(ValueError, match="rate=1.5"):
        uci.run(folder, rate=1.5, tau=1.0)
    with pytest.raises(ValueError, match="tau=-1"):
        uci.run(folder, rate=0.1, tau=-1.0)
    with pytest.raises(ValueError, match="split=5"):
        uci.UCIDataset(folder).split(5)
    with pytest.raises(ValueError, match="not a folder"):
        uci.find_datasets(tmp_path / "missing")
    with pytest.raises(ValueError, match="data.txt"):
        uci.UCIDataset(tmp_path)
    (folder / "n_hidden.txt").unlink()
    with pytest.raises(ValueError, match="missing n_hidden.txt"):
        uci.UCIDataset(folder)
    assert cli.main(["uci", str(tmp_path), "--datasets", "nope"]) == 1
    assert "datasets='nope'" in capsys.readouterr().err
    (tmp_path / "file").write_text("x")
    make_folder(tmp_path / "ok")
    code = cli.main(
        [
            "uci",
            str(tmp_path / "ok"),
            "--rate",
            "0.1",
            "--tau",
            "1",
            "--out",
            str(tmp_path / "file"),
        ]
    )
    assert code == 1 and "--out" in capsys.readouterr().err


@pytest.mark.one_backend
@pytest.mark.skipif(
    not (SHARED_UCI / "bostonHousing" / "data.txt").exists(),
    reason="the shared UCI folder (../shared/data/uci) is not beside the repo",
)
def test_real_folder_quick_look():
    (result,) = uci.run(SHARED_UCI / "bostonHousing", splits=1, epochs=40, samples=200)
    # Boston's target std is ~9.2; even 40 epochs get well under it.
    assert result["summary"]["rmse"] < 5.0
    assert -4.0 < result["summary"]["ll"] < -2.0
