"""Exceptions luisy raises. Each names the task, parameter or file it is about."""


class LuisyError(Exception):
    """Base class of every error luisy raises on purpose."""


class ParameterError(LuisyError, ValueError):
    """A parameter value is missing, unknown or cannot be parsed."""

    def __init__(self, task_family: str, param_name: str | None, message: str):
        self.task_family = task_family
        self.param_name = param_name
        where = f"{task_family}: parameter '{param_name}'" if param_name else task_family
        super().__init__(f"{where}: {message}")


class TaskDefinitionError(LuisyError, TypeError):
    """A task class is declared in a way luisy cannot use."""


class CycleError(LuisyError):
    """The requires() graph is not acyclic."""

    def __init__(self, cycle: list):
        self.cycle = cycle
        path = " -> ".join(str(t) for t in cycle)
        super().__init__(f"Dependency cycle: {path}")


class MissingExternalError(LuisyError):
    """Data that an ExternalTask promises is not there; nothing was run."""

    def __init__(self, missing: dict):
        # missing: external task -> list of tasks that need it
        self.missing = missing
        lines = []
        for ext, needers in missing.items():
            names = ", ".join(str(t) for t in needers) or "(the root task)"
            lines.append(f"  {ext}: {ext.output_location()} is missing; needed by {names}")
        super().__init__("External data missing, nothing was run:\n" + "\n".join(lines))


class TargetError(LuisyError):
    """Reading or writing a target failed; the message names the file or table."""


class TaskNotCompleteError(LuisyError):
    """read() on a task whose output is missing or outdated."""
