"""The image preprocessing shared by training, evaluation and the export signature, and its
inverse.

The model sees caffe-style inputs: BGR channel order, the BGR mean (104, 117, 123 by default)
subtracted, no division by a standard deviation.
"""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

DEFAULT_MEAN_BGR = (104.0, 117.0, 123.0)


def subtract_mean_bgr(
    image_rgb: tf.Tensor, mean_bgr: Sequence[float] = DEFAULT_MEAN_BGR
) -> tf.Tensor:
    """RGB pixels in [0, 255] -> float32 BGR with `mean_bgr` subtracted.

    Args:
      image_rgb: `[..., H, W, 3]` RGB, any real or integer dtype, values in [0, 255].
      mean_bgr: per-channel mean in B, G, R order.
    Returns:
      float32 `[..., H, W, 3]` in BGR order.
    """
    image_bgr = tf.reverse(tf.cast(image_rgb, tf.float32), axis=[-1])
    return image_bgr - tf.constant(mean_bgr, tf.float32)


def restore_uint8_rgb(images_bgr: tf.Tensor, mean_bgr: Sequence[float]) -> tf.Tensor:
    """Inverse of `subtract_mean_bgr`, rounded to uint8: model inputs back to pixels (the
    SavedModel detector's uint8 input, drawings of augmented samples).

    Args:
      images_bgr: float32 `[..., H, W, 3]`, BGR, `mean_bgr` subtracted.
      mean_bgr: the mean that was subtracted, in B, G, R order.
    Returns:
      uint8 `[..., H, W, 3]` RGB, values outside [0, 255] clipped.
    """
    bgr = tf.cast(images_bgr, tf.float32) + tf.constant(mean_bgr, tf.float32)
    rgb = tf.reverse(bgr, axis=[-1])
    return tf.cast(tf.clip_by_value(tf.round(rgb), 0.0, 255.0), tf.uint8)


def preprocess_for_eval(
    image_rgb: tf.Tensor, image_size: int, mean_bgr: Sequence[float] = DEFAULT_MEAN_BGR
) -> tf.Tensor:
    """Evaluation/serving preprocessing: bilinear resize to a square, then `subtract_mean_bgr`.

    The aspect ratio is not kept (as in the SSD family), so normalised yxyx boxes are the same
    before and after.

    Args:
      image_rgb: uint8 (or float in [0, 255]) RGB, `[H, W, 3]` or `[B, H, W, 3]`.
      image_size: side S of the square model input.
      mean_bgr: per-channel mean in B, G, R order (`cfg.data.mean_bgr`).
    Returns:
      float32 `[S, S, 3]` or `[B, S, S, 3]`, BGR, mean subtracted.
    """
    return subtract_mean_bgr(resize_to_square(image_rgb, image_size), mean_bgr)


def resize_to_square(image_rgb: tf.Tensor, image_size: int) -> tf.Tensor:
    """Bilinear resize to the `image_size` square, aspect ratio not kept, as float32 pixels.

    Args:
      image_rgb: uint8 (or float in [0, 255]) RGB, `[H, W, 3]` or `[B, H, W, 3]`.
    Returns:
      float32 `[S, S, 3]` or `[B, S, S, 3]` RGB in [0, 255].
    """
    return tf.image.resize(
        tf.cast(image_rgb, tf.float32), [image_size, image_size], method="bilinear"
    )
