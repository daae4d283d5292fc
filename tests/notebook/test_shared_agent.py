"""One local agent per user and data dir, shared by that user's kernels (found through its
runtime file, behind its secret), with its policies reloaded in place.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from axonflow_notebook.testing.agents import start_agent
from axonflow_notebook.testing.kernels import kernel_env, run, start_kernel, stop_kernel
from axonflow_notebook.testing.shell import magics_of

REPO = Path(__file__).resolve().parents[2]
POLICIES = REPO / "notebooks" / "policies.yaml"
REDACTING = REPO / "notebooks" / "pii-redaction.yaml"
STARTED = re.compile(r"embedded agent at (http://127\.0\.0\.1:\d+) \((started|found)")


def _said(kc, code: str) -> str:
    printed: list = []

    def keep(msg):
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    reply = run(kc, code, output_hook=keep)
    assert reply["status"] == "ok", reply
    return "".join(printed)


def test_every_kernel_of_a_user_finds_the_same_agent_with_nothing_configured(tmp_path):
    env = kernel_env(tmp_path, AXONFLOW_POLICIES=str(POLICIES))
    first, second = start_kernel(env), start_kernel(env)
    try:
        setup = "%load_ext axonflow_notebook\n"
        said_a = _said(first[1], setup + "%governed -o a Say hello.\nprint(a.ok)")
        said_b = _said(second[1], setup + "%governed -o b Say hello too.\nprint(b.ok)")
        url_a, verb_a = STARTED.search(said_a).groups()
        url_b, verb_b = STARTED.search(said_b).groups()
        assert url_a == url_b and (verb_a, verb_b) == ("started", "found")
        assert said_a.strip().endswith("True") and said_b.strip().endswith("True")
        # loopback is no boundary: without the secret from the runtime file, nothing is served
        denied = httpx.get(f"{url_a}/api/v1/hitl/queue", auth=("someone", "guess"), timeout=5)
        assert denied.status_code == 401
    finally:
        stop_kernel(*first)
        stop_kernel(*second, env)


def test_a_new_policy_file_is_loaded_in_place(ip, capsys):
    magics = magics_of(ip)
    url = magics.runtime.backend().url
    capsys.readouterr()
    try:
        magics.policies = str(REDACTING)
        out = ip.run_cell("%%governed -o redacted\nReply to the customer with SSN 123-45-6789.")
        assert out.error_in_exec is None, out.error_in_exec
        said = capsys.readouterr().out
        assert "now in force" in said and "embedded agent at" not in said, said
        assert magics.runtime.backend().url == url  # same agent, same port, same data
        assert ip.user_ns["redacted"].decision.requires_redaction
    finally:
        magics.policies = str(POLICIES)
    ip.run_cell("%%governed -o back\nSay hello.")
    assert magics.runtime.backend().url == url and ip.user_ns["back"].ok


def test_another_endpoint_leaves_the_local_agent_and_earlier_outputs_working(ip, tmp_path):
    from axonflow_notebook.notebook.calls.sync import resolve

    magics = magics_of(ip)
    local = magics.runtime.backend()
    earlier_console = local.approval_console()  # what an earlier queue output holds
    remote = start_agent(tmp_path / "remote.db", policies=POLICIES)
    try:
        magics.endpoint, magics.client_id = remote.url, "analyst"
        magics.client_secret = remote.test_secret
        out = ip.run_cell("%%governed -o remote_call\nSay hello.")
        assert out.error_in_exec is None and ip.user_ns["remote_call"].decision.backend == remote.url
        resolve(earlier_console.list_queue())  # the earlier output still works
        assert httpx.get(f"{local.url}/health", timeout=5).status_code == 200
    finally:
        magics.endpoint = magics.client_id = ""
        magics.client_secret = ""
        remote.stop()
    assert magics.runtime.backend().url == local.url  # found again, not restarted
