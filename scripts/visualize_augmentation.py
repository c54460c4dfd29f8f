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
from absl import flags

from efgrnet_tf.cli import config_flags, launch
from efgrnet_tf.config import ExperimentConfig
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.pipeline import build_train_dataset
from efgrnet_tf.data.preprocess import restore_uint8_rgb
from efgrnet_tf.visualization import draw_boxes

_OUTPUT = flags.DEFINE_string("output", "augmented.png", "PNG file to write.")
config_flags.define_config_flags("Experiment YAML; none: the synthetic shapes set's defaults.")
_NUM_IMAGES = flags.DEFINE_integer("num_images", 16, "Samples in the grid.")


def render_sample(image_bgr_minus_mean, boxes_yxyx, classes, mean_bgr, class_names):
    """One preprocessed batch element -> PIL RGB image with its (unpadded) boxes and class
    names drawn."""
    rgb = restore_uint8_rgb(image_bgr_minus_mean, mean_bgr).numpy()
    valid = np.asarray(classes) >= 1
    names = dict(enumerate(class_names, start=1))
    return draw_boxes(rgb, np.asarray(boxes_yxyx)[valid], np.asarray(classes)[valid], None, names)


def main(argv):
    del argv
    cfg = config_flags.config_from_flags() if flags.FLAGS.config else ExperimentConfig()
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
    launch.run_tool(main, [__name__, config_flags.MODULE])
