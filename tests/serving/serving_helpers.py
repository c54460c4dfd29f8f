"""Constants and a subprocess runner shared by the serving tests."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys

import numpy as np
from PIL import Image

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


def run_export_script(script: str, config_path: str, checkpoint_dir: str, *flags: str) -> str:
    """Runs `scripts/<script>.py` on a config and checkpoint as a user does; asserts it succeeds
    and returns the last line it prints (the path it wrote)."""
    result = run_python(
        [
            os.path.join(REPO_ROOT, "scripts", f"{script}.py"),
            f"--config={config_path}",
            f"--checkpoint={checkpoint_dir}",
            *flags,
        ],
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


def export_with_script(config_path: str, checkpoint_dir: str, base: str, *flags: str) -> str:
    """Runs `scripts/export.py` as a user does into the new base folder `base`; returns
    `base/1`, the version it must report as its last line."""
    version_dir = os.path.join(base, "1")
    printed = run_export_script(
        "export", config_path, checkpoint_dir, f"--export_dir={base}", *flags
    )
    assert printed == version_dir
    return version_dir


def run_stock_tf_probe(saved_model_dir: str, image_paths: list[str], cwd: str) -> dict:
    """The JSON report of `stock_tf_probe.py` on an export, run from `cwd` without the repo."""
    probe = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stock_tf_probe.py")
    result = run_python([probe, saved_model_dir, *image_paths], cwd=cwd, with_repo=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def write_unreadable_images(folder) -> dict[str, str]:
    """A corrupt, a truncated and a non-image `.png`/`.jpg` in `folder`: `{name: the reason
    the image decoder gives, lower case}`."""
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    good = io.BytesIO()
    Image.fromarray(np.full((32, 32, 3), 7, np.uint8)).save(good, format="JPEG")
    (folder / "truncated.jpg").write_bytes(good.getvalue()[: len(good.getvalue()) // 2])
    (folder / "text.jpg").write_text("not an image")
    return {
        "corrupt.png": "invalid png",
        "truncated.jpg": "invalid jpeg data",
        "text.jpg": "unknown image file format",
    }
