"""Executing task runs in a worker: claim, run (Python or shell), capture logs, finish."""
