"""`scripts/benchmark_train_step.py` times a config's training step in each precision."""

import re

import pytest
from script_modules import run_script

_TINY = [
    "--config=configs/shapes_vgg16_128.yaml",
    "--override=model.width_multiplier=0.0625",
    "--override=train.global_batch_size=2",
    "--rounds=1",
]


def _run(*args):
    return run_script("benchmark_train_step", *_TINY, *args)


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
    # The times are printed to 0.1 ms and the ratio to 0.01, so the ratio of the printed times
    # can differ from the printed ratio by the rounding of all three.
    first, second = float(first_ms), float(second_ms)
    ratio = second / first
    rounding = ratio * (0.05 / first + 0.05 / second) + 0.005
    assert float(second_ratio) == pytest.approx(ratio, abs=rounding + 1e-9)
