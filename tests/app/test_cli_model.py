"""Tests for the model commands of ``fds`` (train, evaluate) and for commands refusing a bad
model directory with one clear line.

The refusals run as ``python -m app.cli`` so that ``main()`` turns the error into its one line;
the rest run in-process through typer's CliRunner.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from catboost import CatBoostClassifier, CatBoostRegressor, Pool
from typer.testing import CliRunner

from app.cli import app
from ml.data import read_paysim
from ml.features import FEATURE_NAMES, build_features
from ml.model import DEFAULT_MODEL_DIR, METADATA_FILE, MODEL_FILE, model_version

#: The ``run_fds`` fixture of tests/app/conftest.py.
RunFds = Callable[..., subprocess.CompletedProcess[str]]

REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def training_rows(synthetic_csv) -> tuple[np.ndarray, np.ndarray]:
    data = read_paysim(synthetic_csv(800, seed=5, fraud_rate=0.1))
    return build_features(data.frame), data.labels


def _save_with_matching_description(
    fitted: CatBoostClassifier | CatBoostRegressor, names: list[str], directory: Path
) -> None:
    """Save ``fitted`` as the model of ``directory``, with a model.json that agrees with it."""
    fitted.save_model(str(directory / MODEL_FILE))
    metadata = json.loads((directory / METADATA_FILE).read_text())
    metadata.update(feature_names=names, version=model_version(directory / MODEL_FILE))
    (directory / METADATA_FILE).write_text(json.dumps(metadata))


def _missing(directory: Path, rows: tuple[np.ndarray, np.ndarray]) -> None:
    shutil.rmtree(directory)


def _corrupt(directory: Path, rows: tuple[np.ndarray, np.ndarray]) -> None:
    (directory / MODEL_FILE).write_bytes(b"not a CatBoost model\x00\x01")


def _regressor(directory: Path, rows: tuple[np.ndarray, np.ndarray]) -> None:
    fitted = CatBoostRegressor(iterations=5, depth=2, verbose=False, allow_writing_files=False)
    fitted.fit(Pool(rows[0], rows[1], feature_names=list(FEATURE_NAMES)))
    _save_with_matching_description(fitted, list(FEATURE_NAMES), directory)


def _unknown_feature(directory: Path, rows: tuple[np.ndarray, np.ndarray]) -> None:
    names = [*FEATURE_NAMES[:-1], "sender_velocity_1h"]
    fitted = CatBoostClassifier(iterations=5, depth=2, verbose=False, allow_writing_files=False)
    fitted.fit(Pool(rows[0], rows[1], feature_names=names))
    _save_with_matching_description(fitted, names, directory)


#: How to spoil a model directory, and what the one-line error must say.
SPOILED: dict[str, tuple[Callable[[Path, tuple[np.ndarray, np.ndarray]], None], str]] = {
    "missing": (_missing, r"model file .*model\.cbm not found: train one with `fds train"),
    "corrupt": (_corrupt, r"model\.cbm is not a CatBoost model"),
    "not-a-classifier": (_regressor, r"trained with loss 'RMSE', not as a binary classifier"),
    "unknown-feature": (
        _unknown_feature,
        r"expects feature\(s\) \['sender_velocity_1h'\] that this code does not build",
    ),
}


@pytest.mark.parametrize("command", ["consume", "evaluate"])
@pytest.mark.parametrize("case", list(SPOILED))
def test_cli_a_bad_model_directory_is_refused_in_one_line(
    run_fds: RunFds, tmp_path: Path, training_rows, synthetic_csv, case: str, command: str
) -> None:
    # Given a copy of the shipped model, spoiled
    directory = Path(shutil.copytree(DEFAULT_MODEL_DIR, tmp_path / "model"))
    spoil, expected = SPOILED[case]
    spoil(directory, training_rows)
    extra = ["--data", str(synthetic_csv(50))] if command == "evaluate" else []

    # When the command starts with it
    result = run_fds(command, "--model", str(directory), *extra)

    # Then it stops at once with one line saying what is wrong, and no traceback
    assert result.returncode == 1, f"{case}: exit {result.returncode}: {result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr, f"{case}: {result.stderr[-2000:]}"
    assert result.stderr.startswith("error:"), f"{case}: {result.stderr}"
    assert len(result.stderr.strip().splitlines()) == 1, f"{case}: {result.stderr}"
    assert re.search(expected, result.stderr), f"{case}: {result.stderr}"


def test_cli_consume_refuses_a_bad_model_named_by_the_setting(
    run_fds: RunFds, tmp_path: Path
) -> None:
    result = run_fds("consume", env={"FDS_MODEL_DIR": str(tmp_path / "nowhere")})

    assert result.returncode == 1, result.stderr
    assert "nowhere/model.cbm not found" in result.stderr, result.stderr


def test_cli_train_without_matplotlib_says_to_install_the_ml_extra(
    run_fds: RunFds, tmp_path: Path, synthetic_csv
) -> None:
    # Given a Python where matplotlib cannot be imported, as in the consumer's image
    shadow = tmp_path / "shadow" / "matplotlib"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("raise ImportError('No module named matplotlib')\n")
    out = tmp_path / "model"

    # When a model is trained
    result = run_fds(
        "train",
        "--data",
        str(synthetic_csv(1000)),
        "--out",
        str(out),
        env={"PYTHONPATH": str(shadow.parent)},
    )

    # Then it stops before training with one line that names the fix, and writes nothing
    assert result.returncode == 1, f"exit {result.returncode}: {result.stderr[-2000:]}"
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert "needs matplotlib" in result.stderr and "ml extra" in result.stderr, result.stderr
    assert not out.exists()


def test_cli_train_writes_the_card_and_prints_where(
    runner: CliRunner, synthetic_csv, tmp_path: Path
) -> None:
    out = tmp_path / "model"

    result = runner.invoke(
        app,
        ["train", "--data", str(synthetic_csv(3000)), "--out", str(out), "--freeze-cost", "250"],
    )

    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    printed = json.loads(result.stdout)
    assert printed["card"] == str(out / "MODEL_CARD.md") and (out / "MODEL_CARD.md").is_file()
    training = json.loads((out / METADATA_FILE).read_text())["training"]
    assert training["threshold_choice"]["freeze_cost"] == 250.0


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf"])
def test_cli_train_freeze_cost_must_be_positive(
    runner: CliRunner, synthetic_csv, tmp_path: Path, value: str
) -> None:
    result = runner.invoke(
        app,
        [
            "train",
            "--data",
            str(synthetic_csv(10)),
            "--out",
            str(tmp_path / "m"),
            "--freeze-cost",
            value,
        ],
    )

    assert result.exit_code == 2, f"--freeze-cost {value}: exit {result.exit_code}"
    assert "is not a number from" in " ".join(result.output.replace("│", " ").split())
    assert not (tmp_path / "m").exists()


def test_cli_evaluate_table_and_json_give_the_same_figures(
    runner: CliRunner, synthetic_csv
) -> None:
    # Given a weighted labelled CSV
    csv = synthetic_csv(
        2000, seed=43, fraud_rate=0.05, weight=lambda row: 1.0 + 9 * (1 - row["isFraud"])
    )
    args = ["evaluate", "--data", str(csv), "--weights", "sample_weight"]

    # When it is evaluated as a table and as JSON
    table = runner.invoke(app, args, env={"COLUMNS": "200"})
    as_json = runner.invoke(app, [*args, "--json"])

    # Then the table shows each figure of the JSON, the intervals beside AUPRC and recall
    assert table.exit_code == 0 and as_json.exit_code == 0, table.output + as_json.output
    report = json.loads(as_json.stdout)
    rows = {
        cells[0]: cells[1:]
        for line in table.stdout.splitlines()
        if line.startswith("│") and len(cells := [c.strip() for c in line.split("│")[1:-1]]) == 3
    }
    for key in ("auprc", "roc_auc", "precision", "recall", "recall_at_precision_99"):
        assert rows[key][0] == f"{report[key]:.4f}", f"{key}: table {rows[key]}, json {report}"
    assert rows["fraud_amount_caught"][0] == f"{report['fraud_amount_caught']:,.0f}"
    low, high = report["intervals"]["auprc"]
    assert rows["auprc"][1] == f"{low:.4f} – {high:.4f}", rows["auprc"]
    low, high = report["intervals"]["recall"]
    assert rows["recall"][1] == f"{low:.4f} – {high:.4f}", rows["recall"]
    assert "(weighted)" in table.stdout and report["weighted"] is True


@pytest.mark.parametrize(("resamples", "bounded"), [("0", False), ("100", True)])
def test_cli_evaluate_resamples_sets_the_bootstrap(
    runner: CliRunner, synthetic_csv, resamples: str, bounded: bool
) -> None:
    csv = synthetic_csv(2000, seed=44, fraud_rate=0.05)

    result = runner.invoke(
        app, ["evaluate", "--data", str(csv), "--json", "--resamples", resamples]
    )

    assert result.exit_code == 0, result.output
    intervals = json.loads(result.stdout)["intervals"]
    assert (intervals["auprc"] is not None) is bounded, intervals
    assert (intervals["recall"] is not None) is bounded, intervals


@pytest.mark.parametrize("resamples", ["-1", "1", "99", "10001"])
def test_cli_evaluate_resamples_out_of_range_is_a_usage_error(
    runner: CliRunner, synthetic_csv, resamples: str
) -> None:
    result = runner.invoke(
        app, ["evaluate", "--data", str(synthetic_csv(10)), "--resamples", resamples]
    )

    assert result.exit_code == 2, result.output
    message = " ".join(result.output.replace("│", " ").split())
    assert "cannot give a 90 % interval: give 100 to 10000, or 0 for no intervals" in message


def _with_weights(path: Path, weights: list[str], column: str = "w") -> Path:
    """``path`` with a weights column added, one weight a row in order."""
    lines = path.read_text().splitlines()
    assert len(lines) == len(weights) + 1, "one weight a row"
    rows = [f"{lines[0]},{column}"] + [
        f"{line},{w}" for line, w in zip(lines[1:], weights, strict=True)
    ]
    weighted = path.with_name(f"weighted-{path.name}")
    weighted.write_text("\n".join(rows) + "\n")
    return weighted


@pytest.mark.parametrize("absurd", [["1e308"], ["1e200"], ["1e308", "inf", "nan"]])
def test_cli_train_leaves_out_rows_of_absurd_weights(
    runner: CliRunner, synthetic_csv, tmp_path: Path, absurd: list[str]
) -> None:
    # Given a weighted file whose first rows have weights of 1e308, inf or nan
    plain = synthetic_csv(3000)
    rows = len(plain.read_text().splitlines()) - 1
    csv = _with_weights(plain, absurd + ["1.5"] * (rows - len(absurd)))
    out = tmp_path / "model"

    # When a model is trained with those weights
    result = runner.invoke(app, ["train", "--data", str(csv), "--out", str(out), "--weights", "w"])

    # Then it is trained on the other rows, and the absurd ones are counted as bad
    assert result.exit_code == 0, f"exit {result.exit_code}: {result.output}"
    training = json.loads((out / METADATA_FILE).read_text())["training"]
    assert training["bad_rows_left_out"] == len(absurd), training
    assert training["rows"] == rows - len(absurd)


def test_cli_evaluate_a_huge_weight_gives_the_figures_of_the_other_rows(
    runner: CliRunner, synthetic_csv
) -> None:
    # Given a file evaluated with weights of 2, and the same file with one weight of 1e308
    plain = synthetic_csv(2000, seed=45)
    rows = len(plain.read_text().splitlines()) - 1
    kept = [*plain.read_text().splitlines()[:1], *plain.read_text().splitlines()[2:]]
    without = plain.with_name("without.csv")
    without.write_text("\n".join(kept) + "\n")
    args = ["evaluate", "--weights", "w", "--json", "--resamples", "0"]

    huge = runner.invoke(
        app, [*args, "--data", str(_with_weights(plain, ["1e308"] + ["2"] * (rows - 1)))]
    )
    left_out = runner.invoke(
        app, [*args, "--data", str(_with_weights(without, ["2"] * (rows - 1)))]
    )

    # Then the absurd row is left out, and no figure overflows
    assert huge.exit_code == 0 and left_out.exit_code == 0, huge.output + left_out.output
    with_huge, reference = json.loads(huge.stdout), json.loads(left_out.stdout)
    assert with_huge["bad_rows_left_out"] == 1
    for key in ("auprc", "precision", "recall", "fraud_amount_caught", "fraud_amount_missed"):
        assert with_huge[key] == reference[key], key


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_cli_a_file_of_mostly_bad_rows_is_refused(
    run_fds: RunFds, synthetic_csv, tmp_path: Path, command: str
) -> None:
    # Given a file where 9 rows in 10 have an amount that is not a number
    plain = synthetic_csv(1000, seed=13).read_text().splitlines()
    spoilt = [plain[0]] + [
        line if index % 10 == 0 else line.replace(line.split(",")[2], "n/a", 1)
        for index, line in enumerate(plain[1:])
    ]
    csv = tmp_path / "spoilt.csv"
    csv.write_text("\n".join(spoilt) + "\n")
    out = ["--out", str(tmp_path / "model")] if command == "train" else []

    # When it is trained on or evaluated
    result = run_fds(command, "--data", str(csv), *out)

    # Then the command refuses it in one line that counts the bad rows and names the first
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"900 of 1,000 rows of {csv} are bad (first reasons: line 3: amount is not a number" in (
        result.stderr
    ), result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "model").exists()


def test_cli_evaluate_without_fraud_prints_a_note_and_puts_it_in_the_json(
    runner: CliRunner, synthetic_csv, tmp_path: Path
) -> None:
    # Given a file without fraud rows
    plain = synthetic_csv(1500, seed=14).read_text().splitlines()
    fraud_field = plain[0].split(",").index("isFraud")
    legit = [plain[0]] + [line for line in plain[1:] if line.split(",")[fraud_field] == "0"]
    assert len(legit) < len(plain), "the generated file held no fraud to take out"
    csv = tmp_path / "legit.csv"
    csv.write_text("\n".join(legit) + "\n")

    # When it is evaluated as a table and as JSON
    table = runner.invoke(app, ["evaluate", "--data", str(csv)], env={"COLUMNS": "300"})
    as_json = runner.invoke(app, ["evaluate", "--data", str(csv), "--json"])

    # Then both succeed and say why the fraud figures are n/a
    assert table.exit_code == 0 and as_json.exit_code == 0, table.output + as_json.output
    assert "note: no fraud rows in the measured steps: AUPRC, ROC-AUC, recall" in table.stdout
    notes = json.loads(as_json.stdout)["notes"]
    assert notes and notes[0].startswith("no fraud rows in the measured steps"), notes


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_cli_an_unused_sample_weight_column_is_warned_of(
    runner: CliRunner, synthetic_csv, tmp_path: Path, command: str
) -> None:
    csv = synthetic_csv(3000, seed=15, weight=lambda row: 2.0)
    out = ["--out", str(tmp_path / "model")] if command == "train" else ["--resamples", "0"]

    unweighted = runner.invoke(app, [command, "--data", str(csv), *out])
    weighted = runner.invoke(app, [command, "--data", str(csv), *out, "--weights", "sample_weight"])

    assert unweighted.exit_code == 0 and weighted.exit_code == 0, unweighted.output
    warning = "has a sample_weight column but no --weights was given"
    assert warning in " ".join(unweighted.stderr.split()), unweighted.stderr
    assert "add --weights sample_weight" in " ".join(unweighted.stderr.split())
    assert warning not in " ".join(weighted.stderr.split())


def test_cli_train_seed_reaches_the_model_and_its_card(
    runner: CliRunner, synthetic_csv, tmp_path: Path
) -> None:
    csv = str(synthetic_csv(3000, seed=16))
    runs = {
        name: runner.invoke(app, ["train", "--data", csv, "--out", str(tmp_path / name), *seed])
        for name, seed in (("default", []), ("three", ["--seed", "3"]), ("again", ["--seed", "3"]))
    }

    assert all(run.exit_code == 0 for run in runs.values()), {k: r.output for k, r in runs.items()}
    versions = {name: json.loads(run.stdout)["version"] for name, run in runs.items()}
    assert versions["three"] == versions["again"] != versions["default"], versions
    training = json.loads((tmp_path / "three" / METADATA_FILE).read_text())["training"]
    assert training["options"]["seed"] == 3
    assert "- Seed: 3 (`fds train --seed`)" in (tmp_path / "three" / "MODEL_CARD.md").read_text()
    default = json.loads((tmp_path / "default" / METADATA_FILE).read_text())["training"]
    assert default["options"]["seed"] == 7
