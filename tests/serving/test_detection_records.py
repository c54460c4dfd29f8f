"""Detection records: the first num_detections rows, scaled boxes, names, the threshold."""

from __future__ import annotations

import numpy as np
import pytest

from efgrnet_tf.serving.detection_records import detection_records, format_records

DETECTIONS = {
    "detection_boxes": np.array([[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0], [0.3, 0.3, 0.4, 0.4]]),
    "detection_scores": np.array([0.9, 0.4, 0.2]),
    "detection_classes": np.array([2.0, 5.0, 1.0]),
    "num_detections": np.array(2.0),
}


def test_records_keep_the_valid_rows_in_order_with_pixel_boxes():
    records = detection_records(DETECTIONS, (100, 200), {2: "dog"})
    assert [r["class_id"] for r in records] == [2, 5]
    assert [r["class_name"] for r in records] == ["dog", "class_5"]
    assert records[0]["box_yxyx_abs"] == pytest.approx([10.0, 40.0, 50.0, 120.0])
    assert records[1]["box_yxyx_normalized"] == [0.0, 0.0, 1.0, 1.0]
    assert records[1]["box_yxyx_abs"] == [0.0, 0.0, 100.0, 200.0]


def test_score_threshold_drops_lower_scores():
    records = detection_records(DETECTIONS, (100, 200), {}, score_threshold=0.5)
    assert [r["score"] for r in records] == [0.9]


def test_format_records_prints_one_line_per_detection():
    text = format_records(detection_records(DETECTIONS, (100, 200), {2: "dog"}))
    assert text.splitlines()[0] == "  dog (2) 0.900  [10.0, 40.0, 50.0, 120.0] px"
    assert format_records([]) == "  no detections"
