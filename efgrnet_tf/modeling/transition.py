"""ResNet-101 variant's transition blocks between the objectness module and its heads.

The authors' `efrgnet_resnet.add_trans`: the 256-channel fused features s1..s3 are widened to
512, 1024 and 512 channels before B1/C1 and the FGRM (s4 stays at 256); s1 first passes two
small residual bottlenecks.
"""

import keras

from efgrnet_tf.modeling.conv_bn import BatchNormSettings, ConvBN


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class TransitionBlock(keras.layers.Layer):
    """`num_residual_blocks` x [x → ReLU(x + ConvBN(1x1, C/4) → ConvBN(3x3, C/4) → ConvBN(1x1,
    C))] → ConvBN(1x1, `output_channels`).

    Input `[B, h, w, C]`; output `[B, h, w, output_channels]` (ReLU).

    Args:
        output_channels: channels after the final 1x1 ConvBN.
        num_residual_blocks: small bottlenecks before it (2 at stride 8, else 0).
        batch_norm: `BatchNormSettings` of every BN (or its `get_config` dict; None = defaults).
    """

    def __init__(
        self,
        output_channels,
        num_residual_blocks=0,
        batch_norm=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.output_channels = int(output_channels)
        self.num_residual_blocks = int(num_residual_blocks)
        self.batch_norm = BatchNormSettings.from_config(batch_norm)
        self.project = None

    @property
    def blocks(self):
        """Per residual bottleneck, its [1x1, 3x3, 1x1] ConvBN layers (empty before build)."""
        return [
            [getattr(self, f"block{i}_{suffix}") for suffix in ("1x1a", "3x3", "1x1b")]
            for i in range(1, self.num_residual_blocks + 1)
            if hasattr(self, f"block{i}_1x1a")
        ]

    def _conv_bn(self, filters, kernel_size, name):
        return ConvBN(
            filters,
            kernel_size,
            batch_norm=self.batch_norm,
            name=name,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        channels = input_shape[-1]
        inner = max(1, channels // 4)
        for i in range(1, self.num_residual_blocks + 1):
            shape = input_shape
            # One attribute per layer: tf.train.Checkpoint does not see Keras 3 lists.
            for suffix, filters, kernel_size in (
                ("1x1a", inner, 1),
                ("3x3", inner, 3),
                ("1x1b", channels, 1),
            ):
                layer = self._conv_bn(filters, kernel_size, f"block{i}_{suffix}")
                setattr(self, f"block{i}_{suffix}", layer)
                layer.build(shape)
                shape = layer.compute_output_shape(shape)
        self.project = self._conv_bn(self.output_channels, 1, "project")
        self.project.build(input_shape)

    def call(self, inputs, training=None):
        x = inputs
        for block in self.blocks:
            y = x
            for layer in block:
                y = layer(y, training=training)
            x = keras.ops.relu(x + y)
        return self.project(x, training=training)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.output_channels)

    def get_config(self):
        config = super().get_config()
        config.update(
            output_channels=self.output_channels,
            num_residual_blocks=self.num_residual_blocks,
            batch_norm=self.batch_norm.get_config(),
        )
        return config
