"""COCO box AP with `pycocotools.COCOeval` (or `faster_coco_eval`, same numbers, faster).

The ground truth is either the data set's own annotation file (the official path: segment
areas and crowd regions exactly as released) or a COCO dataset dict built in memory from the
eval split's records by `build_coco_ground_truth` (any source; the area of a box is its
width * height in pixels). Detections and ground truth carry the data set's original category
ids. pycocotools' progress prints are captured and sent to the absl log at debug level.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Mapping, Sequence

import numpy as np
from absl import logging

from efgrnet_tf.evaluation.detections import (
    EvalImage,
    to_category_ids,
    yxyx_normalized_to_xywh_abs,
)

# The 12 numbers of `COCOeval.summarize()` (`COCOeval.stats`), in that order.
COCO_METRIC_NAMES = (
    "AP",
    "AP50",
    "AP75",
    "APs",
    "APm",
    "APl",
    "AR1",
    "AR10",
    "AR100",
    "ARs",
    "ARm",
    "ARl",
)


def build_coco_ground_truth(
    images: Sequence[EvalImage],
    class_names: Sequence[str],
    category_ids: Sequence[int] | None = None,
) -> dict:
    """A COCO instances dataset dict holding the ground truth of `images`.

    Args:
      images: the evaluated images (their `gt_*` fields and sizes are read).
      class_names: label k is `class_names[k - 1]`; becomes the categories' names.
      category_ids: original category id of label k at index k - 1; None: the labels are the
        category ids (data sets without ids of their own).
    Returns:
      `{"images": [{id, height, width}], "annotations": [{id (from 1), image_id, category_id,
      bbox [x, y, w, h] absolute pixels, area = w * h, iscrowd}], "categories": [{id, name}]}`.
      VOC "difficult" boxes are ordinary annotations here: COCOeval can ignore only crowd
      regions (it overwrites any `ignore` field with `iscrowd`), and crowd matching differs.
    """
    labels = np.arange(1, len(class_names) + 1)
    categories = [
        {"id": int(c), "name": str(name)}
        for c, name in zip(to_category_ids(labels, category_ids), class_names, strict=True)
    ]
    coco_images, annotations = [], []
    for image in images:
        height, width = image.original_size_hw
        coco_images.append({"id": image.image_id, "height": height, "width": width})
        boxes = yxyx_normalized_to_xywh_abs(image.gt_boxes_yxyx, image.original_size_hw)
        ids = to_category_ids(image.gt_classes, category_ids)
        for box, category, crowd in zip(boxes, ids, image.gt_is_crowd, strict=True):
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image.image_id,
                    "category_id": int(category),
                    "bbox": [float(v) for v in box],
                    "area": float(box[2] * box[3]),
                    "iscrowd": int(crowd),
                }
            )
    return {"images": coco_images, "annotations": annotations, "categories": categories}


def compute_coco_metrics(
    ground_truth: Mapping | str,
    results: Sequence[Mapping],
    *,
    image_ids: Sequence[int] | None = None,
    per_class: bool = False,
    use_faster_coco_eval: bool = False,
) -> dict[str, float]:
    """Runs COCOeval (box AP) on `results` against `ground_truth`.

    Args:
      ground_truth: a COCO instances dataset dict (`build_coco_ground_truth`) or the path of an
        instances JSON file.
      results: `[{image_id, category_id, bbox [x, y, w, h] absolute pixels, score}]`; may be
        empty.
      image_ids: the images evaluated (default: every image of the ground truth). Pass the ids
        of the eval split when the annotation file holds more images than were run.
      per_class: also return `AP/<category name>` (AP@[.5:.95] of each category that has
        ground truth in the evaluated images).
      use_faster_coco_eval: evaluate with `faster_coco_eval` instead of `pycocotools`.
    Returns:
      The 12 `COCO_METRIC_NAMES` (pycocotools' value -1 means "no ground truth in this area
      range") and, with `per_class`, the per-category APs.
    Raises:
      ImportError: `use_faster_coco_eval` without the `faster-coco-eval` package.
    """
    coco_cls, coco_eval_cls = _backend(use_faster_coco_eval)
    log = io.StringIO()
    with contextlib.redirect_stdout(log):
        coco_gt = _load_ground_truth(coco_cls, ground_truth)
        coco_dt = _load_results(coco_cls, coco_gt, list(results))
        coco_eval = coco_eval_cls(coco_gt, coco_dt, iouType="bbox")
        if image_ids is not None:
            coco_eval.params.imgIds = sorted({int(i) for i in image_ids})
        coco_eval.evaluate()
        coco_eval.accumulate()
        coco_eval.summarize()
    logging.debug("COCOeval output:\n%s", log.getvalue())
    metrics = {
        name: float(v)
        for name, v in zip(
            COCO_METRIC_NAMES, coco_eval.stats[: len(COCO_METRIC_NAMES)], strict=True
        )
    }
    if per_class:
        metrics.update(_per_category_ap(coco_gt, coco_eval))
    return metrics


def _backend(use_faster_coco_eval: bool):
    """The (COCO, COCOeval) classes of the chosen implementation, imported on first use."""
    if not use_faster_coco_eval:
        from pycocotools.coco import COCO
        from pycocotools.cocoeval import COCOeval

        return COCO, COCOeval
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError as e:
        raise ImportError(
            "eval.use_faster_coco_eval is true but the faster-coco-eval package is not "
            "installed; `pip install faster-coco-eval` (the `fast-eval` extra) or set "
            "eval.use_faster_coco_eval=false"
        ) from e
    return COCO, COCOeval_faster


def _load_ground_truth(coco_cls, ground_truth: Mapping | str):
    if isinstance(ground_truth, str):
        return coco_cls(ground_truth)
    coco_gt = coco_cls()
    coco_gt.dataset = dict(ground_truth)
    coco_gt.createIndex()
    return coco_gt


def _load_results(coco_cls, coco_gt, results: list):
    """The detections as a COCO object; `loadRes` cannot take an empty list, so build that."""
    if results:
        return coco_gt.loadRes(results)
    coco_dt = coco_cls()
    coco_dt.dataset = {
        "images": list(coco_gt.dataset["images"]),
        "categories": list(coco_gt.dataset["categories"]),
        "annotations": [],
    }
    coco_dt.createIndex()
    return coco_dt


def _per_category_ap(coco_gt, coco_eval) -> dict[str, float]:
    """`AP/<name>` from `eval["precision"]` `[T, R, K, A, M]`: all areas, 100 detections.

    Categories whose precision is all -1 (no ground truth in the evaluated images) are left out.
    """
    precision = np.asarray(coco_eval.eval["precision"])
    per_class = {}
    for k, category_id in enumerate(coco_eval.params.catIds):
        values = precision[:, :, k, 0, -1]
        values = values[values > -1]
        if values.size:
            name = coco_gt.cats[category_id]["name"]
            per_class[f"AP/{name}"] = float(np.mean(values))
    return per_class
