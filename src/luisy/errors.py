"""Exceptions luisy raises. Each names the task, parameter or file it is about."""


class LuisyError(Exception):
    """Base class of every error luisy raises on purpose."""


class ConfigError(LuisyError, KeyError, ValueError):
    """A setting is unknown or missing (a ``KeyError`` and a ``ValueError``, as 1.x raised)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UsageError(LuisyError, ValueError):
    """A luisy function or method was called in a way it cannot serve; the message says how."""


class InvalidValueError(LuisyError, ValueError):
    """A value cannot be parsed or converted (a parameter's, an interval's); the task and
    parameter are named by the :class:`ParameterError` that reports it."""


class NotSupportedError(LuisyError, NotImplementedError):
    """An operation this task or target does not have (``run()`` of a task without one)."""


class WrongTypeError(LuisyError, TypeError):
    """An object of a type the output cannot store."""


class PrefectServerError(LuisyError, RuntimeError):
    """A Prefect server luisy started did not come up; the message names its log."""


class ParameterError(LuisyError, ValueError):
    """A parameter value is missing, unknown or cannot be parsed."""

    def __init__(self, task_family: str, param_name: str | None, message: str):
        self.task_family = task_family
        self.param_name = param_name
        where = f"{task_family}: parameter '{param_name}'" if param_name else task_family
        super().__init__(f"{where}: {message}")


class TaskDefinitionError(LuisyError, TypeError, ValueError):
    """A task class is declared in a way luisy cannot use.

    Also a ``ValueError``: luisy 1.x raised ``ValueError`` for most of these (an output
    decorator without the folder it needs, a task in the ``luisy`` package), and its users'
    ``except ValueError`` must still catch them; ``TypeError`` is kept for code written
    against luisy 2 and for 1.x's ``requires()`` without classes."""


class CommandLineError(LuisyError):
    """The command line names no usable module, task or parameter."""


class WorkingDirError(LuisyError, ValueError):
    """The working dir cannot serve a build: none is set, it (or a folder on its way) is a
    file, or what the build must write there cannot be written. Raised before anything runs;
    the message names the folder."""


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
        #: one line per missing input: the task, its file and the tasks that need it
        self.lines = []
        for ext, needers in missing.items():
            names = ", ".join(str(t) for t in needers) or "(the root task)"
            self.lines.append(f"{ext}: {ext.output_location()} is missing; needed by {names}")
        super().__init__("External data missing, nothing was run:\n"
                         + "\n".join(f"  {line}" for line in self.lines))


class HashStoreError(LuisyError, ValueError):
    """A file of recorded keys cannot be read; it is named and left as it is, and the message
    says what is wrong with it and how to get going again. Its ``args`` are the three parts,
    so it pickles (from a task run in another process) as it is."""

    def __init__(self, path: str, problem: str, remedy: str):
        super().__init__(path, problem, remedy)
        self.path = path

    def __str__(self) -> str:
        path, problem, remedy = self.args
        return f"{path}: {problem}; luisy changed nothing: {remedy}"


class TargetError(LuisyError):
    """Reading or writing a target failed; the message names the file or table."""


class OutputPathError(LuisyError, ValueError):
    """An output's path cannot be used: it is outside the working dir, or a second task
    writes the same path. The message names the task(s), the path and, where one put it
    there, the parameter; luisy refuses before anything runs, so no output is overwritten
    or written outside the working dir."""


class OutputNotWrittenError(LuisyError, FileNotFoundError):
    """A writer (a task's ``run()``) returned without writing its output."""


class TaskNotCompleteError(LuisyError, ValueError):
    """read() on a task whose output is missing or outdated (a ``ValueError``, as 1.x's
    "Task needs to be executed first", so an ``except ValueError`` around read() still
    works, e.g. for missing external data)."""


class DataVersionError(LuisyError):
    """A task's data version cannot be had: its ``data_version`` function failed."""


class RemoteError(LuisyError):
    """The remote (cloud sync) cannot serve a download or an upload: the message names the
    remote (secrets left out), the file and the task."""


class BrowserError(LuisyError, RuntimeError):
    """Headless Chromium (``luisy.testing.browser``) did not start or refused a command."""
