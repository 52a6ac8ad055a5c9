"""``fds bench --scoring``'s explanation figures (``app.bench.explanations``)."""

from __future__ import annotations

import io

from rich.console import Console

from app.bench import explanations
from app.bench.explanations import FLAGGED_COUNTS, measure_explanations
from app.bench.report import render_explanations
from app.records import Transaction


def transactions(make_row, make_fraud_row) -> list[Transaction]:
    rows = [make_fraud_row(nameOrig=f"C3{i}", amount=100.0 + i) for i in range(3)]
    rows += [make_row(nameOrig=f"C1{i}", amount=10.0 + i) for i in range(40)]
    return [Transaction(tx_id=f"b-{i}", **row) for i, row in enumerate(rows)]


def test_measure_explanations_times_batches_with_and_without_flagged_rows(
    model, make_row, make_fraud_row, monkeypatch
) -> None:
    # Given few repeats, and SHAP calls counted by the number of rows they explain
    monkeypatch.setattr(explanations, "_BATCH_REPEATS", 3)
    monkeypatch.setattr(explanations, "_SINGLE_REPEATS", 3)
    explained: list[int] = []
    real = explanations.explain

    def counting(model, features):
        explained.append(len(features))
        return real(model, features)

    monkeypatch.setattr(explanations, "explain", counting)

    # When three takeovers and forty payments are measured in batches of 20
    cost = measure_explanations(model, transactions(make_row, make_fraud_row), batch_size=20)

    # Then each flagged count has its batch, timed, and the flagged rows alone were explained:
    # none for the batch without, one or ten rows (taken again) per batch with, one alone
    assert cost is not None
    assert [batch.flagged for batch in cost.batches] == [min(n, 20) for n in FLAGGED_COUNTS]
    assert all(0 < batch.ms_p50 <= batch.ms_p99 for batch in cost.batches), cost
    assert 0 < cost.single_ms_p50 <= cost.single_ms_p99
    runs = 3 + 1  # the repeats and the warm-up call
    assert sorted(set(explained)) == [1, 10, 20], explained
    assert explained.count(10) == runs and explained.count(1) == 2 * runs, explained
    # ...a batch of 20 holds at most 20 flagged rows
    assert explained.count(20) == runs, explained
    assert cost.prepare_seconds >= 0

    # And the table shows them
    out = io.StringIO()
    render_explanations(cost, Console(file=out, width=120))
    assert "10 flagged" in out.getvalue() and "one explanation" in out.getvalue()


def test_measure_explanations_without_a_flagged_row_has_no_figures(model, make_row) -> None:
    payments = [Transaction(tx_id=f"p-{i}", **make_row(nameOrig=f"C{i}")) for i in range(5)]

    assert measure_explanations(model, payments, batch_size=5) is None
