"""`scripts/benchmark_train_step.py` times a config's training step in each precision."""

import os
import re
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_TINY = [
    "--config=configs/shapes_vgg16_128.yaml",
    "--override=model.width_multiplier=0.0625",
    "--override=train.global_batch_size=2",
    "--rounds=1",
]


def _run(*args):
    return subprocess.run(
        [sys.executable, "scripts/benchmark_train_step.py", *_TINY, *args],
        cwd=REPO_ROOT,
        env=dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2"),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_each_precision_gets_a_step_time_and_its_ratio_to_the_first():
    completed = _run("--precisions=float32,mixed_float16")

    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    assert "shapes_vgg16_128: batch 2, 128px" in out
    rows = re.findall(r"^  (\S+) +([\d.]+) ms/step +([\d.]+)x float32$", out, re.MULTILINE)
    assert [precision for precision, _, _ in rows] == ["float32", "mixed_float16"]
    (_, first_ms, first_ratio), (_, second_ms, second_ratio) = rows
    assert first_ratio == "1.00"
    assert float(second_ratio) == pytest.approx(float(second_ms) / float(first_ms), abs=0.01)
