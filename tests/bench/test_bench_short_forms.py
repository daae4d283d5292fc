"""Every benchmark in bench/ runs in its short form and prints its figures.

Benchmarks report figures (docs/benchmarks.md), they are not timed tests: nothing here asserts
a speed. What this asserts is that each script still runs against today's code, so a figure in
the docs can always be measured again with the command written beside it.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SHORT_FORMS = {
    "bench_load_ext.py": ["--runs", "1"],
    "bench_first_cell.py": ["--runs", "1"],
    "bench_cell_memory.py": ["--cells", "10", "--warmup", "2"],
    "bench_core_overhead.py": ["--calls", "30", "--sync-calls", "15"],
    "bench_agent_precheck.py": ["--duration", "1", "--rounds", "1"],
    "bench_policy_reload.py": ["--duration", "2", "--interval", "0.5"],
    "bench_policy_cell_reload.py": ["--duration", "2", "--interval", "0.5"],
    "bench_policy_replay.py": ["--prompts", "300", "--rounds", "1"],
    "bench_what_if.py": ["--prompts", "300", "--rounds", "1"],
    "bench_evidence_chain.py": ["--records", "2000"],
    "bench_evidence.py": ["--records", "2000", "--entries", "500", "--export-calls", "200", "--appends", "200"],
    "bench_batch_throughput.py": ["--quick", "--rounds", "1"],
    "bench_batch_memory.py": ["--rows", "200", "--concurrency", "8"],
    "bench_batch_dask.py": ["--rows", "60", "--delay", "0.02"],
    "bench_pipeline_ab.py": ["{root}", "{root}", "--rounds", "1", "--calls", "100"],  # this tree against itself
}
NEEDS_WRK = {"bench_agent_precheck.py", "bench_policy_reload.py", "bench_policy_cell_reload.py"}


def test_every_benchmark_has_a_short_form():
    scripts = {p.name for p in (ROOT / "bench").glob("bench_*.py")}
    assert scripts == set(SHORT_FORMS)


@pytest.mark.parametrize("script", sorted(SHORT_FORMS))
def test_benchmark_runs_in_its_short_form(script, tmp_path):
    if script in NEEDS_WRK and shutil.which("wrk") is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "LITELLM_LOCAL_MODEL_COST_MAP": "True",
           "AXONFLOW_TELEMETRY": "off", "AXONFLOW_RUNTIME_DIR": str(tmp_path / "runtime"),
           "HOME": os.environ.get("HOME", str(tmp_path)), "PYTHONFAULTHANDLER": "1"}
    arguments = [a.format(root=ROOT) for a in SHORT_FORMS[script]]
    done = subprocess.Popen([sys.executable, str(ROOT / "bench" / script), *arguments],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = done.communicate(timeout=280)
    except subprocess.TimeoutExpired:
        done.send_signal(signal.SIGABRT)  # faulthandler prints every thread's stack: where it hung
        stdout, stderr = done.communicate(timeout=30)
        pytest.fail(f"{script} did not finish in 280 s\n{stdout[-2000:]}{stderr[-6000:]}")
    assert done.returncode == 0, stdout[-2000:] + stderr[-3000:]
    assert any(ch.isdigit() for ch in stdout), stdout[-2000:]
