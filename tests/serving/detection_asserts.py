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


def assert_records_match(
    records: list[Mapping],
    reference: Mapping[str, np.ndarray],
    image_size_hw: tuple[int, int],
    class_names: Mapping[int, str],
    score_threshold: float,
    score_atol: float = 1e-5,
    box_atol_px: float = 1e-3,
) -> None:
    """Asserts that `records` are exactly the reference detections scoring >= the threshold.

    Args:
      records: `{"class_id", "class_name", "score", "box_yxyx_abs"}` dicts, best first
        (`detections.json` entries, or a client's printed lines parsed back).
      reference: one image's signature outputs (no batch axis), computed elsewhere.
      image_size_hw: the image's `(H, W)`: reference pixel boxes are normalised * [H, W, H, W].
      class_names: `{class_id: name}` the records must name their ids with.
    """
    height, width = image_size_hw
    count = int(np.asarray(reference["num_detections"]))
    scale = np.array([height, width, height, width], np.float64)
    expected = [
        (int(np.rint(class_id)), float(score), np.asarray(box, np.float64) * scale)
        for box, score, class_id in zip(
            reference["detection_boxes"][:count],
            reference["detection_scores"][:count],
            reference["detection_classes"][:count],
            strict=True,
        )
        if score >= score_threshold
    ]
    assert len(records) == len(expected) > 0, (len(records), len(expected))
    scores = [r["score"] for r in records]
    assert scores == sorted(scores, reverse=True)
    unmatched = list(range(len(expected)))
    for record in records:
        partners = [
            j
            for j in unmatched
            if expected[j][0] == record["class_id"]
            and abs(expected[j][1] - record["score"]) <= score_atol
            and np.allclose(record["box_yxyx_abs"], expected[j][2], atol=box_atol_px)
        ]
        assert partners, f"{record} matches no reference detection of {expected}"
        assert record["class_name"] == class_names[record["class_id"]]
        unmatched.remove(partners[0])
