"""Batch splitting and box conversions of `efgrnet_tf.evaluation.detections`."""

import numpy as np

from efgrnet_tf.evaluation.detections import (
    split_batch,
    to_category_ids,
    yxyx_normalized_to_xywh_abs,
    yxyx_normalized_to_xyxy_abs,
)


def test_split_batch_drops_padding_and_detections_past_num_detections():
    batch = {
        "boxes": np.array([[[0.1, 0.2, 0.3, 0.4], [0, 0, 0, 0]], [[0, 0, 0, 0], [0, 0, 0, 0]]]),
        "classes": np.array([[2, -1], [-1, -1]]),
        "is_difficult": np.array([[True, False], [False, False]]),
        "is_crowd": np.array([[False, False], [False, False]]),
        "image_id": np.array([7, 2008000008]),
        "original_size_hw": np.array([[10, 20], [30, 40]]),
    }
    detections = {
        "detection_boxes": np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) / 24,
        "detection_scores": np.array([[0.9, 0.5, 0.0], [0.7, 0.0, 0.0]]),
        "detection_classes": np.array([[1, 2, 0], [3, 0, 0]]),
        "num_detections": np.array([2, 1]),
    }
    first, second = split_batch(batch, detections)
    assert (first.image_id, first.original_size_hw) == (7, (10, 20))
    np.testing.assert_allclose(first.gt_boxes_yxyx, [[0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_array_equal(first.gt_classes, [2])
    np.testing.assert_array_equal(first.gt_is_difficult, [True])
    np.testing.assert_array_equal(first.det_classes, [1, 2])
    np.testing.assert_allclose(first.det_scores, [0.9, 0.5])
    np.testing.assert_allclose(first.det_boxes_yxyx, detections["detection_boxes"][0, :2])
    assert second.image_id == 2008000008  # VOC 2012 ids exceed int32
    assert second.gt_boxes_yxyx.shape == (0, 4) and second.gt_classes.shape == (0,)
    np.testing.assert_array_equal(second.det_classes, [3])


def test_conversions_to_absolute_pixels_clip_to_the_image():
    boxes_yxyx = np.array([[0.1, 0.25, 0.5, 0.75], [-0.1, 0.9, 0.2, 1.2]])
    size_hw = (200, 400)  # height 200, width 400
    np.testing.assert_allclose(
        yxyx_normalized_to_xyxy_abs(boxes_yxyx, size_hw), [[100, 20, 300, 100], [360, 0, 400, 40]]
    )
    np.testing.assert_allclose(
        yxyx_normalized_to_xywh_abs(boxes_yxyx, size_hw), [[100, 20, 200, 80], [360, 0, 40, 40]]
    )


def test_conversions_keep_boxes_past_the_border_without_clipping():
    boxes_yxyx = np.array([[-0.1, 0.9, 0.2, 1.2]])
    size_hw = (200, 400)
    np.testing.assert_allclose(
        yxyx_normalized_to_xyxy_abs(boxes_yxyx, size_hw, clip_to_image=False),
        [[360, -20, 480, 40]],
    )
    np.testing.assert_allclose(
        yxyx_normalized_to_xywh_abs(boxes_yxyx, size_hw, clip_to_image=False),
        [[360, -20, 120, 60]],
    )


def test_category_ids_map_labels_or_pass_them_through():
    np.testing.assert_array_equal(to_category_ids([1, 3, 2], (5, 17, 90)), [5, 90, 17])
    np.testing.assert_array_equal(to_category_ids([1, 3, 2], None), [1, 3, 2])
