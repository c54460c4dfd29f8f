"""Hard negative mining: hand-made cases and a NumPy reference on random losses."""

import numpy as np
from losses_reference import hard_negatives

from efgrnet_tf.losses.hard_negative_mining import hard_negative_mask


def test_keeps_the_highest_loss_candidates_three_per_positive():
    loss = np.array([[0.1, 0.9, 0.5, 0.7, 0.3, 2.0]], np.float32)
    candidates = np.array([[True, True, True, True, True, False]])  # anchor 5 is the positive
    mask = hard_negative_mask(loss, candidates, [1], 3.0, 45).numpy()
    np.testing.assert_array_equal(mask, [[False, True, True, True, False, False]])


def test_images_without_positives_keep_the_configured_count_capped_by_candidates():
    loss = np.array([[0.1, 0.9, 0.5, 0.7], [0.4, 0.3, 0.2, 0.1]], np.float32)
    candidates = np.array([[True, True, True, True], [True, False, True, False]])
    mask = hard_negative_mask(loss, candidates, [0, 0], 3.0, 3).numpy()
    np.testing.assert_array_equal(mask, [[False, True, True, True], [True, False, True, False]])
    assert not hard_negative_mask(loss, candidates, [0, 0], 3.0, 0).numpy().any()


def test_ties_keep_the_lower_index_and_match_the_reference():
    rng = np.random.default_rng(5)
    loss = rng.integers(0, 4, (4, 30)).astype(np.float32)  # many ties
    candidates = rng.uniform(size=(4, 30)) < 0.8
    num_positives = np.array([0, 1, 2, 9])
    mask = hard_negative_mask(loss, candidates, num_positives, 3.0, 5).numpy()
    for b in range(4):
        expected = np.zeros(30, bool)
        expected[hard_negatives(loss[b], candidates[b], num_positives[b], 3.0, 5)] = True
        np.testing.assert_array_equal(mask[b], expected)
