"""Writes a PNG grid of augmented training samples with their boxes and class names drawn.

    python scripts/visualize_augmentation.py --output=/tmp/augmented.png \
        [--config=configs/voc_vgg16_320.yaml] [--override=data.seed=3] [--num_images=16]

Without `--config` the embedded synthetic shapes set is used, with the default augmentation
(the authors' rules, docs/design.md "Training augmentation"); overrides show a switch, e.g.
`--override=data.augmentation.expand_aspect_jitter=false`. Boxes must sit on the objects: this
is the visual check that augmentation moves boxes with the pixels.
"""

from __future__ import annotations

import math

import numpy as np
import PIL.Image
import PIL.ImageDraw
from absl import flags

from efgrnet_tf.cli import launch
from efgrnet_tf.config import ExperimentConfig, load_config
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.pipeline import build_train_dataset

_OUTPUT = flags.DEFINE_string("output", "augmented.png", "PNG file to write.")
_CONFIG = flags.DEFINE_string("config", "", "Experiment YAML; empty = synthetic defaults.")
_OVERRIDES = flags.DEFINE_multi_string("override", [], "Config overrides key=value.")
_NUM_IMAGES = flags.DEFINE_integer("num_images", 16, "Samples in the grid.")

_COLOURS = ((255, 64, 64), (64, 255, 64), (64, 128, 255), (255, 255, 0), (255, 0, 255))


def render_sample(image_bgr_minus_mean, boxes_yxyx, classes, mean_bgr, class_names):
    """One preprocessed batch element -> PIL RGB image with boxes and labels drawn."""
    rgb = np.clip(image_bgr_minus_mean + np.asarray(mean_bgr), 0, 255)[..., ::-1]
    picture = PIL.Image.fromarray(rgb.astype(np.uint8))
    draw = PIL.ImageDraw.Draw(picture)
    height, width = rgb.shape[:2]
    for box, label in zip(boxes_yxyx, classes, strict=True):
        if label < 1:
            continue
        colour = _COLOURS[int(label) % len(_COLOURS)]
        ymin, xmin, ymax, xmax = box * [height, width, height, width]
        draw.rectangle([xmin, ymin, xmax - 1, ymax - 1], outline=colour, width=1)
        draw.text((xmin + 2, ymin + 1), class_names[int(label) - 1], fill=colour)
    return picture


def main(argv):
    del argv
    cfg = load_config(_CONFIG.value, _OVERRIDES.value) if _CONFIG.value else ExperimentConfig()
    class_names = dataset_info(cfg).class_names
    batch = next(iter(build_train_dataset(cfg).unbatch().batch(_NUM_IMAGES.value)))
    pictures = [
        render_sample(image, boxes, classes, cfg.data.mean_bgr, class_names)
        for image, boxes, classes in zip(
            batch["images"].numpy(), batch["boxes"].numpy(), batch["classes"].numpy(), strict=True
        )
    ]
    columns = math.ceil(math.sqrt(len(pictures)))
    rows = math.ceil(len(pictures) / columns)
    side = pictures[0].width
    grid = PIL.Image.new("RGB", (columns * (side + 4), rows * (side + 4)), (255, 255, 255))
    for i, picture in enumerate(pictures):
        grid.paste(picture, ((i % columns) * (side + 4), (i // columns) * (side + 4)))
    grid.save(_OUTPUT.value)
    print(f"wrote {len(pictures)} samples to {_OUTPUT.value}")


if __name__ == "__main__":
    launch.run_tool(main, [__name__])
