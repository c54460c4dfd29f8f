"""The detector's building block `ConvBN` and the initialiser of every new convolution.

Padding follows the authors' PyTorch code, not TensorFlow's "same": a k x k conv with dilation d
pads `d * (k - 1) // 2` zeros on *each* side. For stride 1 and odd k this equals "same"; for
stride 2 on an even input "same" would pad only bottom/right and shift the sampling grid by one
pixel, so strided convs pad explicitly.
"""

import keras


def he_normal_fan_out():
    """He-normal initialiser on fan_out, untruncated: PyTorch's `kaiming_normal_(mode="fan_out")`.

    std = sqrt(2 / (kh * kw * out_channels)).
    """
    return keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")


def scaled_channels(channels, width_multiplier):
    """`channels * width_multiplier`, rounded, at least 1."""
    return max(1, round(channels * width_multiplier))


def torch_style_conv2d(
    filters, kernel_size, *, strides=1, dilation_rate=1, use_bias=False, name=None, dtype=None
):
    """A `keras.layers.Conv2D` with symmetric padding `dilation * (k - 1) // 2` (odd k).

    Stride 1 uses "same" (identical for odd kernels); larger strides pad explicitly inside
    `PaddedConv2D` so output pixel i is centred on input pixel `i * stride`.
    """
    common = dict(
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        use_bias=use_bias,
        kernel_initializer=he_normal_fan_out(),
        bias_initializer="zeros",
        name=name,
        dtype=dtype,
    )
    if strides == 1:
        return keras.layers.Conv2D(padding="same", **common)
    return PaddedConv2D(**common)


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class PaddedConv2D(keras.layers.Conv2D):
    """Conv2D that zero-pads `dilation * (k - 1) // 2` on every side, then convolves "valid"."""

    def __init__(self, **kwargs):
        kwargs["padding"] = "valid"
        super().__init__(**kwargs)

    def _pads(self):
        """Zero rows (columns) added on each side: `dilation * (k - 1) // 2` per axis."""
        return [d * (k - 1) // 2 for k, d in zip(self.kernel_size, self.dilation_rate, strict=True)]

    def call(self, inputs):
        pad_h, pad_w = self._pads()
        padded = keras.ops.pad(inputs, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
        return super().call(padded)

    def compute_output_shape(self, input_shape):
        pads = self._pads()
        padded = list(input_shape)
        for axis, pad in zip((1, 2), pads, strict=True):
            if padded[axis] is not None:
                padded[axis] += 2 * pad
        return super().compute_output_shape(tuple(padded))

    def get_config(self):
        config = super().get_config()
        config.pop("padding")
        return config


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class ConvBN(keras.layers.Layer):
    """Conv (no bias) → BatchNorm → optional ReLU; SPEC's `ConvBN(k, c, s, d)`.

    Input `[B, H, W, C]`; output `[B, ceil(H / s), ceil(W / s), filters]` (odd kernels, padding
    `d * (k - 1) // 2` on each side as in PyTorch). The conv is He-normal fan_out initialised,
    BN starts at gamma 1, beta 0.

    Args:
        filters: output channels.
        kernel_size: odd int.
        strides: int.
        dilation_rate: int.
        activation: True for the trailing ReLU; False leaves conv + BN (the "no ReLU" layers).
        batch_norm_momentum, batch_norm_epsilon: Keras BatchNormalization arguments
            (momentum 0.99 = PyTorch's 0.01).
        synchronized_batch_norm: BN statistics over all replicas of a `tf.distribute` strategy.
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        dilation_rate=1,
        activation=True,
        batch_norm_momentum=0.99,
        batch_norm_epsilon=1e-5,
        synchronized_batch_norm=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.dilation_rate = int(dilation_rate)
        self.activation = bool(activation)
        self.batch_norm_momentum = float(batch_norm_momentum)
        self.batch_norm_epsilon = float(batch_norm_epsilon)
        self.synchronized_batch_norm = bool(synchronized_batch_norm)
        self.conv = torch_style_conv2d(
            self.filters,
            self.kernel_size,
            strides=self.strides,
            dilation_rate=self.dilation_rate,
            name="conv",
            dtype=self.dtype_policy,
        )
        self.bn = keras.layers.BatchNormalization(
            momentum=self.batch_norm_momentum,
            epsilon=self.batch_norm_epsilon,
            synchronized=self.synchronized_batch_norm,
            name="bn",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        self.conv.build(input_shape)
        self.bn.build(self.conv.compute_output_shape(input_shape))

    def call(self, inputs, training=None):
        outputs = self.bn(self.conv(inputs), training=training)
        return keras.ops.relu(outputs) if self.activation else outputs

    def compute_output_shape(self, input_shape):
        return self.conv.compute_output_shape(input_shape)

    def get_config(self):
        config = super().get_config()
        config.update(
            filters=self.filters,
            kernel_size=self.kernel_size,
            strides=self.strides,
            dilation_rate=self.dilation_rate,
            activation=self.activation,
            batch_norm_momentum=self.batch_norm_momentum,
            batch_norm_epsilon=self.batch_norm_epsilon,
            synchronized_batch_norm=self.synchronized_batch_norm,
        )
        return config
