"""Detection decoding: two-step box decoding, objectness filter, NMS, caps, 1-based classes."""

import math

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.config import AnchorConfig, PostprocessConfig
from efgrnet_tf.modeling.detection_generator import decode_detections

# a0 and a1 overlap (IoU 0.90); a2, a3, a4 are apart. cxcywh.
ANCHORS = np.array(
    [
        [0.30, 0.3, 0.2, 0.2],
        [0.31, 0.3, 0.2, 0.2],
        [0.70, 0.7, 0.2, 0.2],
        [0.70, 0.2, 0.2, 0.2],
        [0.20, 0.7, 0.2, 0.2],
    ],
    np.float32,
)


VARIANCES = AnchorConfig().variances


def _yxyx(cx, cy, w, h):
    return [cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2]


def _cfg(**postprocess):
    return PostprocessConfig(**postprocess)


def _outputs(class_probs, foreground_probs=None, box_deltas=None, objectness_deltas=None):
    class_probs = np.asarray(class_probs, np.float32)
    batch, num_anchors = class_probs.shape[:2]
    outputs = {
        "class_logits": np.log(class_probs),
        "box_deltas": np.zeros([batch, num_anchors, 4], np.float32)
        if box_deltas is None
        else np.asarray(box_deltas, np.float32),
    }
    if foreground_probs is not None:
        fg = np.asarray(foreground_probs, np.float32)
        outputs["objectness_logits"] = np.log(np.stack([1 - fg, fg], -1))
        outputs["objectness_deltas"] = (
            np.zeros([batch, num_anchors, 4], np.float32)
            if objectness_deltas is None
            else np.asarray(objectness_deltas, np.float32)
        )
    return outputs


def test_nms_objectness_filter_and_background_by_hand():
    class_probs = [
        [
            [0.05, 0.9, 0.05],  # a0: class 1 kept; its class 2 is suppressed by a1's
            [0.1, 0.6, 0.3],  # a1: class 1 suppressed by a0, class 2 kept
            [0.02, 0.96, 0.02],  # a2: objectness 0.005, filtered out
            [0.99, 0.005, 0.005],  # a3: background; object scores under the threshold
            [0.5, 0.1, 0.4],  # a4: both classes kept
        ]
    ]
    outputs = _outputs(class_probs, foreground_probs=[[0.9, 0.9, 0.005, 0.9, 0.9]])
    detections = decode_detections(outputs, ANCHORS, _cfg(max_detections=8), VARIANCES)
    assert detections["num_detections"].numpy().tolist() == [4]
    np.testing.assert_allclose(
        detections["detection_scores"].numpy()[0], [0.9, 0.4, 0.3, 0.1, 0, 0, 0, 0], rtol=1e-5
    )
    assert detections["detection_classes"].dtype == tf.int32
    np.testing.assert_array_equal(detections["detection_classes"][0], [1, 2, 2, 1, 0, 0, 0, 0])
    expected_boxes = [_yxyx(*ANCHORS[k]) for k in (0, 4, 1, 4)] + [[0.0] * 4] * 4
    np.testing.assert_allclose(detections["detection_boxes"][0], expected_boxes, atol=1e-6)


def test_boxes_are_decoded_against_refined_anchors_then_clipped():
    anchors = np.array([[0.5, 0.5, 0.2, 0.2], [0.95, 0.5, 0.2, 0.2]], np.float32)
    class_probs = [[[0.1, 0.9], [0.2, 0.8]]]
    box_deltas = [[[0.0, 0.0, math.log(2.0) / 0.2, 0.0], [0.0, 0.0, 0.0, 0.0]]]
    objectness_deltas = [[[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]]  # cx += 0.1 * 0.2
    two_stage = _outputs(class_probs, [[0.9, 0.9]], box_deltas, objectness_deltas)
    boxes = decode_detections(two_stage, anchors, _cfg(), VARIANCES)["detection_boxes"].numpy()[0]
    np.testing.assert_allclose(
        boxes[:2], [[0.4, 0.32, 0.6, 0.72], [0.4, 0.85, 0.6, 1.0]], atol=1e-6
    )
    single_stage = _outputs(class_probs, box_deltas=box_deltas)
    boxes = decode_detections(single_stage, anchors, _cfg(), VARIANCES)["detection_boxes"].numpy()[
        0
    ]
    np.testing.assert_allclose(boxes[0], [0.4, 0.3, 0.6, 0.7], atol=1e-6)


def test_per_class_and_per_image_caps_and_zero_padding():
    grid = (np.arange(4) + 0.5) / 4
    anchors = np.array([[x, y, 0.2, 0.2] for y in grid for x in grid[:3]], np.float32)  # 12
    rng = np.random.default_rng(0)
    busy = rng.uniform(0.2, 0.3, (12, 2))
    busy = np.concatenate([1 - busy.sum(-1, keepdims=True), busy], -1)
    empty = np.tile([[0.998, 0.001, 0.001]], [12, 1])
    outputs = _outputs(np.stack([busy, empty]))
    capped = decode_detections(
        outputs, anchors, _cfg(max_detections_per_class=4, max_detections=6), VARIANCES
    )
    assert capped["detection_boxes"].shape == (2, 6, 4)
    assert capped["num_detections"].numpy().tolist() == [6, 0]
    expected_top6 = np.sort(np.concatenate([np.sort(busy[:, c])[-4:] for c in (1, 2)]))[::-1][:6]
    np.testing.assert_allclose(capped["detection_scores"][0], expected_top6, rtol=1e-5)
    roomy = decode_detections(
        outputs, anchors, _cfg(max_detections_per_class=4, max_detections=10), VARIANCES
    )
    classes = roomy["detection_classes"].numpy()
    assert roomy["num_detections"].numpy().tolist() == [8, 0]
    assert np.bincount(classes[0], minlength=3).tolist() == [2, 4, 4]  # 2 zero-padded entries
    assert not classes[1].any() and not roomy["detection_scores"].numpy()[1].any()


def test_exports_in_a_saved_model(tmp_path):
    cfg = _cfg()
    num_anchors = len(ANCHORS)

    class Detector(tf.Module):
        @tf.function(
            input_signature=[
                {
                    "box_deltas": tf.TensorSpec([None, num_anchors, 4]),
                    "class_logits": tf.TensorSpec([None, num_anchors, 3]),
                    "objectness_deltas": tf.TensorSpec([None, num_anchors, 4]),
                    "objectness_logits": tf.TensorSpec([None, num_anchors, 2]),
                }
            ]
        )
        def detect(self, outputs):
            return decode_detections(outputs, ANCHORS, cfg, VARIANCES)

    tf.saved_model.save(Detector(), str(tmp_path))
    rng = np.random.default_rng(1)
    class_probs = rng.dirichlet(np.ones(3), (2, num_anchors))
    outputs = _outputs(class_probs, foreground_probs=rng.uniform(0, 1, (2, num_anchors)))
    loaded = tf.saved_model.load(str(tmp_path)).detect(outputs)
    direct = decode_detections(outputs, ANCHORS, cfg, VARIANCES)
    for key, value in direct.items():
        np.testing.assert_allclose(loaded[key].numpy(), value.numpy(), rtol=1e-6)


def test_postprocess_config_rejects_invalid_values():
    with pytest.raises(ValueError):
        PostprocessConfig(nms_iou_threshold=0.0)
    with pytest.raises(ValueError):
        PostprocessConfig(max_detections=0)


@pytest.mark.parametrize("clip_boxes, expected_xmax", [(True, 1.0), (False, 1.05)])
def test_clip_boxes_switch_clips_to_the_image_or_keeps_the_decoded_box(clip_boxes, expected_xmax):
    anchors = np.array([[0.95, 0.5, 0.2, 0.2]], np.float32)  # x 0.85..1.05
    outputs = _outputs([[[0.1, 0.9]]], foreground_probs=[[0.9]])
    detections = decode_detections(outputs, anchors, _cfg(clip_boxes=clip_boxes), VARIANCES)
    np.testing.assert_allclose(
        detections["detection_boxes"][0, 0], [0.4, 0.85, 0.6, expected_xmax], atol=1e-6
    )
