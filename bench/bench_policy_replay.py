"""Replay speed of the policy engine for ``what_if``: the whole catalogue and a 20-policy draft.

10,000 prompts of about 500 characters (business prose; a fifth with personal data, SQL or
prompt injection, a seventh with a topic of the draft; deterministic) are evaluated under the set in force (the
built-in catalogue) and under a draft (the catalogue plus 20 custom policies), through the
public ``axonflow_notebook.agent.PolicySet``. Reports the time for both sets, prompts per
second, and how many decisions the draft changes. Target: both sets <= 5 s in total.
It is not a test and asserts nothing.

    PYTHONPATH=. .venv/bin/python bench/bench_policy_replay.py [--prompts 10000] [--rounds 3] [--dense]
"""

from __future__ import annotations

import argparse
import statistics
import time

from axonflow_notebook.testing.prompt_corpus import DRAFT, prompts  # noqa: F401  (its siblings import them from here)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--dense", action="store_true",
                        help="worst case: every prompt carries personal data and a topic of the draft")
    args = parser.parse_args()

    from axonflow_notebook.agent import PolicySet

    corpus = prompts(args.prompts, dense=args.dense)
    started = time.perf_counter()
    current = PolicySet.current()
    draft = PolicySet.from_yaml(DRAFT, source="draft")
    setup = time.perf_counter() - started
    print(f"{len(corpus)} prompts, mean {statistics.mean(map(len, corpus)):.0f} characters; "
          f"current: {len(current.order)} enabled policies, draft: {len(draft.order)} ({setup:.2f} s to load both)")
    totals = []
    for round_ in range(args.rounds):
        t0 = time.perf_counter()
        before = [current.evaluate(p).decision for p in corpus]
        t1 = time.perf_counter()
        after = [draft.evaluate(p).decision for p in corpus]
        t2 = time.perf_counter()
        total = t2 - t0
        totals.append(total)
        changed = sum(a != b for a, b in zip(before, after))
        print(f"round {round_ + 1}: current {t1 - t0:.2f} s, draft {t2 - t1:.2f} s, both {total:.2f} s = "
              f"{2 * len(corpus) / total:,.0f} prompt evaluations/s; {changed} decisions change")
    best, median = min(totals), statistics.median(totals)
    verdict = "meets" if median <= 5.0 else "misses"
    print(f"both sets: best {best:.2f} s, median {median:.2f} s ({len(corpus) / median:,.0f} prompts/s per set "
          f"pair); target <= 5 s: {verdict}")


if __name__ == "__main__":
    main()
