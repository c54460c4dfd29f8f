"""SSD's fc-reduced VGG16 trunk with EFGRNet's extra layers (SPEC: Network, Backbone).

Layers, input `[B, S, S, 3]` (S divisible by 64), channel counts at `width_multiplier` 1:

| name | op | output |
|---|---|---|
| block1_conv1..2 | 3x3 conv 64, bias, ReLU; block1_pool 2x2/2 | S/2 |
| block2_conv1..2 | 3x3 conv 128; block2_pool 2x2/2 | S/4 |
| block3_conv1..3 | 3x3 conv 256; block3_pool 2x2/2 "same" (= ceil mode) | S/8 |
| block4_conv1..3 | 3x3 conv 512 → **conv4_3**; block4_pool 2x2/2 | S/8, then S/16 |
| block5_conv1..3 | 3x3 conv 512; pool5 3x3/1 "same" | S/16 |
| fc6 | 3x3 conv 1024, dilation 6, bias, ReLU | S/16 |
| fc7 | 1x1 conv 1024, bias, ReLU → **fc7** | S/16 |
| conv8_1, conv8_2 | ConvBN(1x1, 256), ConvBN(3x3, 256, stride 2) → **conv8_2** | S/32 |
| conv9_1, conv9_2 | ConvBN(1x1, 128), ConvBN(3x3, 256, stride 2) → **conv9_2** | S/64 |

Layer names of the trunk are those of `keras.applications.VGG16`, so `pretrained.py` loads its
ImageNet weights by name. With `batch_norm=True` (not in the paper) every trunk conv and fc6/fc7
lose their bias and get a BatchNormalization (`<name>_bn`) before the ReLU.
"""

import keras

from efgrnet_tf.modeling.conv_bn import ConvBN, he_normal_fan_out, scaled_channels

# (block, convs per block, channels); a pool follows every block but the last.
_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))


def vgg16_features(
    images,
    *,
    width_multiplier=1.0,
    batch_norm=False,
    batch_norm_momentum=0.99,
    batch_norm_epsilon=1e-5,
    synchronized_batch_norm=False,
):
    """Applies the VGG16 trunk and extras to a symbolic image batch.

    Args:
        images: `[B, S, S, 3]` preprocessed (BGR, mean-subtracted) float tensor.
        width_multiplier: scales every channel count.
        batch_norm: add BN after every trunk conv (not in the paper).
        batch_norm_momentum, batch_norm_epsilon, synchronized_batch_norm: for the extras (and
            `batch_norm`).

    Returns:
        dict of the four detection sources: `conv4_3` `[B, S/8, S/8, 512w]`, `fc7`
        `[B, S/16, S/16, 1024w]`, `conv8_2` `[B, S/32, S/32, 256w]`, `conv9_2`
        `[B, S/64, S/64, 256w]` (w = width_multiplier; ReLU outputs, no normalisation).
    """
    bn_args = dict(
        batch_norm_momentum=batch_norm_momentum,
        batch_norm_epsilon=batch_norm_epsilon,
        synchronized_batch_norm=synchronized_batch_norm,
    )

    def conv(x, filters, kernel_size, name, dilation_rate=1):
        x = keras.layers.Conv2D(
            scaled_channels(filters, width_multiplier),
            kernel_size,
            padding="same",
            dilation_rate=dilation_rate,
            use_bias=not batch_norm,
            activation=None if batch_norm else "relu",
            kernel_initializer=he_normal_fan_out(),
            name=name,
        )(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(
                momentum=batch_norm_momentum,
                epsilon=batch_norm_epsilon,
                synchronized=synchronized_batch_norm,
                name=f"{name}_bn",
            )(x)
            x = keras.layers.ReLU(name=f"{name}_relu")(x)
        return x

    x = images
    sources = {}
    for block, num_convs, channels in _BLOCKS:
        for i in range(1, num_convs + 1):
            x = conv(x, channels, 3, f"block{block}_conv{i}")
        if block == 4:
            sources["conv4_3"] = x
        if block < 5:
            # pool3 rounds up in the authors' code (ceil_mode); "same" does the same here.
            padding = "same" if block == 3 else "valid"
            x = keras.layers.MaxPooling2D(2, 2, padding=padding, name=f"block{block}_pool")(x)
    x = keras.layers.MaxPooling2D(3, 1, padding="same", name="pool5")(x)
    x = conv(x, 1024, 3, "fc6", dilation_rate=6)
    x = conv(x, 1024, 1, "fc7")
    sources["fc7"] = x
    for stage, inner in ((8, 256), (9, 128)):
        x = ConvBN(scaled_channels(inner, width_multiplier), 1, name=f"conv{stage}_1", **bn_args)(x)
        x = ConvBN(scaled_channels(256, width_multiplier), 3, 2, name=f"conv{stage}_2", **bn_args)(
            x
        )
        sources[f"conv{stage}_2"] = x
    return sources
