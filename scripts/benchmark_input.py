"""Images per second of the training input pipeline (full augmentation), per CPU core.

    python scripts/benchmark_input.py [--num_images=300] [--sizes=320,512] [--threads=1] \
        [--variants=authors,no_aspect_jitter,ssd_pytorch] [--repeats=3]

Writes `--num_images` synthetic-shapes JPEGs of VOC size (500 x 375) with VOC XML annotations
to a temporary VOCdevkit folder, then reads them through the `voc_folder` source with the full
augmentation and batching, on a private thread pool of `--threads` threads (1 = the per-core
number). The first batches (tracing, warm-up) are not timed.

Each augmentation variant (`VARIANTS`: the defaults, i.e. the authors' rules; the same without
the expand's canvas aspect jitter; the ssd.pytorch rules this project used before) is timed in
the same process, in `--repeats` interleaved slices, so a shared machine's load affects them
alike; the median over slices of the ratio to the first variant is the number to compare.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Iterator

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import numpy as np
import tensorflow as tf
from absl import app, flags

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data import synthetic
from efgrnet_tf.data.pipeline import build_train_dataset

_NUM_IMAGES = flags.DEFINE_integer("num_images", 300, "JPEGs to write.")
_SIZES = flags.DEFINE_list("sizes", ["320", "512"], "Model input sizes to measure.")
flags.register_validator(
    "sizes", lambda sizes: all(s.isdigit() for s in sizes), "--sizes takes whole numbers"
)
_THREADS = flags.DEFINE_integer("threads", 1, "Threads of the pipeline's private pool.")
_BATCH = flags.DEFINE_integer("batch_size", 32, "Batch size.")
_SECONDS = flags.DEFINE_float("seconds", 20.0, "Timed duration per size and variant.")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Interleaved timing slices per variant.")

# `data.augmentation` overrides of each variant.
VARIANTS = {
    "authors": {},
    "no_aspect_jitter": {"expand_aspect_jitter": False},
    "ssd_pytorch": {
        "expand_probability": 0.5,
        "expand_aspect_jitter": False,
        "hue_max_delta_degrees": 18.0,
        "contrast_before_hsv": False,
        "channel_swap": True,
        "crop_max_rounds": 4,
    },
}
_VARIANTS = flags.DEFINE_list("variants", list(VARIANTS), "Augmentation variants to time.")

_HEIGHT, _WIDTH = 375, 500


def write_voc_folder(root: str, num_images: int) -> None:
    """Synthetic shapes, resized to 500 x 375, as a VOC year folder with split `trainval`."""
    for sub in ("Annotations", "JPEGImages", os.path.join("ImageSets", "Main")):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    class_names = ("aeroplane", "bicycle", "bird", "boat")  # any four VOC names
    render = tf.function(lambda seed: synthetic.render_shapes_scene(seed, 448))
    names = []
    for i in range(num_images):
        scene = render(synthetic.example_seed(0, "train", i))
        image = tf.image.resize(scene["image"], [_HEIGHT, _WIDTH], antialias=True)
        jpeg = tf.io.encode_jpeg(tf.cast(tf.round(image), tf.uint8), quality=90)
        name = f"{i:06d}"
        names.append(name)
        tf.io.write_file(os.path.join(root, "JPEGImages", f"{name}.jpg"), jpeg)
        objects = []
        for box, label in zip(scene["boxes"].numpy(), scene["classes"].numpy(), strict=True):
            ymin, xmin = int(box[0] * _HEIGHT) + 1, int(box[1] * _WIDTH) + 1
            ymax, xmax = max(int(box[2] * _HEIGHT), ymin), max(int(box[3] * _WIDTH), xmin)
            objects.append(
                f"<object><name>{class_names[label - 1]}</name><difficult>0</difficult><bndbox>"
                f"<xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax>"
                "</bndbox></object>"
            )
        with open(os.path.join(root, "Annotations", f"{name}.xml"), "w") as f:
            f.write(f"<annotation>{''.join(objects)}</annotation>")
    with open(os.path.join(root, "ImageSets", "Main", "trainval.txt"), "w") as f:
        f.write("\n".join(names) + "\n")


def batches(root: str, image_size: int, augmentation: dict) -> Iterator[dict]:
    """`build_train_dataset` on the folder at `image_size`, warmed up (traced, buffers full)."""
    cfg = config_from_dict(
        {
            "data": {
                "source": "voc_folder",
                "voc_folder": {"train": [{"year_folder": root, "image_set": "trainval"}]},
                "shuffle_buffer": 512,
                "augmentation": augmentation,
            },
            "model": {"image_size": image_size},
            "train": {"global_batch_size": _BATCH.value},
        }
    )
    options = tf.data.Options()
    options.threading.private_threadpool_size = _THREADS.value
    options.threading.max_intra_op_parallelism = 1
    iterator = iter(build_train_dataset(cfg).with_options(options))
    for _ in range(3):
        next(iterator)
    return iterator


def timed_images(iterator: Iterator[dict], seconds: float) -> tuple[int, float]:
    """(images, elapsed seconds) read from `iterator` in about `seconds`."""
    start, images = time.perf_counter(), 0
    while time.perf_counter() - start < seconds:
        images += int(next(iterator)["images"].shape[0])
    return images, time.perf_counter() - start


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    with tempfile.TemporaryDirectory() as root:
        write_voc_folder(root, _NUM_IMAGES.value)
        for size in _SIZES.value:
            iterators = {name: batches(root, int(size), VARIANTS[name]) for name in _VARIANTS.value}
            # rates[name][k]: images/s of variant `name` in interleaved slice k.
            rates = {name: [] for name in iterators}
            for _ in range(_REPEATS.value):
                for name, iterator in iterators.items():
                    images, elapsed = timed_images(iterator, _SECONDS.value / _REPEATS.value)
                    rates[name].append(images / elapsed)
            first = rates[_VARIANTS.value[0]]
            for name, slices in rates.items():
                rate = float(np.mean(slices))
                ratio = float(np.median(np.divide(slices, first)))
                print(
                    f"input size {size}, {name}: {rate:.1f} images/s with {_THREADS.value} "
                    f"thread(s) = {rate / _THREADS.value:.1f} images/s/core; median ratio to "
                    f"{_VARIANTS.value[0]} over {_REPEATS.value} interleaved slices {ratio:.3f}"
                )


if __name__ == "__main__":
    launch.run_tool(main, [__name__])
