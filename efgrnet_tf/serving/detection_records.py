"""Signature outputs of one image -> plain records for JSON files and printing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def detection_records(
    detections: Mapping[str, np.ndarray],
    image_size_hw: Sequence[int],
    class_names: Mapping[int, str],
    score_threshold: float = 0.0,
) -> list[dict]:
    """The detections of ONE image, best first, as JSON-ready dicts.

    Args:
      detections: one image's slice of the signature outputs: `detection_boxes` `[K, 4]` yxyx
        normalised, `detection_scores` `[K]`, `detection_classes` `[K]` (class ids, any numeric
        dtype), `num_detections` scalar.
      image_size_hw: `(H, W)` of the image in pixels, for the absolute boxes.
      class_names: `{class_id: name}`; ids without a name get `class_<id>`.
      score_threshold: detections scoring below it are dropped.
    Returns:
      `[{"class_id", "class_name", "score", "box_yxyx_normalized", "box_yxyx_abs"}, ...]`,
      `box_yxyx_abs` in pixels (`normalised * [H, W, H, W]`).
    """
    count = int(np.asarray(detections["num_detections"]).reshape(()))
    boxes = np.asarray(detections["detection_boxes"], np.float64)[:count]
    scores = np.asarray(detections["detection_scores"], np.float64)[:count]
    classes = np.rint(np.asarray(detections["detection_classes"])[:count]).astype(int)
    height, width = image_size_hw
    scale = np.array([height, width, height, width], np.float64)
    records = []
    for box, score, class_id in zip(boxes, scores, classes, strict=True):
        if score < score_threshold:
            continue
        records.append(
            {
                "class_id": int(class_id),
                "class_name": class_names.get(int(class_id), f"class_{class_id}"),
                "score": float(score),
                "box_yxyx_normalized": [float(v) for v in box],
                "box_yxyx_abs": [float(v) for v in box * scale],
            }
        )
    return records


def format_records(records: Sequence[Mapping]) -> str:
    """One line per detection: `name (id) score  [ymin, xmin, ymax, xmax] px`."""
    if not records:
        return "  no detections"
    return "\n".join(
        f"  {r['class_name']} ({r['class_id']}) {r['score']:.3f}  "
        f"[{', '.join(f'{v:.1f}' for v in r['box_yxyx_abs'])}] px"
        for r in records
    )
