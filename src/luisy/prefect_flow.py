"""``luisy.flow(RootTask)``: a deployable Prefect flow whose form is the root task's parameters.

The flow's signature is built from the task's parameters (typed, with defaults, so the Prefect
UI renders a form) plus luisy's options. A run plans the root task exactly as ``build`` does and
runs what is not complete as task runs of this flow run.
"""
from __future__ import annotations

import datetime as dt
import inspect
from typing import Annotated, Any

from luisy.config import for_build, use
from luisy.errors import MissingExternalError, TargetError, TaskDefinitionError
from luisy.parameters import (
    BoolParameter,
    DateParameter,
    DictParameter,
    FloatParameter,
    IntParameter,
    ListParameter,
    MonthParameter,
    Parameter,
    TupleParameter,
)
from luisy.planner import make_plan
from luisy.runner import BuildFailed, prepare, run_in_current_flow
from luisy.tasks.base import Task

#: luisy's own options, after the task's parameters in the form
OPTIONS: dict[str, tuple[Any, Any]] = {
    "working_dir": (str | None, None),
    "workers": (int, 1),
    "dry_run": (bool, False),
    "hash_update_mode": (bool, False),
    "report_complete": (bool, False),
    "group_size": (int, 1),
    "spark_block": (str | None, None),
}


def _annotation(param: Parameter) -> Any:
    """The Python type of the form field, with the parameter's JSON schema: patterns for
    months and date intervals, typed list items; the server refuses a run whose values do not
    match (deployments enforce their parameter schema), before it starts."""
    from pydantic import WithJsonSchema

    python_type: Any = str
    if not isinstance(param, MonthParameter):  # YYYY-MM: a date picker would offer days
        for kind, annotation in ((BoolParameter, bool), (IntParameter, int),
                                 (FloatParameter, float), (DateParameter, dt.date),
                                 (ListParameter, list), (TupleParameter, list),
                                 (DictParameter, dict)):
            if isinstance(param, kind):
                python_type = annotation
                break
    return Annotated[python_type, WithJsonSchema(dict(param.json_schema))]


#: what luisy's options mean, in the run form
OPTION_DOCS = {
    "working_dir": "Where outputs and their keys live (default: the configured working dir).",
    "workers": "How many tasks run at once.",
    "dry_run": "Plan only: say what would run, run nothing.",
    "hash_update_mode": "Record the current keys of existing outputs; run nothing.",
    "report_complete": "Show complete tasks as Cached task runs too.",
    "group_size": "Up to this many ready tasks of one class share a task run.",
    "spark_block": "Name of the Prefect block that gives Spark tasks their session.",
}


def parameter_docs(task_cls: type[Task]) -> str:
    """The ``Args:`` section Prefect reads the form's field descriptions from."""
    described = [(name, " ".join(param.description.split()))
                 for name, param in task_cls.get_params() if param.description]
    described += list(OPTION_DOCS.items())
    return "\n\nArgs:\n" + "\n".join(f"    {name}: {text}" for name, text in described)


def flow_signature(task_cls: type[Task]) -> inspect.Signature:
    """Keyword parameters: the task's (required ones first), then luisy's options."""
    required, optional = [], []
    for name, param in task_cls.get_params():
        if name in OPTIONS:
            raise TaskDefinitionError(f"{task_cls.get_task_family()}: parameter '{name}' clashes "
                                      "with the luisy flow option of the same name")
        annotation = _annotation(param)
        if not param.has_default:
            required.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                              annotation=annotation))
            continue
        default = param.default
        shown = None if default is None else (
            default if isinstance(param, DateParameter) and not isinstance(param, MonthParameter)
            else param.to_json(default))
        optional.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                          default=shown, annotation=annotation | None
                                          if default is None else annotation))
    options = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                 annotation=annotation)
               for name, (annotation, default) in OPTIONS.items()]
    return inspect.Signature([*required, *optional, *options])


def _build_in_flow_run(task_cls: type[Task], task_names: list[str],
                       kwargs: dict[str, Any]) -> dict[str, list[str]]:
    root = task_cls(**{n: kwargs[n] for n in task_names if n in kwargs})
    plan = make_plan(root)
    summary, must_run = prepare(plan, kwargs.get("dry_run", False),
                                kwargs.get("hash_update_mode", False),
                                kwargs.get("report_complete", False))
    if summary.missing_external:
        raise MissingExternalError(plan.missing_external())
    if plan.check_errors():
        raise TargetError("\n".join(f"{task}: {plan.steps[task].reason}"
                                     for task in plan.check_errors()))
    if must_run:
        run_in_current_flow(plan, summary, kwargs.get("workers", 1),
                            report_complete=kwargs.get("report_complete", False),
                            group_size=kwargs.get("group_size", 1))
    else:
        from luisy.artifacts import Publisher, publish_plan

        publisher = Publisher()
        publisher.submit(publish_plan, plan)
        publisher.wait()
    if summary.failed:
        raise BuildFailed(str(summary))
    return {k: sorted(map(str, v)) for k, v in summary.as_dict().items()}


def flow(task_cls: type[Task], name: str | None = None, description: str | None = None,
         task_runner: Any = None, **flow_options: Any) -> Any:
    """A Prefect flow that builds ``task_cls`` from the parameters of its run.

    It is named like the flow of ``luisy.build(task_cls(...))`` and of the CLI
    (:meth:`~luisy.Task.get_flow_name`), so all runs of a pipeline show under one flow;
    ``name`` gives this flow another name (better: ``@luisy.prefect_options(flow_name=...)``
    on the class, which names all of them).
    """
    from prefect import flow as prefect_flow

    signature = flow_signature(task_cls)
    task_names = [n for n, _ in task_cls.get_params()]

    def run_pipeline(**kwargs: Any) -> dict[str, list[str]]:
        settings = for_build({"working_dir": kwargs.get("working_dir") or None,
                              "spark_block": kwargs.get("spark_block") or None})
        with use(settings):
            return _build_in_flow_run(task_cls, task_names, kwargs)

    run_pipeline.__signature__ = signature  # type: ignore[attr-defined]
    run_pipeline.__annotations__ = {p.name: p.annotation for p in signature.parameters.values()}
    run_pipeline.__name__ = task_cls.get_task_family()
    summary = description or inspect.getdoc(task_cls) or f"Build {task_cls.__name__}"
    run_pipeline.__doc__ = summary + parameter_docs(task_cls)  # the form's descriptions
    run_pipeline.__module__ = task_cls.__module__
    run_pipeline.__qualname__ = run_pipeline.__name__

    def run_name() -> str:
        from prefect.runtime import flow_run

        try:
            params = flow_run.parameters
            return str(task_cls(**{n: params[n] for n in task_names if n in params}))
        except Exception:  # a bad parameter fails the run itself, with the real message
            return task_cls.get_task_family()

    from prefect.task_runners import ThreadPoolTaskRunner

    return prefect_flow(
        run_pipeline,
        name=name or task_cls.get_flow_name(),
        flow_run_name=run_name,
        description=summary,
        task_runner=task_runner or ThreadPoolTaskRunner(max_workers=8),
        persist_result=False,
        validate_parameters=False,
        **flow_options,
    )
