"""SSD's fc-reduced VGG16 trunk with EFGRNet's extra layers (the authors'
`models/efrgnet_vgg.VGG16Extractor`).

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
ImageNet weights by name. With `vgg_batch_norm=True` (not in the paper) every trunk conv and
fc6/fc7 lose their bias and get a BatchNormalization (`<name>_bn`) before the ReLU.
"""

import keras

from efgrnet_tf.modeling.backbones.spec import BackboneSpec
from efgrnet_tf.modeling.conv_bn import (
    BatchNormSettings,
    ConvBN,
    scaled_channels,
    torch_style_conv2d,
)
from efgrnet_tf.modeling.pretrained import load_keras_vgg16, load_ssd_vgg16_pth

# (block, convs per block, channels); a pool follows every block but the last.
_BLOCKS = ((1, 2, 64), (2, 2, 128), (3, 3, 256), (4, 3, 512), (5, 3, 512))


def vgg16_features(images, *, width_multiplier=1.0, vgg_batch_norm=False, batch_norm=None):
    """Applies the VGG16 trunk and extras to a symbolic image batch.

    Args:
        images: `[B, S, S, 3]` preprocessed (BGR, mean-subtracted) float tensor.
        width_multiplier: scales every channel count.
        vgg_batch_norm: add BN after every trunk conv (not in the paper).
        batch_norm: `BatchNormSettings` of the extras (and of `vgg_batch_norm`'s BN); None =
            the defaults.

    Returns:
        dict of the four detection sources: `conv4_3` `[B, S/8, S/8, 512w]`, `fc7`
        `[B, S/16, S/16, 1024w]`, `conv8_2` `[B, S/32, S/32, 256w]`, `conv9_2`
        `[B, S/64, S/64, 256w]` (w = width_multiplier; ReLU outputs, no normalisation).
    """
    batch_norm = BatchNormSettings.from_config(batch_norm)

    def conv(x, filters, kernel_size, name, dilation_rate=1):
        x = torch_style_conv2d(
            scaled_channels(filters, width_multiplier),
            kernel_size,
            dilation_rate=dilation_rate,
            use_bias=not vgg_batch_norm,
            activation=None if vgg_batch_norm else "relu",
            name=name,
        )(x)
        if vgg_batch_norm:
            x = batch_norm.layer(f"{name}_bn")(x)
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
        x = ConvBN(
            scaled_channels(inner, width_multiplier),
            1,
            name=f"conv{stage}_1",
            batch_norm=batch_norm,
        )(x)
        x = ConvBN(
            scaled_channels(256, width_multiplier),
            3,
            2,
            name=f"conv{stage}_2",
            batch_norm=batch_norm,
        )(x)
        sources[f"conv{stage}_2"] = x
    return sources


def vgg16_sources(images, model_cfg, batch_norm):
    """The detector's VGG16 sources: BN(conv4_3), BN(fc7) (BN without ReLU, `conv4_3_norm` and
    `fc7_norm`: the authors' replacement of SSD's L2Norm), conv8_2, conv9_2."""
    features = vgg16_features(
        images,
        width_multiplier=model_cfg.width_multiplier,
        vgg_batch_norm=model_cfg.vgg_batch_norm,
        batch_norm=batch_norm,
    )
    return [
        batch_norm.layer("conv4_3_norm")(features["conv4_3"]),
        batch_norm.layer("fc7_norm")(features["fc7"]),
        features["conv8_2"],
        features["conv9_2"],
    ]


# The objectness module keeps each source's channels (512, 1024, 256, 256) and puts a ReLU
# before Norm1 and Norm2 (the authors' `BasicRFB_a`); no transitions, single-conv final heads.
VGG16 = BackboneSpec(
    build_sources=vgg16_sources,
    load_torch_weights=load_ssd_vgg16_pth,
    load_keras_weights=load_keras_vgg16,
    pre_activation_levels=(1, 2),
)
