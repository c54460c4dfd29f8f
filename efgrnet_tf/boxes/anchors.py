"""SSD-style anchors for the four detection levels: the sizes, steps and aspect ratios of the
authors' config (docs/design.md, "Facts the code relies on")."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import tensorflow as tf

from efgrnet_tf.config.boxes import AnchorConfig


def feature_map_sizes(
    anchor_cfg: AnchorConfig, image_size_hw: Sequence[int]
) -> list[tuple[int, int]]:
    """`(rows, cols)` of each level: `(ceil(H / step), ceil(W / step))`, in level order."""
    height, width = image_size_hw
    return [(math.ceil(height / step), math.ceil(width / step)) for step in anchor_cfg.steps]


def num_anchors(anchor_cfg: AnchorConfig, image_size_hw: Sequence[int]) -> int:
    """Number of anchors `A` for an image size (6375 at 320x320, 16320 at 512x512)."""
    cells = sum(rows * cols for rows, cols in feature_map_sizes(anchor_cfg, image_size_hw))
    return cells * anchor_cfg.num_anchors_per_cell


def generate_anchors(anchor_cfg: AnchorConfig, image_size_hw: Sequence[int]) -> tf.Tensor:
    """All anchors of an image size.

    Level l (min size s pixels, step t) has a `ceil(H / t) x ceil(W / t)` grid; the cell in row
    i, column j is centred at `((j + 0.5)·t / W, (i + 0.5)·t / H)` and holds one anchor per
    aspect ratio r, `(w, h) = (s·√r / W, s / √r / H)`: for ratios (1, 2, 1/2) that is
    (s, s), (s√2, s/√2), (s/√2, s√2). With `anchor_cfg.clip` every coordinate of the
    centre form is clipped to [0, 1], as SSD does.

    Args:
      anchor_cfg: min sizes, steps, aspect ratios and clipping.
      image_size_hw: `(H, W)` of the network input in pixels.
    Returns:
      `[A, 4]` float32 anchors `[cx, cy, w, h]` normalised, ordered level → row → column →
      aspect ratio.
    """
    height, width = image_size_hw
    ratios = np.asarray(anchor_cfg.aspect_ratios, np.float64)
    levels = []
    for (rows, cols), step, size in zip(
        feature_map_sizes(anchor_cfg, image_size_hw),
        anchor_cfg.steps,
        anchor_cfg.min_sizes,
        strict=True,
    ):
        cy, cx = np.meshgrid(
            (np.arange(rows) + 0.5) * step / height,
            (np.arange(cols) + 0.5) * step / width,
            indexing="ij",
        )
        centres = np.stack([cx, cy], axis=-1).reshape(-1, 1, 2)
        sizes = np.stack([size * np.sqrt(ratios) / width, size / np.sqrt(ratios) / height], -1)
        centres, sizes = np.broadcast_arrays(centres, sizes[None])
        levels.append(np.concatenate([centres, sizes], axis=-1).reshape(-1, 4))
    anchors = np.concatenate(levels, axis=0)
    if anchor_cfg.clip:
        anchors = np.clip(anchors, 0.0, 1.0)
    return tf.constant(anchors, tf.float32)
