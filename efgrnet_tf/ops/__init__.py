"""Deformable convolution: the public function, its output-size helper, the kernel choice."""

from efgrnet_tf.ops.deform_conv import (
    deform_conv2d,
    deform_conv_output_size,
    resolve_implementation,
)

__all__ = ["deform_conv2d", "deform_conv_output_size", "resolve_implementation"]
