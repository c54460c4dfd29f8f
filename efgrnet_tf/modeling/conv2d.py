"""`Conv2D`: the detector's convolution layer, Keras's Conv2D run by the fastest kernel we have.

Same arguments, variables, config and outputs (within float rounding) as `keras.layers.Conv2D`;
only the op that convolves differs:
- one float32 image on a small, deep map on a CPU: one MatMul per kernel tap
  (`single_image_conv`; oneDNN's batch-1 direct conv runs those at half its rate);
- a stride-1 dilated NHWC conv: one native `Conv2D` op (`dilated_conv`; Keras splits it into
  SpaceToBatchND → Conv2D → BatchToSpaceND);
- anything else as Keras runs it.
"""

import keras

from efgrnet_tf.modeling import single_image_conv
from efgrnet_tf.modeling.dilated_conv import dilated_conv2d


def symmetric_pads(kernel_size, dilation_rate):
    """Zeros on each side, per axis, that centre an odd kernel: `d * (k - 1) // 2` (PyTorch's
    padding; Keras's "same" at stride 1)."""
    return [d * (k - 1) // 2 for k, d in zip(kernel_size, dilation_rate, strict=True)]


@keras.saving.register_keras_serializable(package="efgrnet_tf")
class Conv2D(keras.layers.Conv2D):
    """`keras.layers.Conv2D` whose convolution op is chosen as the module docstring says."""

    def convolution_op(self, inputs, kernel):
        native = self._native_convolution_op
        if self.data_format != "channels_last":
            return native(inputs, kernel)
        pads = (0, 0)
        if self.padding == "same":
            if max(self.strides) > 1 or not all(k % 2 for k in self.kernel_size):
                return native(inputs, kernel)
            pads = symmetric_pads(self.kernel_size, self.dilation_rate)
        args = (inputs, kernel, self.strides, self.dilation_rate)
        if single_image_conv.applies(*args, self.groups, pads):
            return single_image_conv.convolve(*args, pads, native)
        return native(inputs, kernel)

    def _native_convolution_op(self, inputs, kernel):
        """One `Conv2D` op for a stride-1 dilated NHWC conv, else Keras's convolution."""
        if (
            max(self.dilation_rate) == 1
            or max(self.strides) > 1
            or self.data_format != "channels_last"
        ):
            return super().convolution_op(inputs, kernel)
        return dilated_conv2d(inputs, kernel, self.padding.upper(), list(self.dilation_rate))
