"""`scripts/benchmark_precision.py` measures bfloat16 only where the CPU computes it natively."""

import pytest
from absl import flags
from script_modules import load_script

from efgrnet_tf.modeling import precision

_TINY = ["--sizes=128", "--width_multiplier=0.0625", "--batches=1", "--rounds=1"]


@pytest.fixture(scope="module")
def benchmark():
    return load_script("benchmark_precision")


def _run(benchmark, monkeypatch, capsys, cpu_flags, *args):
    monkeypatch.setattr(precision, "cpu_bfloat16_flags", lambda: cpu_flags)
    argv = flags.FLAGS(
        ["benchmark_precision.py", *_TINY, "--skip_serving", "--noxla", *args], known_only=True
    )
    benchmark.main(argv)
    return capsys.readouterr().out


def test_without_bfloat16_units_it_says_so_and_measures_float32_only(
    benchmark, monkeypatch, capsys
):
    out = _run(benchmark, monkeypatch, capsys, ())
    assert "bfloat16 rows skipped" in out
    assert "float32 b1 ms" in out
    assert "mixed_bfloat16" not in out
    assert "EFGRNet / SSD, f32" in out


def test_with_bfloat16_units_it_prints_the_bfloat16_precisions_and_their_ratios(
    benchmark, monkeypatch, capsys
):
    out = _run(benchmark, monkeypatch, capsys, ("amx_bf16",))
    assert "bfloat16 support: amx_bf16" in out
    assert "mixed_bfloat16 b1 ms" in out and "bfloat16 b1 ms" in out
    assert "mixbf16/f32 b1" in out and " bf16/f32 b1" in out
    assert "b1 bf16 / f32 forward:" in out


def test_xla_adds_compiled_rows_of_the_stock_op_models_and_their_ratio(
    benchmark, monkeypatch, capsys
):
    out = _run(benchmark, monkeypatch, capsys, (), "--xla")
    rows = [line.split()[:3] for line in out.splitlines()]
    assert ["efgrnet", "pure_tf", "xla"] in rows and ["ssd", "xla"] in [r[:2] for r in rows]
    assert ["efgrnet", "custom_op", "xla"] not in rows
    assert "128 XLA / plain, efgrnet pure_tf, float32: b1 " in out
