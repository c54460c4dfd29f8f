"""The evaluator end to end on an in-memory eval split with stand-in detectors.

Each image of `evaluation_helpers.eval_dataset` is filled with its own index, so a stand-in
detector can look up that image's ground truth and return it, exactly or shifted.
"""

import dataclasses
import json

import keras
import numpy as np
import pytest
import tensorflow as tf
from evaluation_helpers import CLASS_NAMES, GROUND_TRUTH, eval_dataset, make_image

from efgrnet_tf.config import EvalConfig, ExperimentConfig, ModelConfig, PostprocessConfig
from efgrnet_tf.evaluation import evaluator
from efgrnet_tf.evaluation.coco_metrics import COCO_METRIC_NAMES


def _ground_truth_detector(shift_fraction=0.0):
    """Returns each image's ground truth (score 1) moved right by `shift_fraction` of its width."""
    everything = next(iter(eval_dataset(batch_size=len(GROUND_TRUTH))))
    boxes, classes = everything["boxes"].numpy(), everything["classes"].numpy()
    widths = boxes[..., 3] - boxes[..., 1]
    boxes[..., 1] += shift_fraction * widths
    boxes[..., 3] += shift_fraction * widths

    def detect(images):
        index = tf.cast(images[:, 0, 0, 0], tf.int32)
        image_classes = tf.gather(classes, index)
        return {
            "detection_boxes": tf.gather(boxes, index),
            "detection_scores": tf.cast(image_classes > 0, tf.float32),
            "detection_classes": tf.maximum(image_classes, 0),
            "num_detections": tf.reduce_sum(tf.cast(image_classes > 0, tf.int32), axis=1),
        }

    return detect


def _cfg(metric="both", per_class=False):
    return ExperimentConfig(
        model=ModelConfig(num_classes=3, image_size=64),
        eval=EvalConfig(metric=metric, per_class_table=per_class),
        class_names=CLASS_NAMES,
    )


def test_perfect_detections_score_one_on_both_metrics(tmp_path):
    metrics = evaluator.evaluate(
        _ground_truth_detector(), eval_dataset(), _cfg(), CLASS_NAMES, output_dir=str(tmp_path)
    )
    assert metrics["mAP_11point"] == pytest.approx(1.0)
    assert metrics["mAP_area"] == pytest.approx(1.0)
    for name in ("AP", "AP50", "AP75", "AR100"):
        assert metrics[name] == pytest.approx(1.0), name
    assert metrics["num_images"] == 5


@pytest.mark.parametrize(
    ("shift", "expected"),
    [
        # IoU of a box with itself moved by s of its width is (1 - s) / (1 + s).
        # s = 0.2: IoU 2/3 > 0.5: every detection still matches for VOC -> mAP 1; COCO matches
        # at IoU thresholds .5, .55, .6, .65 only -> AP = 4/10, AP50 = 1, AP75 = 0.
        (0.2, {"mAP_area": 1.0, "mAP_11point": 1.0, "AP": 0.4, "AP50": 1.0, "AP75": 0.0}),
        # s = 0.5: IoU 1/3: nothing matches anywhere.
        (0.5, {"mAP_area": 0.0, "mAP_11point": 0.0, "AP": 0.0, "AP50": 0.0, "AP75": 0.0}),
    ],
)
def test_shifted_detections_lose_the_thresholds_their_iou_misses(shift, expected):
    metrics = evaluator.evaluate(_ground_truth_detector(shift), eval_dataset(), _cfg(), CLASS_NAMES)
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)


def test_files_hold_all_metrics_and_the_coco_results(tmp_path):
    metrics = evaluator.evaluate(
        _ground_truth_detector(),
        eval_dataset(),
        _cfg(per_class=True),
        CLASS_NAMES,
        category_ids=(11, 22),
        output_dir=str(tmp_path),
    )
    written = json.loads((tmp_path / evaluator.METRICS_FILE).read_text())
    assert written == pytest.approx(metrics)
    expected_keys = {
        *COCO_METRIC_NAMES,
        "mAP_11point",
        "mAP_area",
        "num_images",
        *(f"{kind}/{name}" for kind in ("AP", "AP_11point", "AP_area") for name in CLASS_NAMES),
    }
    assert set(written) == expected_keys
    results = json.loads((tmp_path / evaluator.COCO_RESULTS_FILE).read_text())
    assert len(results) == 7  # every ground-truth box, crowd and difficult ones included
    assert {r["category_id"] for r in results} == {11, 22}
    assert {r["image_id"] for r in results} == {100, 101, 102, 103}
    # image 100 is 100 x 200: its first box [0.1, 0.1, 0.5, 0.3] is x 20..60, y 10..50.
    first = next(r for r in results if r["image_id"] == 100 and r["category_id"] == 11)
    np.testing.assert_allclose(first["bbox"], [20, 10, 40, 40], atol=1e-4)


@pytest.mark.parametrize(
    ("metric", "present", "absent"), [("voc", "mAP_area", "AP"), ("coco", "AP", "mAP_area")]
)
def test_metric_choice_computes_only_that_metric(metric, present, absent, tmp_path):
    metrics = evaluator.evaluate(
        _ground_truth_detector(),
        eval_dataset(),
        _cfg(metric),
        CLASS_NAMES,
        output_dir=str(tmp_path),
    )
    assert present in metrics and absent not in metrics
    assert (tmp_path / evaluator.COCO_RESULTS_FILE).exists() == (metric == "coco")


class _UniformDetector(keras.Model):
    """Stand-in for the EFGRNet model: zero deltas, equal logits at every anchor."""

    def __init__(self, num_anchors, num_classes):
        super().__init__(name="uniform_detector")
        self.num_anchors, self.num_classes = num_anchors, num_classes

    def call(self, images, training=False):
        b = tf.shape(images)[0]
        return {
            "box_deltas": tf.zeros([b, self.num_anchors, 4]),
            "class_logits": tf.zeros([b, self.num_anchors, self.num_classes]),
        }


def test_evaluate_model_runs_a_keras_model_through_the_decoder(monkeypatch):
    from efgrnet_tf.boxes.anchors import num_anchors

    cfg = _cfg()
    monkeypatch.setattr(evaluator, "eval_labels", lambda _: (CLASS_NAMES, None, None))
    model = _UniformDetector(num_anchors(cfg.anchors, (64, 64)), 3)
    dataset = eval_dataset().map(
        lambda batch: {**batch, "images": tf.image.resize(batch["images"], (64, 64))}
    )
    metrics = evaluator.evaluate_model(model, cfg, dataset=dataset)
    # Uniform scores over 255 anchors cannot localise anything well, but every number exists.
    assert metrics["num_images"] == 5
    assert 0.0 <= metrics["AP"] < 0.5 and 0.0 <= metrics["mAP_area"] < 0.5


@pytest.mark.parametrize(("clip_boxes", "expected_ap"), [(True, 1.0), (False, 0.0)])
def test_clip_boxes_decides_whether_a_box_past_the_border_is_scored_clipped(
    clip_boxes, expected_ap
):
    # Ground truth x 60..100 at the right border of a 100-pixel image; the detection reaches
    # x = 160: clipped it is the box (IoU 1), unclipped its IoU is 40 / 100 (a miss).
    image = make_image(1, gts=[(1, [60, 20, 100, 60])], dets=[(1, [60, 20, 160, 60], 0.9)])
    cfg = dataclasses.replace(_cfg(), postprocess=PostprocessConfig(clip_boxes=clip_boxes))
    metrics = evaluator.compute_metrics([image], cfg, CLASS_NAMES)
    assert metrics["mAP_area"] == pytest.approx(expected_ap)
    assert metrics["AP50"] == pytest.approx(expected_ap)
