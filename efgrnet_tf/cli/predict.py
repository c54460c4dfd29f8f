"""`efgrnet-predict` / `scripts/predict.py`: detections on image files, as JSON and drawings.

    efgrnet-predict --saved_model_dir exports/efgrnet/1 --output_dir out images/ photo.jpg
    efgrnet-predict --config configs/voc_vgg16_320.yaml --checkpoint runs/voc320 \
        --output_dir out images/

Writes `output_dir/detections.json`, a list with one entry per image,
`{"file", "image_size_hw", "detections": [{"class_id", "class_name", "score",
"box_yxyx_normalized", "box_yxyx_abs"}, ...]}` (absolute boxes in pixels), and
`output_dir/<image stem>.png` with the boxes, names and scores drawn.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Sequence

import numpy as np
from absl import app, flags, logging
from PIL import Image

from efgrnet_tf.config import load_config
from efgrnet_tf.serving import predictor
from efgrnet_tf.serving.detection_records import detection_records
from efgrnet_tf.serving.predictor import Detector
from efgrnet_tf.visualization import draw_boxes

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif")

_SAVED_MODEL_DIR = flags.DEFINE_string(
    "saved_model_dir", None, "An export version folder (BASE/N); or give --config/--checkpoint."
)
_CONFIG = flags.DEFINE_string("config", None, "Experiment YAML, to run a training checkpoint.")
_OVERRIDES = flags.DEFINE_multi_string(
    "override", [], "Config override `section.key=value` (YAML value); repeatable."
)
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Checkpoint path or model_dir.")
_OUTPUT_DIR = flags.DEFINE_string("output_dir", None, "Where detections.json and PNGs go.")
_SCORE_THRESHOLD = flags.DEFINE_float(
    "score_threshold", 0.3, "Detections scoring below this are neither written nor drawn."
)


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
    detector: Detector, image_paths: Sequence[str], output_dir: str, score_threshold: float
) -> list[dict]:
    """Runs `detector` on each image, writes `detections.json` and one PNG per image.

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
            pixels,
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


def _unique_png_name(path: str, used: set[str]) -> str:
    stem = os.path.splitext(os.path.basename(path))[0]
    name, i = f"{stem}.png", 1
    while name in used:
        name, i = f"{stem}_{i}.png", i + 1
    used.add(name)
    return name


def load_detector() -> Detector:
    """The detector the flags name: an export, or a config and a checkpoint."""
    if _SAVED_MODEL_DIR.value:
        if _CONFIG.value or _CHECKPOINT.value:
            raise app.UsageError("give either --saved_model_dir or --config/--checkpoint")
        return predictor.saved_model_detector(_SAVED_MODEL_DIR.value)
    if not (_CONFIG.value and _CHECKPOINT.value):
        raise app.UsageError("give --saved_model_dir, or both --config and --checkpoint")
    return predictor.checkpoint_detector(
        load_config(_CONFIG.value, _OVERRIDES.value), _CHECKPOINT.value
    )


def main(argv: list[str]) -> None:
    if len(argv) < 2:
        raise app.UsageError("give one or more image files or folders")
    image_paths = list_images(argv[1:])
    predict_images(load_detector(), image_paths, _OUTPUT_DIR.value, _SCORE_THRESHOLD.value)
    print(os.path.join(_OUTPUT_DIR.value, "detections.json"))


def run() -> None:
    flags.mark_flags_as_required(["output_dir"])
    app.run(main)
