"""`df.governed.complete(...)`: a template over the row's columns only, answers as new columns."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pandas as pd
import pytest

import axonflow_notebook.pandas  # noqa: F401  (registers df.governed)
from axonflow_notebook.pandas import TemplateError

from axonflow_notebook.testing.batches import CLIENT, llm_kwargs, run

TICKETS = pd.DataFrame(
    {"text": ["The export button is slow.", "Project Nightingale launch date?", None,
              "Please prepare the wire transfer for ACCT-00001234."],
     "priority": [1, 2, 3, 4]},
    index=["t-101", "t-102", "t-103", "t-104"],
)


@pytest.mark.parametrize("template, words", [
    ("{text.__class__}", "no attribute or index access"),
    ("{text.upper}", "no attribute or index access"),
    ("{text[0]}", "no attribute or index access"),
    ("{priority!r}", "no conversions"),
    ("{text:>999999999}", "no format spec"),
    ("{text:{priority}}", "no format spec"),
    ("{0}", "name a column"),
    ("{}", "name a column"),
    ("Classify {text", "literal braces"),
    ("Classify this ticket.", "names no column"),
    ("", "empty"),
])
def test_the_template_refuses_anything_but_plain_column_names(make_logger, llm, reviewer, template, words):
    logger = make_logger()
    with pytest.raises(TemplateError, match=words.replace("[", r"\[")):
        TICKETS.governed.complete(template, into="label", logger=logger, **llm_kwargs(llm))
    assert llm.count == 0
    assert run(reviewer.search_audit(limit=10, client_id=CLIENT)).total == 0


def test_an_unknown_column_is_named_before_any_call(make_logger, llm, reviewer):
    with pytest.raises(TemplateError) as caught:
        TICKETS.governed.complete("{text} ({customer}, {region})", into="label", logger=make_logger(),
                                  **llm_kwargs(llm))
    message = str(caught.value)
    assert "{customer}, {region} are not a column" in message and "priority, text" in message
    assert llm.count == 0 and run(reviewer.search_audit(limit=10, client_id=CLIENT)).total == 0


def test_complete_returns_a_new_frame_and_leaves_the_input_alone(make_logger, llm):
    before = TICKETS.copy()
    logger = make_logger(approval_max_wait_seconds=1.0)
    out = TICKETS.governed.complete("Classify this ticket (priority {priority}): {text}", model="openai/gpt-4o-mini",
                                    into="label", logger=logger, concurrency=2,
                                    **{k: v for k, v in llm_kwargs(llm).items() if k != "model"})
    pd.testing.assert_frame_equal(TICKETS, before)
    assert list(out.columns) == ["text", "priority", "label", "label_status", "label_policies",
                                 "label_audit_id", "label_cost", "label_error"]
    assert list(out.index) == list(TICKETS.index)
    assert list(out["label_status"]) == ["allowed", "blocked", "allowed", "expired"]
    assert out.loc["t-101", "label"] == llm.reply and out.loc["t-101", "label_cost"] > 0
    assert out.loc["t-101", "label_audit_id"] and pd.isna(out.loc["t-101", "label_error"])
    assert out.loc["t-102", "label_policies"] == ["project-nightingale"]
    assert pd.isna(out.loc["t-102", "label"]) and "Nightingale" in out.loc["t-102", "label_error"]
    assert pd.isna(out.loc["t-102", "label_cost"])
    assert "fin-wire-transfer" in out.loc["t-104", "label_policies"]
    # a missing value is empty text in the prompt, never "None" or "nan"
    sent = [body["messages"][-1]["content"] for body in llm.requests]
    assert "Classify this ticket (priority 3): " in sent


def test_prompts_show_what_would_be_sent_and_into_never_overwrites(make_logger, llm):
    assert TICKETS.governed.prompts("#{priority}: {text}")[:3] == [
        "#1: The export button is slow.", "#2: Project Nightingale launch date?", "#3: "]
    with pytest.raises(ValueError, match="already has column"):
        TICKETS.governed.complete("{text}", model="m", into="priority", logger=make_logger())
    with pytest.raises(ValueError, match="into= needs a column name"):
        TICKETS.governed.complete("{text}", model="m", into="", logger=make_logger())
    assert llm.count == 0


def test_the_extension_registers_the_accessor_when_pandas_is_imported_not_before():
    code = textwrap.dedent("""
        import sys
        from IPython.core.interactiveshell import InteractiveShell
        shell = InteractiveShell.instance()
        shell.run_line_magic("load_ext", "axonflow_notebook")
        print("pandas loaded by the extension:", "pandas" in sys.modules)
        shell.run_cell("import pandas as pd\\nfound = hasattr(pd.DataFrame({'a': [1]}), 'governed')")
        print("accessor in the same cell:", shell.user_ns["found"])
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pandas loaded by the extension: False" in out.stdout, out.stdout + out.stderr
    assert "accessor in the same cell: True" in out.stdout, out.stdout + out.stderr
