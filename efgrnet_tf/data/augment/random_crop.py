"""Random min-IoU crop (SSD), as in the authors' `_crop` (RFBNet/SSD_Pytorch `data_augment.py`)."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from efgrnet_tf.boxes.iou import pairwise_iou


def random_min_iou_crop(
    image: tf.Tensor,
    boxes_yxyx: tf.Tensor,
    seed: tf.Tensor,
    min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
    min_scale: float = 0.3,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """`sample_min_iou_crop` applied to an image: `(cropped [h, w, C], boxes [n, 4], keep [n])`."""
    window, boxes, keep = sample_min_iou_crop(
        tf.shape(image)[:2], boxes_yxyx, seed, min_ious, min_scale
    )
    return image[window[0] : window[0] + window[2], window[1] : window[1] + window[3]], boxes, keep


def sample_min_iou_crop(
    image_hw: tf.Tensor,
    boxes_yxyx: tf.Tensor,
    seed: tf.Tensor,
    min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
    min_scale: float = 0.3,
    num_trials: int = 50,
    num_rounds: int = 4,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Crops a random window whose IoU with every box is at least a randomly chosen minimum.

    As in the authors' code, a round draws a mode uniformly from: no crop, each of `min_ious`,
    and an unconstrained crop; then `num_trials` windows with side scale in [`min_scale`, 1]
    and aspect ratio (w/h relative to the image's) in [max(1/2, scale^2), min(2, 1/scale^2)].
    The first window whose IoU with *every* box reaches the minimum and that contains at least
    one box centre is used; a round where none does is followed by a new round (the code's
    `while True`), here at most `num_rounds` rounds, after which the image stays uncropped.
    Images without boxes are never cropped.

    Args:
      image_hw: int32 `[2]` height and width of the image.
      boxes_yxyx: float32 `[n, 4]` normalised to the image.
      seed: int `[2]` stateless seed.
      min_ious: the constrained modes' minimum IoU.
      min_scale: smallest window side as a fraction of the image side.
      num_trials: windows drawn per round.
      num_rounds: rounds drawn (all at once, for a fixed-shape graph).
    Returns:
      `(window, boxes, keep)`: int32 `[4]` `[top, left, height, width]` in pixels (the whole
      image when not cropping); float32 `[n, 4]` boxes clipped to the window and normalised to
      it; bool `[n]`, False for boxes whose centre lies outside the window (the caller drops
      them).
    """
    seeds = tf.random.experimental.stateless_split(seed, num=5)
    image_hw = tf.cast(image_hw, tf.int32)
    height, width = tf.cast(image_hw[0], tf.float32), tf.cast(image_hw[1], tf.float32)
    num_boxes = tf.shape(boxes_yxyx)[0]
    shape = [num_rounds, num_trials]

    modes = tf.random.stateless_uniform(
        [num_rounds], seeds[0], 0, len(min_ious) + 2, dtype=tf.int32
    )
    # Mode 0: no crop; 1..len(min_ious): constrained; last: unconstrained (-inf minimum).
    min_iou = tf.gather(tf.constant([0.0, *min_ious, float("-inf")], tf.float32), modes)

    scale = tf.random.stateless_uniform(shape, seeds[1], min_scale, 1.0)
    min_ratio = tf.maximum(0.5, scale * scale)
    max_ratio = tf.minimum(2.0, 1.0 / (scale * scale))
    unit = tf.random.stateless_uniform(shape, seeds[2])
    ratio = tf.sqrt(min_ratio + unit * (max_ratio - min_ratio))
    crop_w = tf.maximum(tf.floor(scale * ratio * width), 1.0)
    crop_h = tf.maximum(tf.floor(scale / ratio * height), 1.0)
    left = tf.floor(tf.random.stateless_uniform(shape, seeds[3]) * (width - crop_w + 1.0))
    top = tf.floor(tf.random.stateless_uniform(shape, seeds[4]) * (height - crop_h + 1.0))
    windows = tf.reshape(
        tf.stack(
            [top / height, left / width, (top + crop_h) / height, (left + crop_w) / width], -1
        ),
        [num_rounds * num_trials, 4],
    )

    iou = pairwise_iou(boxes_yxyx, windows)  # [n, rounds * trials]
    centres = (boxes_yxyx[:, :2] + boxes_yxyx[:, 2:]) / 2.0
    inside = _centres_inside(centres, windows)  # [n, rounds * trials]
    valid = tf.reshape(
        (tf.reduce_min(iou, axis=0) >= tf.repeat(min_iou, num_trials))
        & tf.reduce_any(inside, axis=0),
        shape,
    )
    round_decides = (modes == 0) | tf.reduce_any(valid, axis=1)
    round_index = tf.argmax(tf.cast(round_decides, tf.int32), output_type=tf.int32)
    do_crop = tf.reduce_any(round_decides) & (modes[round_index] > 0) & (num_boxes > 0)
    trial_index = tf.argmax(tf.cast(valid[round_index], tf.int32), output_type=tf.int32)
    chosen = round_index * num_trials + trial_index

    top_px, left_px, h_px, w_px = (
        tf.cast(tf.reshape(t, [-1])[chosen], tf.int32) for t in (top, left, crop_h, crop_w)
    )
    top_px = tf.where(do_crop, top_px, 0)
    left_px = tf.where(do_crop, left_px, 0)
    h_px = tf.where(do_crop, h_px, image_hw[0])
    w_px = tf.where(do_crop, w_px, image_hw[1])

    keep = tf.where(do_crop, inside[:, chosen], tf.ones([num_boxes], tf.bool))
    offset = tf.cast(tf.stack([top_px, left_px, top_px, left_px]), tf.float32)
    size = tf.cast(tf.stack([h_px, w_px, h_px, w_px]), tf.float32)
    boxes_abs = boxes_yxyx * tf.stack([height, width, height, width])
    new_boxes = tf.clip_by_value((boxes_abs - offset) / size, 0.0, 1.0)
    return tf.stack([top_px, left_px, h_px, w_px]), new_boxes, keep


def _centres_inside(centres_yx: tf.Tensor, windows_yxyx: tf.Tensor) -> tf.Tensor:
    """bool `[n, trials]`: centre i strictly inside window t (both normalised)."""
    c = centres_yx[:, None, :]
    w = windows_yxyx[None, :, :]
    return tf.reduce_all((c > w[..., :2]) & (c < w[..., 2:]), axis=-1)
