"""Feature guided refinement module (FGRM): objectness map, kernel offsets, deformable conv.

Paper Sec. 3.2 (Eqs. 1-3); the authors' `model_builder_vgg.SSD.forward`.
For one level with features `s` `[B, h, w, C]` and the objectness heads' maps
B1 `[B, h, w, A * 4]` (per anchor dx, dy, dw, dh) and C1 `[B, h, w, A * 2]` (bg, fg logits):

1. `O = sigmoid(max_a C1[..., 2a + 1])`, `Fm = s ⊙ O + s` (Eq. 1);
2. offsets `[B, h, w, 18]` (dy, dx per tap of one deformable group) from a function of B1
   (`offset_source_channels`) through a 1x1 conv (Eq. 2), or from a conv on `Fm`;
3. 3x3 deformable conv → `filters`, no bias, dilation = padding = `dilation_rate` (Eq. 3),
   then BN and ReLU.

No stop-gradient anywhere: the final heads' loss reaches B1 and C1 through O and the offsets.
"""

import keras

from efgrnet_tf.layers.deformable_conv import DeformableConv2D
from efgrnet_tf.modeling.conv2d import Conv2D
from efgrnet_tf.modeling.conv_bn import BatchNormSettings, ConvBN, he_normal_fan_out

OFFSET_SOURCES = ("b1_dxdy", "b1_dhdw", "b1_all", "features", "none")
# Components of B1 (delta channel t = 0..3 is dx, dy, dw, dh) each offset source reads.
_B1_COMPONENTS = {"b1_dxdy": (0, 1), "b1_dhdw": (2, 3), "b1_all": (0, 1, 2, 3)}
# One deformable group, 3x3 kernel: a (dy, dx) pair per tap.
NUM_OFFSET_CHANNELS = 2 * 3 * 3


def objectness_map(objectness_logits_map, num_anchors):
    """Eq. 1's O: sigmoid of the largest foreground logit among a cell's anchors.

    Args:
        objectness_logits_map: `[B, h, w, num_anchors * 2]`, channel `2a` the background and
            `2a + 1` the foreground logit of anchor a.
        num_anchors: A.
    Returns:
        float32 `[B, h, w, 1]` in (0, 1); the sigmoid runs in float32 so float16 logits cannot
        overflow it.
    """
    logits = keras.ops.cast(objectness_logits_map, "float32")
    foreground = logits[..., 1 : 2 * num_anchors : 2]
    return keras.ops.sigmoid(keras.ops.max(foreground, axis=-1, keepdims=True))


def offset_source_channels(objectness_deltas_map, source, num_anchors):
    """The B1 channels the offset conv reads, grouped by component.

    Args:
        objectness_deltas_map: `[B, h, w, num_anchors * 4]`, channel `4a + t` component t
            (dx, dy, dw, dh) of anchor a.
        source: "b1_dxdy" → the A dx then the A dy (the authors' `cat([loc[:, 0::4],
            loc[:, 1::4]])`); "b1_dhdw" → the A dw then the A dh; "b1_all" → dx, dy, dw, dh.
        num_anchors: A.
    Returns:
        `[B, h, w, A * k]` (k = 2, 2, 4 components), channel `i * A + a` = component i of
        anchor a.
    """
    components = _B1_COMPONENTS[source]
    return keras.ops.concatenate(
        [objectness_deltas_map[..., t : 4 * num_anchors : 4] for t in components], axis=-1
    )


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class FeatureGuidedRefinement(keras.layers.Layer):
    """FGRM of one level, called as `layer(features, objectness_deltas_map, objectness_logits_map)`.

    Args:
        filters: output channels (256 in the paper).
        dilation_rate: dilation and padding of the 3x3 (deformable) conv: 5, 4, 3, 2 for strides
            8, 16, 32, 64.
        num_anchors: A, anchors per cell of B1/C1.
        offset_source: one of `OFFSET_SOURCES`: "b1_dxdy" (paper), "b1_dhdw", "b1_all" (B1
            channels through a 1x1 conv); "features" (standard DCN: a 3x3 conv with the same
            dilation on `Fm`, zero-initialised so training starts from the plain dilated conv);
            "none" (plain dilated conv, no deformation).
        offset_bn_relu: for the B1 sources, ConvBN(1x1, 18) with ReLU (authors' code, offsets
            >= 0) when True, a plain 1x1 conv with bias (paper Eq. 2) when False.
        implementation: passed to `DeformableConv2D`.
        batch_norm: `BatchNormSettings` of every BN (or its `get_config` dict; None = defaults).

    Inputs: features `[B, h, w, C]`, B1 map `[B, h, w, A * 4]`, C1 map `[B, h, w, A * 2]`.
    Output: refined features `[B, h, w, filters]` (ReLU).
    """

    def __init__(
        self,
        filters,
        dilation_rate,
        num_anchors=3,
        offset_source="b1_dxdy",
        offset_bn_relu=True,
        implementation="auto",
        batch_norm=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if offset_source not in OFFSET_SOURCES:
            raise ValueError(
                f"offset_source must be one of {OFFSET_SOURCES}, got {offset_source!r}"
            )
        self.filters = int(filters)
        self.dilation_rate = int(dilation_rate)
        self.num_anchors = int(num_anchors)
        self.offset_source = offset_source
        self.offset_bn_relu = bool(offset_bn_relu)
        self.implementation = implementation
        self.batch_norm = BatchNormSettings.from_config(batch_norm)
        self.offset_conv = None
        if offset_source in _B1_COMPONENTS and offset_bn_relu:
            self.offset_conv = ConvBN(
                NUM_OFFSET_CHANNELS,
                1,
                batch_norm=self.batch_norm,
                name="offset_conv",
                dtype=self.dtype_policy,
            )
        elif offset_source in _B1_COMPONENTS:
            self.offset_conv = keras.layers.Conv2D(
                NUM_OFFSET_CHANNELS,
                1,
                kernel_initializer=he_normal_fan_out(),
                name="offset_conv",
                dtype=self.dtype_policy,
            )
        elif offset_source == "features":
            self.offset_conv = Conv2D(
                NUM_OFFSET_CHANNELS,
                3,
                padding="same",
                dilation_rate=self.dilation_rate,
                kernel_initializer="zeros",
                name="offset_conv",
                dtype=self.dtype_policy,
            )
        if offset_source == "none":
            self.conv = Conv2D(
                self.filters,
                3,
                padding="same",
                dilation_rate=self.dilation_rate,
                use_bias=False,
                kernel_initializer=he_normal_fan_out(),
                name="dilated_conv",
                dtype=self.dtype_policy,
            )
        else:
            self.conv = DeformableConv2D(
                self.filters,
                3,
                padding=self.dilation_rate,
                dilation_rate=self.dilation_rate,
                use_bias=False,
                implementation=implementation,
                kernel_initializer=he_normal_fan_out(),
                name="deformable_conv",
                dtype=self.dtype_policy,
            )
        self.bn = self.batch_norm.layer("bn", dtype=self.dtype_policy)

    def build(self, features_shape, objectness_deltas_map_shape, objectness_logits_map_shape):
        spatial = tuple(features_shape[:-1])
        if self.offset_source in _B1_COMPONENTS:
            num_inputs = self.num_anchors * len(_B1_COMPONENTS[self.offset_source])
            self.offset_conv.build((*spatial, num_inputs))
        elif self.offset_source == "features":
            self.offset_conv.build(features_shape)
        self.conv.build(features_shape)
        self.bn.build((*spatial, self.filters))

    def call(self, features, objectness_deltas_map, objectness_logits_map, training=None):
        attention = keras.ops.cast(
            objectness_map(objectness_logits_map, self.num_anchors), features.dtype
        )
        enhanced = features * attention + features
        if self.offset_source == "none":
            refined = self.conv(enhanced)
        else:
            if self.offset_source == "features":
                offsets = self.offset_conv(enhanced, training=training)
            else:
                b1 = offset_source_channels(
                    objectness_deltas_map, self.offset_source, self.num_anchors
                )
                b1 = keras.ops.cast(b1, features.dtype)
                offsets = self.offset_conv(b1, training=training)
            refined = self.conv(enhanced, keras.ops.cast(offsets, enhanced.dtype))
        return keras.ops.relu(self.bn(refined, training=training))

    def compute_output_shape(
        self, features_shape, objectness_deltas_map_shape, objectness_logits_map_shape
    ):
        return (*features_shape[:-1], self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            dilation_rate=self.dilation_rate,
            num_anchors=self.num_anchors,
            offset_source=self.offset_source,
            offset_bn_relu=self.offset_bn_relu,
            implementation=self.implementation,
            batch_norm=self.batch_norm.get_config(),
        )
        return config
