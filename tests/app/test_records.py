"""Tests for the one schema of a stream record (``app.records``)."""

from __future__ import annotations

import json

import pytest

from app.errors import InvalidRecordError
from app.records import MAX_RECORD_BYTES, Transaction, encode_record, parse_record


@pytest.fixture
def make_tx(make_row):
    """A valid stream record as a dict: a PaySim row plus tx_id and sent_at."""

    def factory(**overrides):
        return {**make_row(), "tx_id": "tx-0001", "sent_at": 1_700_000_000.5, **overrides}

    return factory


def encoded(payload: dict) -> bytes:
    return json.dumps(payload).encode()


def test_parse_record_valid_record(make_tx) -> None:
    # Given a record as the generator encodes it
    record = make_tx(type="TRANSFER", amount=181.0, oldbalanceOrg=181.0, nameDest="C553264065")

    # When it is parsed
    tx = parse_record(encode_record(record))

    # Then every field is kept with its type
    assert isinstance(tx, Transaction)
    assert tx.model_dump() == record, f"parsed {tx.model_dump()}"


def test_parse_record_minimal_record_has_no_label(make_tx) -> None:
    record = make_tx()
    for optional in ("newbalanceOrig", "newbalanceDest", "isFraud", "isFlaggedFraud", "sent_at"):
        del record[optional]

    tx = parse_record(encoded(record))

    assert tx.isFraud is None and tx.sent_at is None


def test_parse_record_integer_amount_is_a_number(make_tx) -> None:
    tx = parse_record(encoded(make_tx(amount=5)))
    assert tx.amount == 5.0


@pytest.mark.parametrize("kind", ["cash_out", " Transfer ", "payment"])
def test_parse_record_lower_case_type_is_accepted_and_normalised(make_tx, kind: str) -> None:
    tx = parse_record(encoded(make_tx(type=kind)))

    assert tx.type == kind.strip().upper(), f"type {kind!r} parsed as {tx.type!r}"


def test_parse_record_invalid_json_is_refused() -> None:
    with pytest.raises(InvalidRecordError, match="Invalid JSON"):
        parse_record(b'{"tx_id": "t1", "step": ')


def test_parse_record_binary_bytes_are_refused() -> None:
    with pytest.raises(InvalidRecordError, match="Invalid JSON"):
        parse_record(b"\xff\xfe\x00\x01\x89PNG")


def test_parse_record_not_an_object_is_refused(make_tx) -> None:
    with pytest.raises(InvalidRecordError, match="object"):
        parse_record(encoded([make_tx()]))


@pytest.mark.parametrize(
    "field",
    ["tx_id", "step", "type", "amount", "nameOrig", "oldbalanceOrg", "nameDest", "oldbalanceDest"],
)
def test_parse_record_missing_field_is_refused_naming_it(make_tx, field: str) -> None:
    record = make_tx()
    del record[field]

    with pytest.raises(InvalidRecordError) as raised:
        parse_record(encoded(record))

    assert raised.value.reason.startswith(f"{field}: Field required"), raised.value.reason


def test_parse_record_extra_field_is_refused_naming_it(make_tx) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        parse_record(encoded(make_tx(velocity=3)))

    assert raised.value.reason.startswith("velocity:"), raised.value.reason


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"amount": "5"}, "amount"),
        ({"step": 1.5}, "step"),
        ({"step": True}, "step"),
        ({"type": 4}, "type"),
        ({"nameOrig": 1234}, "nameOrig"),
        ({"sent_at": "now"}, "sent_at"),
    ],
)
def test_parse_record_wrong_type_is_refused_naming_the_field(make_tx, overrides, field) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        parse_record(encoded(make_tx(**overrides)))

    assert raised.value.reason.startswith(f"{field}:"), f"{overrides}: {raised.value.reason}"


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e999"])
@pytest.mark.parametrize("field", ["amount", "oldbalanceOrg", "oldbalanceDest", "sent_at"])
def test_parse_record_non_finite_number_is_refused_naming_the_field(
    make_tx, field: str, literal: str
) -> None:
    # Given raw JSON text with a non-finite number (json.dumps would refuse to write it)
    text = json.dumps(make_tx(**{field: 1.0})).replace(f'"{field}": 1.0', f'"{field}": {literal}')
    assert literal in text

    with pytest.raises(InvalidRecordError) as raised:
        parse_record(text.encode())

    assert raised.value.reason.startswith(f"{field}:"), f"{literal}: {raised.value.reason}"


@pytest.mark.parametrize("field", ["amount", "oldbalanceOrg", "oldbalanceDest", "step"])
def test_parse_record_negative_number_is_refused_naming_the_field(make_tx, field: str) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        parse_record(encoded(make_tx(**{field: -1})))

    assert raised.value.reason.startswith(f"{field}:"), raised.value.reason
    assert "greater than or equal to 0" in raised.value.reason


@pytest.mark.parametrize("kind", ["CASH-OUT", "WIRE", "", "TRANSFERS"])
def test_parse_record_unknown_type_is_refused_naming_it(make_tx, kind: str) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        parse_record(encoded(make_tx(type=kind)))

    assert raised.value.reason.startswith("type:"), raised.value.reason
    assert repr(kind) in raised.value.reason, f"the bad type should be named: {raised.value}"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("nameOrig", "M123"),
        ("nameOrig", "X1"),
        ("nameOrig", "C"),
        ("nameOrig", "C12a"),
        ("nameDest", "Z99"),
        ("nameDest", ""),
        ("tx_id", "has space"),
        ("tx_id", "x" * 65),
    ],
)
def test_parse_record_bad_identifier_is_refused_naming_the_field(make_tx, field, value) -> None:
    with pytest.raises(InvalidRecordError) as raised:
        parse_record(encoded(make_tx(**{field: value})))

    assert raised.value.reason.startswith(f"{field}:"), raised.value.reason


@pytest.mark.parametrize("label", [0, 1])
def test_parse_record_keeps_a_label_of_zero_or_one(make_tx, label: int) -> None:
    assert parse_record(encoded(make_tx(isFraud=label))).isFraud == label


@pytest.mark.parametrize("label", [2, -1, True, 1.0, "1", None, [1], {"is": 1}])
def test_parse_record_malformed_label_is_dropped_and_the_record_kept(make_tx, label) -> None:
    # Given a record whose label is not 0 or 1
    record = make_tx(isFraud=label)

    # When it is parsed
    tx = parse_record(encoded(record))

    # Then it is taken, unlabelled, with every other field as sent
    assert tx.isFraud is None, f"label {label!r} kept as {tx.isFraud!r}"
    assert tx.model_dump(exclude={"isFraud"}) == {k: v for k, v in record.items() if k != "isFraud"}


def test_parse_record_oversized_payload_is_refused_before_parsing(make_tx) -> None:
    # Given a record padded past the size limit (still valid JSON otherwise)
    data = encoded(make_tx(tx_id="t" * 10)) + b" " * MAX_RECORD_BYTES

    with pytest.raises(InvalidRecordError) as raised:
        parse_record(data)

    assert f"record of {len(data)} bytes exceeds {MAX_RECORD_BYTES}" == raised.value.reason


def test_parse_record_many_problems_are_summarised(make_tx) -> None:
    record = make_tx(amount=-1, step=-1, nameOrig="x", nameDest="y", type="?")

    with pytest.raises(InvalidRecordError, match=r"\(and 2 more\)"):
        parse_record(encoded(record))


def test_encode_record_refuses_nan(make_tx) -> None:
    with pytest.raises(ValueError):
        encode_record(make_tx(amount=float("nan")))
