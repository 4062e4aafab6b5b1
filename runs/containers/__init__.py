"""Container steps: one container per attempt, behind a small backend interface.

``backend``  the interface a runner talks to (start, stream logs, wait, stop, remove,
             leftovers) and what it raises; ``docker_backend`` implements it with the
             Docker Engine API (the ``docker`` SDK, DOCKER_HOST honoured). A Kubernetes Job
             backend would be a third module (see docs/kubernetes.md).
``step``     one attempt of a ``container(...)`` step: request, logs, timeout and cancel,
             result, outcome.
``refusal``  a worker where Docker does not answer hands the message back.
``cleanup``  containers whose attempt is no longer running are removed (recovery sweep,
             worker start).
"""
