"""Detection on image files: listing them, writing `detections.json` and drawings.

Used by `efgrnet-predict` (`efgrnet_tf/cli/predict.py`) and the demo.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
from absl import logging

from efgrnet_tf.serving.detection_records import detection_records
from efgrnet_tf.serving.image_files import UnreadableImageError, read_rgb
from efgrnet_tf.serving.predictor import Detector
from efgrnet_tf.visualization import draw_boxes

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def list_images(paths: Iterable[str]) -> tuple[list[str], list[dict]]:
    """The image files of `paths`, and what was left out.

    A file named on the command line is kept whatever its name; a folder is replaced by its
    files with an image extension (sorted, not recursive). Its other files and sub-folders are
    left out with one warning each.

    Returns:
      `(image_paths, skipped)`, `skipped` as `[{"file", "reason"}, ...]`.
    Raises:
      FileNotFoundError: a path does not exist or a folder holds no image.
    """
    images, skipped = [], []
    for path in paths:
        if os.path.isdir(path):
            found = []
            for name in sorted(os.listdir(path)):
                entry = os.path.join(path, name)
                if os.path.isdir(entry):
                    skipped.append(_skip(entry, "a sub-folder (folders are not searched)"))
                elif name.lower().endswith(IMAGE_EXTENSIONS):
                    found.append(entry)
                else:
                    skipped.append(_skip(entry, f"not a {'/'.join(IMAGE_EXTENSIONS)} file"))
            if not found:
                raise FileNotFoundError(f"no {'/'.join(IMAGE_EXTENSIONS)} images in {path}")
            images.extend(found)
        elif os.path.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f"no such image file or folder: {path}")
    return images, skipped


def _skip(path: str, reason: str) -> dict:
    logging.warning("skipping %s: %s", path, reason)
    return {"file": path, "reason": reason}


def predict_images(
    detector: Detector,
    image_paths: Sequence[str],
    output_dir: str,
    score_threshold: float,
    drawing_min_side: int = 0,
    skipped: Sequence[dict] = (),
    draw_score_threshold: float | None = None,
) -> tuple[list[dict], list[dict]]:
    """Runs `detector` on each image, writes `detections.json`, `skipped.json` and the PNGs.

    `output_dir/detections.json` is a list with one entry per image, `{"file",
    "image_size_hw", "detections": [{"class_id", "class_name", "score", "box_yxyx_normalized",
    "box_yxyx_abs"}, ...]}` (see `detection_records`; absolute boxes in pixels).
    `output_dir/<image stem>.png` is the image with the boxes, names and scores drawn (a
    `_1`, `_2` suffix when two inputs share a stem).
    An image `read_rgb` cannot read is skipped with a warning naming it and the reason;
    `output_dir/skipped.json` lists those and the given `skipped`, as `[{"file", "reason"}]`.

    Args:
      detector: uint8 `[H, W, 3]` RGB -> one image's detection outputs, and class names.
      image_paths: image files (`read_rgb`).
      output_dir: created when missing.
      score_threshold: detections scoring below it are neither written nor drawn.
      draw_score_threshold: detections scoring below it are written but not drawn; None:
        `score_threshold`.
      drawing_min_side: a PNG whose shorter side would be smaller is drawn on the image enlarged
        by an integer factor (nearest neighbour), so labels stay readable on small inputs;
        `detections.json` is unaffected.
      skipped: files left out before (`list_images`), recorded in `skipped.json` too.
    Returns:
      The entries written to `detections.json` and to `skipped.json`.
    """
    os.makedirs(output_dir, exist_ok=True)
    results, used_names, skipped = [], set(), list(skipped)
    for path in image_paths:
        try:
            pixels = read_rgb(path)
        except UnreadableImageError as e:
            skipped.append(_skip(path, f"unreadable image: {e}"))
            continue
        detections = detector(pixels)
        records = detection_records(
            detections, pixels.shape[:2], detector.class_names, score_threshold
        )
        results.append(
            {"file": path, "image_size_hw": list(pixels.shape[:2]), "detections": records}
        )
        drawn = [r for r in records if r["score"] >= (draw_score_threshold or 0.0)]
        drawing = draw_boxes(
            _enlarged(pixels, drawing_min_side),
            np.array([r["box_yxyx_normalized"] for r in drawn]).reshape(-1, 4),
            [r["class_id"] for r in drawn],
            [r["score"] for r in drawn],
            detector.class_names,
        )
        drawing.save(os.path.join(output_dir, _unique_png_name(path, used_names)))
        named = ", ".join(f"{r['class_name']} {r['score']:.2f}" for r in records)
        logging.info("%s: %d detections%s", path, len(records), f" ({named})" if named else "")
    with open(os.path.join(output_dir, "detections.json"), "w") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(output_dir, "skipped.json"), "w") as f:
        json.dump(skipped, f, indent=1)
    return results, skipped


def _enlarged(pixels: np.ndarray, min_side: int) -> np.ndarray:
    """`pixels` repeated k times along both axes, k the smallest integer reaching `min_side`."""
    factor = -(-min_side // min(pixels.shape[:2])) if min_side > 0 else 1
    return pixels if factor <= 1 else pixels.repeat(factor, axis=0).repeat(factor, axis=1)


def _unique_png_name(path: str, used: set[str]) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    name, i = f"{stem}.png", 1
    while name in used:
        name, i = f"{stem}_{i}.png", i + 1
    used.add(name)
    return name
