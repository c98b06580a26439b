"""Exclusion rules (Art. 16): rule files (``loader``), their compilation to durable_rules (``compiler``) and
evaluation in a worker process (``engine``). Only ``worker`` imports durable_rules, and only in the worker."""
