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
    clip_detections: bool = True,
) -> VocMetrics:
    """VOC AP per class and mAP over `images` (their ground truth and detections).

    Args:
      images: every image of the split, those without ground truth or detections included.
      class_names: label k is `class_names[k - 1]`; labels outside 1..len are ignored.
      iou_threshold: a match needs IoU strictly greater than this (as `voc_eval.py`).
      iou_plus_one: add 1 to widths and heights in the IoU (see the module docstring).
      clip_detections: clip detected boxes to the image before matching
        (`postprocess.clip_boxes`; the authors' code does not).
    Returns:
      `VocMetrics`; a mean over no classes is 0.
    """
    gt_classes, gt_difficult, det = _match_targets(images, iou_plus_one, clip_detections)
    ap_11point, ap_area, num_positives = {}, {}, {}
    for label, name in enumerate(class_names, start=1):
        npos = int(np.sum((gt_classes == label) & ~gt_difficult))
        if npos == 0:
            continue
        is_class = det["classes"] == label
        order = np.argsort(-det["scores"][is_class], kind="stable")
        recall, precision = _precision_recall(
            det["best_iou"][is_class][order] > iou_threshold,
            det["best_gt"][is_class][order],
            gt_difficult,
            npos,
        )
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


def _match_targets(
    images: Sequence[EvalImage], iou_plus_one: bool, clip_detections: bool
) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Every detection's candidate box: the same-class box of its image with the highest IoU.

    In the devkit this choice does not depend on which boxes earlier detections took, so it is
    computed for all detections at once, one IoU matrix per image.
    Returns:
      Ground-truth classes `[G]` and difficult flags `[G]` of all images concatenated, and per
      detection `[D]`: `classes`, `scores`, `best_iou` (-inf without a same-class box) and
      `best_gt` (index into the concatenated ground truth; meaningless where best_iou = -inf).
    """
    gt_classes, gt_difficult = [], []
    classes, scores, best_iou, best_gt = [], [], [], []
    offset = 0
    for image in images:
        gt_xyxy = yxyx_normalized_to_xyxy_abs(image.gt_boxes_yxyx, image.original_size_hw)
        det_xyxy = yxyx_normalized_to_xyxy_abs(
            image.det_boxes_yxyx, image.original_size_hw, clip_detections
        )
        iou = _pairwise_iou(det_xyxy, gt_xyxy, iou_plus_one)
        iou[image.det_classes[:, None] != image.gt_classes[None, :]] = -np.inf
        if iou.shape[1]:
            best_iou.append(iou.max(axis=1))
            best_gt.append(offset + iou.argmax(axis=1))
        else:
            best_iou.append(np.full(len(det_xyxy), -np.inf))
            best_gt.append(np.zeros(len(det_xyxy), np.int64))
        classes.append(image.det_classes)
        scores.append(image.det_scores)
        gt_classes.append(image.gt_classes)
        gt_difficult.append(image.gt_is_difficult)
        offset += len(gt_xyxy)
    detections = {
        "classes": np.concatenate([np.zeros(0, np.int64), *classes]),
        "scores": np.concatenate([np.zeros(0), *scores]),
        "best_iou": np.concatenate([np.zeros(0), *best_iou]),
        "best_gt": np.concatenate([np.zeros(0, np.int64), *best_gt]),
    }
    return (
        np.concatenate([np.zeros(0, np.int64), *gt_classes]),
        np.concatenate([np.zeros(0, bool), *gt_difficult]),
        detections,
    )


def _precision_recall(
    overlaps: np.ndarray, best_gt: np.ndarray, gt_difficult: np.ndarray, npos: int
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative recall and precision `[D]` of one class's detections in score order.

    Args:
      overlaps: bool `[D]`, the detection's best IoU is above the threshold.
      best_gt: `[D]` index of that box in the concatenated ground truth.
      gt_difficult: bool `[G]`.
      npos: the class's non-difficult boxes.
    """
    on_difficult = overlaps & gt_difficult[best_gt]
    claims = np.flatnonzero(overlaps & ~on_difficult)
    # The first (highest-scoring) claim on a box is its TP; later claims are duplicates.
    _, first = np.unique(best_gt[claims], return_index=True)
    tp = np.zeros(len(overlaps))
    tp[claims[first]] = 1.0
    fp = (~on_difficult).astype(np.float64) - tp
    tp, fp = np.cumsum(tp), np.cumsum(fp)
    recall = tp / npos
    precision = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    return recall, precision


def _pairwise_iou(boxes_a: np.ndarray, boxes_b: np.ndarray, plus_one: bool) -> np.ndarray:
    """IoU `[n, m]` of `[n, 4]` and `[m, 4]` xyxy boxes (absolute, continuous)."""
    extra = 1.0 if plus_one else 0.0
    a, b = boxes_a[:, None, :], boxes_b[None, :, :]
    inter_w = np.maximum(
        np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + extra, 0.0
    )
    inter_h = np.maximum(
        np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + extra, 0.0
    )
    inter = inter_w * inter_h
    area_a = (a[..., 2] - a[..., 0] + extra) * (a[..., 3] - a[..., 1] + extra)
    area_b = (b[..., 2] - b[..., 0] + extra) * (b[..., 3] - b[..., 1] + extra)
    return inter / np.maximum(area_a + area_b - inter, np.finfo(np.float64).eps)
