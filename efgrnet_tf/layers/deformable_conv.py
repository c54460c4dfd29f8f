"""Keras layer around `efgrnet_tf.ops.deform_conv2d`: a kernel, an optional bias, a config."""

import keras

from efgrnet_tf.ops.deform_conv import (
    deform_conv2d,
    deform_conv_output_size,
    int_pair,
    resolve_implementation,
)


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class DeformableConv2D(keras.layers.Layer):
    """Deformable 2-D convolution (DCNv1, or DCNv2 with a modulation), NHWC.

    Called as `layer(inputs, offsets)` or `layer(inputs, offsets, modulation)`:
    - `inputs`: `[N, H, W, C]`;
    - `offsets`: `[N, Ho, Wo, 2 * G * kh * kw]`, channel `g * 2 * kh * kw + 2 * k` the row
      offset dy and the next the column offset dx of tap `k = i * kw + j`;
    - `modulation`: optional `[N, Ho, Wo, G * kh * kw]` DCNv2 mask (named so because Keras
      reserves `mask` for its own masking);
    - returns `[N, Ho, Wo, filters]` with `Ho = deform_conv_output_size(H, kh, sh, ph, dh)`.
    Sampling semantics are those of `efgrnet_tf.ops.deform_conv2d` (torchvision's).

    Args:
        filters: number of output channels O.
        kernel_size: int or `(kh, kw)`.
        strides: int or `(sh, sw)`.
        padding: int or `(ph, pw)` of zero padding on each side.
        dilation_rate: int or `(dh, dw)`.
        deformable_groups: G, a divisor of C; channel c follows the offsets of group
            `c // (C / G)`.
        use_bias: add a `[filters]` bias after the convolution.
        implementation: `"auto"`, `"custom_op"`, `"pure_tf"` or `"crop_and_resize"`, see
            `deform_conv2d`. The layer reports `supports_jit` (XLA) only when this resolves
            to `"pure_tf"`.
        kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
        kernel_constraint, bias_constraint: as in `keras.layers.Conv2D`; the kernel is
            `[kh, kw, C, filters]` (HWIO).
        **kwargs: base-layer arguments (`name`, `dtype`, `trainable`).
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding=0,
        dilation_rate=1,
        deformable_groups=1,
        use_bias=True,
        implementation="auto",
        kernel_initializer="he_normal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        # Keras's jit_compile="auto" compiles with XLA only when every layer supports it.
        self.supports_jit = resolve_implementation(implementation) == "pure_tf"
        self.filters = int(filters)
        self.kernel_size = int_pair(kernel_size, "kernel_size")
        self.strides = int_pair(strides, "strides")
        self.padding = int_pair(padding, "padding")
        self.dilation_rate = int_pair(dilation_rate, "dilation_rate")
        self.deformable_groups = int(deformable_groups)
        self.use_bias = bool(use_bias)
        self.implementation = implementation
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)

    def build(self, inputs_shape):
        channels = inputs_shape[-1]
        if channels is None:
            raise ValueError(f"inputs must have a static channel count, got {inputs_shape}.")
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.filters,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def call(self, inputs, offsets, modulation=None):
        outputs = deform_conv2d(
            inputs,
            offsets,
            self.kernel,
            strides=self.strides,
            padding=self.padding,
            dilations=self.dilation_rate,
            deformable_groups=self.deformable_groups,
            mask=modulation,
            implementation=self.implementation,
        )
        if self.bias is not None:
            outputs = outputs + self.bias
        return outputs

    def compute_output_shape(self, inputs_shape, offsets_shape, modulation_shape=None):
        spatial = [
            None
            if size is None
            else deform_conv_output_size(size, kernel, stride, padding, dilation)
            for size, kernel, stride, padding, dilation in zip(
                inputs_shape[1:3],
                self.kernel_size,
                self.strides,
                self.padding,
                self.dilation_rate,
                strict=True,
            )
        ]
        return (inputs_shape[0], *spatial, self.filters)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "dilation_rate": self.dilation_rate,
                "deformable_groups": self.deformable_groups,
                "use_bias": self.use_bias,
                "implementation": self.implementation,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer),
                "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
                "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
                "bias_constraint": keras.constraints.serialize(self.bias_constraint),
            }
        )
        return config
