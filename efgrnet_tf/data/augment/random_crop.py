"""Random min-IoU crop (SSD), as in the authors' `_crop` (`data/data_augment.py`)."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from efgrnet_tf.boxes.iou import pairwise_iou

# Rounds drawn together per loop step: one fixed-shape block of rounds x trials windows.
_ROUNDS_PER_STEP = 4
# The bound of "until a round decides" (`max_rounds=0`): a round draws "no crop" with
# probability 1/7 (default modes), so 1000 undecided rounds have probability below 1e-60.
UNTIL_DECIDED_ROUNDS = 1000


def sample_min_iou_crop(
    image_hw: tf.Tensor,
    boxes_yxyx: tf.Tensor,
    seed: tf.Tensor,
    min_ious: Sequence[float] = (0.1, 0.3, 0.5, 0.7, 0.9),
    min_scale: float = 0.3,
    num_trials: int = 50,
    max_rounds: int = 0,
) -> tuple[tf.Tensor, tf.Tensor, tf.Tensor]:
    """Crops a random window whose IoU with every box is at least a randomly chosen minimum.

    As in the authors' `_crop`, a round draws a mode uniformly from: no crop, each of
    `min_ious`, and an unconstrained crop; then `num_trials` windows with side scale in
    [`min_scale`, 1] and aspect ratio (w/h relative to the image's) in
    [max(1/2, scale^2), min(2, 1/scale^2)]. The first window whose IoU with *every* box
    reaches the minimum and that contains at least one box centre is used. A round where none
    does is followed by a new round until one decides (the code's `while True`); with
    `max_rounds > 0` the image stays uncropped after that many undecided rounds (ssd.pytorch-
    like). Rounds are drawn in blocks of 4 inside a `tf.while_loop`, so the usual one or two
    rounds cost one block. Images without boxes are never cropped.

    Args:
      image_hw: int32 `[2]` height and width of the image.
      boxes_yxyx: float32 `[n, 4]` normalised to the image.
      seed: int `[2]` stateless seed.
      min_ious: the constrained modes' minimum IoU.
      min_scale: smallest window side as a fraction of the image side.
      num_trials: windows drawn per round.
      max_rounds: undecided rounds before giving up; 0 = until decided
        (`UNTIL_DECIDED_ROUNDS` at most).
    Returns:
      `(window, boxes, keep)`: int32 `[4]` `[top, left, height, width]` in pixels (the whole
      image when not cropping); float32 `[n, 4]` boxes clipped to the window and normalised to
      it; bool `[n]`, False for boxes whose centre lies outside the window (the caller drops
      them).
    """
    image_hw = tf.cast(image_hw, tf.int32)
    height, width = tf.cast(image_hw[0], tf.float32), tf.cast(image_hw[1], tf.float32)
    num_boxes = tf.shape(boxes_yxyx)[0]
    max_rounds = max_rounds or UNTIL_DECIDED_ROUNDS
    rounds_per_step = min(_ROUNDS_PER_STEP, max_rounds)
    shape = [rounds_per_step, num_trials]
    # Mode 0: no crop; 1..len(min_ious): constrained; last: unconstrained (-inf minimum).
    mode_min_ious = tf.constant([0.0, *min_ious, float("-inf")], tf.float32)
    centres = (boxes_yxyx[:, :2] + boxes_yxyx[:, 2:]) / 2.0

    def draw_rounds(step):
        """One block of rounds: (decided, crop, window [top, left, h, w] px, keep [n])."""
        seeds = tf.random.experimental.stateless_split(
            tf.random.experimental.stateless_fold_in(seed, step), num=5
        )
        modes = tf.random.stateless_uniform(
            [rounds_per_step], seeds[0], 0, len(min_ious) + 2, dtype=tf.int32
        )
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
                [top / height, left / width, (top + crop_h) / height, (left + crop_w) / width],
                -1,
            ),
            [-1, 4],
        )
        iou = pairwise_iou(boxes_yxyx, windows)  # [n, rounds * trials]
        inside = _centres_inside(centres, windows)  # [n, rounds * trials]
        min_iou = tf.repeat(tf.gather(mode_min_ious, modes), num_trials)
        valid = tf.reshape(
            (tf.reduce_min(iou, axis=0) >= min_iou) & tf.reduce_any(inside, axis=0), shape
        )
        round_number = step * rounds_per_step + tf.range(rounds_per_step)
        round_decides = ((modes == 0) | tf.reduce_any(valid, axis=1)) & (round_number < max_rounds)
        round_index = tf.argmax(tf.cast(round_decides, tf.int32), output_type=tf.int32)
        decided = tf.reduce_any(round_decides)
        crop = decided & (modes[round_index] > 0)
        trial_index = tf.argmax(tf.cast(valid[round_index], tf.int32), output_type=tf.int32)
        chosen = round_index * num_trials + trial_index
        window = tf.stack([tf.reshape(t, [-1])[chosen] for t in (top, left, crop_h, crop_w)])
        return decided, crop, window, inside[:, chosen]

    def undecided(step, decided, crop, window, keep):
        return ~decided & (step * rounds_per_step < max_rounds)

    def next_block(step, decided, crop, window, keep):
        return (step + 1, *draw_rounds(step))

    _, _, do_crop, window_px, keep = tf.while_loop(
        undecided,
        next_block,
        (
            tf.constant(0),
            tf.constant(False),
            tf.constant(False),
            tf.zeros([4]),
            tf.zeros([num_boxes], tf.bool),
        ),
    )
    whole_image = tf.stack([0, 0, image_hw[0], image_hw[1]])
    window_px = tf.where(do_crop, tf.cast(window_px, tf.int32), whole_image)
    keep = tf.where(do_crop, keep, tf.ones([num_boxes], tf.bool))
    top_px, left_px, h_px, w_px = tf.unstack(tf.cast(window_px, tf.float32))
    offset = tf.stack([top_px, left_px, top_px, left_px])
    size = tf.stack([h_px, w_px, h_px, w_px])
    boxes_abs = boxes_yxyx * tf.stack([height, width, height, width])
    new_boxes = tf.clip_by_value((boxes_abs - offset) / size, 0.0, 1.0)
    return window_px, new_boxes, keep


def _centres_inside(centres_yx: tf.Tensor, windows_yxyx: tf.Tensor) -> tf.Tensor:
    """bool `[n, trials]`: centre i strictly inside window t (both normalised)."""
    c = centres_yx[:, None, :]
    w = windows_yxyx[None, :, :]
    return tf.reduce_all((c > w[..., :2]) & (c < w[..., 2:]), axis=-1)
