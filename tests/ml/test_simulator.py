"""Tests for the simulator's rows (``ml.simulator``): format, bookkeeping and fraud mechanics."""

from __future__ import annotations

import re
from collections.abc import Iterable
from itertools import islice
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ml.data import read_paysim
from ml.schema import PAYSIM_COLUMNS, TRANSACTION_TYPES
from ml.simulator import SimulationError, simulate_frames, simulate_transactions
from ml.simulator.params import FLAGGED_AFTER_CHUNKS, TRANSFER_CAP
from ml.simulator.writer import write_paysim_csv

#: A high fraud share and small steps, so a few hundred thousand rows hold many takeovers,
#: chunked ones included, over many steps.
FRAUDY = {"fraud_rate": 0.05, "rows_per_step": 2_000.0}


def whole_steps(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """The rows of ``frames`` without the last step, which ``rows=`` may have cut short."""
    rows = pd.concat(frames, ignore_index=True)
    return rows[rows["step"] < rows["step"].max()]


@pytest.fixture(scope="module")
def rows() -> pd.DataFrame:
    return whole_steps(simulate_frames(seed=3, rows=400_000, **FRAUDY))


def test_simulate_frames_same_seed_writes_the_same_file(tmp_path: Path) -> None:
    # Given two runs with one seed, and one with another
    first, second, other = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    write_paysim_csv(simulate_frames(seed=11, rows=50_000), first)
    write_paysim_csv(simulate_frames(seed=11, rows=50_000), second)
    write_paysim_csv(simulate_frames(seed=12, rows=50_000), other)

    # Then the first two are the same bytes and the third is not
    assert first.read_bytes() == second.read_bytes(), "the same seed wrote different files"
    assert first.read_bytes() != other.read_bytes(), "another seed wrote the same file"


def test_simulate_frames_rows_do_not_depend_on_the_chunk_size() -> None:
    small = pd.concat(simulate_frames(seed=5, rows=40_000, chunk_rows=777), ignore_index=True)
    large = pd.concat(simulate_frames(seed=5, rows=40_000, chunk_rows=40_000), ignore_index=True)

    pd.testing.assert_frame_equal(small, large)


def test_simulate_frames_yields_chunks_of_the_asked_size_up_to_rows() -> None:
    sizes = [len(frame) for frame in simulate_frames(seed=1, rows=10_001, chunk_rows=1_000)]

    assert sizes == [1_000] * 10 + [1], f"chunk sizes {sizes}"


def test_simulate_frames_without_rows_does_not_end() -> None:
    # Given an endless stream in tiny steps, so many steps pass in few rows
    frames = simulate_frames(seed=2, chunk_rows=5_000, rows_per_step=50.0)

    # When far more rows are taken than one cycle of the day pattern holds
    taken = list(islice(frames, 40))

    # Then every chunk is full and the steps run on past PaySim's 400
    assert all(len(frame) == 5_000 for frame in taken)
    assert int(taken[-1]["step"].iloc[-1]) > 400, "the stream stopped at the end of a cycle"


def test_simulate_frames_columns_types_and_step_order(rows: pd.DataFrame) -> None:
    assert tuple(rows.columns) == PAYSIM_COLUMNS
    assert set(rows["type"].astype(str)) == set(TRANSACTION_TYPES)
    assert rows["step"].iloc[0] == 1, "PaySim's first step is 1"
    assert rows["step"].is_monotonic_increasing, "rows are not in step order"
    for column in ("amount", "oldbalanceOrg", "newbalanceOrig", "oldbalanceDest"):
        values = rows[column].to_numpy()
        assert (values >= 0).all(), f"{column} has negative values"
        assert np.array_equal(values, np.round(values, 2)), f"{column} is not to the cent"
    assert rows["nameOrig"].str.fullmatch(r"C[1-9][0-9]{0,9}").all(), "a sender is not C<number>"
    assert rows["nameDest"].str.fullmatch(r"[CM][1-9][0-9]{0,9}").all()


def test_simulated_csv_reads_back_with_no_bad_row(tmp_path: Path) -> None:
    # Given a simulated CSV
    path = tmp_path / "simulated.csv"
    written = write_paysim_csv(simulate_frames(seed=9, rows=30_000, **FRAUDY), path)

    # When the PaySim reader reads it
    data = read_paysim(path)

    # Then every row is valid, and the text is in PaySim's formats
    assert data.bad_row_count == 0, f"bad rows: {data.bad_rows[:3]}"
    assert len(data.frame) == written == 30_000
    header, first = path.read_text().splitlines()[:2]
    assert header == ",".join(PAYSIM_COLUMNS)
    fields = first.split(",")
    assert fields[0] == "1" and fields[-2:] in (["0", "0"], ["1", "0"], ["1", "1"]), first
    assert "." in fields[2] and "e" not in fields[2].lower(), f"amount {fields[2]} is not decimal"


def test_merchants_always_show_zero_balances(rows: pd.DataFrame) -> None:
    merchants = rows[rows["nameDest"].str.startswith("M")]

    assert len(merchants) > 10_000
    assert set(merchants["type"].astype(str)) == {"PAYMENT"}, "merchants only take payments"
    assert (merchants["oldbalanceDest"] == 0).all() and (merchants["newbalanceDest"] == 0).all()


def test_legit_rows_never_move_exactly_the_sender_balance(rows: pd.DataFrame) -> None:
    legit = rows[rows["isFraud"] == 0]

    assert not (legit["amount"] == legit["oldbalanceOrg"]).any()
    assert (legit["isFlaggedFraud"] == 0).all(), "a legit row is flagged"


def test_legit_sender_bookkeeping_follows_paysim(rows: pd.DataFrame) -> None:
    legit = rows[rows["isFraud"] == 0]
    cash_in = legit["type"] == "CASH_IN"
    expected = np.where(
        cash_in,
        legit["oldbalanceOrg"] + legit["amount"],
        np.maximum(legit["oldbalanceOrg"] - legit["amount"], 0.0),
    )

    np.testing.assert_allclose(legit["newbalanceOrig"], expected, atol=0.011)
    # Most legit TRANSFERs spend more than the sender shows, as in PaySim
    transfers = legit[legit["type"] == "TRANSFER"]
    assert (transfers["amount"] > transfers["oldbalanceOrg"]).mean() > 0.8


def test_fraud_only_in_transfer_and_cash_out(rows: pd.DataFrame) -> None:
    fraud = rows[rows["isFraud"] == 1]

    assert len(fraud) > 1_000
    assert set(fraud["type"].astype(str)) == {"TRANSFER", "CASH_OUT"}


def test_every_fraud_transfer_is_cashed_out_for_the_same_amount_in_its_step(
    rows: pd.DataFrame,
) -> None:
    fraud = rows[rows["isFraud"] == 1]
    moved = fraud[(fraud["type"] == "TRANSFER") & (fraud["isFlaggedFraud"] == 0)]
    cashed = fraud[fraud["type"] == "CASH_OUT"]

    # Each (step, amount) of a moving transfer has as many cash-outs of that amount in its step
    transfers = moved.groupby(["step", "amount"]).size()
    cash_outs = cashed.groupby(["step", "amount"]).size()
    joined = pd.concat([transfers, cash_outs], axis=1, keys=["t", "c"]).fillna(0)
    missing = joined[(joined["t"] > 0) & (joined["c"] < joined["t"])]
    assert missing.empty, f"transfers without their cash-out: {missing.head()}"
    # The transfer comes first within the step
    first_transfer = moved.reset_index().groupby(["step", "amount"])["index"].min()
    first_cash_out = cashed.reset_index().groupby(["step", "amount"])["index"].min()
    assert (first_transfer <= first_cash_out.loc[first_transfer.index]).all()


def test_fraud_transfers_go_to_fresh_mules_and_empty_the_sender(rows: pd.DataFrame) -> None:
    transfers = rows[(rows["isFraud"] == 1) & (rows["type"] == "TRANSFER")]
    unchunked = transfers[transfers["oldbalanceOrg"] < TRANSFER_CAP]

    mule_empty = (transfers["oldbalanceDest"] == 0) & (transfers["newbalanceDest"] == 0)
    assert mule_empty.mean() > 0.99
    drained = unchunked["amount"] == unchunked["oldbalanceOrg"]
    assert drained.mean() > 0.99
    assert (unchunked.loc[unchunked["isFlaggedFraud"] == 0, "newbalanceOrig"] == 0).all()


def test_fraud_transfers_are_capped_and_large_balances_leave_in_chunks(
    rows: pd.DataFrame,
) -> None:
    transfers = rows[(rows["isFraud"] == 1) & (rows["type"] == "TRANSFER")]
    chunks = transfers[transfers["oldbalanceOrg"] > TRANSFER_CAP]

    assert transfers["amount"].max() <= TRANSFER_CAP
    assert len(chunks) > 20, "too few chunked takeovers to test"
    assert (chunks["amount"] == TRANSFER_CAP).all(), "a balance over the cap left in one go"
    np.testing.assert_allclose(
        chunks["newbalanceOrig"], chunks["oldbalanceOrg"] - TRANSFER_CAP, atol=0.011
    )
    # Every chunk's account shows up again, with the balance the chunk left
    for _, chunk in chunks.head(50).iterrows():
        later = transfers[
            (transfers["nameOrig"] == chunk["nameOrig"])
            & (transfers["step"] == chunk["step"])
            & (np.abs(transfers["oldbalanceOrg"] - chunk["newbalanceOrig"]) < 0.011)
        ]
        assert len(later) == 1, f"the chunk of {chunk['nameOrig']} has no next transfer"


def test_is_flagged_fraud_marks_the_stopped_remainder_of_large_takeovers(
    rows: pd.DataFrame,
) -> None:
    flagged = rows[rows["isFlaggedFraud"] == 1]
    transfers = rows[(rows["isFraud"] == 1) & (rows["type"] == "TRANSFER")]

    assert len(flagged) > 0, "no flagged row to test"
    assert (flagged["isFraud"] == 1).all() and (flagged["type"] == "TRANSFER").all()
    # Nothing moved: the sender keeps the balance, the mule shows nothing
    assert (flagged["amount"] == flagged["oldbalanceOrg"]).all()
    assert (flagged["newbalanceOrig"] == flagged["oldbalanceOrg"]).all()
    assert flagged["amount"].lt(TRANSFER_CAP).all()
    # It is the remainder after FLAGGED_AFTER_CHUNKS capped chunks or more of the same account
    for _, row in flagged.iterrows():
        same = transfers[
            (transfers["nameOrig"] == row["nameOrig"]) & (transfers["step"] == row["step"])
        ]
        assert (same["amount"] == TRANSFER_CAP).sum() >= FLAGGED_AFTER_CHUNKS, row.to_dict()
    # And a large amount alone is never flagged (the data card's "over 200,000" is not the rule)
    big = rows[(rows["type"] == "TRANSFER") & (rows["amount"] > 200_000)]
    assert big["isFlaggedFraud"].mean() < 0.05


def test_zero_amount_cash_outs_follow_the_stopped_transfers(rows: pd.DataFrame) -> None:
    zero = rows[(rows["type"] == "CASH_OUT") & (rows["amount"] == 0)]

    assert (zero["isFraud"] == 1).all()
    assert len(zero) == int(rows["isFlaggedFraud"].sum())


def test_fraud_share_matches_the_asked_rate_over_a_cycle() -> None:
    # Given one whole cycle of PaySim's 400 steps at a small scale
    frames = simulate_frames(seed=4, rows_per_step=400.0, fraud_rate=0.01, rows=200_000)
    rows = pd.concat(frames, ignore_index=True)
    cycle = rows[rows["step"] <= 400]

    # Then fraud makes about the asked share of it
    assert cycle["step"].max() == 400
    assert cycle["isFraud"].mean() == pytest.approx(0.01, rel=0.1)


def test_legit_volume_follows_the_day_and_fraud_does_not() -> None:
    rows = whole_steps(
        simulate_frames(seed=6, rows=600_000, rows_per_step=1_500.0, fraud_rate=0.02)
    )
    hour = rows["step"] % 24
    legit = rows[rows["isFraud"] == 0].groupby(hour).size().reindex(range(24), fill_value=0)
    fraud = rows[rows["isFraud"] == 1].groupby(hour).size().reindex(range(24), fill_value=0)

    assert legit[3:8].sum() < 0.01 * legit.sum(), "legit volume at night should be near zero"
    assert legit[18:21].sum() > 0.15 * legit.sum(), "legit volume should peak in the evening"
    assert fraud.min() > 0.6 * fraud.mean(), f"fraud should be flat over the day: {fraud}"


def test_retry_share_drains_the_same_account_again_later_in_the_step() -> None:
    rows = whole_steps(simulate_frames(seed=8, rows=20_000, fraud_rate=0.05, retry_share=1.0))
    transfers = rows[(rows["isFraud"] == 1) & (rows["type"] == "TRANSFER")]

    counts = transfers.groupby("nameOrig").size()
    assert (counts >= 2).all(), "with retry_share 1 every victim is drained twice"


def test_default_stream_never_repeats_an_unchunked_victim() -> None:
    rows = whole_steps(simulate_frames(seed=8, rows=200_000, fraud_rate=0.05))
    transfers = rows[(rows["isFraud"] == 1) & (rows["type"] == "TRANSFER")]
    repeated = transfers[transfers.duplicated("nameOrig", keep=False)]

    # Only the chunks of a large balance share a sender
    assert (repeated.groupby("nameOrig")["amount"].max() == TRANSFER_CAP).all()


def test_simulate_transactions_rows_are_plain_python_values() -> None:
    row = next(simulate_transactions(seed=1, fraud_rate=0.01))

    assert list(row) == list(PAYSIM_COLUMNS)
    kinds = {name: type(value) for name, value in row.items()}
    assert kinds["step"] is int and kinds["amount"] is float and kinds["type"] is str, kinds
    assert kinds["isFraud"] is int and kinds["nameOrig"] is str, kinds


def test_simulate_transactions_is_the_same_stream_as_the_frames() -> None:
    rows = list(simulate_transactions(seed=21, rows=3_000))
    frame = pd.concat(simulate_frames(seed=21, rows=3_000), ignore_index=True)

    assert pd.DataFrame(rows).astype({"type": str}).equals(frame.astype({"type": str}))


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("fraud_rate", -0.1),
        ("fraud_rate", 0.95),
        ("fraud_rate", float("nan")),
        ("rows_per_step", 0.0),
        ("retry_share", 1.5),
        ("chunk_rows", 0),
        ("rows", -1),
    ],
)
def test_simulate_frames_refuses_out_of_range_settings_at_the_call(
    setting: str, value: float
) -> None:
    with pytest.raises(SimulationError, match=setting):
        simulate_frames(seed=1, **{setting: value})  # type: ignore[arg-type]


#: Each hour of the night band holds under this share of the hourly mean of legit volume.
NIGHT_SHARE = 0.01
REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_WEIGHTED = REPO_ROOT.parent / "shared" / "data" / "paysim" / "paysim_weighted_steps001-400.csv"


def _night_hours(weights: np.ndarray) -> list[int]:
    return [hour for hour, weight in enumerate(weights) if weight < NIGHT_SHARE]


def test_the_night_band_the_docs_state_is_the_one_the_hour_profile_holds() -> None:
    import ml.simulator.params as params
    from ml.simulator.params import HOUR_WEIGHTS

    readme = (REPO_ROOT / "README.md").read_text()
    section = readme[readme.index("## The simulator") :]
    for where, text in (("README", section), ("params.py", params.__doc__ or "")):
        flat = " ".join(text.split())
        match = re.search(
            r"near zero from (\d\d):00 to (\d\d):00|nothing from (\d\d):00 to (\d\d):00", flat
        )
        assert match, f"{where} does not state the night band"
        start, end = (int(hour) for hour in match.groups() if hour is not None)
        assert _night_hours(HOUR_WEIGHTS) == list(range(start, end)), where


@pytest.mark.real_data
def test_the_hour_profile_has_the_real_rows_night_band() -> None:
    if not REAL_WEIGHTED.is_file():
        pytest.skip(f"real PaySim rows not found at {REAL_WEIGHTED} (shared/ next to the repo)")
    from ml.simulator.params import HOUR_WEIGHTS

    real = pd.read_csv(REAL_WEIGHTED, usecols=["step", "isFraud", "sample_weight"])
    legit = real[real["isFraud"] == 0]
    volume = (
        legit.groupby(legit["step"] % 24)["sample_weight"].sum().reindex(range(24), fill_value=0)
    )
    assert _night_hours((volume / volume.mean()).to_numpy()) == _night_hours(HOUR_WEIGHTS)
