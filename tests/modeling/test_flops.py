"""count_flops against hand-computed conv and deformable-conv FLOPs."""

import keras

from efgrnet_tf.layers import DeformableConv2D
from efgrnet_tf.modeling.flops import count_flops


def test_conv_flops_are_two_per_multiply_add():
    images = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, padding="same")(images)
    x = keras.layers.Conv2D(4, 1, strides=2)(x)
    model = keras.Model(images, x)
    expected = 2 * (2 * 16 * 16 * 8 * 3 * 3 * 3) + 2 * (2 * 8 * 8 * 4 * 8)
    assert count_flops(model, (2, 16, 16, 3)) == expected


def test_deformable_conv_counts_as_the_conv_of_its_shape():
    images = keras.Input((10, 12, 6))
    offsets = keras.layers.Conv2D(18, 1, use_bias=False)(images)
    outputs = DeformableConv2D(5, 3, padding=2, dilation_rate=2, implementation="pure_tf")(
        images, offsets
    )
    model = keras.Model(images, outputs)
    offset_conv = 2 * 10 * 12 * 18 * 6
    deformable = 2 * 10 * 12 * 5 * 3 * 3 * 6
    assert count_flops(model, (1, 10, 12, 6)) == offset_conv + deformable
