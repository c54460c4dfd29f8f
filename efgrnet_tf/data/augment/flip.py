"""Random horizontal flip."""

from __future__ import annotations

import tensorflow as tf


def random_horizontal_flip(
    image: tf.Tensor, boxes_yxyx: tf.Tensor, seed: tf.Tensor, probability: float = 0.5
) -> tuple[tf.Tensor, tf.Tensor]:
    """Mirrors image and boxes left-right with probability `probability`.

    Args:
      image: `[H, W, C]`.
      boxes_yxyx: float32 `[n, 4]` normalised.
      seed: int `[2]` stateless seed.
    Returns:
      `(image, boxes)` of the same shapes.
    """
    flip = tf.random.stateless_uniform([], seed) < probability
    flipped_boxes = tf.stack(
        [boxes_yxyx[:, 0], 1.0 - boxes_yxyx[:, 3], boxes_yxyx[:, 2], 1.0 - boxes_yxyx[:, 1]],
        axis=-1,
    )
    image = tf.cond(flip, lambda: tf.reverse(image, axis=[1]), lambda: image)
    return image, tf.where(flip, flipped_boxes, boxes_yxyx)
