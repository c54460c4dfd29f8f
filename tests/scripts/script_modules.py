"""Runs a file of `scripts/`: loaded as a module (its functions called in-process) or as a user
runs it (a subprocess from the repository root)."""

import importlib.util
import os
import subprocess
import sys
import types

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPTS = os.path.join(REPO_ROOT, "scripts")


def load_script(name: str) -> types.ModuleType:
    """`scripts/<name>.py` executed as the module `efgrnet_<name>_script` (its flags defined)."""
    spec = importlib.util.spec_from_file_location(
        f"efgrnet_{name}_script", os.path.join(SCRIPTS, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(name: str, *args: str) -> subprocess.CompletedProcess:
    """`python scripts/<name>.py ARGS` from the repository root; output captured, not checked."""
    return subprocess.run(
        [sys.executable, os.path.join(SCRIPTS, f"{name}.py"), *args],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
