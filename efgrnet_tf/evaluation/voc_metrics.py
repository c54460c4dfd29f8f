"""PASCAL VOC detection AP with the semantics of the official devkit.

The matching and the two AP definitions follow `voc_eval.py` of py-faster-rcnn (the evaluation
the EFGRNet authors' code ran, itself a port of the devkit's `VOCevaldet.m`):

- per class, all detections of the data set are sorted by descending score (ties keep their
  input order);
- a detection is compared with every ground-truth box of its class in its image, difficult
  ones included, and takes the one with the highest IoU; if that IoU is > the threshold (0.5):
  a difficult box makes the detection neither TP nor FP, an unmatched box makes it a TP and
  marks the box, an already matched box makes it a FP (duplicate). The devkit does not fall
  back to the next best box when the best one is taken. Otherwise the detection is a FP;
- the positives are the non-difficult boxes;
- AP is either VOC2007's 11-point interpolation (the mean over t = 0, 0.1, ..., 1 of the
  highest precision at recall >= t, with the thresholds of `np.arange(0, 1.1, 0.1)` as in
  `voc_eval.py`) or the area under the monotone precision envelope (VOC2010 and later).

Pixel convention: the devkit's boxes are 1-based inclusive pixel indices and its IoU adds 1 to
every width and height. Our data module normalises a VOC box `xmin..xmax` as the continuous range
`[xmin - 1, xmax]` (see `efgrnet_tf.data.sources.voc_folder`), so the continuous IoU of our
absolute boxes (`iou_plus_one=False`, the default) equals the devkit's IoU of the annotated
boxes. `iou_plus_one=True` is for boxes stored as pixel indices, i.e. `[xmin - 1, xmax - 1]`.

Classes without any non-difficult ground truth have no AP (recall is undefined): they are left
out of the per-class results and of the mean, as are their detections.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from efgrnet_tf.evaluation.detections import EvalImage, yxyx_normalized_to_xyxy_abs


@dataclasses.dataclass(frozen=True)
class VocMetrics:
    """VOC results.

    Attributes:
      map_11point: mean over classes of the VOC2007 11-point AP.
      map_area: mean over classes of the area-under-the-envelope AP (VOC2010+).
      ap_11point, ap_area: per class name, for the classes with at least one positive.
      num_positives: per class name, the non-difficult ground-truth boxes.
    """

    map_11point: float
    map_area: float
    ap_11point: dict[str, float]
    ap_area: dict[str, float]
    num_positives: dict[str, int]

    def as_flat_dict(self, per_class: bool = True) -> dict[str, float]:
        """`{"mAP_11point", "mAP_area"}` plus `AP_11point/<class>`, `AP_area/<class>`."""
        flat = {"mAP_11point": self.map_11point, "mAP_area": self.map_area}
        if per_class:
            flat.update({f"AP_11point/{name}": ap for name, ap in self.ap_11point.items()})
            flat.update({f"AP_area/{name}": ap for name, ap in self.ap_area.items()})
        return flat


def voc_ap(recall: np.ndarray, precision: np.ndarray, use_07_metric: bool) -> float:
    """AP of one class from its cumulative recall and precision, as `voc_eval.voc_ap`.

    Args:
      recall, precision: `[num_detections]`, after each detection in descending score order.
      use_07_metric: VOC2007 11-point interpolation; False: area under the precision envelope.
    Returns:
      AP in [0, 1]; 0 when there are no detections.
    """
    recall = np.asarray(recall, np.float64)
    precision = np.asarray(precision, np.float64)
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            above = recall >= t
            ap += (np.max(precision[above]) if above.any() else 0.0) / 11.0
        return float(ap)
    mrec = np.concatenate(([0.0], recall, [1.0]))
    mpre = np.concatenate(([0.0], precision, [0.0]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[steps + 1] - mrec[steps]) * mpre[steps + 1]))


def compute_voc_metrics(
    images: Sequence[EvalImage],
    class_names: Sequence[str],
    *,
    iou_threshold: float = 0.5,
    iou_plus_one: bool = False,
) -> VocMetrics:
    """VOC AP per class and mAP over `images` (their ground truth and detections).

    Args:
      images: every image of the split, those without ground truth or detections included.
      class_names: label k is `class_names[k - 1]`; labels outside 1..len are ignored.
      iou_threshold: a match needs IoU strictly greater than this (as `voc_eval.py`).
      iou_plus_one: add 1 to widths and heights in the IoU (see the module docstring).
    Returns:
      `VocMetrics`; a mean over no classes is 0.
    """
    ap_11point, ap_area, num_positives = {}, {}, {}
    for label, name in enumerate(class_names, start=1):
        recall, precision, npos = _class_precision_recall(
            images, label, iou_threshold, iou_plus_one
        )
        if npos == 0:
            continue
        num_positives[name] = npos
        ap_11point[name] = voc_ap(recall, precision, use_07_metric=True)
        ap_area[name] = voc_ap(recall, precision, use_07_metric=False)
    return VocMetrics(
        map_11point=float(np.mean(list(ap_11point.values()))) if ap_11point else 0.0,
        map_area=float(np.mean(list(ap_area.values()))) if ap_area else 0.0,
        ap_11point=ap_11point,
        ap_area=ap_area,
        num_positives=num_positives,
    )


def _class_precision_recall(
    images: Sequence[EvalImage], label: int, iou_threshold: float, iou_plus_one: bool
) -> tuple[np.ndarray, np.ndarray, int]:
    """Cumulative recall and precision `[num_detections]` of one class, and its positives."""
    gt_boxes, gt_difficult, gt_matched = [], [], []
    det_image, det_scores, det_boxes = [], [], []
    for index, image in enumerate(images):
        is_class = image.gt_classes == label
        gt_boxes.append(
            yxyx_normalized_to_xyxy_abs(image.gt_boxes_yxyx[is_class], image.original_size_hw)
        )
        gt_difficult.append(image.gt_is_difficult[is_class])
        gt_matched.append(np.zeros(int(is_class.sum()), bool))
        is_det = image.det_classes == label
        det_boxes.append(
            yxyx_normalized_to_xyxy_abs(image.det_boxes_yxyx[is_det], image.original_size_hw)
        )
        det_scores.append(image.det_scores[is_det])
        det_image.append(np.full(int(is_det.sum()), index))
    npos = int(sum(int((~difficult).sum()) for difficult in gt_difficult))
    scores = np.concatenate(det_scores) if det_scores else np.zeros(0)
    boxes = np.concatenate(det_boxes) if det_boxes else np.zeros((0, 4))
    owners = np.concatenate(det_image) if det_image else np.zeros(0, np.int64)
    order = np.argsort(-scores, kind="stable")
    tp = np.zeros(len(order))
    fp = np.zeros(len(order))
    for d, det in enumerate(order):
        image_index = owners[det]
        overlaps = _iou_one_to_many(boxes[det], gt_boxes[image_index], iou_plus_one)
        if overlaps.size == 0 or overlaps.max() <= iou_threshold:
            fp[d] = 1.0
            continue
        best = int(np.argmax(overlaps))
        if gt_difficult[image_index][best]:
            continue
        if gt_matched[image_index][best]:
            fp[d] = 1.0
        else:
            tp[d] = 1.0
            gt_matched[image_index][best] = True
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / max(npos, 1)
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return recall, precision, npos


def _iou_one_to_many(box_xyxy: np.ndarray, boxes_xyxy: np.ndarray, plus_one: bool) -> np.ndarray:
    """IoU `[n]` of one `[4]` xyxy box with `[n, 4]` xyxy boxes (absolute, continuous)."""
    extra = 1.0 if plus_one else 0.0
    inter_w = np.maximum(
        np.minimum(box_xyxy[2], boxes_xyxy[:, 2])
        - np.maximum(box_xyxy[0], boxes_xyxy[:, 0])
        + extra,
        0.0,
    )
    inter_h = np.maximum(
        np.minimum(box_xyxy[3], boxes_xyxy[:, 3])
        - np.maximum(box_xyxy[1], boxes_xyxy[:, 1])
        + extra,
        0.0,
    )
    inter = inter_w * inter_h
    area = (box_xyxy[2] - box_xyxy[0] + extra) * (box_xyxy[3] - box_xyxy[1] + extra)
    areas = (boxes_xyxy[:, 2] - boxes_xyxy[:, 0] + extra) * (
        boxes_xyxy[:, 3] - boxes_xyxy[:, 1] + extra
    )
    union = area + areas - inter
    return inter / np.maximum(union, np.finfo(np.float64).eps)
