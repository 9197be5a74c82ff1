"""The ``luisy`` command (luisy 1.x form) and ``build`` for Python callers.

``luisy --module pkg.tasks TaskName --param value [--working-dir DIR] [--workers N]
[--dry-run] [--no-ask] [--hash-update-mode]`` prints the plan, asks before replacing outdated
outputs, then runs the plan as a Prefect flow and prints progress. ``luisy SUBCOMMAND ...``
runs one of :data:`SUBCOMMANDS`; ``luisy verify --module pkg.tasks TaskName ...`` names the
outputs whose bytes were changed behind luisy's back (``--verify`` on a build reruns them).

The command never guesses and answers every mistake with one line on stderr and a non-zero
exit code, never a traceback (``--debug`` shows it): options are never abbreviated (``--n``
is a task's parameter, not ``--no-ask``), an option that could be luisy's or the task's is
refused, a working dir that cannot serve is named before anything runs.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Any, NoReturn, TextIO

from luisy.config import Settings, for_build, use
from luisy.deployments import importable_from
from luisy.errors import (
    CommandLineError,
    LuisyError,
    MissingExternalError,
    PrefectServerError,
    WorkingDirError,
)
from luisy.parameters import BoolParameter
from luisy.planner import Decision, Plan, Step, make_plan
from luisy.remote.sync import remote_for_build
from luisy.runner import REPEATS_SUMMARY, BuildFailed, build, execute_plan, plan_build
from luisy.summary import BuildSummary
from luisy.tasks.base import Task

__all__ = ["SUBCOMMANDS", "build", "main"]


#: settings luisy 1.x's command took as ``--name value`` (``--azure-storage-key`` is 1.x's
#: spelling of ``azure_account_key``)
_SETTING_FLAGS = ("requirements_path", "azure_storage_key", "azure_account_name",
                  "azure_container_name")
#: luisy 1.x's switches, and all it took from the command line before the task saw it
_SWITCHES_1X = ("download", "upload", "dry_run", "no_ask", "hash_update_mode")
_OPTIONS_1X = (*_SWITCHES_1X, "working_dir", *_SETTING_FLAGS)


def _validate_deployments(argv: list[str]) -> int:
    from luisy.deployments import main as validate

    return validate(argv)


def _verify(argv: list[str]) -> int:
    """``luisy verify --module M Task [--param v ...] [--working-dir DIR]``: one line per
    complete output whose bytes no longer match the checksum recorded with its key, then the
    counts; exit 1 when any changed. It reads outputs and the hash store, writes nothing."""
    from luisy.verification import check_plan

    parser = _Parser(prog="luisy verify",
                     description="Name the outputs of a task's graph whose bytes were changed "
                                 "behind luisy's back.")
    parser.add_argument("--module", required=True, help="module holding the task")
    parser.add_argument("task", help="task class name")
    parser.add_argument("--working-dir", help="root of all outputs (default: $WORKING_DIR)")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help or a usage error: argparse has said it
        return exc.code if isinstance(exc.code, int) else 2
    settings = for_build(
        {"working_dir": os.path.abspath(args.working_dir) if args.working_dir else None})
    _working_dir(settings)
    took = set(parser.given(argv)) - {"module", "working_dir"}
    with use(settings), importable_from(os.getcwd()):
        task = load_task(args.module, args.task, extra, luisy_took=took)
        result = check_plan(make_plan(task))
    for mismatch in result.mismatches:
        print(mismatch)
    print(result.counts())
    return 0 if result.ok else 1


def _remote(argv: list[str]) -> int:
    """``luisy remote gc --keep-days N [--remote URL] [--dry-run]``: remove from the remote
    what no ``.luisy.hash`` there refers to, untouched for N days; one line per object."""
    from luisy.remote.settings import remote_of
    from luisy.remote.sync import collect_garbage

    parser = _Parser(prog="luisy remote", description="Look after the cloud sync remote.")
    sub = parser.add_subparsers(dest="command", required=True)
    gc = sub.add_parser("gc", help="remove objects no .luisy.hash refers to")
    gc.add_argument("--keep-days", type=float, required=True,
                    help="keep what was written in the last N days, referred to or not")
    gc.add_argument("--remote", metavar="URL", help="the remote (default: $LUISY_REMOTE)")
    gc.add_argument("--remote-block", metavar="NAME", help="a saved luisy-remote-storage block")
    gc.add_argument("--dry-run", action="store_true", help="list, remove nothing")
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    spec = remote_of(for_build({"remote": args.remote, "remote_block": args.remote_block}))
    if spec is None:
        raise CommandLineError("luisy remote gc: no remote: give --remote URL or set "
                               "LUISY_REMOTE")
    removed = collect_garbage(spec, args.keep_days, dry_run=args.dry_run)
    for path in removed:
        print(f"{'would remove' if args.dry_run else 'removed'} {path}")
    print(f"{len(removed)} object(s) {'to remove' if args.dry_run else 'removed'}")
    return 0


#: ``luisy NAME ARGS...`` runs ``entry(ARGS)`` for its exit code; ``luisy --help`` lists
#: them. A subcommand is one entry here.
SUBCOMMANDS: dict[str, tuple[str, Callable[[list[str]], int]]] = {
    "validate-deployments": ("check prefect.yaml strictly: keys, entrypoints, parameters",
                             _validate_deployments),
    "verify": ("name outputs whose bytes changed behind luisy's back (exit 1 if any)",
               _verify),
    "remote": ("remote gc --keep-days N: remove remote objects no .luisy.hash refers to",
               _remote),
}


class _Parser(argparse.ArgumentParser):
    """argparse without abbreviations (``--n 3`` is a task parameter, never luisy's
    ``--no-ask``), with a usage error on one line (the full usage is ``--help``'s), and
    ``options``: each option string's action, to tell which of luisy's options were given."""

    def __init__(self, **kwargs: Any):
        self.options: dict[str, argparse.Action] = {}
        super().__init__(allow_abbrev=False, **kwargs)

    def add_argument(self, *args: Any, **kwargs: Any) -> argparse.Action:
        action = super().add_argument(*args, **kwargs)
        self.options.update(dict.fromkeys(action.option_strings, action))
        return action

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def given(self, argv: Sequence[str]) -> list[str]:
        """The destinations of luisy's options in ``argv``, in order: argparse reads a word
        that is an option string (or one with ``=value``) as that option, never as a value."""
        return [self.options[word.split("=", 1)[0]].dest for word in argv
                if word.split("=", 1)[0] in self.options]


def parse_args(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """luisy 1.x's ``parse_args``: the settings given as flags (switches always, values when
    given), and the rest of ``argv`` (module, task, its parameters) unparsed."""
    p = _Parser(prog="luisy", add_help=False)
    for flag in _SWITCHES_1X:
        p.add_argument(f"--{flag.replace('_', '-')}", dest=flag, action="store_true")
    for name in ("working_dir", *_SETTING_FLAGS):
        p.add_argument(f"--{name.replace('_', '-')}", dest=name)
    args, rest = p.parse_known_args(list(argv))
    return {k: v for k, v in vars(args).items() if v is not None}, rest


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("luisy")
    except PackageNotFoundError:  # its source on sys.path, not installed
        return "(not installed)"


def _parser() -> _Parser:
    subcommands = "\n".join(f"  {name:<22}{help_}" for name, (help_, _) in SUBCOMMANDS.items())
    p = _Parser(
        prog="luisy",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Plan and run a luisy pipeline as a Prefect flow.\n\nTask parameters "
                    "follow the task name as --name value; one named like an option\nof "
                    "luisy's is given as --TaskName-name value.",
        epilog=f"subcommands (luisy SUBCOMMAND ...):\n{subcommands}",
    )
    p.add_argument("--version", action="version", version=f"luisy {_version()}")
    p.add_argument("--module", required=True, help="module holding the task, e.g. pkg.tasks")
    p.add_argument("task", help="task class name")
    p.add_argument("--working-dir", help="root of all outputs (default: $WORKING_DIR)")
    p.add_argument("--workers", type=int, default=1, help="tasks running at once")
    p.add_argument("--dry-run", action="store_true", help="show the plan, run nothing")
    p.add_argument("--no-ask", action="store_true", help="do not ask before replacing outputs")
    p.add_argument("--hash-update-mode", action="store_true",
                   help="accept the current code as the keys of existing outputs; run nothing")
    p.add_argument("--local-scheduler", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--download", action="store_true",
                   help="fetch outputs the remote holds with their current key instead of "
                        "computing them")
    p.add_argument("--upload", action="store_true",
                   help="send every output whose remote key differs to the remote")
    p.add_argument("--remote", metavar="URL",
                   help="the remote of --download/--upload: any fsspec URL, e.g. "
                        "abfs://container/prefix, s3://bucket/prefix (default: $LUISY_REMOTE)")
    p.add_argument("--remote-block", metavar="NAME",
                   help="a saved luisy-remote-storage Prefect block naming the remote")
    p.add_argument("--remote-layout", choices=("mirror", "shared"),
                   help="mirror: the working dir's paths, as luisy 1.x (default); shared: "
                        "objects named by their key, for branches and users sharing one")
    p.add_argument("--download-group-size", type=int, metavar="N",
                   help="let up to N downloads of one class share a Prefect task run "
                        "(default 100; 1: a task run per download)")
    for name in _SETTING_FLAGS:  # luisy 1.x took every setting as a flag
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=argparse.SUPPRESS)
    p.add_argument("--spark-block", help="name of a saved spark-session Prefect block")
    p.add_argument("--force", action="append", metavar="TASK",
                   help="rerun TASK (a class name, a task as it prints, or 'all') and what "
                        "depends on it, though complete; may be given more than once")
    p.add_argument("--verify", action="store_true",
                   help="also check complete outputs' bytes against the checksums recorded "
                        "with their keys; rerun changed ones and what depends on them")
    p.add_argument("--show-complete", action="store_true",
                   help="list complete tasks in the plan too")
    p.add_argument("--group-size", type=int, default=1, metavar="N",
                   help="let up to N ready tasks of one class share a Prefect task run")
    p.add_argument("--report-complete", action="store_true",
                   help="show complete tasks in the Prefect flow run as Cached task runs")
    p.add_argument("--visualize", metavar="PATH",
                   help="write the plan as a picture coloured by decision: .html (self-"
                        "contained page), .svg, .png, .pdf or .mmd (mermaid)")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an error, not only its line")
    return p


def _task_params(task_cls: type[Task], extra: list[str], name: str) -> dict[str, str]:
    """``--param value`` or ``--Name-param value`` pairs (``--flag`` alone for booleans) for
    the parameters of the task called ``name`` on the command line; ``--Name-param`` is
    luigi's (luisy 1.x's) form, for a parameter named like one of luisy's options."""
    params = dict(task_cls.get_params())
    family = task_cls.get_task_family()
    values: dict[str, str] = {}
    i = 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith("--"):
            raise CommandLineError(f"unexpected argument {arg!r}")
        param, _, inline = arg[2:].partition("=")
        param = param.removeprefix(f"{name}-").replace("-", "_")
        if param not in params:
            known = ", ".join(f"--{n}" for n in params) or "none"
            raise CommandLineError(f"{family} has no parameter --{param} (parameters: {known})")
        if param in values:
            raise CommandLineError(f"{family}: parameter --{param} is given twice")
        if inline:
            values[param] = inline
        elif isinstance(params[param], BoolParameter) and (
                i + 1 == len(extra) or extra[i + 1].startswith("--")):
            values[param] = "true"
        else:
            i += 1
            if i == len(extra):
                raise CommandLineError(f"{family}: --{param} needs a value")
            values[param] = extra[i]
        i += 1
    return values


def _task_class(module: str, name: str) -> type[Task]:
    """The task class ``name`` of ``module``; whatever stops the module importing (a missing
    module, a syntax error, an exception its code raises, a ``sys.exit()`` in it) is one line
    naming both."""
    try:
        mod = importlib.import_module(module)
    except (Exception, SystemExit) as exc:
        where = ""
        if isinstance(exc, ModuleNotFoundError) and exc.name and \
                (module + ".").startswith(exc.name + "."):
            where = f" (looked in the current dir {os.getcwd()} and the installed packages)"
        raise CommandLineError(f"cannot import module {module!r}: {_described(exc)}{where}"
                               ) from exc
    task_cls = getattr(mod, name, None)
    if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
        found = sorted(n for n, v in vars(mod).items() if isinstance(v, type)
                       and issubclass(v, Task) and v.__module__.split(".")[0] != "luisy")
        raise CommandLineError(f"{module} has no task class {name!r} "
                               f"(its task classes: {', '.join(found) or 'none'})")
    return task_cls


def load_task(module: str, name: str, str_params: list[str], *,
              luisy_took: Collection[str] = ()) -> Task:
    """The task named on the command line (import it with the current dir importable).

    ``luisy_took`` names luisy's options that were given and are not luisy 1.x's. A task
    parameter of one of those names is refused unless given as ``--Name-param``: a bare
    ``--workers 4`` could be meant for either, and guessing would run something other than
    asked. luisy 1.x's own options (``--working-dir``, ``--dry-run``, ``--no-ask``, ...) are
    luisy's as they always were (1.x took them before the task saw the command line), so
    1.x scripts keep their meaning; the task's are given as ``--Name-param`` there too.
    """
    task_cls = _task_class(module, name)
    values = _task_params(task_cls, str_params, name)
    params = dict(task_cls.get_params())
    for option in luisy_took:
        if option in params and option not in values:
            flag = option.replace("_", "-")
            raise CommandLineError(
                f"{task_cls.get_task_family()}: --{flag} is luisy's option and also this "
                f"task's parameter {option!r}; give the task's as --{name}-{flag} VALUE "
                f"(--{flag} is then luisy's)")
    return task_cls.from_str_params(values)


def _existing_part(path: str) -> str:
    """``path``, or its nearest ancestor that exists (what creating it would start from)."""
    path = os.path.abspath(path)
    while not os.path.exists(path) and os.path.dirname(path) != path:
        path = os.path.dirname(path)
    return path


def _working_dir(settings: Settings) -> str:
    """The build's working dir, refused at once when unset or when it (or a folder on the
    way to it) is a file: planning would otherwise fail deep inside with the path of a hash
    file the user never named."""
    working_dir = settings.get_param("working_dir")
    if not working_dir:
        raise WorkingDirError("no working dir: give --working-dir DIR or set the WORKING_DIR "
                              "environment variable")
    working_dir = str(working_dir)
    existing = _existing_part(working_dir)
    if not os.path.isdir(existing):
        where = "" if existing == os.path.abspath(working_dir) else f": {existing}"
        raise WorkingDirError(f"working dir {working_dir}{where} is a file, not a folder")
    return working_dir


def _check_writable(plan: Plan, working_dir: str) -> None:
    """Refuse, before anything runs, a build whose outputs and recorded keys (in each
    project folder of the working dir) cannot be written: else every task would fail alike.
    Checked only when something is to be written, so a dry run or a build with nothing to do
    works on a read-only working dir; ``os.access`` answers as the kernel will, for root
    too."""
    for folder in sorted({s.record.folder for s in plan.to_run if s.record}):
        existing = _existing_part(folder)
        if not os.access(existing, os.W_OK | os.X_OK):
            raise WorkingDirError(f"working dir {working_dir}: cannot write in {existing} "
                                  "(permission denied); nothing was run")


class ProgressPrinter:
    """One line per task as it starts failing or finishes: ``[ 3/10] done   Task(...) 0.2s``."""

    def __init__(self, total: int, out: TextIO):
        self.total = total
        self.finished = 0
        self.out = out

    def __call__(self, event: str, step: Step, seconds: float) -> None:
        if event == "start":
            return
        self.finished += 1
        timing = f"  {seconds:.2f}s" if event in ("done", "failed") else ""
        width = len(str(self.total))
        print(f"[{self.finished:>{width}}/{self.total}] {event:<15} {step.task}{timing}",
              file=self.out, flush=True)


def _confirm(plan: Plan, out: TextIO) -> bool:
    replaced = [s for s in plan.to_run if s.output_exists]
    if not replaced:
        return True
    print(f"{len(replaced)} outdated output(s) will be replaced:", file=out)
    for s in replaced[:20]:
        print(f"  {s.location}  ({s.reason})", file=out)
    try:
        answer = input("Continue? [y/N] ")
    except EOFError:
        print("No answer (no terminal): nothing was run. Use --no-ask to run without asking.",
              file=out)
        return False
    return answer.strip().lower() in ("y", "yes")


@contextlib.contextmanager
def _temporary_server_settings() -> Iterator[None]:
    """Without PREFECT_API_URL Prefect starts a temporary server: its telemetry reports
    failures on closed networks to the terminal, and its 20 s start-up limit is too short on a
    busy 2-core machine. That server is the command's, so it reports nothing and may take its
    time (Prefect settings of this command only: its environment is left alone)."""
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_SERVER_ANALYTICS_ENABLED,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS,
        temporary_settings,
    )

    if PREFECT_API_URL.value():
        yield
        return
    with temporary_settings(updates={PREFECT_SERVER_ANALYTICS_ENABLED: False,
                                     PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS: 120}):
        yield


@contextlib.contextmanager
def _prefect_errors_after() -> Iterator[None]:
    """Prefect's console lines at ERROR and above wait until the code inside has printed
    (the build's summary), so a failure reads luisy's line naming the task and its error
    first, and the task's traceback after it; none is lost. The flow run's ``BuildFailed``
    (or ``PrefectServerError``: its server was lost) is dropped: it repeats that summary with
    a traceback of luisy's scheduler, as do luisy's own lines marked ``REPEATS_SUMMARY``. The server
    gets every line as it happens (only console handlers hold them back)."""
    from luisy.logs import _console_handlers

    held: list[tuple[logging.Handler, logging.LogRecord]] = []

    class HoldBack(logging.Filter):
        def __init__(self, handler: logging.Handler):
            super().__init__()
            self.handler = handler

        def filter(self, record: logging.LogRecord) -> bool:
            if record.levelno < logging.ERROR:
                return True
            repeat = (getattr(record, REPEATS_SUMMARY, False) or (record.exc_info
                      and isinstance(record.exc_info[1], (BuildFailed, PrefectServerError))))
            if not repeat:
                held.append((self.handler, record))
            return False

    filters = [HoldBack(handler) for handler in _console_handlers()]
    for f in filters:
        f.handler.addFilter(f)
    try:
        yield
    finally:
        for f in filters:
            f.handler.removeFilter(f)
        for handler, record in held:
            handler.handle(record)


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command on ``argv`` (``sys.argv[1:]``) and return its exit code: 0 when all
    went well, 1 for a failed build or an unexpected error, 2 for a mistake on the command
    line or in the project (luisy's :class:`~luisy.errors.LuisyError`). A mistake is one line
    on stderr; ``--debug`` prints its traceback too. ``KeyboardInterrupt`` goes through."""
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        if argv[:1] and argv[0] in SUBCOMMANDS:
            return SUBCOMMANDS[argv[0]][1](argv[1:])
        return _command(argv, out)
    except LuisyError as exc:
        return _failed(exc, f"luisy: {exc}", 2, debug)
    except Exception as exc:
        hint = "" if debug else " (run with --debug for the traceback)"
        return _failed(exc, f"luisy: {_described(exc)}{hint}", 1, debug)


def _described(exc: BaseException) -> str:
    """``Type: message``, or the type alone for an exception without a message."""
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _failed(exc: Exception, line: str, code: int, debug: bool) -> int:
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    print(line, file=sys.stderr)
    return code


def _command(argv: list[str], out: TextIO) -> int:
    parser = _parser()
    try:
        args, extra = parser.parse_known_args(argv)
    except SystemExit as exc:  # --help, --version or a usage error: argparse has said it
        return exc.code if isinstance(exc.code, int) else 2
    given = parser.given(argv)
    if given.count("module") > 1:
        raise CommandLineError(f"--module is given more than once; if {args.task} has a "
                               f"parameter named module, give it as --{args.task}-module VALUE")
    if args.local_scheduler:
        print("luisy: --local-scheduler is luigi's (luisy 1.x); luisy 2 runs on Prefect and "
              "ignores it", file=sys.stderr)
    settings = for_build({
        "working_dir": os.path.abspath(args.working_dir) if args.working_dir else None,
        "dry_run": args.dry_run, "no_ask": args.no_ask,
        "hash_update_mode": args.hash_update_mode, "download": args.download,
        "upload": args.upload, "spark_block": args.spark_block, "remote": args.remote,
        "remote_block": args.remote_block, "remote_layout": args.remote_layout,
        "download_group_size": args.download_group_size,
        **{name: getattr(args, name) for name in _SETTING_FLAGS},
    })
    working_dir = _working_dir(settings)
    # --module is luisy's (it is required: one is luisy's, a second is refused above), as
    # are 1.x's options (see load_task)
    took = set(given) - {"module", *_OPTIONS_1X}
    # modules of the current dir import, as with ``python -m``, for this command only
    with use(settings), importable_from(os.getcwd()):
        task = load_task(args.module, args.task, extra, luisy_took=took)
        with remote_for_build(settings):
            return _plan_and_run(task, args, working_dir, out)


def _plan_and_run(task: Task, args: argparse.Namespace, working_dir: str, out: TextIO) -> int:
    plan = plan_build(task, force=args.force or (), verify=args.verify)
    print(plan.format(show_complete=args.show_complete or len(plan.steps) <= 30), file=out)
    if args.visualize:
        from luisy.visualize import save_plan_picture

        print(f"plan picture: {save_plan_picture(plan, args.visualize)}", file=out)
    for unchecked in plan.check_errors():
        print(f"\nluisy: {unchecked}: {plan.steps[unchecked].reason}", file=sys.stderr)
    missing = plan.missing_external()
    if missing:
        print(f"\nluisy: {MissingExternalError(missing)}", file=sys.stderr)
    if missing or plan.check_errors():
        return 1
    if args.dry_run or not (plan.to_run or args.hash_update_mode or args.report_complete):
        return 0
    _check_writable(plan, working_dir)
    if not args.hash_update_mode and not args.no_ask and not _confirm(plan, out):
        return 1
    from luisy.logs import prefect_console_quiet

    with _temporary_server_settings(), prefect_console_quiet(), _prefect_errors_after():
        summary = execute_plan(plan, workers=args.workers,
                               progress=ProgressPrinter(len(plan.to_run), out),
                               report_complete=args.report_complete,
                               group_size=args.group_size)
        if args.hash_update_mode:
            print(f"Recorded current keys for {len(summary.adopted)} existing output(s).",
                  file=out)
        print(f"\n{summary}", file=out, flush=True)
    url = _flow_run_url(summary)
    if url:
        print(f"flow run: {url}", file=out)
    print(_verdict(summary), file=out)
    return 0 if summary.ok else 1


def _flow_run_url(summary: BuildSummary) -> str | None:
    """Where the build's flow run shows in the Prefect UI: only for a server the user
    configured (``PREFECT_UI_URL``, or derived by Prefect from ``PREFECT_API_URL``), not for
    the temporary one a command starts when none is, which is gone when the command ends."""
    from prefect.settings import get_current_settings

    ui = get_current_settings().ui_url
    if not ui or summary.flow_run_id is None:
        return None
    return f"{ui.rstrip('/')}/runs/flow-run/{summary.flow_run_id}"


def _verdict(summary: BuildSummary) -> str:
    """The closing line of luisy 1.x (luigi's), which users and their scripts look for."""
    if summary.ok:
        return ("This progress looks :) because there were no failed tasks or missing "
                "dependencies")
    if summary.server_lost and not summary.failed:
        return "This progress looks :( because the Prefect server stopped answering"
    cause = "missing dependencies" if summary.missing_external else "failed tasks"
    return f"This progress looks :( because there were {cause}"


def luisy_run(argv: Sequence[str] | None = None) -> int:
    """luisy 1.x's name of the command's entry point."""
    return main(argv)


def run() -> None:
    """The ``luisy`` command: this process is luisy's, so Prefect's console stays quiet to
    the end (the temporary server says goodbye at exit), and Ctrl-C is one line and exit
    code 130 (with ``--debug``, its traceback)."""
    try:
        code = main()
    except KeyboardInterrupt:
        if "--debug" in sys.argv:
            raise
        print("luisy: interrupted", file=sys.stderr)
        code = 130  # a shell's code for a command stopped by Ctrl-C (128 + SIGINT)
    if "prefect" in sys.modules:
        from luisy.logs import quiet_prefect_console

        quiet_prefect_console()
    sys.exit(code)


__all__ += ["Decision", "load_task", "luisy_run", "parse_args"]
