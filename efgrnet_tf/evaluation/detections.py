"""Per-image ground truth and detections in NumPy, and their conversion to absolute boxes.

The evaluator turns each eval batch (docs/design.md: the batch dict) and the detections decoded
for it into one `EvalImage` per image, with padding removed. Boxes stay `[ymin, xmin, ymax,
xmax]` normalised to [0, 1] here; the metrics convert them to absolute pixel coordinates with
the image's original size, so the model's input resolution never enters a metric.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np


@dataclasses.dataclass(frozen=True)
class EvalImage:
    """One evaluated image: its ground truth and the detections for it.

    Attributes:
      image_id: the data set's integer image id (the COCO image id for COCO sources).
      original_size_hw: `(height, width)` in pixels of the image as stored on disk.
      gt_boxes_yxyx: float `[n, 4]`, normalised.
      gt_classes: int `[n]`, 1-based labels.
      gt_is_difficult: bool `[n]` (VOC "difficult"; ignored by the VOC metric).
      gt_is_crowd: bool `[n]` (COCO `iscrowd`; ignored by COCOeval).
      det_boxes_yxyx: float `[k, 4]`, normalised.
      det_scores: float `[k]`.
      det_classes: int `[k]`, 1-based labels.
    """

    image_id: int
    original_size_hw: tuple[int, int]
    gt_boxes_yxyx: np.ndarray
    gt_classes: np.ndarray
    gt_is_difficult: np.ndarray
    gt_is_crowd: np.ndarray
    det_boxes_yxyx: np.ndarray
    det_scores: np.ndarray
    det_classes: np.ndarray


def split_batch(
    batch: Mapping[str, np.ndarray], detections: Mapping[str, np.ndarray]
) -> list[EvalImage]:
    """Splits one eval batch and its detections into `EvalImage`s, dropping the padding.

    Args:
      batch: the batch dict of `efgrnet_tf.data.pipeline.build_eval_dataset` as NumPy:
        `boxes` `[b, M, 4]` yxyx normalised, `classes` `[b, M]` (-1 = padding),
        `is_difficult`, `is_crowd` `[b, M]`, `image_id` `[b]`, `original_size_hw` `[b, 2]`
        (`images` is not read).
      detections: `decode_detections` output as NumPy: `detection_boxes` `[b, K, 4]` yxyx
        normalised, `detection_scores` `[b, K]`, `detection_classes` `[b, K]` 1-based,
        `num_detections` `[b]` (the first `num_detections[i]` entries of row i are valid).
    Returns:
      `b` images in batch order.
    """
    images = []
    for i in range(len(batch["image_id"])):
        valid = np.asarray(batch["classes"][i]) > 0
        k = int(detections["num_detections"][i])
        height, width = (int(v) for v in batch["original_size_hw"][i])
        images.append(
            EvalImage(
                image_id=int(batch["image_id"][i]),
                original_size_hw=(height, width),
                gt_boxes_yxyx=np.asarray(batch["boxes"][i], np.float64)[valid],
                gt_classes=np.asarray(batch["classes"][i], np.int64)[valid],
                gt_is_difficult=np.asarray(batch["is_difficult"][i], bool)[valid],
                gt_is_crowd=np.asarray(batch["is_crowd"][i], bool)[valid],
                det_boxes_yxyx=np.asarray(detections["detection_boxes"][i], np.float64)[:k],
                det_scores=np.asarray(detections["detection_scores"][i], np.float64)[:k],
                det_classes=np.asarray(detections["detection_classes"][i]).astype(np.int64)[:k],
            )
        )
    return images


def yxyx_normalized_to_xyxy_abs(
    boxes_yxyx: np.ndarray, original_size_hw: Sequence[int], clip_to_image: bool = True
) -> np.ndarray:
    """`[n, 4]` yxyx normalised → `[n, 4]` `[xmin, ymin, xmax, ymax]` in pixels (continuous),
    clipped to the image unless `clip_to_image` is False (`postprocess.clip_boxes`)."""
    height, width = original_size_hw
    boxes = np.asarray(boxes_yxyx, np.float64).reshape(-1, 4)
    if clip_to_image:
        boxes = np.clip(boxes, 0.0, 1.0)
    return boxes[:, [1, 0, 3, 2]] * np.array([width, height, width, height], np.float64)


def yxyx_normalized_to_xywh_abs(
    boxes_yxyx: np.ndarray, original_size_hw: Sequence[int], clip_to_image: bool = True
) -> np.ndarray:
    """`[n, 4]` yxyx normalised → `[n, 4]` COCO `[x, y, width, height]` in pixels (continuous),
    clipped to the image unless `clip_to_image` is False."""
    xyxy = yxyx_normalized_to_xyxy_abs(boxes_yxyx, original_size_hw, clip_to_image)
    return np.concatenate([xyxy[:, :2], xyxy[:, 2:] - xyxy[:, :2]], axis=1)


def to_category_ids(labels: np.ndarray, category_ids: Sequence[int] | None) -> np.ndarray:
    """1-based labels `[n]` → original category ids `[n]` (`category_ids[label - 1]`).

    `category_ids` None means the data set has no category ids of its own (VOC, synthetic):
    the labels are returned unchanged.
    """
    labels = np.asarray(labels, np.int64)
    if category_ids is None:
        return labels
    return np.asarray(category_ids, np.int64)[labels - 1]


def to_coco_results(
    images: Sequence[EvalImage],
    category_ids: Sequence[int] | None = None,
    clip_boxes: bool = True,
) -> list[dict]:
    """The COCO results list of the detections of `images`.

    Args:
      images: the evaluated images.
      category_ids: original category id of label k at index k - 1 (None: the labels).
      clip_boxes: clip the boxes to the image (`postprocess.clip_boxes`).
    Returns:
      `[{"image_id", "category_id", "bbox": [x, y, w, h] absolute pixels, "score"}]` as plain
      Python numbers (JSON-serialisable), in image order then detection order.
    """
    results = []
    for image in images:
        boxes = yxyx_normalized_to_xywh_abs(
            image.det_boxes_yxyx, image.original_size_hw, clip_boxes
        )
        categories = to_category_ids(image.det_classes, category_ids)
        for box, category, score in zip(boxes, categories, image.det_scores, strict=True):
            results.append(
                {
                    "image_id": image.image_id,
                    "category_id": int(category),
                    "bbox": [float(v) for v in box],
                    "score": float(score),
                }
            )
    return results
