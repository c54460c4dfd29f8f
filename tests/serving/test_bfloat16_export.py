"""A `--precision=bfloat16` export (weights stored in bfloat16): its `model_info` says so, and
plain TensorFlow runs it with the detections of the in-process mixed_bfloat16 model."""

from __future__ import annotations

import dataclasses
import os
import sys

import pytest
import tensorflow as tf
from detection_asserts import assert_same_detections
from serving_helpers import REPO_ROOT, export_with_script, run_python, run_stock_tf_probe
from test_export_round_trip import image_row, keras_detections
from test_saved_model_cli import parse_signatures

import efgrnet_tf
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights

pytestmark = pytest.mark.slow

# bfloat16 keeps 8 bits of mantissa; graph and eager execution fuse and round differently.
SCORE_ATOL = 2e-2


@pytest.fixture(scope="module")
def bfloat16_export_dir(trained_model, tmp_path_factory):
    """`BASE/1` of the small model exported by `scripts/export.py --precision=bfloat16`."""
    _, checkpoint_dir, config_path = trained_model
    base = str(tmp_path_factory.mktemp("bf16_exports") / "efgrnet")
    return export_with_script(config_path, checkpoint_dir, base, "--precision=bfloat16")


@pytest.fixture(scope="module")
def bfloat16_probe_report(bfloat16_export_dir, test_images, tmp_path_factory):
    paths, _ = test_images
    return run_stock_tf_probe(bfloat16_export_dir, paths, str(tmp_path_factory.mktemp("probe")))


def model_info(export_dir: str) -> dict[str, str]:
    outputs = tf.saved_model.load(export_dir).signatures["model_info"]()
    return {name: value.numpy().decode() for name, value in outputs.items()}


def test_model_info_records_the_precision_of_each_export(bfloat16_export_dir, export_dir):
    assert model_info(bfloat16_export_dir) == {
        "precision": "bfloat16",
        "compute_dtype": "bfloat16",
        "variable_dtype": "bfloat16",
    }
    assert model_info(export_dir)["precision"] == "float32"


def test_saved_model_cli_shows_model_info_and_float32_detections(bfloat16_export_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    shown = run_python(
        [cli, "show", "--all", "--dir", bfloat16_export_dir], cwd=REPO_ROOT, with_repo=False
    )
    assert shown.returncode == 0, shown.stderr[-2000:]
    signatures = parse_signatures(shown.stdout)
    assert signatures["model_info"] == {
        "inputs": {},
        "outputs": {
            name: ("DT_STRING", "()") for name in ("precision", "compute_dtype", "variable_dtype")
        },
    }
    assert signatures["serving_default"]["outputs"]["detection_scores"][0] == "DT_FLOAT"


def test_bfloat16_export_runs_without_efgrnet_tf_and_matches_the_bfloat16_model(
    bfloat16_probe_report, trained_model, small_cfg, test_images
):
    assert bfloat16_probe_report["efgrnet_tf_imported"] is False
    assert bfloat16_probe_report["unregistered_op_types"] == []
    cfg = dataclasses.replace(
        small_cfg,
        model=dataclasses.replace(
            small_cfg.model, precision="mixed_bfloat16", deform_conv_implementation="custom_op"
        ),
    )
    model = efgrnet_tf.build_model(cfg)
    restore_model_weights(model, trained_model[1])
    for pixels, by_tensor in zip(
        test_images[1], bfloat16_probe_report["image_tensor"], strict=True
    ):
        expected = keras_detections(model, cfg, pixels)
        assert_same_detections(image_row(by_tensor, 0), expected, atol=SCORE_ATOL)
