"""Isolated task environments: one uv-built virtualenv per set of requirements, cached.

``spec`` says which environment a task needs (its key), ``interpreters`` finds the Python
it asks for, ``build`` makes the environment once per machine (a file lock, built aside
then renamed into place), ``store`` lists and prunes what ``BATON_ENV_DIR`` holds.
"""
