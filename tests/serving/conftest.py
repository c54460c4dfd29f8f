"""Shared fixtures: one small EFGRNet, its checkpoint, its export and a stock-TF probe of it.

The export is made once per session through `scripts/export.py` in a subprocess, and every
test reads the same `BASE/1/`.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from serving_helpers import (
    CLASS_NAMES,
    MAX_DETECTIONS,
    export_with_script,
    run_stock_tf_probe,
)

import efgrnet_tf
from efgrnet_tf.config import config_from_dict, save_config
from efgrnet_tf.modeling.checkpoint_io import model_weights_by_path

# (layer-name prefix of a prediction conv, the output it feeds), objectness stage first.
_HEAD_STAGES = (
    (("objectness_box_head", "objectness_deltas"), ("objectness_class_head", "objectness_logits")),
    (("box_head", "box_deltas"), ("class_head", "class_logits")),
)


def _temper_heads(model, image: np.ndarray) -> None:
    """Rescales the prediction convs so that every head's output has a standard deviation ~1.

    A freshly initialised VGG trunk without BatchNorm statistics gives logits of ~1e5, so every
    softmax score would be exactly 1 and NMS order would rest on ties. The objectness heads
    come first because their box deltas steer the FGRM offsets, hence the final heads.
    """
    for stage in _HEAD_STAGES:
        outputs = model(image, training=False)
        scaled = 0
        for variable in model.variables:
            for layer_prefix, output in stage:
                if variable.path.startswith(layer_prefix) and variable.path.endswith("/kernel"):
                    variable.assign(variable / float(tf.math.reduce_std(outputs[output])))
                    scaled += 1
        assert scaled == 4 * len(stage), f"expected 4 prediction convs per head, got {scaled}"


@pytest.fixture(scope="session")
def small_cfg():
    """A 128x128, 1/8-width EFGRNet with 3 named classes and 20 detections per image; its
    input scaling (a layer of the model, as in the shapes configs) must travel into exports."""
    return config_from_dict(
        {
            "name": "serving_test",
            "model": {
                "image_size": 128,
                "num_classes": 4,
                "width_multiplier": 0.125,
                "input_scale": 0.017,
            },
            "postprocess": {"max_detections": MAX_DETECTIONS, "max_detections_per_class": 10},
            "class_names": list(CLASS_NAMES),
        }
    )


@pytest.fixture(scope="session")
def test_images(tmp_path_factory):
    """Two RGB PNGs of different sizes (96x160 and 64x64) and their pixels."""
    folder = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    paths, pixels = [], []
    for name, (height, width) in (("wide", (96, 160)), ("square", (64, 64))):
        image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        path = str(folder / f"{name}.png")
        Image.fromarray(image).save(path)
        paths.append(path)
        pixels.append(image)
    return paths, pixels


@pytest.fixture(scope="session")
def trained_model(small_cfg, tmp_path_factory):
    """`(model, checkpoint_dir, config_path)`: a tempered random model saved as training does."""
    model = efgrnet_tf.build_model(small_cfg)
    size = small_cfg.model.image_size
    probe = np.random.default_rng(1).uniform(-100, 100, (1, size, size, 3)).astype(np.float32)
    _temper_heads(model, probe)
    folder = tmp_path_factory.mktemp("run")
    # The trainer's form: weights keyed by variable path, plus the step (and optimizer, left
    # out here); export reads the weights only.
    checkpoint = tf.train.Checkpoint(
        model_weights=model_weights_by_path(model), step=tf.Variable(7, dtype=tf.int64)
    )
    tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1).save()
    config_path = str(folder / "config.yaml")
    save_config(small_cfg, config_path)
    return model, str(folder), config_path


@pytest.fixture(scope="session")
def export_base(trained_model, tmp_path_factory):
    """The export base folder holding version 1, written by `scripts/export.py`."""
    _, checkpoint_dir, config_path = trained_model
    base = str(tmp_path_factory.mktemp("exports") / "efgrnet")
    export_with_script(config_path, checkpoint_dir, base)
    return base


@pytest.fixture(scope="session")
def export_dir(export_base):
    """`BASE/1`, the SavedModel."""
    return os.path.join(export_base, "1")


@pytest.fixture(scope="session")
def loaded_export(export_dir):
    """The export loaded in this process."""
    return tf.saved_model.load(export_dir)


@pytest.fixture(scope="session")
def stock_tf_report(export_dir, test_images, tmp_path_factory):
    """The JSON report of `stock_tf_probe.py` run on the export, outside the repository."""
    paths, _ = test_images
    return run_stock_tf_probe(export_dir, paths, str(tmp_path_factory.mktemp("probe")))
