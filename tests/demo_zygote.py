"""A warm interpreter that starts each of the suite's `paywitness demo` runs by forking itself.

A demo run spends about 1.3 s of CPU importing mitmproxy, Playwright, pytest and paywitness
before it does anything; the suite makes about 30 of them. This process imports all that once,
then, per request, forks a child that runs `paywitness.cli.main(args)` exactly as
`python -m paywitness.cli` would (its own process, its own output files, a normal interpreter
exit), so the run is the same run, only started warm.

Protocol, one JSON object per line: the request `{"args": [...], "stdout": PATH, "stderr":
PATH}` on stdin; the answers `{"pid": N}` as the child starts and `{"code": N}` when it ends (a
negative code: killed by that signal, as `subprocess` reports it), or `{"error": TEXT}` when this
process cannot fork safely (the asker then starts the run as a plain subprocess).
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Any


def _warm_up() -> None:
    """Import what every demo run imports (not the run's own modules: scenarios, conftests)."""
    import playwright.sync_api  # noqa: F401
    import pytest  # noqa: F401

    import paywitness.cli
    import paywitness.demo
    import paywitness.pytest_plugin.hooks
    import paywitness.session  # noqa: F401


def _threads() -> int:
    """Native threads of this process (a fork keeps only the caller's)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _answer(message: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


def _child(request: dict[str, Any]) -> int:
    """In the forked child: stdio to the request's files, then the run itself."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        os.dup2(out, fd)
        os.close(out)
    os.close(null)
    import paywitness.cli

    args = [str(a) for a in request["args"]]
    sys.argv = [str(paywitness.cli.__file__), *args]  # as `python -m paywitness.cli` sets it
    main = paywitness.cli.main
    try:
        return int(main(args) or 0)
    except SystemExit as e:
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:
        traceback.print_exc()
        return 1


def serve() -> int:
    # `python -m` puts the working directory first on the path, where a script puts its own
    # folder: the same path as a cold run, so the same distributions are found in the same
    # order (an editable install's metadata sits in the project folder), and pytest registers
    # the same plugins in the same order (the order of a scenario's parameters follows it).
    sys.path[0] = os.getcwd()
    _warm_up()
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        threads = _threads()
        if threads != 1:
            _answer({"error": f"{threads} threads here: a fork would not be safe"})
            continue
        pid = os.fork()
        if pid == 0:
            code = _child(request)
            sys.stdout.flush()
            sys.stderr.flush()
            return code  # the interpreter then exits as any run does (atexit, finalizers)
        _answer({"pid": pid})
        _, status = os.waitpid(pid, 0)
        _answer({"code": os.waitstatus_to_exitcode(status)})
    return 0


if __name__ == "__main__":
    sys.exit(serve())
