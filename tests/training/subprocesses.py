"""Runs training child processes for the distributed tests: free ports, bounded waits,
captured output, cleanup."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STAND_IN_MAIN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stand_in_train_main.py")


def free_ports(count: int) -> list[int]:
    """`count` distinct TCP ports on 127.0.0.1 that were free a moment ago (see `run_cluster`
    for what happens when one is taken before a worker binds it)."""
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


def run_together(
    commands: list[list[str]], envs: list[dict[str, str]], log_dir: str, timeout: float
) -> list[tuple[int, str]]:
    """Runs the commands at the same time; returns each one's (exit status, stdout + stderr).

    When one process fails, the others are killed (a worker whose peer is gone would wait for
    it until `timeout`). So is any process still running `timeout` seconds after the start;
    killed processes report status -9. Output goes to `log_dir/process<i>.log` (files, not
    pipes, so that a chatty process never blocks on a full pipe).
    """
    processes, logs = [], []
    deadline = time.monotonic() + timeout
    try:
        for i, (command, env) in enumerate(zip(commands, envs, strict=True)):
            log = open(os.path.join(log_dir, f"process{i}.log"), "w+")  # noqa: SIM115
            logs.append(log)
            processes.append(
                subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, text=True)
            )
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            if any(p.poll() not in (None, 0) for p in processes):
                break
            time.sleep(0.2)
        results = []
        for process, log in zip(processes, logs, strict=True):
            if process.poll() is None:
                process.kill()
            process.wait()
            log.seek(0)
            results.append((process.returncode, log.read()))
        return results
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()


# What a TensorFlow worker prints when its port was taken after `free_ports` chose it.
PORT_TAKEN = "Could not start gRPC server"


def run_cluster(
    worker_command: Callable[[int], list[str]], num_workers: int, log_dir: str, timeout: float
) -> list[tuple[int, str]]:
    """Runs `num_workers` workers `worker_command(index)` on localhost with their TF_CONFIG.

    Ports are chosen free, then released for the workers to bind; another process may take
    one in between, so a start that fails on a taken port is retried with new ports (twice).
    Returns `run_together`'s results of the last start.
    """
    for _ in range(3):
        ports = free_ports(num_workers)
        envs = [child_env(TF_CONFIG=tf_config(ports, i)) for i in range(num_workers)]
        commands = [worker_command(i) for i in range(num_workers)]
        results = run_together(commands, envs, log_dir, timeout)
        if not any(PORT_TAKEN in output for _, output in results):
            break
    return results


def describe(results: list[tuple[int, str]]) -> str:
    """Every process' exit status and output, for an assertion message."""
    return "\n".join(
        f"--- process {i}: exit status {status} ---\n{output}"
        for i, (status, output) in enumerate(results)
    )
