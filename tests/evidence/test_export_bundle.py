"""The export bundle (issue 14 §5): what it holds, that it verifies offline, that a byte shows.

Exported from the real journal of conftest.py (allowed, blocked, approved, rejected and ungoverned
calls) and its agent's store (the policy set that decided them).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from axonflow_notebook.core.journal import Journal
from axonflow_notebook.evidence import bundle_format as fmt
from axonflow_notebook.evidence.bundle_verify import verify_bundle
from axonflow_notebook.evidence.export import export_bundle

ENV = {**os.environ, "LITELLM_LOCAL_MODEL_COST_MAP": "True", "AXONFLOW_TELEMETRY": "off"}
KEY = b"bundle-key-0123456789abcdefghij"


@pytest.fixture
def bundle(governed, tmp_path):
    result = export_bundle(tmp_path / "evidence.zip", journal=governed.journal, agent_db=governed.agent_db, key=None)
    return result


def members(path: Path) -> dict:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_bundle_holds_every_call_and_verifies(bundle, governed, tmp_path):
    assert bundle.intact and bundle.calls == 7 and str(bundle).startswith(f"7 calls exported to {bundle.path}")
    assert stat.S_IMODE(os.stat(bundle.path).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["evidence.zip"]  # no temporary file left
    files = members(bundle.path)
    assert sorted(files) == sorted(fmt.FILES + (fmt.MANIFEST,))
    rows = fmt.read_jsonl(files[fmt.RECORDS])
    assert sorted(r["decision"] for r in rows) == sorted(
        ["approved"] * 3 + ["blocked", "needs_approval: approved", "needs_approval: rejected", "ungoverned"])
    rejected = next(r for r in rows if r["decision"] == "needs_approval: rejected")
    assert rejected["reviewer"] == "rev@example.com" and rejected["review_comment"] == "no | way $$ <b>"
    assert json.loads(rejected["provenance"])["client_id"] == "analyst"
    check = verify_bundle(bundle.path)
    assert check.intact and str(check).startswith("intact: bundle of 7 calls, ")


def test_the_parquet_file_is_typed_and_holds_the_same_rows(bundle):
    files = members(bundle.path)
    table = pq.read_table(io.BytesIO(files[fmt.PARQUET]))
    types = {field.name: str(field.type) for field in table.schema}
    assert types["created_at"] == "double" and types["total_tokens"] == "int64" and types["decision"] == "string"
    assert table.num_rows == 7
    assert table.to_pylist() == fmt.read_jsonl(files[fmt.RECORDS])


def test_the_policies_in_force_carry_their_version_hash(bundle, governed):
    sets = yaml.safe_load(members(bundle.path)[fmt.POLICIES])
    decided = next(s for s in sets if s["version"] == governed.policy_version)
    assert decided["verified"] is True and decided["loads"]
    assert {"wire", "nuke"} <= {p["id"] for p in decided["policies"]}
    text = json.dumps(decided["policies"], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256(text.encode()).hexdigest() == governed.policy_version


def test_the_summary_says_what_an_auditor_asks(bundle, governed):
    summary = members(bundle.path)[fmt.SUMMARY].decode()
    assert "- Period of use (first to last call): 20" in summary
    assert governed.policy_version in summary
    inputs = summary.split("## Inputs that matched a policy")[1].split("##")[0]
    assert inputs.count("| ") > 3 and "nuke" in inputs and "wire" in inputs
    reviewers = summary.split("## Reviewers and their decisions")[1].split("##")[0]
    assert "rev@example.com | approved | looks fine" in reviewers
    assert "rev@example.com | rejected | no \\| way \\$\\$ \\<b\\>" in reviewers  # escaped, never maths
    ungoverned = summary.split("## Calls that ran ungoverned")[1].split("##")[0]
    assert "openai/test-model" in ungoverned and "None." not in ungoverned
    verification = json.loads(members(bundle.path)[fmt.VERIFICATION])
    assert verification["journal"]["intact"] and verification["agent_store"]["intact"]


def _flip(path: Path, offset: int, out: Path) -> Path:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x20
    out.write_bytes(bytes(data))
    return out


def _data_offset(path: Path, name: str) -> int:
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(name)
    raw = path.read_bytes()
    header = info.header_offset
    name_len = int.from_bytes(raw[header + 26:header + 28], "little")
    extra_len = int.from_bytes(raw[header + 28:header + 30], "little")
    return header + 30 + name_len + extra_len


@pytest.mark.parametrize("member", [fmt.RECORDS, fmt.CHAIN, fmt.MANIFEST, fmt.SUMMARY])
def test_one_broken_byte_is_named(bundle, tmp_path, member):
    broken = _flip(bundle.path, _data_offset(bundle.path, member) + 5, tmp_path / "broken.zip")
    result = verify_bundle(broken)
    assert not result.intact and result.where == member, str(result)
    assert str(result).startswith(f"broken: {member}: damaged in the zip")


def test_a_byte_of_the_zip_directory_is_named(bundle, tmp_path):
    raw = bundle.path.read_bytes()
    directory = raw.rindex(b"PK\x01\x02")  # the last central directory entry: manifest.json
    result = verify_bundle(_flip(bundle.path, directory + 50, tmp_path / "broken.zip"))
    assert not result.intact and result.summary.startswith("broken: "), str(result)


def _rewrite(source: Path, target: Path, change) -> None:
    files = members(source)
    change(files)
    with zipfile.ZipFile(target, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def test_an_edited_file_with_a_valid_zip_is_named(bundle, tmp_path):
    def edit(files):
        files[fmt.RECORDS] = files[fmt.RECORDS].replace(b'"blocked"', b'"approved"')

    _rewrite(bundle.path, tmp_path / "edited.zip", edit)
    assert str(verify_bundle(tmp_path / "edited.zip")) == ("broken: records.jsonl: its SHA-256 does not match the "
                                                          "manifest (edited)")


def test_an_edit_with_a_recomputed_manifest_still_fails_against_the_chain(bundle, tmp_path):
    def edit(files):
        files[fmt.RECORDS] = files[fmt.RECORDS].replace(b'"blocked"', b'"approved"')
        manifest = json.loads(files[fmt.MANIFEST])
        manifest["files"][fmt.RECORDS]["sha256"] = hashlib.sha256(files[fmt.RECORDS]).hexdigest()
        files[fmt.MANIFEST] = json.dumps(manifest).encode()

    _rewrite(bundle.path, tmp_path / "edited.zip", edit)
    result = verify_bundle(tmp_path / "edited.zip")
    assert not result.intact and result.where == fmt.RECORDS and "decision differs from its chained record" in str(result)


def test_a_keyed_bundle_needs_its_key_for_the_hashes(governed, tmp_path):
    path = tmp_path / "keyed.sqlite3"
    journal = Journal(path, chain_key=KEY)
    journal.upsert("k1", "http://x", time.time(), decision="approved", policies="[]")
    journal.close()
    result = export_bundle(tmp_path / "keyed.zip", journal=path, agent_db=None, key=KEY)
    assert result.intact
    manifest = json.loads(members(tmp_path / "keyed.zip")[fmt.MANIFEST])
    assert manifest["mac"] and manifest["key_id"]
    assert verify_bundle(tmp_path / "keyed.zip", KEY).intact
    without = verify_bundle(tmp_path / "keyed.zip")
    assert without.intact and "give its chain key" in str(without)
    assert "another chain key" in str(verify_bundle(tmp_path / "keyed.zip", b"another-key-0123456789abcdef"))


def test_a_period_exports_its_calls_and_links_the_others_by_hash(tmp_path):
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    base = time.time() - 10 * 86400
    for day in range(10):
        journal.upsert(f"day{day}", "http://x", base + day * 86400, decision="approved", policies="[]")
    journal.upsert("day3", "http://x", base + 3 * 86400, model="m")  # after day 4..9's first records
    journal.close()
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + 2.5 * 86400))
    until = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + 4.5 * 86400))
    result = export_bundle(tmp_path / "p.zip", since, until, journal=path, agent_db=None, key=None)
    files = members(tmp_path / "p.zip")
    assert [r["call_id"] for r in fmt.read_jsonl(files[fmt.RECORDS])] == ["day3", "day4"]
    lines = fmt.read_jsonl(files[fmt.CHAIN])
    assert [line["seq"] for line in lines] == list(range(3, 11))
    hidden = [line for line in lines if "body" not in line]
    assert len(hidden) == 5 and all(set(line) == {"seq", "hash", "prev_hash"} for line in hidden)
    assert result.calls == 2 and verify_bundle(tmp_path / "p.zip").intact


def test_a_failed_export_leaves_no_file(governed, tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(fmt, "parquet", boom)
    with pytest.raises(OSError, match="disk full"):
        export_bundle(tmp_path / "never.zip", journal=governed.journal, agent_db=None, key=None)
    assert os.listdir(tmp_path) == []


def test_a_failed_write_keeps_no_partial_file(governed, tmp_path, monkeypatch):
    real = zipfile.ZipFile.writestr

    def fail_on_summary(self, info, data, *args, **kwargs):
        if getattr(info, "filename", info) == fmt.SUMMARY:
            raise OSError("no space left on device")
        return real(self, info, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", fail_on_summary)
    with pytest.raises(OSError):
        export_bundle(tmp_path / "never.zip", journal=governed.journal, agent_db=None, key=None)
    assert os.listdir(tmp_path) == []


def test_the_command_line_exports_and_verifies(governed, tmp_path):
    out = tmp_path / "cli.zip"
    done = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "export", "--since", "1d", "--journal",
                           str(governed.journal), "--data-dir", str(governed.root), "--out", str(out)],
                          capture_output=True, text=True, timeout=180, env=ENV)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"7 calls exported to {out}; journal intact: ")
    check = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "verify", str(out)], capture_output=True,
                           text=True, timeout=180, env=ENV)
    assert check.returncode == 0 and check.stdout.startswith(f"bundle {out}: intact: bundle of 7 calls"), check
    bad = subprocess.run([sys.executable, "-m", "axonflow_notebook.cli", "export", "--since", "yesterdayish",
                          "--journal", str(governed.journal)], capture_output=True, text=True, timeout=180, env=ENV)
    assert bad.returncode == 2 and "neither a duration" in bad.stderr and "Traceback" not in bad.stderr
