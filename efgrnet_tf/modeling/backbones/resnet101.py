"""ResNet-101 trunk with EFGRNet's res5 reduction and res6 extras (the authors'
`models/efrgnet_resnet.py`).

Two trunks, chosen by `model.resnet_trunk`:
- "torchvision" (default): the authors' `efrgnet_resnet.RefineResnet` with torchvision's
  `Bottleneck`: the stride 2 of the first block of conv3/conv4/conv5 sits on the 3x3 conv,
  padded 1 on each side (`PaddedConv2D`; Keras "same" at stride 2 would pad 0/1 and shift the
  grid), convs without bias, BN epsilon 1e-5. Layer names follow torchvision's keys
  (`layer3_0_conv2` = `layer3.0.conv2`), so torchvision's ImageNet file and the authors'
  checkpoints map onto it (`interop/resnet_keys.py`).
- "keras_v1" (**deviation**): `keras.applications.ResNet101` (Caffe-style v1: the stride on the
  first 1x1 conv, convs with bias, BN epsilon 1.001e-5) rebuilt with Keras's layer names, so
  `pretrained.py` copies Keras's ImageNet weights by name.
Both are followed by the authors' `smooth1` (res5 2048 → 512 by a 3x3 conv with bias, padding
1, no BN, no ReLU) and `add_extras_bn` on the unreduced res5: res6 = ConvBN(1x1, 256) →
ConvBN(3x3, 256, stride 2) (`res6_1`, `res6_2`). `width_multiplier` < 1 narrows every stage
(test and CPU variants only; no pretrained weights then).

Input `[B, S, S, 3]` (S divisible by 64): conv1 7x7/2 → max-pool 3x3/2 → conv2 (3 blocks,
S/4) → conv3 (4, S/8) → conv4 (23, S/16) → conv5 (3, S/32).
"""

import dataclasses

import keras

from efgrnet_tf.modeling.backbones.spec import BackboneSpec
from efgrnet_tf.modeling.conv2d import Conv2D
from efgrnet_tf.modeling.conv_bn import (
    BatchNormSettings,
    ConvBN,
    he_normal_fan_out,
    scaled_channels,
    torch_style_conv2d,
)
from efgrnet_tf.modeling.pretrained import load_keras_resnet101, load_torchvision_resnet101_pth

# Keras's ResNet BatchNorm epsilon; kept so its ImageNet weights give the same activations.
KERAS_RESNET_BN_EPSILON = 1.001e-5
# torchvision's (and so the authors') BatchNorm2d default epsilon.
TORCHVISION_BN_EPSILON = 1e-5
# (stage, blocks, bottleneck channels, stride of the first block); stage k is torchvision's
# `layer{k-1}` and Keras's `conv{k}`.
_STAGES = ((2, 3, 64, 1), (3, 4, 128, 2), (4, 23, 256, 2), (5, 3, 512, 2))


def resnet101_features(images, *, trunk="torchvision", width_multiplier=1.0, batch_norm=None):
    """Applies the ResNet-101 trunk, `smooth1` (res5 → 512) and the res6 extras.

    Args:
        images: `[B, S, S, 3]` preprocessed (BGR, mean-subtracted, "caffe" style) float tensor.
        trunk: "torchvision" (the authors') or "keras_v1" (Keras's Caffe-style v1).
        width_multiplier: scales every channel count.
        batch_norm: `BatchNormSettings` of every BN (None = the defaults); its epsilon only
            of the res6 extras (each trunk keeps its own ImageNet epsilon).

    Returns:
        dict of the four detection sources: `res3` `[B, S/8, S/8, 512w]`, `res4`
        `[B, S/16, S/16, 1024w]`, `res5` `[B, S/32, S/32, 512w]` (reduced), `res6`
        `[B, S/64, S/64, 256w]`.
    """
    batch_norm = BatchNormSettings.from_config(batch_norm)
    if trunk == "torchvision":
        trunk_bn = dataclasses.replace(batch_norm, epsilon=TORCHVISION_BN_EPSILON)
        stages = _torchvision_trunk(images, width_multiplier, trunk_bn)
    elif trunk == "keras_v1":
        trunk_bn = dataclasses.replace(batch_norm, epsilon=KERAS_RESNET_BN_EPSILON)
        stages = _keras_v1_trunk(images, width_multiplier, trunk_bn)
    else:
        raise ValueError(f"model.resnet_trunk must be 'torchvision' or 'keras_v1', got {trunk!r}")
    reduced = Conv2D(
        scaled_channels(512, width_multiplier),
        3,
        padding="same",
        kernel_initializer=he_normal_fan_out(),
        name="smooth1",
    )(stages[5])
    res6_channels = scaled_channels(256, width_multiplier)
    res6 = ConvBN(res6_channels, 1, name="res6_1", batch_norm=batch_norm)(stages[5])
    res6 = ConvBN(res6_channels, 3, 2, name="res6_2", batch_norm=batch_norm)(res6)
    return {"res3": stages[3], "res4": stages[4], "res5": reduced, "res6": res6}


def _torchvision_trunk(images, width_multiplier, batch_norm):
    """torchvision's ResNet-101 up to `layer4`: dict stage (2..5) → its output."""

    def bn(x, name):
        return batch_norm.layer(name)(x)

    def conv(x, filters, kernel_size, name, strides=1):
        return torch_style_conv2d(filters, kernel_size, strides=strides, name=name)(x)

    def bottleneck(x, filters, stride, downsample, name):
        if downsample:
            shortcut = keras.layers.Conv2D(
                4 * filters,
                1,
                strides=stride,
                use_bias=False,
                kernel_initializer=he_normal_fan_out(),
                name=f"{name}_downsample_conv",
            )(x)
            shortcut = bn(shortcut, f"{name}_downsample_bn")
        else:
            shortcut = x
        y = keras.layers.ReLU(name=f"{name}_relu1")(
            bn(conv(x, filters, 1, f"{name}_conv1"), f"{name}_bn1")
        )
        y = conv(y, filters, 3, f"{name}_conv2", strides=stride)
        y = keras.layers.ReLU(name=f"{name}_relu2")(bn(y, f"{name}_bn2"))
        y = bn(conv(y, 4 * filters, 1, f"{name}_conv3"), f"{name}_bn3")
        return keras.layers.ReLU(name=f"{name}_out")(
            keras.layers.Add(name=f"{name}_add")([shortcut, y])
        )

    x = conv(images, scaled_channels(64, width_multiplier), 7, "conv1", strides=2)
    x = keras.layers.ReLU(name="relu1")(bn(x, "bn1"))
    # torch pads the max-pool with -inf; after the ReLU, zeros give the same maxima.
    x = keras.layers.ZeroPadding2D(1, name="maxpool_pad")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="maxpool")(x)
    stages = {}
    for stage, num_blocks, filters, stride in _STAGES:
        for i in range(num_blocks):
            x = bottleneck(
                x,
                scaled_channels(filters, width_multiplier),
                stride if i == 0 else 1,
                downsample=i == 0,
                name=f"layer{stage - 1}_{i}",
            )
        stages[stage] = x
    return stages


def _keras_v1_trunk(images, width_multiplier, batch_norm):
    """`keras.applications.ResNet101` without its top: dict stage (2..5) → its output."""

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
        return batch_norm.layer(name)(x)

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
    x = conv(x, scaled_channels(64, width_multiplier), 7, "conv1_conv", strides=2)
    x = keras.layers.Activation("relu", name="conv1_relu")(bn(x, "conv1_bn"))
    x = keras.layers.ZeroPadding2D(1, name="pool1_pad")(x)
    x = keras.layers.MaxPooling2D(3, 2, name="pool1_pool")(x)
    stages = {}
    for stage, num_blocks, filters, stride in _STAGES:
        for i in range(1, num_blocks + 1):
            x = block(
                x,
                scaled_channels(filters, width_multiplier),
                stride if i == 1 else 1,
                shortcut_conv=i == 1,
                name=f"conv{stage}_block{i}",
            )
        stages[stage] = x
    return stages


def resnet101_sources(images, model_cfg, batch_norm):
    """The detector's ResNet-101 sources res3, res4, res5 (reduced), res6 (`model.resnet_trunk`
    picks the trunk)."""
    features = resnet101_features(
        images,
        trunk=model_cfg.resnet_trunk,
        width_multiplier=model_cfg.width_multiplier,
        batch_norm=batch_norm,
    )
    return [features[name] for name in ("res3", "res4", "res5", "res6")]


# The authors' `efrgnet_resnet.RefineResnet`: 256-channel Norm layers, transition blocks back to
# 512/1024/512 (two residual bottlenecks at stride 8; s4 stays 256) and two 1x1 ConvBN(512)
# before each final head.
RESNET101 = BackboneSpec(
    build_sources=resnet101_sources,
    load_torch_weights=load_torchvision_resnet101_pth,
    load_keras_weights=load_keras_resnet101,
    fusion_channels=256,
    transition_residual_blocks=(2, 0, 0),
    final_head_hidden_layers=2,
)
