"""Deformable convolution: the public function and its output-size helper."""

from efgrnet_tf.ops.deform_conv import deform_conv2d, deform_conv_output_size

__all__ = ["deform_conv2d", "deform_conv_output_size"]
