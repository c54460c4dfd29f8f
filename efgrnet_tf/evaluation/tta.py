"""Multi-size + flip test-time inference merged by box voting (the paper's "MS" results).

Follows the authors' `eval_dcn_multi_scale.py` (`test_net_multiscale_512`, after RefineDet's
multi-scale test): each original image is resized to every configured square size, and with
`tta.flip` also mirrored left-right; each view yields scored candidate boxes (no NMS), mirrored
views are mapped back, each size keeps only the boxes inside its size window on the original
image, and the pooled candidates are merged per class by box voting (`box_voting`), then
capped. Configured by the `tta:` section (`efgrnet_tf.config.tta.TtaConfig`).

Known differences from the authors' script: it then runs Gaussian soft-NMS over the voted
boxes before keeping 100 per class; that step is not reproduced here. Box sides and IoU are
continuous (the script adds 1 pixel to widths and heights).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import keras
import numpy as np
import tensorflow as tf

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.config.tta import TtaScaleConfig
from efgrnet_tf.data.preprocess import preprocess_for_eval
from efgrnet_tf.evaluation.box_voting import vote_boxes
from efgrnet_tf.evaluation.multi_size import candidates_fn_at_size
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights
from efgrnet_tf.modeling.efgrnet import build_model


@dataclasses.dataclass(frozen=True)
class ViewCandidates:
    """What one view (an input size, mirrored or not) of an image contributes to the vote.

    Attributes:
      boxes_yxyx: `[n, 4]` normalised to the original image (mapped back when `flipped`).
      scores: `[n]`; classes: `[n]` 1-based.
    """

    size: int
    flipped: bool
    boxes_yxyx: np.ndarray
    scores: np.ndarray
    classes: np.ndarray


class MultiSizeDetector:
    """Test-time-augmented detection of original images with one model.

    Called on a batch of same-sized uint8 RGB images `[b, H, W, 3]` it returns the evaluator's
    detection dict (`efgrnet_tf.evaluation.detectors`), K = `tta.max_detections`; the eval
    dataset for it is `efgrnet_tf.data.pipeline.build_original_size_eval_dataset`.
    """

    def __init__(self, model: keras.Model, cfg: ExperimentConfig):
        """Builds one candidate function per configured size (each traced on first use).

        Raises:
          ValueError: the config's `tta.scales` is empty.
        """
        if not cfg.tta.scales:
            raise ValueError("the config has no tta.scales: add a `tta:` section to use TTA")
        self._cfg = cfg
        self._candidates = {
            scale.size: candidates_fn_at_size(
                model, cfg, scale.size, cfg.tta.max_candidates_per_view
            )
            for scale in cfg.tta.scales
        }

    def detect_image(self, image_rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Detections of one uint8 RGB image `[H, W, 3]` (any size).

        Returns:
          `(boxes_yxyx [k, 4] normalised to the image, scores [k], classes [k] 1-based)`, best
          first, k ≤ `tta.max_detections`.
        """
        tta = self._cfg.tta
        views = self.view_candidates(image_rgb)
        boxes, scores, classes = vote_boxes(
            np.concatenate([view.boxes_yxyx for view in views]),
            np.concatenate([view.scores for view in views]),
            np.concatenate([view.classes for view in views]),
            iou_threshold=tta.vote_iou_threshold,
            soft=tta.soft_voting,
            soft_min_score=tta.soft_voting_min_score,
        )
        return cap_detections(
            boxes, scores, classes, tta.max_detections_per_class, tta.max_detections
        )

    def view_candidates(self, image_rgb: np.ndarray) -> list[ViewCandidates]:
        """The candidates each view of one uint8 RGB image `[H, W, 3]` contributes to the vote:
        scoring ≥ `tta.score_threshold`, boxes on the original image (mirrored views mapped
        back), inside their size's window. Views in `tta.scales` order, unflipped first."""
        tta = self._cfg.tta
        image_rgb = tf.convert_to_tensor(image_rgb)
        images = [image_rgb, tf.reverse(image_rgb, axis=[1])] if tta.flip else [image_rgb]
        original_size_hw = tuple(int(v) for v in image_rgb.shape[:2])
        views = []
        for scale in tta.scales:
            inputs = preprocess_for_eval(tf.stack(images), scale.size, self._cfg.data.mean_bgr)
            candidates = {k: v.numpy() for k, v in self._candidates[scale.size](inputs).items()}
            for index in range(len(images)):
                flipped = index == 1
                boxes = candidates["boxes_yxyx"][index]
                if flipped:
                    boxes = flip_boxes_left_right(boxes)
                scores = candidates["scores"][index]
                kept = (scores >= tta.score_threshold) & in_size_window(
                    boxes, original_size_hw, scale
                )
                views.append(
                    ViewCandidates(
                        size=scale.size,
                        flipped=flipped,
                        boxes_yxyx=boxes[kept],
                        scores=scores[kept],
                        classes=candidates["classes"][index][kept],
                    )
                )
        return views

    def __call__(self, images_rgb: tf.Tensor) -> dict[str, np.ndarray]:
        """The detection dict of a batch of original images (see the class docstring)."""
        size = self._cfg.tta.max_detections
        batch = np.asarray(images_rgb)
        out = {
            "detection_boxes": np.zeros([len(batch), size, 4], np.float32),
            "detection_scores": np.zeros([len(batch), size], np.float32),
            "detection_classes": np.zeros([len(batch), size], np.int32),
            "num_detections": np.zeros([len(batch)], np.int32),
        }
        for i, image in enumerate(batch):
            boxes, scores, classes = self.detect_image(image)
            n = len(scores)
            out["detection_boxes"][i, :n] = boxes
            out["detection_scores"][i, :n] = scores
            out["detection_classes"][i, :n] = classes
            out["num_detections"][i] = n
        return out


def checkpoint_tta_detector(
    cfg: ExperimentConfig, checkpoint: str
) -> tuple[MultiSizeDetector, str]:
    """The model of `cfg` with a training checkpoint's weights (a path or a folder), as a
    `MultiSizeDetector`; also returns the checkpoint path that was read."""
    model = build_model(cfg)
    path = restore_model_weights(model, checkpoint)
    return MultiSizeDetector(model, cfg), path


def flip_boxes_left_right(boxes_yxyx: np.ndarray) -> np.ndarray:
    """Boxes `[n, 4]` (yxyx normalised) of a mirrored image → the same boxes on the original."""
    boxes_yxyx = np.asarray(boxes_yxyx)
    return np.stack(
        [boxes_yxyx[:, 0], 1.0 - boxes_yxyx[:, 3], boxes_yxyx[:, 2], 1.0 - boxes_yxyx[:, 1]],
        axis=-1,
    )


def in_size_window(
    boxes_yxyx: np.ndarray, original_size_hw: Sequence[int], scale: TtaScaleConfig
) -> np.ndarray:
    """Which boxes `[n, 4]` (yxyx normalised) lie in `scale`'s window of sides in original
    pixels: longer side > `min_box_pixels` and shorter side < `max_box_pixels` (0 = open)."""
    height, width = original_size_hw
    sides = np.stack(
        [
            (boxes_yxyx[:, 2] - boxes_yxyx[:, 0]) * height,
            (boxes_yxyx[:, 3] - boxes_yxyx[:, 1]) * width,
        ],
        axis=-1,
    )
    kept = np.ones(len(boxes_yxyx), bool)
    if scale.min_box_pixels > 0:
        kept &= sides.max(axis=-1) > scale.min_box_pixels
    if scale.max_box_pixels > 0:
        kept &= sides.min(axis=-1) < scale.max_box_pixels
    return kept


def cap_detections(
    boxes_yxyx: np.ndarray,
    scores: np.ndarray,
    classes: np.ndarray,
    max_per_class: int,
    max_total: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The best `max_per_class` detections of each class, then the best `max_total`, best
    first."""
    order = np.lexsort((-scores, classes))
    classes_sorted = classes[order]
    first_of_class = np.searchsorted(classes_sorted, classes_sorted, side="left")
    rank_in_class = np.arange(len(order)) - first_of_class
    order = order[rank_in_class < max_per_class]
    order = order[np.argsort(-scores[order], kind="stable")][:max_total]
    return boxes_yxyx[order], scores[order], classes[order]
