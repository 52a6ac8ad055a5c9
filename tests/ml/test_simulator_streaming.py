"""Streaming memory of the simulator, by structure: what it holds never grows with the stream."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

import pandas as pd

from ml.simulator.stream import BLOCK_ROWS, SimulationSettings, rechunk, simulate_blocks

#: Huge steps (many blocks each) and a high fraud share: the hardest case for block sizes.
BIG_STEPS = SimulationSettings(seed=1, fraud_rate=0.02, rows_per_step=200_000.0)


class CountingBlocks:
    """Blocks passed through, counting the rows pulled from the simulator."""

    def __init__(self, blocks: Iterator[pd.DataFrame]) -> None:
        self._blocks = blocks
        self.pulled = 0
        self.largest = 0

    def __iter__(self) -> Iterator[pd.DataFrame]:
        for block in self._blocks:
            self.pulled += len(block)
            self.largest = max(self.largest, len(block))
            yield block


def test_simulate_blocks_never_makes_a_block_much_larger_than_block_rows() -> None:
    # Given steps of about 200,000 legit rows each, with 2 % fraud
    blocks = list(islice(simulate_blocks(BIG_STEPS), 60))

    # Then each block holds at most BLOCK_ROWS legit rows, plus only fraud rows of its own step
    fraud_per_step = pd.concat(blocks).groupby("step")["isFraud"].sum()
    for block in blocks:
        legit = int((block["isFraud"] == 0).sum())
        assert legit <= BLOCK_ROWS, f"a block of {legit} legit rows"
        assert block["step"].nunique() == 1, "a block spans two steps"
        assert len(block) - legit <= fraud_per_step[block["step"].iloc[0]]
    assert len({int(block["step"].iloc[0]) for block in blocks}) > 1, "one step only: too few"


def test_rechunk_holds_at_most_one_chunk_and_one_block() -> None:
    # Given blocks counted as the chunker pulls them, and a chunk size below the block size
    counted = CountingBlocks(simulate_blocks(BIG_STEPS))
    chunk_rows = 5_000
    emitted = 0

    # When chunks are taken one at a time
    for chunk in islice(rechunk(iter(counted), chunk_rows, rows=None), 200):
        emitted += len(chunk)
        # Then what was pulled but not yet handed out never exceeds one chunk plus one block
        held = counted.pulled - emitted
        assert held <= chunk_rows + counted.largest, f"holding {held} rows after {emitted}"
    assert emitted == 200 * chunk_rows


def test_rechunk_pulls_no_block_ahead_of_the_chunk_it_fills() -> None:
    # Given an endless stream, and one chunk taken from it
    counted = CountingBlocks(simulate_blocks(BIG_STEPS))
    first = next(rechunk(iter(counted), 100, rows=None))

    # Then only the one block that filled it was made
    assert len(first) == 100
    assert counted.pulled == counted.largest, "more than one block was made for one chunk"


def test_rechunk_with_chunks_larger_than_blocks_joins_blocks_without_keeping_them() -> None:
    counted = CountingBlocks(simulate_blocks(BIG_STEPS))
    chunk_rows = 3 * BLOCK_ROWS
    emitted = 0

    for chunk in islice(rechunk(iter(counted), chunk_rows, rows=None), 10):
        emitted += len(chunk)
        assert len(chunk) == chunk_rows
        assert counted.pulled - emitted <= chunk_rows + counted.largest
