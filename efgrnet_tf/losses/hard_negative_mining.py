"""Hard negative mining: keep the highest-loss negatives, a fixed ratio per positive, per image."""

from __future__ import annotations

import tensorflow as tf


def hard_negative_mask(
    ranking_loss: tf.Tensor,
    candidates: tf.Tensor,
    num_positives: tf.Tensor,
    negative_to_positive_ratio: float,
    negatives_without_positives: int | tf.Tensor,
) -> tf.Tensor:
    """Selects, per image, the candidates with the largest `ranking_loss`.

    Image b keeps `floor(ratio · num_positives[b])` negatives, or `negatives_without_positives`
    when it has no positives, and never more than its number of candidates. Ties keep the lower
    anchor index.

    Args:
      ranking_loss: `[B, A]` float loss of each anchor under its target (the background loss
        for unmatched anchors).
      candidates: `[B, A]` bool, anchors that may be selected (not positive, not filtered).
      num_positives: `[B]` int number of positives per image.
      negative_to_positive_ratio: negatives kept per positive (SSD, Liu et al. 2016, Sec. 2.2: 3).
      negatives_without_positives: negatives kept in an image with no positives (a number or
        a scalar tensor).
    Returns:
      `[B, A]` bool mask of selected negatives (a subset of `candidates`).
    """
    candidates = tf.cast(candidates, tf.bool)
    num_positives = tf.cast(num_positives, tf.float32)
    num_negatives = tf.where(
        num_positives > 0,
        tf.floor(negative_to_positive_ratio * num_positives),
        tf.cast(negatives_without_positives, tf.float32),
    )
    masked_loss = tf.where(candidates, tf.cast(ranking_loss, tf.float32), -float("inf"))
    order = tf.argsort(masked_loss, axis=1, direction="DESCENDING", stable=True)
    rank = tf.argsort(order, axis=1, stable=True)
    return candidates & (tf.cast(rank, tf.float32) < num_negatives[:, None])
