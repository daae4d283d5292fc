"""`what_if` end to end: a DataFrame of 10,000 prompts in, the report's DataFrames out.

The corpus and the 20-policy draft are bench_policy_replay.py's (prompts of about 500
characters; a fifth carry personal data, SQL or an injection, a seventh a topic of the draft).
Each round is one `axonflow_notebook.what_if(DRAFT, frame, current=catalogue)` call: the draft
validated and upserted into the set in force, every prompt evaluated under both sets, the
changes, per-policy counts and (with `--labels`) the confusion matrix and precision/recall
built. The first round includes building both engines. Target: <= 5 s. Not a test.

    PYTHONPATH=. .venv/bin/python bench/bench_what_if.py [--prompts 10000] [--rounds 3] [--labels]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench_policy_replay import DRAFT, prompts  # noqa: E402  (a sibling script)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--labels", action="store_true", help="an `expected` column: confusion matrix too")
    args = parser.parse_args()

    import pandas as pd

    from axonflow_notebook import what_if
    from axonflow_notebook.agent import PolicySet

    corpus = prompts(args.prompts)
    frame = pd.DataFrame({"prompt": corpus})
    if args.labels:
        frame["expected"] = ["blocked" if i % 11 == 0 else "allowed" for i in range(len(frame))]
    load = os.getloadavg()[0]
    catalogue = PolicySet.from_yaml("", source="built-in catalogue")
    times = []
    for round_ in range(args.rounds):
        started = time.perf_counter()
        report = what_if(DRAFT, frame, current=catalogue)
        elapsed = time.perf_counter() - started
        times.append(elapsed)
        print(f"round {round_ + 1}: {elapsed:.2f} s = {len(frame) / elapsed:,.0f} prompts/s (each under both "
              f"sets); {report.changed} decisions change, {report.not_evaluated} not evaluated")
    median = statistics.median(times)
    print(f"{len(frame)} prompts, mean {statistics.mean(map(len, corpus)):.0f} characters, "
          f"{len(report.by_policy)} policies in the per-policy table{', labelled' if args.labels else ''}; "
          f"load average {load:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"best {min(times):.2f} s, median {median:.2f} s ({len(frame) / median:,.0f} prompts/s); "
          f"target <= 5 s: {'meets' if median <= 5.0 else 'misses'}")


if __name__ == "__main__":
    main()
