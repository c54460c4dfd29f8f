"""The detector's building block `ConvBN`, the batch-norm settings every layer shares, and the
initialiser of every new convolution.

Padding follows the authors' PyTorch code, not TensorFlow's "same": a k x k conv with dilation d
pads `d * (k - 1) // 2` zeros on *each* side. For stride 1 and odd k this equals "same"; for
stride 2 on an even input "same" would pad only bottom/right and shift the sampling grid by one
pixel, so strided convs pad explicitly.
"""

import dataclasses

import keras

from efgrnet_tf.modeling.batch_norm import FusedTrainingBatchNormalization
from efgrnet_tf.modeling.conv2d import Conv2D, symmetric_pads
from efgrnet_tf.modeling.precision import batch_norm_dtype_policy


@dataclasses.dataclass(frozen=True)
class BatchNormSettings:
    """What every BatchNormalization of the detector shares, in Keras's argument names.

    `build_model` fills it from `model.batch_norm_momentum`, `model.batch_norm_epsilon` and
    `train.sync_batch_norm`; layers store it as `batch_norm` and serialise it as one dict.

    Attributes:
        momentum: Keras's moving-average momentum (0.99 = PyTorch's 0.01), in [0, 1).
        epsilon: added to the variance, > 0.
        synchronized: batch statistics over all replicas of a `tf.distribute` strategy.
    """

    momentum: float = 0.99
    epsilon: float = 1e-5
    synchronized: bool = False

    def __post_init__(self):
        if not 0.0 <= self.momentum < 1.0:
            raise ValueError(f"batch-norm momentum must be in [0, 1), got {self.momentum}")
        if self.epsilon <= 0:
            raise ValueError(f"batch-norm epsilon must be > 0, got {self.epsilon}")

    @classmethod
    def from_config(cls, value):
        """`value` as settings: settings as they are, the dict `get_config` wrote, or None (the
        defaults)."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        return cls(**value)

    def get_config(self):
        """The settings as a plain dict (a layer's `get_config` entry `batch_norm`)."""
        return dataclasses.asdict(self)

    def layer(self, name, dtype=None):
        """A BatchNormalization with these settings: `FusedTrainingBatchNormalization`, Keras's
        layer with TensorFlow's fused kernel in training (same variables and results); `dtype`
        None: the global policy's, with float32 variables under `bfloat16`
        (`batch_norm_dtype_policy`)."""
        return FusedTrainingBatchNormalization(
            momentum=self.momentum,
            epsilon=self.epsilon,
            synchronized=self.synchronized,
            name=name,
            dtype=batch_norm_dtype_policy(dtype),
        )


def he_normal_fan_out():
    """He-normal initialiser on fan_out, untruncated: PyTorch's `kaiming_normal_(mode="fan_out")`.

    std = sqrt(2 / (kh * kw * out_channels)).
    """
    return keras.initializers.VarianceScaling(2.0, "fan_out", "untruncated_normal")


def scaled_channels(channels, width_multiplier):
    """`channels * width_multiplier`, rounded, at least 1."""
    return max(1, round(channels * width_multiplier))


def torch_style_conv2d(
    filters,
    kernel_size,
    *,
    strides=1,
    dilation_rate=1,
    use_bias=False,
    activation=None,
    name=None,
    dtype=None,
):
    """A `Conv2D` (Keras's, run by the fastest kernel) with symmetric padding
    `dilation * (k - 1) // 2` (odd k).

    Stride 1 uses "same" (identical for odd kernels); larger strides pad explicitly inside
    `PaddedConv2D` so output pixel i is centred on input pixel `i * stride`.
    """
    common = dict(
        filters=filters,
        kernel_size=kernel_size,
        strides=strides,
        dilation_rate=dilation_rate,
        use_bias=use_bias,
        activation=activation,
        kernel_initializer=he_normal_fan_out(),
        bias_initializer="zeros",
        name=name,
        dtype=dtype,
    )
    if strides == 1:
        return Conv2D(padding="same", **common)
    return PaddedConv2D(**common)


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class PaddedConv2D(Conv2D):
    """Conv2D that zero-pads `dilation * (k - 1) // 2` on every side, then convolves "valid"."""

    def __init__(self, **kwargs):
        kwargs["padding"] = "valid"
        super().__init__(**kwargs)

    def call(self, inputs):
        pad_h, pad_w = symmetric_pads(self.kernel_size, self.dilation_rate)
        padded = keras.ops.pad(inputs, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
        return super().call(padded)

    def compute_output_shape(self, input_shape):
        pads = symmetric_pads(self.kernel_size, self.dilation_rate)
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
    """Conv (no bias) → BatchNorm → optional ReLU: the authors' `BasicConv` (k, c, s, d).

    Input `[B, H, W, C]`; output `[B, ceil(H / s), ceil(W / s), filters]` (odd kernels, padding
    `d * (k - 1) // 2` on each side as in PyTorch). The conv is He-normal fan_out initialised,
    BN starts at gamma 1, beta 0.

    Args:
        filters: output channels.
        kernel_size: odd int.
        strides: int.
        dilation_rate: int.
        activation: True for the trailing ReLU; False leaves conv + BN (the "no ReLU" layers).
        batch_norm: `BatchNormSettings` (or its `get_config` dict; None = the defaults).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        dilation_rate=1,
        activation=True,
        batch_norm=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.strides = int(strides)
        self.dilation_rate = int(dilation_rate)
        self.activation = bool(activation)
        self.batch_norm = BatchNormSettings.from_config(batch_norm)
        self.conv = torch_style_conv2d(
            self.filters,
            self.kernel_size,
            strides=self.strides,
            dilation_rate=self.dilation_rate,
            name="conv",
            dtype=self.dtype_policy,
        )
        self.bn = self.batch_norm.layer("bn", dtype=self.dtype_policy)

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
            batch_norm=self.batch_norm.get_config(),
        )
        return config
