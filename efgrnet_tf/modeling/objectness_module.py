"""The bottom-up feature fusion of EFGRNet's objectness module (paper Sec. 3.1; the authors'
`Norm1..4` and `dsc1..3` in `models/model_builder_vgg.py`).

Level k of the module computes `s_k = Norm_k(source_k ⊙ guide_k)`, where the guide is the MSCF
output at level 1 and `D_{k-1}(s_{k-1})` above it. The prediction heads B1/C1 that complete the
module are `heads.PredictionHead` layers applied to the `s_k`.
"""

import keras

from efgrnet_tf.modeling.conv_bn import BatchNormSettings, ConvBN


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class FeatureFusion(keras.layers.Layer):
    """One level of the bottom-up enrichment: `Norm(source ⊙ D(guide))`.

    - D (when `downsample_channels` is set): conv 3x3/2 → `downsample_channels` + BN, no ReLU;
      otherwise the guide is used as is (level 1, guided by the MSCF).
    - Norm: optional ReLU (`pre_activation`, VGG16 levels 1-2) → ConvBN(3x3, `norm_channels`).

    Called as `layer(source, guide)`:
        source: `[B, H, W, C]` backbone feature (C = `downsample_channels`, or the guide's
            channels at level 1).
        guide: `[B, 2H, 2W, C']` previous level's `s` (with D), or `[B, H, W, C]` (without).
    Returns: `[B, H, W, norm_channels]`.

    Args:
        norm_channels: output channels of Norm.
        downsample_channels: output channels of D, or None for no D.
        pre_activation: ReLU before Norm's conv.
        batch_norm: `BatchNormSettings` of every BN (or its `get_config` dict; None = defaults).
    """

    def __init__(
        self,
        norm_channels,
        downsample_channels=None,
        pre_activation=False,
        batch_norm=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.norm_channels = int(norm_channels)
        self.downsample_channels = None if downsample_channels is None else int(downsample_channels)
        self.pre_activation = bool(pre_activation)
        self.batch_norm = BatchNormSettings.from_config(batch_norm)
        bn_args = dict(batch_norm=self.batch_norm, dtype=self.dtype_policy)
        self.downsample = None
        if self.downsample_channels is not None:
            self.downsample = ConvBN(
                self.downsample_channels, 3, 2, activation=False, name="downsample", **bn_args
            )
        self.norm = ConvBN(self.norm_channels, 3, name="norm", **bn_args)

    def build(self, source_shape, guide_shape):
        if self.downsample is not None:
            self.downsample.build(guide_shape)
        self.norm.build(source_shape)

    def call(self, source, guide, training=None):
        if self.downsample is not None:
            guide = self.downsample(guide, training=training)
        fused = source * guide
        if self.pre_activation:
            fused = keras.ops.relu(fused)
        return self.norm(fused, training=training)

    def compute_output_shape(self, source_shape, guide_shape):
        return (*source_shape[:-1], self.norm_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            norm_channels=self.norm_channels,
            downsample_channels=self.downsample_channels,
            pre_activation=self.pre_activation,
            batch_norm=self.batch_norm.get_config(),
        )
        return config
