"""AxonFlow's "Audit Verification" routes (agent-api.yaml), over this agent's audit chain.

- ``GET /api/v1/audit/chains/{chainID}/verify``: ``ChainVerificationResult`` for the store's
  one chain. ``chainID`` is the chain id (``chain_id`` in the answer) or the id of any
  decision in it. The chain is hashed, not Ed25519-signed: ``signed_records`` is 0,
  ``authorship_proven`` false; ``linkage_valid`` and ``valid`` say whether it is intact.
  Added: ``head``, ``keyed`` (HMAC-SHA256), ``break_kind`` and ``summary``.
- ``GET /api/v1/audit/records/{recordID}/verify``: ``RecordVerificationResult`` for the
  chain record of one decision (by context id): the canonical body (``digest_preimage_b64``),
  its SHA-256 (``record_digest``), the link and the stored hash (``chain_hash``).
- ``GET /api/v1/audit/signing-key``: ``configured: false`` (no Ed25519 key), with how the
  chain is hashed instead.
Errors use the spec's ``AuditVerifyError`` (``{"error": "..."}``).
"""

from __future__ import annotations

import base64
import hashlib
import uuid

from starlette.routing import Route

from ... import evidence_chain as ec
from .. import timestamps
from ..audit_chain import DECISION, decision_record
from ..audit_verify import _AUDIT_COLUMNS, verify_live
from ..plumbing import json_response


def _verify_error(status: int, message: str):
    return json_response({"error": message}, status)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
        return True
    except ValueError:
        return False


async def verify_chain(request):
    store = request.app.state.agent.store
    chain_id = request.path_params["chain_id"]
    if not _is_uuid(chain_id):
        return _verify_error(400, "chainID is not a valid UUID")
    if chain_id != store.chain.chain_id:
        with store._lock:
            store._drain()
            known = store._conn.execute("SELECT 1 FROM audit_chain WHERE ref = ? AND kind = ?",
                                        (chain_id, DECISION)).fetchone()
        if known is None:
            return _verify_error(404, f"no decision chain found for {chain_id}")
    checked = verify_live(store)
    result = checked.result
    broken = result.broken
    body = {
        "chain_id": store.chain.chain_id,
        "org_id": "local",
        "total_records": result.count if result.intact else store.chain.writer.next_seq,
        "valid": result.intact,
        "authorship_proven": False,
        "linkage_valid": result.intact,
        "signatures_valid": True,
        "signed_records": 0,
        "unsigned_records": store.chain.writer.next_seq,
        "verified_at": timestamps.now(),
        "head": result.head if result.intact else None,
        "keyed": store.chain.key is not None,
        "summary": str(checked),
    }
    if broken is not None:
        body.update(first_broken_seq=broken.seq, first_broken_record_id=checked.entry_id,
                    break_reason=f"{broken.kind}: {broken.detail}", break_kind=broken.kind)
    return json_response(body)


async def verify_record(request):
    store = request.app.state.agent.store
    record_id = request.path_params["record_id"]
    if not _is_uuid(record_id):
        return _verify_error(400, "recordID is not a valid UUID")
    columns = ", ".join(f"a.{c}" for c in _AUDIT_COLUMNS)
    with store._lock:
        store._drain()
        row = store._conn.execute(
            f"SELECT c.seq, c.prev_hash, c.hash, {columns} FROM audit_chain c JOIN audit_entries a "
            "ON a.id = c.ref WHERE c.ref = ? AND c.kind = ?", (record_id, DECISION)).fetchone()
        previous = store._conn.execute("SELECT hash FROM audit_chain WHERE seq = ?",
                                       (row[0] - 1,)).fetchone() if row is not None else None
    if row is None:
        return _verify_error(404, f"no decision record found for {record_id}")
    seq, prev, stored = row[0], row[1], row[2]
    record = decision_record(dict(zip(_AUDIT_COLUMNS, tuple(row)[3:])))
    body = ec.canonical({**record, "seq": seq, "prev_hash": prev})
    hash_ok = ec.digest(body, store.chain.key) == stored
    linked = prev == (previous[0] if previous is not None else ec.GENESIS_HASH)
    answer = {
        "record_id": record_id, "chain_id": store.chain.chain_id, "org_id": "local", "chain_seq": seq,
        "signed": False, "signature_valid": False, "valid": hash_ok and linked,
        "digest_preimage_b64": base64.b64encode(body).decode("ascii"),
        "record_digest": hashlib.sha256(body).hexdigest(),
        "prev_hash": prev, "chain_hash": stored, "keyed": store.chain.key is not None,
        "verified_at": timestamps.now(),
    }
    if not hash_ok:
        answer["reason"] = "the record no longer matches its hash (edited)"
    elif not linked:
        answer["reason"] = "the record does not link to the record before it"
    return json_response(answer)


async def signing_key(request):
    keyed = request.app.state.agent.store.chain.key is not None
    return json_response({
        "algorithm": "ed25519",
        "signing_key_id": "",
        "public_key": "",
        "configured": False,
        "chain_algorithm": "hmac-sha256" if keyed else "sha256",
        "verification_note": (
            "Records are hash-chained, not signed: each hash is "
            + ("HMAC-SHA256 with the agent's chain key" if keyed else "SHA-256")
            + " over the RFC 8785 canonical JSON of the record with its seq and prev_hash."
        ),
    })


ROUTES = [
    Route("/api/v1/audit/chains/{chain_id}/verify", verify_chain, methods=["GET"]),
    Route("/api/v1/audit/records/{record_id}/verify", verify_record, methods=["GET"]),
    Route("/api/v1/audit/signing-key", signing_key, methods=["GET"]),
]
