"""bfloat16 inference of the trained CI model costs at most 0.01 COCO AP on the held-out split.

The comparison is in one process: the float32 metrics are those the `trained_ci_run` fixture
measured with the same evaluator on the same split, the bfloat16 model is built with
`model.precision: bfloat16` (weights rounded to bfloat16 at load; outputs equal to
mixed_bfloat16's, tests/modeling/test_precision.py) and restored from the same checkpoint.
"""

import dataclasses

import pytest

import efgrnet_tf
from efgrnet_tf.evaluation.evaluator import evaluate_model
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights

pytestmark = pytest.mark.slow

AP_TOLERANCE = 0.01


@pytest.fixture(scope="module")
def bfloat16_metrics(trained_ci_run):
    cfg = trained_ci_run.cfg
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, precision="bfloat16"))
    model = efgrnet_tf.build_model(cfg)
    restore_model_weights(model, trained_ci_run.model_dir)
    assert model.get_layer("block1_conv1").compute_dtype == "bfloat16"
    assert model.get_layer("block1_conv1").kernel.dtype == "bfloat16"
    return evaluate_model(model, cfg)


def test_bfloat16_coco_ap_is_within_0_01_of_float32(trained_ci_run, bfloat16_metrics):
    float32_metrics = trained_ci_run.trained_metrics
    # A model that learned nothing would pass trivially (AP 0 in both precisions).
    assert float32_metrics["AP50"] > 0.25, float32_metrics
    for name in ("AP", "AP50", "AP75"):
        difference = bfloat16_metrics[name] - float32_metrics[name]
        assert abs(difference) <= AP_TOLERANCE, (name, bfloat16_metrics, float32_metrics)
    assert bfloat16_metrics["num_images"] == float32_metrics["num_images"]
