"""Constants and a subprocess runner shared by the serving tests."""

from __future__ import annotations

import os
import subprocess
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CLASS_NAMES = ("circle", "rectangle", "triangle")
MAX_DETECTIONS = 20


def run_python(args: list[str], cwd: str, with_repo: bool = True, timeout: float = 180):
    """Runs `python args...` in a fresh process; `with_repo` puts the repository on its path."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    if with_repo:
        env["PYTHONPATH"] = REPO_ROOT
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
