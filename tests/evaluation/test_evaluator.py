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

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.boxes.coding import decode_deltas, encode_boxes, yxyx_to_cxcywh
from efgrnet_tf.config import EvalConfig, ExperimentConfig, ModelConfig, PostprocessConfig
from efgrnet_tf.evaluation import evaluator
from efgrnet_tf.evaluation.coco_metrics import COCO_METRIC_NAMES

LABELS = evaluator.EvalLabels(CLASS_NAMES)


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
        _ground_truth_detector(), eval_dataset(), _cfg(), LABELS, output_dir=str(tmp_path)
    )
    assert metrics["mAP_11point"] == pytest.approx(1.0)
    assert metrics["mAP_area"] == pytest.approx(1.0)
    for name in ("AP", "AP50", "AP75", "AR100"):
        assert metrics[name] == pytest.approx(1.0), name
    assert metrics["num_images"] == 5


# IoU of a box with itself moved by s of its width is (1 - s) / (1 + s).
SHIFTED_DETECTIONS_METRICS = [
    # s = 0: every metric is perfect.
    (0.0, {"mAP_area": 1.0, "mAP_11point": 1.0, "AP": 1.0, "AP50": 1.0, "AP75": 1.0}),
    # s = 0.2: IoU 2/3 > 0.5: every detection still matches for VOC -> mAP 1; COCO matches
    # at IoU thresholds .5, .55, .6, .65 only -> AP = 4/10, AP50 = 1, AP75 = 0.
    (0.2, {"mAP_area": 1.0, "mAP_11point": 1.0, "AP": 0.4, "AP50": 1.0, "AP75": 0.0}),
    # s = 0.5: IoU 1/3: nothing matches anywhere.
    (0.5, {"mAP_area": 0.0, "mAP_11point": 0.0, "AP": 0.0, "AP50": 0.0, "AP75": 0.0}),
]


@pytest.mark.parametrize(("shift", "expected"), SHIFTED_DETECTIONS_METRICS[1:])
def test_shifted_detections_lose_the_thresholds_their_iou_misses(shift, expected):
    metrics = evaluator.evaluate(_ground_truth_detector(shift), eval_dataset(), _cfg(), LABELS)
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)


def test_files_hold_all_metrics_and_the_coco_results(tmp_path):
    metrics = evaluator.evaluate(
        _ground_truth_detector(),
        eval_dataset(),
        _cfg(per_class=True),
        evaluator.EvalLabels(CLASS_NAMES, category_ids=(11, 22)),
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
        LABELS,
        output_dir=str(tmp_path),
    )
    assert present in metrics and absent not in metrics
    assert (tmp_path / evaluator.COCO_RESULTS_FILE).exists() == (metric == "coco")


class _CascadeGroundTruthDetector(keras.Model):
    """Stand-in for the EFGRNet model whose decoded detections are `_ground_truth_detector`'s.

    Outputs of both stages: every anchor is refined by the same objectness deltas; ground-truth
    box j of image i sits at anchor j, with foreground objectness, its class's logit high and
    box deltas coded against the refined anchor. Every other anchor is background for the
    objectness stage only: its final logits favour class 1 more than any true detection's, so
    only the objectness filter keeps these false detections out.
    """

    def __init__(self, anchors_cxcywh, num_classes, variances, shift_fraction):
        super().__init__(name="cascade_ground_truth_detector")
        everything = next(iter(eval_dataset(batch_size=len(GROUND_TRUTH))))
        boxes_yxyx = everything["boxes"].numpy()
        widths = boxes_yxyx[..., 3] - boxes_yxyx[..., 1]
        boxes_yxyx[..., 1] += shift_fraction * widths
        boxes_yxyx[..., 3] += shift_fraction * widths
        classes = everything["classes"].numpy()  # [images, MAX_BOXES], -1 padded
        num_images, num_anchors = len(GROUND_TRUTH), anchors_cxcywh.shape[0]

        refinement = np.tile([0.5, -0.5, 0.3, -0.2], (num_images, num_anchors, 1))
        refined_anchors = decode_deltas(refinement, anchors_cxcywh, variances).numpy()
        object_logits = np.tile([8.0, 0.0], (num_images, num_anchors, 1))
        class_logits = np.zeros((num_images, num_anchors, num_classes))
        class_logits[..., 1] = 9.0
        box_deltas = np.zeros((num_images, num_anchors, 4))
        for i, j in zip(*np.nonzero(classes > 0), strict=True):
            object_logits[i, j] = [0.0, 8.0]
            class_logits[i, j] = 0.0
            class_logits[i, j, classes[i, j]] = 8.0
            box_cxcywh = yxyx_to_cxcywh(boxes_yxyx[i, j])
            box_deltas[i, j] = encode_boxes(box_cxcywh, refined_anchors[i, j], variances).numpy()
        self.outputs_per_image = {
            "objectness_deltas": refinement,
            "objectness_logits": object_logits,
            "box_deltas": box_deltas,
            "class_logits": class_logits,
        }

    def call(self, images, training=False):
        index = tf.cast(images[:, 0, 0, 0], tf.int32)
        return {
            name: tf.gather(tf.constant(value, tf.float32), index)
            for name, value in self.outputs_per_image.items()
        }


@pytest.mark.parametrize(("shift", "expected"), SHIFTED_DETECTIONS_METRICS[:2])
def test_evaluate_model_decodes_a_cascade_keras_model_to_its_known_metrics(
    monkeypatch, shift, expected
):
    cfg = _cfg()
    monkeypatch.setattr(evaluator, "eval_labels", lambda _: LABELS)
    anchors_cxcywh = generate_anchors(cfg.anchors, (64, 64))
    model = _CascadeGroundTruthDetector(anchors_cxcywh, 3, cfg.anchors.variances, shift)
    dataset = eval_dataset().map(
        lambda batch: {**batch, "images": tf.image.resize(batch["images"], (64, 64))}
    )
    metrics = evaluator.evaluate_model(model, cfg, dataset=dataset)
    assert metrics["num_images"] == 5
    assert {k: metrics[k] for k in expected} == pytest.approx(expected)


@pytest.mark.parametrize(("clip_boxes", "expected_ap"), [(True, 1.0), (False, 0.0)])
def test_clip_boxes_decides_whether_a_box_past_the_border_is_scored_clipped(
    clip_boxes, expected_ap
):
    # Ground truth x 60..100 at the right border of a 100-pixel image; the detection reaches
    # x = 160: clipped it is the box (IoU 1), unclipped its IoU is 40 / 100 (a miss).
    image = make_image(1, gts=[(1, [60, 20, 100, 60])], dets=[(1, [60, 20, 160, 60], 0.9)])
    cfg = dataclasses.replace(_cfg(), postprocess=PostprocessConfig(clip_boxes=clip_boxes))
    metrics = evaluator.compute_metrics([image], cfg, LABELS)
    assert metrics["mAP_area"] == pytest.approx(expected_ap)
    assert metrics["AP50"] == pytest.approx(expected_ap)
