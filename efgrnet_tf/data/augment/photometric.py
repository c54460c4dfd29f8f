"""SSD photometric distortion (ssd.pytorch `PhotometricDistort` + `RandomLightingNoise`)."""

from __future__ import annotations

import tensorflow as tf

# All orderings of three channels, as in ssd.pytorch's `RandomLightingNoise`.
_CHANNEL_PERMUTATIONS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def photometric_distort(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    """Random brightness, contrast, saturation, hue and channel order.

    Each distortion is applied with probability 1/2: brightness `+U(-32, 32)`; contrast
    `xU(0.5, 1.5)` (before the HSV steps or after them, with equal probability); saturation
    `xU(0.5, 1.5)`; hue `+U(-18, 18)` degrees; a random channel permutation. Values are
    clipped to [0, 255] after each step.

    Args:
      image: float32 `[H, W, 3]` RGB in [0, 255].
      seed: int `[2]` stateless seed.
    Returns:
      float32 `[H, W, 3]` RGB in [0, 255].
    """
    seeds = tf.random.experimental.stateless_split(seed, num=10)

    def coin(i: int) -> tf.Tensor:
        return tf.random.stateless_uniform([], seeds[i]) < 0.5

    def uniform(i: int, low: float, high: float) -> tf.Tensor:
        return tf.random.stateless_uniform([], seeds[i], low, high)

    def clip(x: tf.Tensor) -> tf.Tensor:
        return tf.clip_by_value(x, 0.0, 255.0)

    image = tf.where(coin(0), clip(image + uniform(1, -32.0, 32.0)), image)
    contrast = tf.where(coin(2), uniform(3, 0.5, 1.5), 1.0)
    contrast_first = coin(4)
    image = tf.where(contrast_first, clip(image * contrast), image)

    saturation = tf.where(coin(5), uniform(6, 0.5, 1.5), 1.0)
    hue_shift = tf.where(coin(7), uniform(8, -18.0 / 360.0, 18.0 / 360.0), 0.0)
    image = tf.cond(
        (saturation != 1.0) | (hue_shift != 0.0),
        lambda: _adjust_hsv(image, saturation, hue_shift),
        lambda: image,
    )
    image = tf.where(contrast_first, image, clip(image * contrast))

    permutation_index = tf.random.stateless_uniform([], seeds[9], 0, 12, dtype=tf.int32)
    # Indices 6..11 (probability 1/2) keep the channel order.
    permutation = tf.constant(_CHANNEL_PERMUTATIONS + ((0, 1, 2),) * 6)[permutation_index]
    return tf.gather(image, permutation, axis=-1)


def _adjust_hsv(image: tf.Tensor, saturation: tf.Tensor, hue_shift: tf.Tensor) -> tf.Tensor:
    """Scales saturation and rotates hue (a fraction of the colour circle) of RGB [0, 255]."""
    hsv = tf.image.rgb_to_hsv(image / 255.0)
    hue = tf.math.floormod(hsv[..., 0] + hue_shift, 1.0)
    sat = tf.clip_by_value(hsv[..., 1] * saturation, 0.0, 1.0)
    rgb = tf.image.hsv_to_rgb(tf.stack([hue, sat, hsv[..., 2]], axis=-1))
    return tf.clip_by_value(rgb * 255.0, 0.0, 255.0)
