"""The benchmark and data scripts follow the tools' conventions: absl flags of their own in
`--helpshort`, expected mistakes as one `error:` line with exit status 2."""

from __future__ import annotations

import pytest
from test_cli_conventions import assert_helpshort_lists, assert_one_line_error, run_script

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("script", "own_flags"),
    [
        ("benchmark_deform_conv", ["--device", "--channel_divisor", "--dtype", "--image_size"]),
        ("benchmark_model", ["--sizes", "--throughput_batch", "--mixed_precision"]),
        ("benchmark_input", ["--num_images", "--threads"]),
        ("convert_to_tfrecord", ["--config", "--override", "--output_prefix", "--num_shards"]),
        ("visualize_augmentation", ["--output", "--num_images"]),
        ("benchmark_precision", ["--sizes", "--serving_image_hw", "--skip_serving", "--xla"]),
        ("benchmark_layers", ["--sizes", "--precisions", "--inter_op_threads", "--detail"]),
        ("benchmark_train_step", ["--config", "--override", "--precisions", "--rounds"]),
        ("benchmark_litert", ["--configs", "--quantize", "--threads", "--out"]),
        ("benchmark_serving", ["--rounds", "--image_size_hw"]),
    ],
)
def test_helpshort_lists_the_scripts_own_flags(script, own_flags):
    assert_helpshort_lists(run_script(script, "--helpshort"), own_flags)


@pytest.mark.parametrize(
    ("script", "args", "fragment"),
    [
        ("benchmark_deform_conv", ["unexpected"], "unexpected arguments: ['unexpected']"),
        ("benchmark_model", ["--sizes=320,big"], "--sizes"),
        ("convert_to_tfrecord", ["--config=missing.yaml", "--output_prefix=/tmp/x"], "missing"),
        ("benchmark_precision", ["--serving_image_hw=480"], "--serving_image_hw"),
        ("benchmark_layers", ["--precisions=float64"], "--precisions"),
        ("benchmark_train_step", ["--config=missing.yaml"], "missing.yaml"),
        ("benchmark_litert", ["--quantize=int4"], "--quantize"),
        ("benchmark_serving", ["/no/such/export"], "/no/such/export"),
    ],
)
def test_script_mistakes_are_one_line_with_status_2(script, args, fragment):
    assert_one_line_error(run_script(script, *args), fragment)
