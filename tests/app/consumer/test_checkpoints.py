"""Tests for the per-shard checkpoints in DynamoDB (``app.consumer.checkpoints``)."""

from __future__ import annotations

from app.consumer.checkpoints import CheckpointStore


def test_checkpoint_store_unknown_shard_has_no_place(local_aws_env) -> None:
    store = CheckpointStore(local_aws_env.clients, local_aws_env.names.checkpoint_table, "s")

    assert store.load("shardId-000000000000") is None


def test_checkpoint_store_save_then_load_per_stream_and_shard(local_aws_env) -> None:
    # Given two streams' stores on one table
    table = local_aws_env.names.checkpoint_table
    first = CheckpointStore(local_aws_env.clients, table, "stream-a")
    other = CheckpointStore(local_aws_env.clients, table, "stream-b")

    # When places are saved, the later one overwriting the earlier
    first.save("shardId-000000000000", "100")
    first.save("shardId-000000000000", "205")
    first.save("shardId-000000000001", "7")

    # Then each shard of each stream keeps its own latest place
    assert first.load("shardId-000000000000") == "205"
    assert first.load("shardId-000000000001") == "7"
    assert other.load("shardId-000000000000") is None, "streams must not share checkpoints"
