"""ResNet-101 trunk: Keras's layer names and block counts, source strides and channels."""

import keras

from efgrnet_tf.modeling.backbones.resnet101 import resnet101_features


def test_sources_have_strides_8_to_64_and_keras_layer_names():
    images = keras.Input((128, 128, 3))
    model = keras.Model(images, resnet101_features(images, width_multiplier=0.125))
    shapes = {name: tuple(t.shape[1:]) for name, t in model.output.items()}
    assert shapes == {
        "res3": (16, 16, 64),
        "res4": (8, 8, 128),
        "res5": (4, 4, 64),
        "res6": (2, 2, 32),
    }
    names = {layer.name for layer in model.layers}
    blocks = {stage: sum(f"conv{stage}_block{i}_out" in names for i in range(1, 30)) for stage in
              (2, 3, 4, 5)}  # fmt: skip
    assert blocks == {2: 3, 3: 4, 4: 23, 5: 3}
    assert {"conv1_conv", "conv1_bn", "conv4_block1_0_conv", "conv5_block3_3_bn"} <= names
