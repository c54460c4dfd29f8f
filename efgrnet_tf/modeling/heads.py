"""Prediction heads (B1/C1, B2/C2, SSD's B/C) and the flattening of their maps into anchors.

Anchor order is level → row → column → anchor-in-cell (design.md): a head map
`[B, h, w, A * k]` becomes `[B, h * w * A, k]`, so channel `a * k + t` is component t of anchor
a of its cell, and the levels are concatenated in stride order.
"""

import keras

from efgrnet_tf.modeling.conv2d import Conv2D
from efgrnet_tf.modeling.conv_bn import BatchNormSettings, ConvBN, he_normal_fan_out


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class PredictionHead(keras.layers.Layer):
    """Optional 1x1 ConvBN layers, then a 3x3 conv with bias → `num_anchors * values_per_anchor`.

    The final conv runs in float32 whatever the dtype policy (its input is cast), so logits and
    deltas are float32 under `mixed_float16`; the hidden layers follow the policy.

    Input: `[B, h, w, C]`. Output: `[B, h, w, num_anchors * values_per_anchor]` float32,
    channel `a * values_per_anchor + t` = value t of anchor a.

    Args:
        num_anchors: anchors per cell A.
        values_per_anchor: 4 for box deltas (dx, dy, dw, dh), the class count for logits.
        hidden_channels: channels of the hidden ConvBN(1x1) layers.
        num_hidden_layers: 0 for VGG16 (a single 3x3 conv), 2 for the ResNet-101 final heads.
        batch_norm: `BatchNormSettings` of the hidden layers' BN (or its `get_config` dict;
            None = defaults).
        kernel_stddev: 0 initialises the final conv He-normal (fan_out), as the authors do; > 0
            draws it from N(0, kernel_stddev²), which starts the logits and deltas near 0.
    """

    def __init__(
        self,
        num_anchors,
        values_per_anchor,
        hidden_channels=512,
        num_hidden_layers=0,
        batch_norm=None,
        kernel_stddev=0.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_anchors = int(num_anchors)
        self.values_per_anchor = int(values_per_anchor)
        self.hidden_channels = int(hidden_channels)
        self.num_hidden_layers = int(num_hidden_layers)
        self.batch_norm = BatchNormSettings.from_config(batch_norm)
        self.kernel_stddev = float(kernel_stddev)
        # One attribute per hidden layer: tf.train.Checkpoint does not see Keras 3 lists.
        for i in range(1, self.num_hidden_layers + 1):
            setattr(
                self,
                f"hidden{i}",
                ConvBN(
                    self.hidden_channels,
                    1,
                    batch_norm=self.batch_norm,
                    name=f"hidden{i}",
                    dtype=self.dtype_policy,
                ),
            )
        self.predict = Conv2D(
            self.num_anchors * self.values_per_anchor,
            3,
            padding="same",
            kernel_initializer=keras.initializers.RandomNormal(stddev=self.kernel_stddev)
            if self.kernel_stddev > 0
            else he_normal_fan_out(),
            bias_initializer="zeros",
            name="predict",
            dtype="float32",
        )

    @property
    def hidden(self):
        """The hidden ConvBN(1x1) layers, in order."""
        return [getattr(self, f"hidden{i}") for i in range(1, self.num_hidden_layers + 1)]

    def build(self, input_shape):
        shape = input_shape
        for layer in self.hidden:
            layer.build(shape)
            shape = layer.compute_output_shape(shape)
        self.predict.build(shape)

    def call(self, inputs, training=None):
        x = inputs
        for layer in self.hidden:
            x = layer(x, training=training)
        return self.predict(keras.ops.cast(x, "float32"))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_anchors * self.values_per_anchor)

    def compute_output_spec(self, inputs, training=None):
        return keras.KerasTensor(self.compute_output_shape(inputs.shape), dtype="float32")

    def get_config(self):
        config = super().get_config()
        config.update(
            num_anchors=self.num_anchors,
            values_per_anchor=self.values_per_anchor,
            hidden_channels=self.hidden_channels,
            num_hidden_layers=self.num_hidden_layers,
            batch_norm=self.batch_norm.get_config(),
            kernel_stddev=self.kernel_stddev,
        )
        return config


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class ConcatenateAnchors(keras.layers.Layer):
    """Flattens per-level head maps into one `[B, num_anchors_total, values_per_anchor]` tensor.

    Called on a list of `[B, h_l, w_l, A * values_per_anchor]` maps (levels in stride order);
    returns float32 `[B, sum_l h_l * w_l * A, values_per_anchor]`, anchors ordered level → row
    → column → anchor-in-cell. The layer's dtype is always float32, so Keras's autocasting never
    rounds the float32 head outputs to float16 under a mixed policy.
    """

    def __init__(self, values_per_anchor, **kwargs):
        kwargs["dtype"] = "float32"
        super().__init__(**kwargs)
        self.values_per_anchor = int(values_per_anchor)

    def call(self, maps):
        flat = [
            keras.ops.reshape(
                keras.ops.cast(m, "float32"), (keras.ops.shape(m)[0], -1, self.values_per_anchor)
            )
            for m in maps
        ]
        return keras.ops.concatenate(flat, axis=1)

    def compute_output_spec(self, maps):
        counts = [
            None if None in m.shape[1:] else m.shape[1] * m.shape[2] * m.shape[3] for m in maps
        ]
        total = None if None in counts else sum(counts) // self.values_per_anchor
        return keras.KerasTensor((maps[0].shape[0], total, self.values_per_anchor), "float32")

    def get_config(self):
        config = super().get_config()
        config.update(values_per_anchor=self.values_per_anchor)
        return config
