"""Keras layers of the detector that Keras does not provide."""

from efgrnet_tf.layers.deformable_conv import DeformableConv2D

__all__ = ["DeformableConv2D"]
