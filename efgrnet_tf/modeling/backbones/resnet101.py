"""ResNet-101 trunk with EFGRNet's res5 reduction and res6 extras (SPEC: ResNet-101 variant).

The authors never published a config for this variant; the choices made here:
- The trunk is `keras.applications.ResNet101` (v1, stride in the first 1x1 conv of each stage,
  convs with bias, BN epsilon 1.001e-5) rebuilt layer by layer with the same layer names, so
  `pretrained.py` copies its ImageNet weights by name. `width_multiplier` < 1 narrows every
  stage (test and CPU variants only; no pretrained weights then).
- res5 (2048 channels, stride 32) is reduced by a 1x1 conv with bias to 512 channels
  (`res5_reduce`, no BN, no ReLU), as SPEC says; the released PyTorch file uses a 3x3 conv here.
- res6 = ConvBN(1x1, 256) → ConvBN(3x3, 256, stride 2) on the unreduced res5 (`res6_1`,
  `res6_2`), as the authors' `add_extras_bn`.

Input `[B, S, S, 3]` (S divisible by 64): conv1 7x7/2 → max-pool 3x3/2 → conv2 (3 blocks,
S/4) → conv3 (4, S/8) → conv4 (23, S/16) → conv5 (3, S/32).
"""

import keras

from efgrnet_tf.modeling.conv_bn import ConvBN, he_normal_fan_out, scaled_channels

# Keras's ResNet BatchNorm epsilon; kept so ImageNet weights give the same activations.
RESNET_BN_EPSILON = 1.001e-5
# (stage, blocks, bottleneck channels, stride of the first block).
_STAGES = ((2, 3, 64, 1), (3, 4, 128, 2), (4, 23, 256, 2), (5, 3, 512, 2))


def resnet101_features(
    images,
    *,
    width_multiplier=1.0,
    batch_norm_momentum=0.99,
    batch_norm_epsilon=1e-5,
    synchronized_batch_norm=False,
):
    """Applies the ResNet-101 trunk, the res5 reduction and the res6 extras.

    Args:
        images: `[B, S, S, 3]` preprocessed (BGR, mean-subtracted, "caffe" style) float tensor.
        width_multiplier: scales every channel count.
        batch_norm_momentum, synchronized_batch_norm: of every BN; `batch_norm_epsilon`: of
            the res6 extras only (the trunk keeps Keras's 1.001e-5).

    Returns:
        dict of the four detection sources: `res3` `[B, S/8, S/8, 512w]`, `res4`
        `[B, S/16, S/16, 1024w]`, `res5` `[B, S/32, S/32, 512w]` (reduced), `res6`
        `[B, S/64, S/64, 256w]`.
    """

    def channels(c):
        return scaled_channels(c, width_multiplier)

    def conv(x, filters, kernel_size, name, strides=1, padding="valid"):
        return keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            kernel_initializer=he_normal_fan_out(),
            name=name,
        )(x)

    def bn(x, name):
        return keras.layers.BatchNormalization(
            momentum=batch_norm_momentum,
            epsilon=RESNET_BN_EPSILON,
            synchronized=synchronized_batch_norm,
            name=name,
        )(x)

    def block(x, filters, stride, shortcut_conv, name):
        if shortcut_conv:
            shortcut = bn(conv(x, 4 * filters, 1, f"{name}_0_conv", strides=stride), f"{name}_0_bn")
        else:
            shortcut = x
        x = conv(x, filters, 1, f"{name}_1_conv", strides=stride)
        x = keras.layers.Activation("relu", name=f"{name}_1_relu")(bn(x, f"{name}_1_bn"))
        x = conv(x, filters, 3, f"{name}_2_conv", padding="same")
        x = keras.layers.Activation("relu", name=f"{name}_2_relu")(bn(x, f"{name}_2_bn"))
        x = bn(conv(x, 4 * filters, 1, f"{name}_3_conv"), f"{name}_3_bn")
        x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
        return keras.layers.Activation("relu", name=f"{name}_out")(x)

    x = keras.layers.ZeroPadding2D(3, name="conv1_pad")(images)
    x = conv(x, channels(64), 7, "conv1_conv", strides=2)
    x = keras.layers.Activation("relu", name="conv1_relu")(bn(x, "conv1_bn"))
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="pool1_pool")(x)
    outputs = {}
    for stage, num_blocks, filters, stride in _STAGES:
        for i in range(1, num_blocks + 1):
            first = i == 1
            x = block(
                x,
                channels(filters),
                stride if first else 1,
                shortcut_conv=first,
                name=f"conv{stage}_block{i}",
            )
        outputs[stage] = x
    res5_reduced = conv(outputs[5], channels(512), 1, "res5_reduce")
    bn_args = dict(
        batch_norm_momentum=batch_norm_momentum,
        batch_norm_epsilon=batch_norm_epsilon,
        synchronized_batch_norm=synchronized_batch_norm,
    )
    res6 = ConvBN(channels(256), 1, name="res6_1", **bn_args)(outputs[5])
    res6 = ConvBN(channels(256), 3, 2, name="res6_2", **bn_args)(res6)
    return {"res3": outputs[3], "res4": outputs[4], "res5": res5_reduced, "res6": res6}
