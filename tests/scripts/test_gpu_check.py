"""scripts/gpu_check.py runs every step of the GPU check, tiny and on the CPU, so it cannot rot
while no GPU machine is at hand (the GPU run itself is `scripts/gpu_check.sh`)."""

import json
import os
import subprocess
import sys

import pytest

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.slow
def test_every_step_of_the_gpu_check_passes_on_cpu_in_quick_mode(tmp_path):
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    completed = subprocess.run(
        [sys.executable, "scripts/gpu_check.py", "--device", "cpu", "--quick", "--out", tmp_path],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    with open(tmp_path / "gpu_check.json") as f:
        report = json.load(f)
    steps = report["steps"]
    expected = ["placement", "tests", "benchmark_deform_conv", "benchmark_model", "training"]
    assert list(steps) == [*expected, "serving"]
    assert all(step["ok"] for step in steps.values()), steps
    assert "CPU:0" in steps["placement"]["placed_on"]
    assert max(steps["placement"]["max_relative_error_vs_pure_tf"].values()) < 1e-4
    assert steps["training"]["loss_last"] < steps["training"]["loss_first"]
    assert steps["serving"]["latency_ms_median"] > 0
    assert "custom_op" in (tmp_path / "benchmark_deform_conv.log").read_text()
