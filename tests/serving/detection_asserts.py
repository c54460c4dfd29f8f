"""Comparing two sets of detections of one image, up to the order of equal scores."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def assert_same_detections(
    actual: Mapping[str, np.ndarray], expected: Mapping[str, np.ndarray], atol: float = 1e-4
) -> None:
    """Asserts equal counts, scores, and for each detection a same-class, same-box partner.

    Both are one image's outputs (`detection_boxes` `[K, 4]`, `detection_scores` `[K]`,
    `detection_classes` `[K]`, `num_detections` scalar). Detections whose scores differ by
    less than `atol` may come in either order (NMS sorts by score), so partners are searched
    among those.
    """
    count = int(np.asarray(expected["num_detections"]))
    assert int(np.asarray(actual["num_detections"])) == count
    assert count > 0, "a comparison of empty detections would prove nothing"
    scores = np.asarray(actual["detection_scores"], np.float64)
    np.testing.assert_allclose(scores, expected["detection_scores"], atol=atol)
    boxes = np.asarray(actual["detection_boxes"], np.float64)
    classes = np.asarray(actual["detection_classes"]).astype(int)
    for i in range(count):
        expected_box = np.asarray(expected["detection_boxes"][i], np.float64)
        expected_class = int(expected["detection_classes"][i])
        partners = [
            j
            for j in range(count)
            if abs(scores[j] - expected["detection_scores"][i]) <= atol
            and classes[j] == expected_class
            and np.allclose(boxes[j], expected_box, atol=atol)
        ]
        assert partners, f"detection {i} ({expected_class}, {expected_box}) has no partner"
    np.testing.assert_array_equal(classes[count:], 0)
