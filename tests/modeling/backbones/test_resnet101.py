"""ResNet-101 trunks: block counts, layer names, source strides and channels, stride placement."""

import keras
import pytest

from efgrnet_tf.modeling.backbones.resnet101 import resnet101_features
from efgrnet_tf.modeling.conv_bn import PaddedConv2D


def _trunk(trunk):
    images = keras.Input((128, 128, 3))
    return keras.Model(images, resnet101_features(images, trunk=trunk, width_multiplier=0.125))


@pytest.mark.parametrize("trunk", ["torchvision", "keras_v1"])
def test_sources_have_strides_8_to_64(trunk):
    shapes = {name: tuple(t.shape[1:]) for name, t in _trunk(trunk).output.items()}
    assert shapes == {
        "res3": (16, 16, 64),
        "res4": (8, 8, 128),
        "res5": (4, 4, 64),
        "res6": (2, 2, 32),
    }


def test_torchvision_trunk_strides_the_3x3_conv_with_symmetric_padding():
    model = _trunk("torchvision")
    names = {layer.name for layer in model.layers}
    blocks = {stage: sum(f"layer{stage}_{i}_out" in names for i in range(30)) for stage in
              (1, 2, 3, 4)}  # fmt: skip
    assert blocks == {1: 3, 2: 4, 3: 23, 4: 3}
    for stage in (2, 3, 4):
        assert model.get_layer(f"layer{stage}_0_conv1").strides == (1, 1)
        conv2 = model.get_layer(f"layer{stage}_0_conv2")
        assert isinstance(conv2, PaddedConv2D) and conv2.strides == (2, 2)
        assert not conv2.use_bias
    assert model.get_layer("layer1_0_conv2").strides == (1, 1)
    smooth1 = model.get_layer("smooth1")
    assert smooth1.kernel_size == (3, 3) and smooth1.use_bias


def test_keras_v1_trunk_keeps_keras_layer_names_and_strides_the_first_1x1():
    model = _trunk("keras_v1")
    names = {layer.name for layer in model.layers}
    assert {"conv1_conv", "conv1_bn", "conv4_block1_0_conv", "conv5_block3_3_bn"} <= names
    assert model.get_layer("conv4_block1_1_conv").strides == (2, 2)
    assert model.get_layer("conv4_block1_2_conv").strides == (1, 1)
