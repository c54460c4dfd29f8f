"""Runs training child processes for the distributed tests: free ports, bounded waits, cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAND_IN_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stand_in_train_main.py")


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that were free a moment ago."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]


def child_env(**extra: str) -> dict[str, str]:
    """The test's environment with the repository importable and TF quiet, plus `extra`."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    env.pop("TF_CONFIG", None)
    env.update(extra)
    return env


def tf_config(ports: list[int], index: int) -> str:
    """TF_CONFIG of worker `index` in a cluster of workers on 127.0.0.1:`ports`."""
    workers = [f"127.0.0.1:{port}" for port in ports]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def run_stand_in(args: list[str], env: dict[str, str], timeout: float):
    """Runs `stand_in_train_main.py ARGS` to completion; the child is killed on timeout."""
    return subprocess.run(
        [sys.executable, STAND_IN_MAIN, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@contextlib.contextmanager
def started(commands: list[list[str]], envs: list[dict[str, str]]):
    """Starts one process per command; kills any that is still running on exit."""
    processes = []
    try:
        for command, env in zip(commands, envs, strict=True):
            processes.append(
                subprocess.Popen(
                    command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
                )
            )
        yield processes
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.communicate()
