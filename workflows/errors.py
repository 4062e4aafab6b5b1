"""Errors raised by the authoring API, each with a message a developer can act on."""


class DefinitionError(Exception):
    """A workflow or task is declared wrongly (cycle, bad type hint, duplicate name...).

    The message names the workflow and, when known, the file and line, e.g.
    ``workflow 'nightly_export' (billing/workflows.py:42): parameter 'day' has an
    unsupported type hint 'set[int]'``.
    """

    def __init__(self, message, *, workflow=None, file=None, line=None):
        self.reason = message
        self.workflow = workflow
        self.file = file
        self.line = line
        super().__init__(self.describe())

    def describe(self):
        where = ""
        if self.file:
            where = f"{self.file}:{self.line}" if self.line else str(self.file)
        if self.workflow and where:
            return f"workflow '{self.workflow}' ({where}): {self.reason}"
        if self.workflow:
            return f"workflow '{self.workflow}': {self.reason}"
        if where:
            return f"{where}: {self.reason}"
        return self.reason


class ParameterErrors(Exception):
    """Parameter values that failed validation: ``errors`` maps a field name to messages."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        summary = "; ".join(f"{name}: {' '.join(msgs)}" for name, msgs in errors.items())
        super().__init__(f"invalid parameters: {summary}")
