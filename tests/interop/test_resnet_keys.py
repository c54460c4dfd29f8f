"""The authors' ResNet-101 EFGRNet keys map one-to-one onto our variables, shapes equal."""

import numpy as np
import pytest

import efgrnet_tf
from efgrnet_tf.config import config_from_dict
from efgrnet_tf.interop.resnet_keys import resnet_key_map
from tests.interop.key_map_asserts import assert_maps_one_to_one
from tests.interop.torch_resnet_reference import ResNetEFGRNet

NUM_CLASSES = 81


@pytest.fixture(scope="module")
def resnet_model_and_cfg():
    cfg = config_from_dict(
        {"model": {"backbone": "resnet101", "image_size": 64, "num_classes": NUM_CLASSES}}
    )
    return efgrnet_tf.build_model(cfg), cfg


def test_every_authors_tensor_maps_to_one_variable_of_the_same_shape(resnet_model_and_cfg):
    model, cfg = resnet_model_and_cfg
    state = {
        k: v.detach().numpy()
        for k, v in ResNetEFGRNet(NUM_CLASSES).state_dict().items()
        if not k.endswith("num_batches_tracked")
    }
    keys = resnet_key_map(model, cfg)
    assert_maps_one_to_one(keys, state, model)
    assert np.prod(keys["extractor.layer3.0.conv2.weight"].variable.shape) == 256 * 256 * 9


@pytest.mark.parametrize(
    "field, value",
    [("resnet_trunk", "keras_v1"), ("fgrm_offsets", "features"), ("cascade", False)],
)
def test_a_variant_the_authors_never_defined_is_refused_naming_the_field(field, value):
    cfg = config_from_dict(
        {
            "model": {
                "backbone": "resnet101",
                "image_size": 64,
                "num_classes": 21,
                "width_multiplier": 0.125,
                field: value,
            }
        }
    )
    with pytest.raises(ValueError, match=f"model.{field}"):
        resnet_key_map(efgrnet_tf.build_model(cfg), cfg)
