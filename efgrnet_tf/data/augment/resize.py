"""Resize with an interpolation drawn at random (RFBNet `preproc`: linear, cubic, area,
nearest, Lanczos)."""

from __future__ import annotations

import tensorflow as tf

INTERPOLATIONS = ("bilinear", "bicubic", "area", "nearest", "lanczos3")


def random_interpolation_resize(
    image: tf.Tensor, size_hw: tf.Tensor, seed: tf.Tensor, random_interpolation: bool = True
) -> tf.Tensor:
    """Resizes with one of `INTERPOLATIONS` drawn uniformly (bilinear when not random).

    Args:
      image: `[H, W, 3]` pixels in [0, 255], any real or integer dtype.
      size_hw: int32 `[2]` output height and width.
      seed: int `[2]` stateless seed.
    Returns:
      float32 `[h, w, 3]` clipped to [0, 255] (cubic and Lanczos kernels overshoot).
    """
    if not random_interpolation:
        return tf.image.resize(image, size_hw, method="bilinear")

    def resize(method: str) -> tf.Tensor:
        # Nearest keeps the input dtype; the others return float32.
        return tf.cast(tf.image.resize(image, size_hw, method=method), tf.float32)

    index = tf.random.stateless_uniform([], seed, 0, len(INTERPOLATIONS), dtype=tf.int32)
    resized = tf.switch_case(index, [lambda m=m: resize(m) for m in INTERPOLATIONS])
    return tf.clip_by_value(tf.ensure_shape(resized, [None, None, 3]), 0.0, 255.0)
