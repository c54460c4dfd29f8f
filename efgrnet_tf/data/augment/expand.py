"""Zoom-out ("expand", SSD): the image placed at a random spot of a larger mean-filled canvas.

The canvas is never materialised at full resolution: since the canvas is resized to the
S x S model input right after (the flip in between commutes with the placement), the image is
resized straight to its footprint in the S x S output, mean-subtracted and padded with zeros
(the mean). The footprint is rounded to whole output pixels and the boxes are mapped with the
same rounded numbers, so they follow the pixels exactly.
"""

from __future__ import annotations

import tensorflow as tf


def sample_expand_footprint(
    output_size: int,
    seed: tf.Tensor,
    max_ratio: float = 4.0,
    probability: float = 0.5,
) -> tf.Tensor:
    """Where the image lands in the S x S output after expand and resize.

    With probability `probability` the canvas is `ratio` times the image (ratio ~ U(1,
    `max_ratio`)) and the image's top-left corner is uniform in the canvas, as in ssd.pytorch
    `Expand`; otherwise the image fills the output. The expansion keeps the aspect ratio, so
    the footprint does not depend on the image size.

    Args:
      output_size: side S of the square output.
      seed: int `[2]` stateless seed.
    Returns:
      int32 `[4]` `[top, left, bottom, right]` in output pixels (bottom/right exclusive), at
      least one pixel high and wide.
    """
    seeds = tf.random.experimental.stateless_split(seed, num=4)
    expand = tf.random.stateless_uniform([], seeds[0]) < probability
    ratio = tf.where(expand, tf.random.stateless_uniform([], seeds[1], 1.0, max_ratio), 1.0)
    # Top-left of the image on the canvas, in units of the canvas side.
    top = tf.random.stateless_uniform([], seeds[2]) * (ratio - 1.0) / ratio
    left = tf.random.stateless_uniform([], seeds[3]) * (ratio - 1.0) / ratio
    size = float(output_size)
    y0 = tf.cast(tf.round(top * size), tf.int32)
    x0 = tf.cast(tf.round(left * size), tf.int32)
    y1 = tf.maximum(tf.cast(tf.round((top + 1.0 / ratio) * size), tf.int32), y0 + 1)
    x1 = tf.maximum(tf.cast(tf.round((left + 1.0 / ratio) * size), tf.int32), x0 + 1)
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
