"""`what_if(draft, against=...)`: a labelled DataFrame with a known confusion matrix, a journal of
real governed calls (whole prompts and previews), what cannot be evaluated and why, and a draft
upserted into (or replacing) the custom set in force, as a policy cell would put it."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from axonflow_notebook import what_if
from axonflow_notebook.agent import PolicySet
from axonflow_notebook.lab.replay import NO_PROMPT, PREVIEW_ONLY

DRAFT = r"""policies:
  - {id: wire, name: Wire transfers, pattern: '(?i)\bwire\s+transfer\b', action: require_approval}
  - {id: codename, name: Project falcon, pattern: '(?i)\bproject\s+falcon\b', action: redact}
  - {id: board, name: Board minutes, pattern: '(?i)\bboard\s+minutes\b', action: block}
  - {id: note, name: Confidential, pattern: '(?i)\bconfidential\b', action: warn}
"""

LABELLED = [  # prompt, expected label, what the draft decides
    ("wire transfer to acme", "needs_approval", "needs_approval"),
    ("please wire transfer now", "block", "needs_approval"),  # labelled blocked ("block" is read so)
    ("project falcon status", "redacted", "redacted"),
    ("project falcon budget", "allowed", "redacted"),
    ("share the board minutes", "blocked", "blocked"),
    ("summarise the board minutes", "Blocked", "blocked"),
    ("hello world", "allow", "allowed"),
    ("confidential memo", "redact", "allowed"),  # a warn policy decides nothing: missed
    ("what is the weather", "allowed", "allowed"),
    ("hello world", "allowed", "allowed"),  # a repeated prompt counts twice, is evaluated once
]


@pytest.fixture
def catalogue():
    return PolicySet.from_yaml("", source="catalogue")


def test_a_labelled_frame_gives_the_known_confusion_matrix_and_scores(catalogue):
    frame = pd.DataFrame(LABELLED, columns=["prompt", "expected", "draft"], index=[f"r{i}" for i in range(10)])
    extra = pd.DataFrame({"prompt": [float("nan"), 42, "   "], "expected": [None, "allowed", "allowed"]},
                         index=["nan", "int", "blank"])
    report = what_if(DRAFT, pd.concat([frame, extra]), current=catalogue)
    assert report.evaluated == 10 and report.not_evaluated == 3
    assert report.decisions.loc[frame.index, "draft"].tolist() == frame["draft"].tolist()
    assert (report.decisions["current"] == "allowed").all()
    assert report.changes.index.tolist() == ["r0", "r1", "r2", "r3", "r4", "r5"]
    assert report.changes.loc["r4", "decided_by"] == "board"
    assert report.confusion.values.tolist() == [[3, 1, 0, 0], [1, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 2]]
    assert list(report.confusion.index) == ["allowed", "redacted", "needs_approval", "blocked"]
    assert report.confusion_current.values.tolist() == [[4, 0, 0, 0], [2, 0, 0, 0], [1, 0, 0, 0], [3, 0, 0, 0]]
    assert report.accuracy == pytest.approx(7 / 10) and report.accuracy_current == pytest.approx(4 / 10)
    by = report.by_policy
    assert (by.loc["wire", "precision"], by.loc["wire", "recall"]) == (0.5, 1.0)
    assert (by.loc["codename", "precision"], by.loc["codename", "recall"]) == (0.5, 0.5)
    assert (by.loc["board", "precision"], by.loc["board", "recall"]) == (1.0, pytest.approx(2 / 3))
    assert by.loc["note", "matched_draft"] == 1  # a warn policy predicts no decision: no scores
    assert pd.isna(by.loc["note", "predicts"]) and pd.isna(by.loc["note", "precision"])
    assert by.loc["wire", "status"] == "added" and by.loc["wire", "decisions_changed"] == 2
    assert by.loc["wire", "gained"] == 2 and by.loc["wire", "lost"] == 0
    reasons = dict(zip(report.skipped["reason"], report.skipped["prompts"]))
    assert reasons == {"no prompt (a missing value)": 1, "not text (int)": 1, "an empty prompt": 1}
    assert report.skipped_rows["row"].tolist() == ["nan", "int", "blank"]
    assert "3 (an empty prompt)" not in report.summary() and "not evaluated: 1 (not text (int))" in report.summary()


def test_bad_drafts_and_labels_are_clear(catalogue):
    bad = "policies:\n  - {id: a, name: A, pattern: '(', action: block}\n  - {id: b, name: B, pattern: x, action: nope}\n"
    with pytest.raises(ValueError) as caught:
        what_if(bad, ["x"], current=catalogue)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2 and all(line.startswith("draft: policy #") for line in lines)
    with pytest.raises(ValueError, match="'maybe' is not a decision"):
        what_if(DRAFT, pd.DataFrame({"prompt": ["x"], "expected": ["maybe"]}), current=catalogue)
    with pytest.raises(ValueError, match="'prompt' column"):
        what_if(DRAFT, pd.DataFrame({"text": ["x"]}), current=catalogue)
    with pytest.raises(TypeError, match="against must be"):
        what_if(DRAFT, 42, current=catalogue)


def test_a_draft_is_upserted_into_the_custom_set_unless_it_replaces_it():
    current = PolicySet.from_yaml(
        "policies:\n  - {id: wire, name: Wire, pattern: '(?i)wire', action: block}\n"
        "  - {id: keep, name: Keep, pattern: '(?i)keepme', action: block}\n", source="in force")
    one = "policies:\n  - {id: wire, name: Wire, pattern: '(?i)wire', action: warn}\n"
    report = what_if(one, ["wire it", "keepme please"], current=current)
    assert report.decisions["current"].tolist() == ["blocked", "blocked"]
    assert report.decisions["draft"].tolist() == ["allowed", "blocked"]  # `keep` is still in force
    assert report.policy_changes == {"added": [], "changed": ["wire"], "removed": []}
    replaced = what_if(one, ["wire it", "keepme please"], current=current, replace=True)
    assert replaced.decisions["draft"].tolist() == ["allowed", "allowed"]
    assert replaced.policy_changes["removed"] == ["keep"]


async def test_replaying_a_journal_of_real_calls(agent_factory, llm, tmp_path):
    from axonflow_notebook import AxonFlowLogger, AxonFlowLoggerConfig
    from axonflow_notebook.core.journal import Journal

    agent = agent_factory(secret="lab-secret")
    config = AxonFlowLoggerConfig(endpoint=agent.url, client_id="lab", client_secret="lab-secret")
    journal_path = tmp_path / "journal.sqlite3"
    journal = Journal(journal_path)
    full, preview = AxonFlowLogger(config), AxonFlowLogger(config)
    journal.attach(full, prompts="full")
    journal.attach(preview)
    long_tail = " and the rest of a long prompt" * 5
    try:
        for text in ("please wire transfer 5 EUR" + long_tail, "project falcon update" + long_tail, "hello"):
            await full.agovern(**llm.litellm_kwargs(), messages=[{"role": "user", "content": text}])
        await preview.agovern(**llm.litellm_kwargs(), messages=[{"role": "user", "content": "board minutes" + long_tail}])
    finally:
        await full.aclose()
        await preview.aclose()
    journal.execute(  # a row journalled before prompts were kept
        "INSERT INTO calls (call_id, created_at, endpoint, decision) VALUES ('old', 1.0, 'x', 'approved')")
    journal.close()
    report = what_if(DRAFT, journal=journal_path, data_dir=tmp_path / "no-agent")
    assert report.source == f"journal {journal_path}"
    assert report.evaluated == 3 and report.decisions["draft"].tolist() == ["needs_approval", "redacted", "allowed"]
    assert report.decisions["recorded"].tolist() == ["approved", "approved", "approved"]
    reasons = dict(zip(report.skipped["reason"], report.skipped["prompts"]))
    assert reasons == {PREVIEW_ONLY: 1, NO_PROMPT: 1}
    assert report.changed == 2 and report.decisions.index.name == "call_id"
    with pytest.raises(FileNotFoundError, match="no audit journal at"):
        what_if(DRAFT, journal=tmp_path / "absent.sqlite3", current=PolicySet.from_yaml("", source="c"))


def test_importing_the_lab_and_the_package_name_stay_cheap():
    code = ("import sys, axonflow_notebook, axonflow_notebook.lab as lab; assert 'what_if' in dir(axonflow_notebook); "
            "print(sorted(m for m in ('pandas', 're2', 'yaml', 'IPython') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
