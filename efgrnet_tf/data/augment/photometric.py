"""Photometric distortion, as in the authors' `_distort` (`data/data_augment.py`).

The ssd.pytorch variants (contrast after the HSV steps half of the time, a random channel
permutation, a smaller hue range) are kept as switches (`AugmentationConfig`).
"""

from __future__ import annotations

import tensorflow as tf

# All orderings of three channels, as in ssd.pytorch's `RandomLightingNoise`.
_CHANNEL_PERMUTATIONS = ((0, 1, 2), (0, 2, 1), (1, 0, 2), (1, 2, 0), (2, 0, 1), (2, 1, 0))


def photometric_distort(
    image: tf.Tensor,
    seed: tf.Tensor,
    hue_max_delta_degrees: float = 36.0,
    contrast_before_hsv: bool = True,
    channel_swap: bool = False,
) -> tf.Tensor:
    """Random brightness, contrast, saturation and hue (and optionally channel order).

    Each distortion is applied with probability 1/2: brightness `+U(-32, 32)`; contrast
    `xU(0.5, 1.5)`; saturation `xU(0.5, 1.5)`; hue `+U(-d, d)` degrees with
    d = `hue_max_delta_degrees` (the authors draw whole OpenCV units of 2 degrees, -18..18;
    here the shift is continuous). Values are clipped to [0, 255] after each step. Contrast
    comes before the HSV steps, or with `contrast_before_hsv=False` before or after them with
    equal probability; `channel_swap` adds a random channel permutation with probability 1/2.

    Args:
      image: float32 `[H, W, 3]` RGB in [0, 255].
      seed: int `[2]` stateless seed.
      hue_max_delta_degrees: largest hue rotation.
      contrast_before_hsv: the authors' fixed order (True) or ssd.pytorch's random one.
      channel_swap: ssd.pytorch's random channel permutation.
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

    image = tf.cond(coin(0), lambda: clip(image + uniform(1, -32.0, 32.0)), lambda: image)
    apply_contrast = coin(2)
    contrast_first = tf.constant(True) if contrast_before_hsv else coin(4)
    contrast = uniform(3, 0.5, 1.5)
    image = tf.cond(apply_contrast & contrast_first, lambda: clip(image * contrast), lambda: image)
    saturation = tf.where(coin(5), uniform(6, 0.5, 1.5), 1.0)
    max_hue_shift = hue_max_delta_degrees / 360.0
    hue_shift = tf.where(coin(7), uniform(8, -max_hue_shift, max_hue_shift), 0.0)
    image = tf.cond(
        (saturation != 1.0) | (hue_shift != 0.0),
        lambda: adjust_hsv(image, saturation, hue_shift),
        lambda: image,
    )
    image = tf.cond(apply_contrast & ~contrast_first, lambda: clip(image * contrast), lambda: image)
    if not channel_swap:
        return image
    # Indices 6..11 (probability 1/2) keep the channel order.
    permutation_index = tf.random.stateless_uniform([], seeds[9], 0, 12, dtype=tf.int32)
    permutation = tf.constant(_CHANNEL_PERMUTATIONS + ((0, 1, 2),) * 6)[permutation_index]
    return tf.cond(
        permutation_index % 6 > 0, lambda: tf.gather(image, permutation, axis=-1), lambda: image
    )


def adjust_hsv(image: tf.Tensor, saturation: tf.Tensor, hue_shift: tf.Tensor) -> tf.Tensor:
    """Scales HSV saturation and rotates hue, in closed form (no HSV round trip).

    With V = max(r, g, b), chroma C = V - min(r, g, b) and hue H in [0, 6) (hexcone), the HSV
    -> RGB map is `c_n = V - C' * clip(min(k_n, 4 - k_n), 0, 1)`, `k_n = (n + H') mod 6`, for
    n = 5, 3, 1 (R, G, B). Scaling S by `saturation` (clipped to S <= 1) gives
    C' = min(saturation * C, V); rotating the hue gives H' = H + 6 * hue_shift. Equal to
    `rgb_to_hsv` -> adjust -> `hsv_to_rgb`, at a fraction of the cost.

    Args:
      image: float32 `[..., 3]` RGB in [0, 255].
      saturation: scalar factor.
      hue_shift: scalar, a fraction of the colour circle (18 degrees = 0.05).
    Returns:
      float32 `[..., 3]` RGB in [0, 255].
    """
    red, green, blue = image[..., 0], image[..., 1], image[..., 2]
    value = tf.maximum(tf.maximum(red, green), blue)
    chroma = value - tf.minimum(tf.minimum(red, green), blue)
    inverse_chroma = 1.0 / tf.maximum(chroma, 1e-6)  # grey pixels: numerators are 0
    hue = tf.where(
        value == red,
        (green - blue) * inverse_chroma,
        tf.where(
            value == green,
            (blue - red) * inverse_chroma + 2.0,
            (red - green) * inverse_chroma + 4.0,
        ),
    )
    hue = _mod6(hue + 6.0 * hue_shift)[..., None]
    k = _mod6(tf.constant([5.0, 3.0, 1.0]) + hue)
    weight = tf.clip_by_value(tf.minimum(k, 4.0 - k), 0.0, 1.0)
    new_chroma = tf.minimum(saturation * chroma, value)[..., None]
    return tf.clip_by_value(value[..., None] - new_chroma * weight, 0.0, 255.0)


def _mod6(x: tf.Tensor) -> tf.Tensor:
    return x - 6.0 * tf.floor(x / 6.0)
