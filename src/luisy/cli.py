"""The ``luisy`` command (luisy 1.x form) and ``build`` for Python callers.

``luisy --module pkg.tasks TaskName --param value [--working-dir DIR] [--workers N]
[--dry-run] [--no-ask] [--hash-update-mode]`` prints the plan, asks before replacing outdated
outputs, then runs the plan as a Prefect flow and prints progress.
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import Any, TextIO

from luisy.config import for_build, use
from luisy.deployments import importable_from
from luisy.errors import CommandLineError, LuisyError, MissingExternalError
from luisy.parameters import BoolParameter
from luisy.planner import Decision, Plan, Step, make_plan
from luisy.runner import build, execute_plan
from luisy.summary import BuildSummary
from luisy.tasks.base import Task

__all__ = ["build", "main"]


#: settings luisy 1.x's command took as ``--name value`` (``--azure-storage-key`` is 1.x's
#: spelling of ``azure_account_key``)
_SETTING_FLAGS = ("requirements_path", "azure_storage_key", "azure_account_name",
                  "azure_container_name")


def parse_args(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]]:
    """luisy 1.x's ``parse_args``: the settings given as flags (switches always, values when
    given), and the rest of ``argv`` (module, task, its parameters) unparsed."""
    p = argparse.ArgumentParser(prog="luisy", add_help=False, allow_abbrev=False)
    for flag in ("download", "upload", "dry_run", "no_ask", "hash_update_mode"):
        p.add_argument(f"--{flag.replace('_', '-')}", dest=flag, action="store_true")
    for name in ("working_dir", *_SETTING_FLAGS):
        p.add_argument(f"--{name.replace('_', '-')}", dest=name)
    args, rest = p.parse_known_args(list(argv))
    return {k: v for k, v in vars(args).items() if v is not None}, rest


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="luisy",
        allow_abbrev=False,  # `--n 3` is a task parameter, never luisy's `--no-ask`
        description="Plan and run a luisy pipeline as a Prefect flow. Task parameters follow "
                    "the task name as --name value.",
    )
    p.add_argument("--module", required=True, help="module holding the task, e.g. pkg.tasks")
    p.add_argument("task", help="task class name")
    p.add_argument("--working-dir", help="root of all outputs (default: $WORKING_DIR)")
    p.add_argument("--workers", type=int, default=1, help="tasks running at once")
    p.add_argument("--dry-run", action="store_true", help="show the plan, run nothing")
    p.add_argument("--no-ask", action="store_true", help="do not ask before replacing outputs")
    p.add_argument("--hash-update-mode", action="store_true",
                   help="accept the current code as the keys of existing outputs; run nothing")
    p.add_argument("--local-scheduler", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--download", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--upload", action="store_true", help=argparse.SUPPRESS)
    for name in _SETTING_FLAGS:  # luisy 1.x took every setting as a flag
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, help=argparse.SUPPRESS)
    p.add_argument("--spark-block", help="name of a saved spark-session Prefect block")
    p.add_argument("--force", action="append", metavar="TASK",
                   help="rerun TASK (a class name, a task as it prints, or 'all') and what "
                        "depends on it, though complete; may be given more than once")
    p.add_argument("--show-complete", action="store_true",
                   help="list complete tasks in the plan too")
    p.add_argument("--group-size", type=int, default=1, metavar="N",
                   help="let up to N ready tasks of one class share a Prefect task run")
    p.add_argument("--report-complete", action="store_true",
                   help="show complete tasks in the Prefect flow run as Cached task runs")
    p.add_argument("--visualize", metavar="PATH",
                   help="write the plan as a picture coloured by decision: .html (self-"
                        "contained page), .svg, .png, .pdf or .mmd (mermaid)")
    return p


def _task_params(task_cls: type[Task], extra: list[str]) -> dict[str, str]:
    """``--name value`` pairs (``--flag`` alone for booleans) for the task's parameters."""
    params = dict(task_cls.get_params())
    values: dict[str, str] = {}
    i = 0
    while i < len(extra):
        arg = extra[i]
        if not arg.startswith("--"):
            raise CommandLineError(f"unexpected argument {arg!r}")
        name, _, inline = arg[2:].partition("=")
        name = name.replace("-", "_")
        if name not in params:
            known = ", ".join(f"--{n}" for n in params) or "none"
            raise CommandLineError(f"{task_cls.get_task_family()} has no parameter "
                                   f"--{name} (parameters: {known})")
        if inline:
            values[name] = inline
        elif isinstance(params[name], BoolParameter) and (
                i + 1 == len(extra) or extra[i + 1].startswith("--")):
            values[name] = "true"
        else:
            i += 1
            if i == len(extra):
                raise CommandLineError(f"--{name} needs a value")
            values[name] = extra[i]
        i += 1
    return values


def load_task(module: str, name: str, str_params: list[str]) -> Task:
    """The task named on the command line (import it with the current dir importable)."""
    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise CommandLineError(f"cannot import module {module!r}: {exc}") from None
    task_cls = getattr(mod, name, None)
    if not (isinstance(task_cls, type) and issubclass(task_cls, Task)):
        raise CommandLineError(f"{module} has no task class {name!r}")
    return task_cls.from_str_params(_task_params(task_cls, str_params))


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


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["validate-deployments"]:
        from luisy.deployments import main as validate

        return validate(argv[1:])
    args, extra = _parser().parse_known_args(argv)
    if args.local_scheduler:
        print("luisy: --local-scheduler is luigi's (luisy 1.x); luisy 2 runs on Prefect and "
              "ignores it", file=sys.stderr)
    settings = for_build({
        "working_dir": os.path.abspath(args.working_dir) if args.working_dir else None,
        "dry_run": args.dry_run, "no_ask": args.no_ask,
        "hash_update_mode": args.hash_update_mode, "download": args.download,
        "upload": args.upload, "spark_block": args.spark_block,
        **{name: getattr(args, name) for name in _SETTING_FLAGS},
    })
    # modules of the current dir import, as with ``python -m``, for this command only
    with use(settings), importable_from(os.getcwd()):
        try:
            return _plan_and_run(args, extra, out)
        except LuisyError as exc:
            print(f"luisy: {exc}", file=sys.stderr)
            return 2


def _plan_and_run(args: argparse.Namespace, extra: list[str], out: TextIO) -> int:
    plan = make_plan(load_task(args.module, args.task, extra), force=args.force or ())
    print(plan.format(show_complete=args.show_complete or len(plan.steps) <= 30), file=out)
    if args.visualize:
        from luisy.visualize import save_plan_picture

        print(f"plan picture: {save_plan_picture(plan, args.visualize)}", file=out)
    for task, why in plan.check_errors().items():
        print(f"\nluisy: {task}: cannot check its output: {why}", file=sys.stderr)
    missing = plan.missing_external()
    if missing:
        print(f"\nluisy: {MissingExternalError(missing)}", file=sys.stderr)
    if missing or plan.check_errors():
        return 1
    if args.dry_run or not (plan.to_run or args.hash_update_mode or args.report_complete):
        return 0
    if not args.hash_update_mode and not args.no_ask and not _confirm(plan, out):
        return 1
    from luisy.logs import prefect_console_quiet

    with _temporary_server_settings(), prefect_console_quiet():
        summary = execute_plan(plan, workers=args.workers,
                               progress=ProgressPrinter(len(plan.to_run), out),
                               report_complete=args.report_complete,
                               group_size=args.group_size)
    if args.hash_update_mode:
        print(f"Recorded current keys for {len(summary.adopted)} existing output(s).", file=out)
    print(f"\n{summary}", file=out)
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
    cause = "missing dependencies" if summary.missing_external else "failed tasks"
    return f"This progress looks :( because there were {cause}"


def luisy_run(argv: Sequence[str] | None = None) -> int:
    """luisy 1.x's name of the command's entry point."""
    return main(argv)


def run() -> None:
    """The ``luisy`` command: this process is luisy's, so Prefect's console stays quiet to
    the end (the temporary server says goodbye at exit)."""
    code = main()
    if "prefect" in sys.modules:
        from luisy.logs import quiet_prefect_console

        quiet_prefect_console()
    sys.exit(code)


__all__ += ["Decision", "load_task", "luisy_run", "parse_args"]
