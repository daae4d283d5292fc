"""The shared hash chain (axonflow_notebook/evidence_chain.py): canonical JSON exactly as
RFC 8785's reference package writes it, and ``verify`` naming the first broken record and
how it broke for every kind of tampering."""

from __future__ import annotations

import hashlib
import hmac
import os

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from axonflow_notebook.evidence_chain import (
    GENESIS_HASH, ChainError, ChainWriter, FlatRecord, Sealed, canonical, checkpoint_record, key_id, load_key,
    seal, verify,
)

KEY = b"0123456789abcdef-test-key"

json_scalars = (
    st.none() | st.booleans() | st.text()
    | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=600, deadline=None)
@given(json_values)
def test_canonical_is_byte_for_byte_rfc8785(value):
    try:
        expected = rfc8785.dumps(value)
    except rfc8785.CanonicalizationError:
        with pytest.raises(ChainError):
            canonical(value)
        return
    assert canonical(value) == expected


@pytest.mark.parametrize("value", [
    1.0, -0.0, 1e-05, 2.5e-07, 1e16, 1e21, 1e22, 123.456, 5e-324, 1.7976931348623157e308,
    {"\U0001f600": 1, "\ue000": 2, "a": 3}, ["\x00\x01jcs-float-0\x01\x00", 1e-05],
    {"cost": 0.000015, "n": 2**53 - 1, "s": "tab\t nl\n quote\" back\\ \x7f \u2028"},
])
def test_canonical_edge_cases(value):
    assert canonical(value) == rfc8785.dumps(value)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), 2**53, "\ud800", {1: "x"}, object()])
def test_values_that_are_not_canonical_json_are_refused(value):
    with pytest.raises(ChainError):
        canonical(value)


def test_the_hash_is_sha256_or_hmac_over_the_canonical_body():
    record = {"kind": "decision", "id": "abc", "cost": 2e-05, "tokens": 3}
    plain = seal(record, 0, GENESIS_HASH)
    body = rfc8785.dumps({**record, "seq": 0, "prev_hash": GENESIS_HASH})
    assert plain.body == body and plain.hash == hashlib.sha256(body).hexdigest()
    keyed = seal(record, 0, GENESIS_HASH, KEY)
    assert keyed.hash == hmac.new(KEY, body, "sha256").hexdigest()
    with pytest.raises(ChainError, match="own seq"):
        seal({"seq": 1}, 0, GENESIS_HASH)


def _log(n=8, key=None) -> list[dict]:
    writer = ChainWriter(key)
    return [writer.seal({"kind": "call", "n": i, "text": f"record {i}"}).as_dict() for i in range(n)]


def _broken(records, **kwargs):
    result = verify(records, **kwargs)
    assert not result.intact
    return result.broken


def test_an_untouched_log_is_intact_with_count_and_head():
    log = _log()
    result = verify(log)
    assert result.intact and result.count == 8 and result.head == log[-1]["hash"]
    assert str(result) == f"intact: 8 records, head {log[-1]['hash']}"
    sealed = [Sealed(r["seq"], r["prev_hash"], r["hash"], canonical({k: v for k, v in r.items() if k != "hash"}))
              for r in log]
    assert verify(sealed).head == result.head


def test_edit_is_named_at_the_edited_record():
    log = _log()
    log[3]["text"] = "changed"
    b = _broken(log)
    assert (b.kind, b.seq, b.position) == ("edited", 3, 3)


def test_delete_is_named_at_the_missing_record():
    log = _log()
    del log[4]
    b = _broken(log)
    assert (b.kind, b.seq) == ("deleted", 4)
    assert "record #4 is missing" in b.detail


def test_deleting_the_first_records_without_a_checkpoint_is_a_deletion():
    b = _broken(_log()[2:])
    assert (b.kind, b.seq) == ("deleted", 0)


def test_insert_of_a_forged_record_and_of_a_copy():
    log = _log()
    forged = dict(log[2], text="forged")
    b = _broken(log[:3] + [forged] + log[3:])
    assert (b.kind, b.position) == ("inserted", 3)
    b = _broken(log[:5] + [dict(log[1])] + log[5:])
    assert (b.kind, b.position, b.seq) == ("inserted", 5, 1)


def test_an_insert_with_recomputed_hashes_is_still_found_without_a_key():
    log = _log()
    fake = seal({"kind": "call", "n": 99, "text": "fake"}, 3, log[2]["hash"]).as_dict()
    b = _broken(log[:3] + [fake] + log[3:])
    assert (b.kind, b.position) == ("inserted", 3)


def test_swap_is_a_reordering():
    log = _log()
    log[2], log[5] = log[5], log[2]
    b = _broken(log)
    assert (b.kind, b.position, b.seq) == ("reordered", 2, 5)


def test_cut_tail_needs_the_head_kept_elsewhere():
    log = _log()
    assert verify(log[:5]).intact  # nothing in the log itself can tell
    b = _broken(log[:5], expected_next_seq=8)
    assert (b.kind, b.seq, b.position) == ("truncated", 5, 5)
    b = _broken(log[:5], expected_head=log[-1]["hash"])
    assert b.kind == "truncated"


def test_records_appended_after_the_recorded_head_are_inserted():
    log = _log()
    b = _broken(log, expected_next_seq=6)
    assert (b.kind, b.seq) == ("inserted", 6)


def test_wrong_key_missing_key_and_unkeyed_chain():
    keyed = _log(key=KEY)
    assert verify(keyed, KEY).intact
    assert _broken(keyed, key=b"another key of 16+ bytes").kind == "wrong_key"
    assert "give its key" in _broken(keyed).detail
    assert "without a key" in _broken(_log(), key=KEY).detail
    one = keyed[:1]
    assert _broken(one, key=b"another key of 16+ bytes", expected_key_id=key_id(KEY)).kind == "wrong_key"
    assert _broken(one, key=b"another key of 16+ bytes").kind == "edited"  # one record: cannot tell


def test_a_keyed_chain_cannot_be_recomputed_without_the_key():
    log = _log(key=KEY)
    fake = seal({"kind": "call", "n": 99, "text": "fake"}, 3, log[2]["hash"]).as_dict()
    b = _broken(log[:3] + [fake] + log[3:], key=KEY)
    assert (b.kind, b.position) == ("inserted", 3)


def test_a_pruned_prefix_with_its_checkpoint_still_verifies():
    writer = ChainWriter(KEY)
    log = [writer.seal({"n": i}) for i in range(6)]
    log.append(writer.checkpoint(log[3], pruned_count=4))
    log.append(writer.seal({"n": 6}))
    kept = log[4:]
    result = verify(kept, KEY)
    assert result.intact and result.checkpoints == 1 and result.first_seq == 4
    assert result.head == log[-1].hash
    b = _broken(log[5:], key=KEY)  # one more pruned than the checkpoint covers
    assert (b.kind, b.seq) == ("deleted", 0)


def test_a_forged_checkpoint_does_not_cover_a_deletion_under_a_key():
    writer = ChainWriter(KEY)
    log = [writer.seal({"n": i}) for i in range(5)]
    forged = seal(checkpoint_record(2, log[2].hash, 3), 5, log[4].hash)  # made without the key
    b = _broken(log[3:] + [forged], key=KEY)
    assert b.kind in ("deleted", "edited") and b.position == 0


def test_load_key_from_value_and_file(tmp_path):
    assert load_key(None) is None
    assert load_key("a" * 16) == b"a" * 16
    with pytest.raises(ChainError, match="at least 16 bytes"):
        load_key("short")
    path = tmp_path / "chain.key"
    path.write_text("k" * 32 + "\n")
    os.chmod(path, 0o644)
    with pytest.raises(ChainError, match="chmod 600"):
        load_key(path=path)
    os.chmod(path, 0o600)
    assert load_key(path=path) == b"k" * 32
    with pytest.raises(ChainError, match="cannot read"):
        load_key(path=tmp_path / "missing.key")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=8), min_size=1, max_size=8, unique=True).flatmap(
    lambda keys: st.tuples(st.just(keys), st.lists(json_values, min_size=len(keys), max_size=len(keys)))))
def test_flat_record_writes_what_canonical_writes(keys_and_values):
    keys, values = keys_and_values
    try:
        expected = canonical(dict(zip(keys, values)))
    except ChainError:
        with pytest.raises(ChainError):
            FlatRecord(keys).encode(values)
        return
    assert FlatRecord(keys).encode(values) == expected


def test_orjson_writes_every_code_point_as_rfc8785_does():
    """canonical() takes orjson's bytes for strings: every code point but the surrogates, in blocks."""
    from axonflow_notebook.evidence_chain.canonical import python_canonical

    points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    for start in range(0, len(points), 512):
        text = "".join(map(chr, points[start:start + 512]))
        assert canonical(text) == python_canonical(text), hex(points[start])
    sample = "".join(map(chr, range(0x100))) + "\u2028\u2029\ufeff\U0001f600"
    assert canonical({"k": sample}) == rfc8785.dumps({"k": sample})


def test_orjson_is_used_only_for_floats_it_writes_as_ecmascript_does():
    import random
    import struct

    from axonflow_notebook.evidence_chain.canonical import _orjson_writes_jcs, python_canonical

    rng = random.Random(14)
    floats = [rng.uniform(-1, 1) * 10 ** rng.uniform(-8, 22) for _ in range(30_000)]
    floats += [struct.unpack("d", struct.pack("Q", rng.getrandbits(64)))[0] for _ in range(30_000)]
    taken = 0
    for x in floats:
        if x != x or x in (float("inf"), float("-inf")):
            continue
        taken += _orjson_writes_jcs(x)
        assert canonical([x]) == python_canonical([x]), repr(x)
    assert taken > 10_000  # the range orjson writes is exercised, not only the fallback
    for x in (1.0, 0.0, -0.0, 1e16, 1e21, 9.999999999999999e-06, 5e-324):
        assert not _orjson_writes_jcs(x) and canonical(x) == rfc8785.dumps(x)


@pytest.mark.parametrize("value", [
    {"é": 1}, {1: 2}, 2**53, True, [1, (2, "x")], {"a": {"b": [None, 0.5]}},
])
def test_orjson_and_the_python_writer_agree_on_types_and_keys(value):
    from axonflow_notebook.evidence_chain.canonical import python_canonical

    try:
        expected = python_canonical(value)
    except ChainError:
        with pytest.raises(ChainError):
            canonical(value)
        return
    assert canonical(value) == expected


def test_a_journal_record_goes_through_orjson():
    """The journal's records (every governed call appends some) take the fast writer."""
    from axonflow_notebook.evidence_chain.canonical import _orjson_writes_jcs

    record = {"kind": "call", "call_id": "c1", "op": "insert", "at": 1795994877.1449125, "rowid": 5,
              "set": {"call_id": "c1", "created_at": 1795994877.1444635, "decision": "approved", "attempts": 0,
                      "provenance": '{"notebook": "/home/analyst/q3.ipynb"}', "cost_usd": 0.000021, "reason": None}}
    assert _orjson_writes_jcs(record) and canonical(record) == rfc8785.dumps(record)
