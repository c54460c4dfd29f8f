"""Detection on image files: listing them, writing `detections.json` and drawings.

Used by `efgrnet-predict` (`efgrnet_tf/cli/predict.py`) and the demo.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
from absl import logging
from PIL import Image

from efgrnet_tf.serving.detection_records import detection_records
from efgrnet_tf.serving.predictor import Detector
from efgrnet_tf.visualization import draw_boxes

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")


def list_images(paths: Iterable[str]) -> list[str]:
    """The files of `paths`, with folders replaced by their image files (sorted, not recursive).

    Raises:
      FileNotFoundError: a path does not exist or a folder holds no image.
    """
    images = []
    for path in paths:
        if os.path.isdir(path):
            found = sorted(
                os.path.join(path, name)
                for name in os.listdir(path)
                if name.lower().endswith(IMAGE_EXTENSIONS)
            )
            if not found:
                raise FileNotFoundError(f"no {'/'.join(IMAGE_EXTENSIONS)} images in {path}")
            images.extend(found)
        elif os.path.isfile(path):
            images.append(path)
        else:
            raise FileNotFoundError(f"no such image file or folder: {path}")
    return images


def predict_images(
    detector: Detector,
    image_paths: Sequence[str],
    output_dir: str,
    score_threshold: float,
    drawing_min_side: int = 0,
) -> list[dict]:
    """Runs `detector` on each image, writes `detections.json` and one PNG per image.

    `output_dir/detections.json` is a list with one entry per image, `{"file",
    "image_size_hw", "detections": [{"class_id", "class_name", "score", "box_yxyx_normalized",
    "box_yxyx_abs"}, ...]}` (see `detection_records`; absolute boxes in pixels).
    `output_dir/<image stem>.png` is the image with the boxes, names and scores drawn (a
    `_1`, `_2` suffix when two inputs share a stem).

    Args:
      detector: uint8 `[H, W, 3]` RGB -> one image's detection outputs, and class names.
      image_paths: image files PIL can read (converted to RGB).
      output_dir: created when missing.
      score_threshold: detections scoring below it are neither written nor drawn.
      drawing_min_side: a PNG whose shorter side would be smaller is drawn on the image enlarged
        by an integer factor (nearest neighbour), so labels stay readable on small inputs;
        `detections.json` is unaffected.
    Returns:
      The entries written to `detections.json`.
    """
    os.makedirs(output_dir, exist_ok=True)
    results, used_names = [], set()
    for path in image_paths:
        with Image.open(path) as image:
            pixels = np.asarray(image.convert("RGB"))
        detections = detector(pixels)
        records = detection_records(
            detections, pixels.shape[:2], detector.class_names, score_threshold
        )
        results.append(
            {"file": path, "image_size_hw": list(pixels.shape[:2]), "detections": records}
        )
        drawing = draw_boxes(
            _enlarged(pixels, drawing_min_side),
            np.array([r["box_yxyx_normalized"] for r in records]).reshape(-1, 4),
            [r["class_id"] for r in records],
            [r["score"] for r in records],
            detector.class_names,
        )
        drawing.save(os.path.join(output_dir, _unique_png_name(path, used_names)))
        logging.info("%s: %d detections", path, len(records))
    with open(os.path.join(output_dir, "detections.json"), "w") as f:
        json.dump(results, f, indent=1)
    return results


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
