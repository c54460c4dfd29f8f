"""Pairwise IoU against a loop-based NumPy reference."""

import numpy as np
from box_reference import iou_matrix

from efgrnet_tf.boxes.iou import pairwise_iou


def _random_boxes(rng, shape):
    corner = rng.uniform(0, 0.8, (*shape, 2))
    size = rng.uniform(0.0, 0.5, (*shape, 2))
    return np.concatenate([corner, corner + size], -1).astype(np.float32)


def test_iou_matches_reference_with_broadcast_batch():
    rng = np.random.default_rng(1)
    a = _random_boxes(rng, (2, 5))
    b = _random_boxes(rng, (6,))
    iou = pairwise_iou(a, b).numpy()
    assert iou.shape == (2, 5, 6)
    for batch in range(2):
        np.testing.assert_allclose(iou[batch], iou_matrix(a[batch], b), atol=1e-6)


def test_iou_hand_cases_and_degenerate_boxes():
    a = np.array([[0.0, 0.0, 0.5, 0.5], [0.2, 0.2, 0.2, 0.2]], np.float32)
    b = np.array([[0.0, 0.0, 0.5, 0.5], [0.25, 0.0, 0.75, 0.5], [0.6, 0.6, 0.9, 0.9]], np.float32)
    expected = [[1.0, 1 / 3, 0.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(pairwise_iou(a, b).numpy(), expected, atol=1e-6)
    assert pairwise_iou(a[1:], a[1:]).numpy()[0, 0] == 0.0
