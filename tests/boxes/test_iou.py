"""Pairwise IoU against a loop-based NumPy reference."""

import numpy as np

from efgrnet_tf.boxes.iou import pairwise_iou


def _reference_iou(a, b):
    out = np.zeros((len(a), len(b)))
    for i, (ay0, ax0, ay1, ax1) in enumerate(a):
        for j, (by0, bx0, by1, bx1) in enumerate(b):
            ih = max(0.0, min(ay1, by1) - max(ay0, by0))
            iw = max(0.0, min(ax1, bx1) - max(ax0, bx0))
            union = (ay1 - ay0) * (ax1 - ax0) + (by1 - by0) * (bx1 - bx0) - ih * iw
            out[i, j] = ih * iw / union if union > 0 else 0.0
    return out


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
        np.testing.assert_allclose(iou[batch], _reference_iou(a[batch], b), atol=1e-6)


def test_iou_hand_cases_and_degenerate_boxes():
    a = np.array([[0.0, 0.0, 0.5, 0.5], [0.2, 0.2, 0.2, 0.2]], np.float32)
    b = np.array([[0.0, 0.0, 0.5, 0.5], [0.25, 0.0, 0.75, 0.5], [0.6, 0.6, 0.9, 0.9]], np.float32)
    expected = [[1.0, 1 / 3, 0.0], [0.0, 0.0, 0.0]]
    np.testing.assert_allclose(pairwise_iou(a, b).numpy(), expected, atol=1e-6)
    assert pairwise_iou(a[1:], a[1:]).numpy()[0, 0] == 0.0
