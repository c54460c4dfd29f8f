"""Zoom-out ("expand", SSD): the image placed at a random spot of a larger mean-filled canvas.

The canvas is never materialised at full resolution: since the canvas is resized to the
S x S model input right after (the flip in between commutes with the placement), the image is
resized straight to its footprint in the S x S output, mean-subtracted and padded with zeros
(the mean). The footprint is rounded to whole output pixels and the boxes are mapped with the
same rounded numbers (`boxes_into_footprint`), so they follow the pixels exactly, whatever
the canvas aspect.
"""

from __future__ import annotations

import tensorflow as tf


def sample_expand_footprint(
    output_size: int,
    seed: tf.Tensor,
    max_ratio: float = 4.0,
    probability: float = 0.6,
    aspect_jitter: bool = True,
) -> tf.Tensor:
    """Where the image lands in the S x S output after expand and resize.

    With probability `probability` the image is placed on a canvas `s * r` times its width and
    `s / r` times its height, with s ~ U(1, `max_ratio`) and, with `aspect_jitter`,
    r = sqrt(U(max(1/2, 1/s^2), min(2, s^2))) (r = 1 without), its top-left corner uniform over
    the positions that keep it inside (the authors' `_expand`; s * r >= 1 and s / r >= 1 by
    construction). Otherwise the image fills the output. As fractions of the output the
    footprint is 1/(s*r) wide and r/s high, independent of the image size.

    Args:
      output_size: side S of the square output.
      seed: int `[2]` stateless seed.
      max_ratio: largest canvas scale s.
      probability: chance of expanding at all.
      aspect_jitter: whether the canvas aspect is jittered by r^2.
    Returns:
      int32 `[4]` `[top, left, bottom, right]` in output pixels (bottom/right exclusive), at
      least one pixel high and wide.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=5)
    expand = tf.random.stateless_uniform([], seeds[0]) < probability
    scale = tf.where(expand, tf.random.stateless_uniform([], seeds[1], 1.0, max_ratio), 1.0)
    aspect = tf.constant(1.0)
    if aspect_jitter:
        min_aspect = tf.maximum(0.5, 1.0 / (scale * scale))
        max_aspect = tf.minimum(2.0, scale * scale)
        unit = tf.random.stateless_uniform([], seeds[4])
        aspect = tf.sqrt(min_aspect + unit * (max_aspect - min_aspect))
    # The image's height and width as fractions of the canvas, and its top-left corner.
    height = aspect / scale
    width = 1.0 / (scale * aspect)
    top = tf.random.stateless_uniform([], seeds[2]) * (1.0 - height)
    left = tf.random.stateless_uniform([], seeds[3]) * (1.0 - width)
    size = float(output_size)
    y0 = tf.cast(tf.round(top * size), tf.int32)
    x0 = tf.cast(tf.round(left * size), tf.int32)
    y1 = tf.maximum(tf.cast(tf.round((top + height) * size), tf.int32), y0 + 1)
    x1 = tf.maximum(tf.cast(tf.round((left + width) * size), tf.int32), x0 + 1)
    return tf.stack([y0, x0, tf.minimum(y1, output_size), tf.minimum(x1, output_size)])


def boxes_into_footprint(
    boxes_yxyx: tf.Tensor, footprint: tf.Tensor, output_size: int
) -> tf.Tensor:
    """Maps boxes normalised to the image to boxes normalised to the S x S output.

    Args:
      boxes_yxyx: float32 `[n, 4]` normalised to the image.
      footprint: int32 `[4]` from `sample_expand_footprint`.
      output_size: side S of the output.
    Returns:
      float32 `[n, 4]` yxyx normalised to the output.
    """
    f = tf.cast(footprint, tf.float32)
    origin = tf.stack([f[0], f[1], f[0], f[1]])
    extent = tf.stack([f[2] - f[0], f[3] - f[1], f[2] - f[0], f[3] - f[1]])
    return (origin + boxes_yxyx * extent) / float(output_size)


def pad_to_output(image: tf.Tensor, footprint: tf.Tensor, output_size: int) -> tf.Tensor:
    """Places a mean-subtracted image, resized to its footprint, on an S x S canvas.

    The canvas is the data set mean, which is 0 after mean subtraction.

    Args:
      image: float32 `[bottom - top, right - left, 3]`, mean already subtracted.
      footprint: int32 `[4]` `[top, left, bottom, right]`.
      output_size: side S.
    Returns:
      float32 `[S, S, 3]`.
    """
    paddings = [
        [footprint[0], output_size - footprint[2]],
        [footprint[1], output_size - footprint[3]],
        [0, 0],
    ]
    return tf.ensure_shape(tf.pad(image, paddings), [output_size, output_size, 3])
