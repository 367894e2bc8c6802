"""Reliability suites: soak, chaos and load runs of the whole stack (docs/reliability.md).

Like ``bench/``, a harness and not part of the application: each suite starts a throwaway
PostgreSQL, the upstream simulator, a worker and an API as separate processes, drives them, and
writes its figures as JSON under ``reliability/results/``. Not collected by pytest;
``tests/reliability`` runs each suite in a tiny configuration.
"""
