"""Every model variable is reachable by tf.train.Checkpoint, so checkpoints and exports hold it."""

import pytest
import tensorflow as tf

import efgrnet_tf
from efgrnet_tf.config import load_config


def _untracked_variables(model):
    reachable = {id(obj) for obj in tf.train.TrackableView(model).descendants()}
    return [variable.path for variable in model.variables if id(variable) not in reachable]


@pytest.mark.parametrize(
    "config, overrides",
    [
        ("configs/shapes_vgg16_128.yaml", []),
        (
            "configs/coco_resnet101_512.yaml",
            ["model.width_multiplier=0.0625", "model.image_size=128"],
        ),
    ],
)
def test_checkpoint_reaches_every_model_variable(config, overrides):
    model = efgrnet_tf.build_model(load_config(config, overrides))
    assert _untracked_variables(model) == []
