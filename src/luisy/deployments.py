"""Strict checks for a ``prefect.yaml``: what ``prefect deploy`` would silently get wrong.

Prefect's own models for the file (``prefect.cli.deploy._models``) ignore unknown keys, and
``prefect deploy`` only *warns* about an invalid file and then skips its deployments. A typo
such as ``paramters:`` or ``work_pool: {job_variable: ...}`` is therefore dropped without a word,
and a luisy flow (which takes ``**kwargs``) even ignores an unknown parameter at run time.
:func:`validate_prefect_yaml` reports all of that as problems, so a test can fail on them:

- unknown keys at every level Prefect has a model for: the file, each deployment, its work pool,
  schedules, concurrency limit, SLAs and triggers (walked along what pydantic parsed, so the
  member of a union that Prefect would pick is the one checked);
- steps (``build``/``push``/``pull``): one ``module.function`` each, importable (or with
  ``requires``), called with arguments the function accepts; a template naming a step's output
  (``{{ checkout.directory }}``) names the ``id`` of a step that runs before it;
- each entrypoint loads (in the file's directory, as ``prefect deploy`` run there would) and is a
  flow; ``flow_name`` matches it; deployment names are unique per flow; a work pool is named;
- parameters (the deployment's and each schedule's) exist in the flow's parameter schema and
  match its types; with a schedule, every required parameter is given;
- job variables, when the pool's type is known (``pool_types``), match that worker type's
  variables.

Values still holding a ``{{ template }}`` are only resolved by Prefect later and are not
type-checked. Run it as ``python -m luisy.deployments [prefect.yaml]``.
"""
from __future__ import annotations

import contextlib
import inspect
import os
import sys
from collections.abc import Iterator, Mapping
from typing import Any

#: top-level keys Prefect ignores but documents: a place for YAML anchors (``&name``/``*name``)
DOCUMENTED_EXTRA_TOP_LEVEL = frozenset({"definitions"})

#: step inputs that Prefect consumes itself instead of passing them to the step function
STEP_KEYWORDS = frozenset({"requires", "id"})

STEP_SECTIONS = ("build", "push", "pull")


def validate_prefect_yaml(path: str | os.PathLike = "prefect.yaml", *,
                          pool_types: Mapping[str, str] | None = None,
                          load_entrypoints: bool = True) -> list[str]:
    """Problems found in the ``prefect.yaml`` at ``path``; an empty list means none.

    ``pool_types`` maps work-pool names to worker types (``{"luisy-process": "process"}``) so
    job variables can be checked. ``load_entrypoints=False`` skips importing the flows (and so
    the parameter checks), for a quick look at the file's shape.
    """
    import yaml

    path = os.path.abspath(path)
    try:
        with open(path) as fh:
            raw = yaml.safe_load(fh)
    except (OSError, yaml.YAMLError) as exc:
        return [f"{path}: cannot read: {exc}"]
    if not isinstance(raw, dict):
        return [f"{path}: the file must be a mapping, not {type(raw).__name__}"]
    root = os.path.dirname(path)
    problems = _check_top_level(raw)
    deployments = raw.get("deployments") or []
    if not isinstance(deployments, list):
        return [*problems, "deployments: must be a list"]
    seen: dict[str, str] = {}  # flow/deployment name -> where it was declared
    for index, deployment in enumerate(deployments):
        where = f"deployments[{index}]"
        if isinstance(deployment, dict) and deployment.get("name"):
            where += f" ({deployment['name']})"
        found, flow = _check_deployment(deployment, where, root, pool_types or {},
                                        load_entrypoints)
        problems += found
        if isinstance(deployment, dict):  # top-level steps are checked once per deployment
            problems += [p for p in _check_step_references(raw, deployment, where)
                         if p not in problems]
        if flow is not None:
            full_name = f"{flow.name}/{deployment.get('name')}"
            if full_name in seen:
                problems.append(f"{where}: '{full_name}' is already declared by {seen[full_name]}")
            seen.setdefault(full_name, where)
    return problems


# --------------------------------------------------------------------------------- the file
def _check_top_level(raw: dict[str, Any]) -> list[str]:
    from prefect.cli.deploy._models import PrefectYamlModel

    known = set(_accepted_keys(PrefectYamlModel)) | DOCUMENTED_EXTRA_TOP_LEVEL
    problems = [f"unknown top-level key '{key}'" for key in raw if key not in known]
    # deployments are checked one by one, with their names in the messages
    rest = {k: v for k, v in raw.items() if k in known - DOCUMENTED_EXTRA_TOP_LEVEL
            and k != "deployments"}
    problems += _validate_model(PrefectYamlModel, rest, "")
    for section in STEP_SECTIONS:
        problems += _check_steps(raw.get(section), section)
    return problems


# --------------------------------------------------------------------------- a deployment
def _check_deployment(deployment: Any, where: str, root: str, pool_types: Mapping[str, str],
                      load_entrypoints: bool) -> tuple[list[str], Any]:
    """Problems of one deployment, and its flow when the entrypoint loaded."""
    from prefect.cli.deploy._models import DeploymentConfig

    if not isinstance(deployment, dict):
        return [f"{where}: must be a mapping"], None
    problems = _validate_model(DeploymentConfig, deployment, where)
    for section in STEP_SECTIONS:
        problems += _check_steps(deployment.get(section), f"{where}.{section}")
    problems += _check_triggers(deployment.get("triggers"), where)
    if not deployment.get("name"):
        problems.append(f"{where}: no name")
    work_pool = deployment.get("work_pool")
    pool = work_pool.get("name") if isinstance(work_pool, dict) else None
    if not pool:
        problems.append(f"{where}: no work_pool.name (`prefect deploy --all` needs one)")
    elif pool in pool_types and isinstance(work_pool.get("job_variables"), dict):
        problems += _check_job_variables(work_pool["job_variables"], pool_types[pool],
                                         f"{where}.work_pool.job_variables")
    entrypoint = deployment.get("entrypoint")
    if not entrypoint:
        return [*problems, f"{where}: no entrypoint"], None
    if not load_entrypoints:
        return problems, None
    flow, problem = _load_flow(str(entrypoint), root)
    if problem:
        return [*problems, f"{where}: entrypoint {entrypoint}: {problem}"], None
    if deployment.get("flow_name") not in (None, flow.name):
        problems.append(f"{where}: flow_name '{deployment['flow_name']}' is not the "
                        f"entrypoint's flow '{flow.name}'")
    return problems + _check_parameters(deployment, flow, where), flow


# ----------------------------------------------------------------------- unknown keys / types
def _accepted_keys(model: type) -> dict[str, str]:
    """Every key pydantic accepts for ``model`` (names, aliases, alias choices) -> its field."""
    from pydantic import AliasChoices

    keys: dict[str, str] = {}
    for name, info in model.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias]
        for key in (name, info.alias, *choices):
            if isinstance(key, str):
                keys[key] = name
    return keys


def _unknown_keys(data: Any, parsed: Any, where: str) -> Iterator[str]:
    """Keys in ``data`` that no field of the model pydantic parsed it into takes, recursively.

    Walking the parsed value (not the declared type) follows the union member pydantic chose,
    e.g. the schedule shape Prefect will actually use.
    """
    from pydantic import BaseModel, RootModel

    if isinstance(parsed, RootModel):  # e.g. a trigger's `match`: a dict of free keys
        yield from _unknown_keys(data, parsed.root, where)
    elif isinstance(parsed, BaseModel) and isinstance(data, dict):
        fields = _accepted_keys(type(parsed))
        for key, value in data.items():
            if key not in fields:
                yield f"{where}: unknown key '{key}'"
            else:
                yield from _unknown_keys(value, getattr(parsed, fields[key]), f"{where}.{key}")
    elif isinstance(parsed, (list, tuple)) and isinstance(data, list):
        for i, (item, parsed_item) in enumerate(zip(data, parsed, strict=False)):
            yield from _unknown_keys(item, parsed_item, f"{where}[{i}]")
    elif isinstance(parsed, dict) and isinstance(data, dict):
        for key, value in data.items():
            if key in parsed:
                yield from _unknown_keys(value, parsed[key], f"{where}.{key}")


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and "{{" in value


def _validate_model(model: Any, data: Any, where: str) -> list[str]:
    """Pydantic errors (one per place, templated values exempt) and the unknown keys.

    ``model`` is a pydantic model class or a ``TypeAdapter``. Fields with errors are left out
    and the rest validated again, so a typo elsewhere (``paramters:``) is still reported.
    """
    from pydantic import BaseModel, ValidationError

    validate = model.model_validate if isinstance(model, type) and issubclass(
        model, BaseModel) else model.validate_python
    problems: list[str] = []
    while True:
        try:
            parsed = validate(data)
        except ValidationError as exc:
            problems += [p for p in _format_errors(exc, data, where) if p not in problems]
            broken = {e["loc"][0] for e in exc.errors() if e["loc"]}
            if not isinstance(data, dict) or not broken & set(data):
                return problems
            data = {k: v for k, v in data.items() if k not in broken}
            continue
        return problems + list(_unknown_keys(data, parsed, where or "top level"))


def _format_errors(exc: Any, data: Any, where: str) -> list[str]:
    """One line per error, located by the keys of ``data`` (not pydantic's union tags).

    When a value matches no member of a union, pydantic reports every member's complaints;
    only the first member's are kept: it is the shape Prefect documents (``cron:`` with
    ``active:`` for a schedule), so its complaints are the ones that make sense to the reader.
    """
    first_member: dict[str, str] = {}
    lines: list[str] = []
    for error in exc.errors():
        node, path, union = data, where, None
        for part in error["loc"]:
            if isinstance(node, dict) and part in node:
                node, path = node[part], f"{path}.{part}"
            elif isinstance(node, list) and isinstance(part, int) and part < len(node):
                node, path = node[part], f"{path}[{part}]"
            elif union is None:  # a union member's tag: where the union is, and which member
                union = (path, str(part))
        if union and first_member.setdefault(union[0], union[1]) != union[1]:
            continue
        if _is_template(error.get("input")):
            continue
        path = path.lstrip(".")
        if error["type"] == "extra_forbidden":
            parent, _, key = path.rpartition(".")
            line = f"{parent or 'top level'}: unknown key '{key}'"
        else:
            line = f"{path or 'top level'}: {error['msg']}"
        if line not in lines:
            lines.append(line)
    return lines


# ------------------------------------------------------------------------------------ steps
def _check_steps(steps: Any, where: str) -> list[str]:
    """Each step is ``{module.function: {inputs}}``, as Prefect's ``run_step`` reads it."""
    if steps is None:
        return []
    if isinstance(steps, dict):  # Prefect accepts a single step without the list
        steps = [steps] if steps else []
    if not isinstance(steps, list):
        return [f"{where}: must be a list of steps"]
    problems = []
    for i, step in enumerate(steps):
        here = f"{where}[{i}]"
        if not isinstance(step, dict) or len(step) != 1:
            problems.append(f"{here}: a step is one mapping `module.function: {{inputs}}`")
            continue
        ((fqn, inputs),) = step.items()
        inputs = inputs or {}
        if not isinstance(inputs, dict):
            problems.append(f"{here}: the inputs of {fqn} must be a mapping")
            continue
        problems += _check_step_call(fqn, inputs, here)
    return problems


def _check_step_call(fqn: str, inputs: dict[str, Any], where: str) -> list[str]:
    from prefect.utilities.importtools import import_object

    try:
        func = import_object(fqn)
    except (ImportError, AttributeError, ValueError) as exc:
        if "requires" in inputs:  # Prefect installs it where the step runs
            return []
        return [f"{where}: cannot import {fqn} ({exc}) and no `requires:` says what to install"]
    try:
        signature = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    params = signature.parameters
    given = set(inputs) - STEP_KEYWORDS
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params.values())
    unknown = [] if takes_any else sorted(given - set(params))
    missing = [name for name, p in params.items() if p.default is p.empty
               and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and name not in given]
    return ([f"{where}: {fqn} takes no input '{key}'" for key in unknown]
            + [f"{where}: {fqn} needs input '{name}'" for name in missing])


def _check_step_references(raw: dict[str, Any], deployment: dict[str, Any],
                           where: str) -> list[str]:
    """Templates such as ``{{ checkout.directory }}`` name the ``id`` of an earlier step.

    Prefect fills them with that step's output: build and push outputs when ``prefect deploy``
    runs, earlier pull outputs when a run starts. A misspelt id is left in the deployment as it
    is and dropped when the run starts, so the pull step is called without that input. The steps
    are those ``prefect deploy`` uses for the deployment: its own ``build``/``push``/``pull``
    replace the file's.
    """
    from prefect.utilities.templating import PlaceholderType, find_placeholders

    own = [section for section in STEP_SECTIONS if section in deployment]
    ids: set[str] = set()
    problems = []
    for section in STEP_SECTIONS:
        steps, label = ((deployment[section], f"{where}.{section}") if section in own
                        else (raw.get(section), section))
        if isinstance(steps, dict):
            steps = [steps]
        for i, step in enumerate(steps if isinstance(steps, list) else []):
            if not isinstance(step, dict) or len(step) != 1:
                continue  # _check_steps reported it
            ((_, inputs),) = step.items()
            if not isinstance(inputs, dict):
                continue
            names = {placeholder.name for text in _strings(inputs, skip=STEP_KEYWORDS)
                     for placeholder in find_placeholders(text)
                     if placeholder.type is PlaceholderType.STANDARD}
            for name in sorted(names):
                step_id, dot, _ = name.partition(".")
                if dot and step_id not in ids:
                    problems.append(
                        f"{label}[{i}]: '{{{{ {name} }}}}' is the output of a step with id "
                        f"'{step_id}', but no step before it has that id"
                        + (f" (for {where}: its own {'/'.join(own)} "
                           f"replace{'s' * (len(own) == 1)} the file's)"
                           if own and label == section else ""))
            if inputs.get("id"):
                ids.add(str(inputs["id"]))
    return problems


def _strings(value: Any, skip: frozenset[str] = frozenset()) -> Iterator[str]:
    """Every string in a nest of dicts and lists (``skip``: keys of the outer dict to leave)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key not in skip:
                yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# --------------------------------------------------------------------------- triggers, pools
def _check_triggers(triggers: Any, where: str) -> list[str]:
    """Triggers stay raw dicts in Prefect's model; ``prefect deploy`` parses them later with
    this adapter, after the deployment was already created."""
    if not isinstance(triggers, list):
        return []
    from prefect.cli.deploy._triggers import DeploymentTriggerAdapter

    problems = []
    for i, spec in enumerate(triggers):
        if isinstance(spec, dict):
            spec = {"name": f"trigger {i}", **spec}  # Prefect names unnamed triggers
        problems += _validate_model(DeploymentTriggerAdapter, spec, f"{where}.triggers[{i}]")
    return problems


def _check_job_variables(job_variables: dict[str, Any], pool_type: str,
                         where: str) -> list[str]:
    """Job variables against the variables of the worker type's default base job template."""
    from prefect.workers.base import BaseWorker

    worker = BaseWorker.get_worker_class_from_type(pool_type)
    if worker is None:
        return [f"{where}: unknown work pool type '{pool_type}' (worker not installed here)"]
    schema = worker.get_default_base_job_template()["variables"]
    known = schema.get("properties", {})
    problems = [f"{where}: unknown job variable '{key}' for a '{pool_type}' pool"
                for key in job_variables if key not in known]
    return problems + _schema_errors({k: v for k, v in job_variables.items() if k in known},
                                     schema, where)


def _schema_errors(values: dict[str, Any], schema: dict[str, Any], where: str) -> list[str]:
    """Type errors of ``values`` against a JSON schema, as Prefect's server would check them
    (templated values exempt, required ones not demanded)."""
    from prefect.utilities.schema_tools.validation import validate

    checked = {k: v for k, v in values.items() if not _is_template(v)}
    errors = validate(checked, schema, ignore_required=True)
    return [f"{'.'.join([where, *map(str, error.path)])}: {error.message}" for error in errors]


# ------------------------------------------------------------------------ flows, parameters
@contextlib.contextmanager
def importable_from(root: str) -> Iterator[None]:
    """``root`` first on ``sys.path`` while loading: entrypoints import their project's
    packages (``from flows.sales.tasks import ...``) as they do on the worker, run from there."""
    sys.path.insert(0, root)
    try:
        yield
    finally:
        with contextlib.suppress(ValueError):
            sys.path.remove(root)


def _load_flow(entrypoint: str, root: str) -> tuple[Any, str | None]:
    """The flow at ``path/file.py:name`` (relative to ``root``), or why it cannot be had.

    Prefect's own loader falls back to a placeholder built from the source when the import
    fails; that hides the error and cannot see a flow made by ``luisy.flow``, so it is off.
    """
    from prefect.flows import Flow, load_flow_from_entrypoint

    file, sep, name = entrypoint.rpartition(":")
    if not sep or not file.endswith(".py"):
        return None, "expected `path/to/file.py:flow_name`"
    full = os.path.join(root, file)
    if not os.path.isfile(full):
        return None, f"no file {full}"
    try:
        with importable_from(root):
            flow = load_flow_from_entrypoint(f"{full}:{name}", use_placeholder_flow=False)
    except Exception as exc:  # any error of the user's module is the problem to report
        cause = getattr(exc, "user_exc", None) or exc  # a ScriptError wraps the module's own
        return None, f"does not load: {type(cause).__name__}: {cause}"
    if not isinstance(flow, Flow):
        return None, f"{name} is not a Prefect flow"
    return flow, None


def _check_parameters(deployment: dict[str, Any], flow: Any, where: str) -> list[str]:
    """Deployment and schedule parameters against the flow's parameter schema.

    The server validates run parameters against this schema only when a run is created, and
    a luisy flow ignores names it does not know: a misspelt parameter would silently run the
    default. With a schedule nobody is there to fill in required parameters, so they must be
    given in the file.
    """
    from prefect.utilities.callables import parameter_schema

    schema = parameter_schema(flow).model_dump_for_openapi()
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    given = deployment.get("parameters") or {}
    schedules = [(f"{where}.schedules[{i}]", s)
                 for i, s in enumerate(deployment.get("schedules") or [])]
    if deployment.get("schedule"):  # the deprecated single form
        schedules.append((f"{where}.schedule", deployment["schedule"]))
    sources = [(f"{where}.parameters", given)] + [
        (f"{label}.parameters", s["parameters"]) for label, s in schedules
        if isinstance(s, dict) and s.get("parameters")]
    problems = []
    for here, values in sources:
        if not isinstance(values, dict):
            continue  # the model check reported it
        problems += [f"{here}: '{key}' is not a parameter of flow '{flow.name}' (it has: "
                     f"{', '.join(properties)})" for key in values if key not in properties]
        problems += _schema_errors({k: v for k, v in values.items() if k in properties},
                                   schema, here)
    if isinstance(given, dict):
        for label, schedule in schedules:
            extra = schedule.get("parameters") if isinstance(schedule, dict) else None
            missing = required - set(given) - set(extra or {})
            problems += [f"{label}: required parameter '{name}' is not given "
                         "(a scheduled run has nobody to ask)" for name in sorted(missing)]
    return problems


def main(argv: list[str] | None = None) -> int:
    """``luisy validate-deployments [prefect.yaml ...]`` (or ``python -m luisy.deployments``):
    print problems, exit 1 if any; ``--help`` says so, an unknown option is a usage error
    (exit 2), not a file that cannot be read."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="luisy validate-deployments", allow_abbrev=False,
        description="Check prefect.yaml files strictly: keys, entrypoints, parameters.")
    parser.add_argument("paths", nargs="*", metavar="prefect.yaml",
                        help="the files to check (default: prefect.yaml)")
    try:
        paths = parser.parse_args(sys.argv[1:] if argv is None else argv).paths
    except SystemExit as exc:  # --help or a usage error: argparse has said it
        return exc.code if isinstance(exc.code, int) else 2
    paths = paths or ["prefect.yaml"]
    problems = [f"{path}: {p}" for path in paths for p in validate_prefect_yaml(path)]
    for problem in problems:
        print(problem)
    if not problems:
        print(f"{', '.join(paths)}: ok")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
