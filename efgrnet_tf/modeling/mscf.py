"""Multi-scale contextual features (MSCF), the feature-enrichment branch on the raw image.

Paper Sec. 3.1; the authors' `MSCF` + `aspp_module` (+ `IMPN` pools).
"""

import keras

from efgrnet_tf.modeling.conv_bn import BatchNormSettings, ConvBN


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class MultiScaleContextualFeatures(keras.layers.Layer):
    """Image → three 2x2/2 max-pools → ConvBN(3x3, c/4) → ConvBN(1x1, c/4) → three branches
    ConvBN(1x1, c/16) → ConvBN(3x3, c/16, dilation r), r = `dilation_rates` → concat (3c/16)
    → conv 1x1 → c with BN and no ReLU.

    With the paper's `output_channels` c = 512: 128, 128, 32 per branch, 96, 512.

    Input: `[B, H, W, 3]` preprocessed image (H, W divisible by 8).
    Output: `[B, H/8, W/8, output_channels]`, the multiplicative guide of conv4_3 (or res3).

    Args:
        output_channels: c.
        dilation_rates: one per branch.
        batch_norm: `BatchNormSettings` of every BN (or its `get_config` dict; None = defaults).
    """

    def __init__(
        self,
        output_channels=512,
        dilation_rates=(1, 2, 4),
        batch_norm=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_channels = int(output_channels)
        self.dilation_rates = tuple(int(r) for r in dilation_rates)
        self.batch_norm = BatchNormSettings.from_config(batch_norm)
        bn_args = dict(batch_norm=self.batch_norm, dtype=self.dtype_policy)
        inner = max(1, self.output_channels // 4)
        branch = max(1, inner // 4)
        self.pool = keras.layers.MaxPooling2D(2, 2, name="pool", dtype=self.dtype_policy)
        # Sub-layers live in attributes, not lists: Keras 3 keeps lists in its own tracked
        # containers, which tf.train.Checkpoint and SavedModel do not see.
        self.stem_3x3 = ConvBN(inner, 3, name="stem_3x3", **bn_args)
        self.stem_1x1 = ConvBN(inner, 1, name="stem_1x1", **bn_args)
        for i, rate in enumerate(self.dilation_rates, start=1):
            setattr(self, f"branch{i}_1x1", ConvBN(branch, 1, name=f"branch{i}_1x1", **bn_args))
            setattr(
                self,
                f"branch{i}_3x3",
                ConvBN(branch, 3, dilation_rate=rate, name=f"branch{i}_3x3", **bn_args),
            )
        self.fuse = ConvBN(self.output_channels, 1, activation=False, name="fuse", **bn_args)

    @property
    def stem(self):
        """The ConvBN(3x3) and ConvBN(1x1) after the pools."""
        return [self.stem_3x3, self.stem_1x1]

    @property
    def branches(self):
        """(1x1, dilated 3x3) ConvBN pairs, one per dilation rate."""
        return [
            (getattr(self, f"branch{i}_1x1"), getattr(self, f"branch{i}_3x3"))
            for i in range(1, len(self.dilation_rates) + 1)
        ]

    def build(self, input_shape):
        shape = input_shape
        for _ in range(3):
            shape = self.pool.compute_output_shape(shape)
        for layer in self.stem:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        branch_channels = 0
        for first, second in self.branches:
            first.build(shape)
            second.build(first.compute_output_shape(shape))
            branch_channels += second.filters
        self.fuse.build((*shape[:-1], branch_channels))

    def call(self, images, training=None):
        x = self.pool(self.pool(self.pool(images)))
        x = self.stem_1x1(self.stem_3x3(x, training=training), training=training)
        branches = [
            second(first(x, training=training), training=training)
            for first, second in self.branches
        ]
        return self.fuse(keras.ops.concatenate(branches, axis=-1), training=training)

    def compute_output_shape(self, input_shape):
        batch, height, width = input_shape[:3]
        spatial = [None if s is None else s // 8 for s in (height, width)]
        return (batch, *spatial, self.output_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            output_channels=self.output_channels,
            dilation_rates=self.dilation_rates,
            batch_norm=self.batch_norm.get_config(),
        )
        return config
