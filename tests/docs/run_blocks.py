"""Run one documentation page's code blocks in order, as a reader would, in this process's
current dir: Python blocks in one namespace (a block of ``>>>`` lines as a doctest), shell
blocks with bash (``set -euo pipefail``). Tests a page defines (``test_*`` functions,
``Test*`` cases) are then run by pytest on the page's Python, so its fixtures work.

    python run_blocks.py BLOCKS.json    (a list of {"page", "line", "lang", "code"})

Exits 1 at the first block that fails, naming the page and the block's line.
"""
from __future__ import annotations

import doctest
import json
import subprocess
import sys
import traceback


def run_python(block: dict, namespace: dict) -> None:
    name = f"{block['page']}:{block['line']}"
    if block["code"].lstrip().startswith(">>>"):
        test = doctest.DocTestParser().get_doctest(block["code"], namespace, name,
                                                   block["page"], block["line"])
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS
                                       | doctest.NORMALIZE_WHITESPACE)
        runner.run(test, clear_globs=False)
        namespace.update(test.globs)  # the doctest ran on a copy: what it defined stays
        if runner.failures:
            raise AssertionError(f"the doctest at {name} failed (see above)")
        return
    exec(compile(block["code"], name, "exec"), namespace)


def run_bash(block: dict) -> None:
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + block["code"]],
                          capture_output=True, text=True, timeout=600)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise AssertionError(f"the shell block at {block['page']}:{block['line']} exited "
                             f"{done.returncode}")


def run_tests(blocks: list[dict], namespace: dict) -> None:
    """pytest on the page's Python blocks, when they define tests."""
    if not any(name.startswith(("test_", "Test")) for name in namespace):
        return
    module = "test_page_blocks.py"
    with open(module, "w") as fh:
        for block in blocks:
            if block["lang"] == "python" and not block["code"].lstrip().startswith(">>>"):
                fh.write(f"# {block['page']}:{block['line']}\n{block['code']}\n\n")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           "-n", "0", "-o", "addopts=", module], timeout=600)
    if done.returncode != 0:
        raise AssertionError(f"the tests {blocks[0]['page']} defines failed (see above)")


def main(path: str) -> int:
    with open(path) as fh:
        blocks = json.load(fh)
    namespace: dict = {"__name__": "__docs__"}
    for block in blocks:
        try:
            if block["lang"] == "python":
                run_python(block, namespace)
            else:
                run_bash(block)
        except Exception:
            traceback.print_exc()
            print(f"FAILED: the block at {block['page']}:{block['line']}", file=sys.stderr)
            return 1
    try:
        run_tests(blocks, namespace)
    except AssertionError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
