"""Budgets and usage for the embedded agent: AxonFlow's cost controls, with the SDK's shapes.

- ``spec``: a budget and its validation (API bodies and policy-file entries alike).
- ``attribution``: which organization, team, agent, workflow and user a call is charged to.
- ``ledger``: the budgets in force and an in-memory view of usage the pre-check reads.
- ``usage`` / ``usage_db``: one record per audited call, and the tables in the agent's store.
- ``standing``, ``periods``: a budget's use in its current (UTC) period.
- ``enforcement``: the pre-check's 402 / warning, and usage from each audit.
- ``pricing``: LiteLLM's shipped price list, read without importing LiteLLM.
- ``policy_file``: the ``budgets:`` section of a policy file.
"""
