"""Replaying a PaySim CSV (``app.sources.csv_replay``): step order, and rows the stream refuses."""

from __future__ import annotations

import logging

from app.records import problem_with
from app.sources.csv_replay import replay_csv


def test_replay_csv_yields_rows_in_step_order(make_row, write_csv) -> None:
    path = write_csv(
        [make_row(step=3, nameOrig="C3"), make_row(step=1, nameOrig="C1"), make_row(step=2)]
    )

    steps = [row["step"] for row in replay_csv(path)]

    assert steps == [1, 2, 3]


def test_replay_csv_leaves_out_rows_the_stream_would_refuse_naming_each(
    make_row, write_csv, caplog
) -> None:
    # Given good rows around rows a PaySim reader accepts but the stream's schema does not
    bad = {
        "CA1": make_row(nameOrig="CA1"),
        "C" + "9" * 4999: make_row(nameOrig="C" + "9" * 4999),
        "C7": make_row(nameOrig="C7", amount=0.001),
        "C8": make_row(nameOrig="C8", nameDest="X2"),
    }
    path = write_csv([make_row(nameOrig="C1"), *bad.values(), make_row(nameOrig="C2")])

    # When it is replayed
    with caplog.at_level(logging.WARNING, logger="app.sources.csv_replay"):
        senders = [row["nameOrig"] for row in replay_csv(path)]

    # Then only the good rows are sent, each refused row is named with its step and reason,
    # and what is sent passes the stream's schema
    assert senders == ["C1", "C2"]
    refusals = [r.getMessage() for r in caplog.records]
    assert len(refusals) == len(bad), refusals
    for sender, message in zip(bad, refusals, strict=True):
        assert f"the row of {sender} at step 18 left out" in message, message
    assert "nameOrig" in refusals[0] and "amount" in refusals[2] and "nameDest" in refusals[3]
    assert all(problem_with(row) is None for row in replay_csv(path))


def test_replay_csv_counts_refusals_beyond_the_first_five(make_row, write_csv, caplog) -> None:
    path = write_csv([make_row(nameOrig=f"CA{i}") for i in range(8)])

    with caplog.at_level(logging.WARNING, logger="app.sources.csv_replay"):
        assert list(replay_csv(path)) == []

    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 6 and "3 more rows left out" in messages[-1], messages
