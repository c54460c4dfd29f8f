"""SSD matching on hand-made cases, checked by hand and against the NumPy reference."""

import numpy as np
import pytest
import tensorflow as tf
from losses_reference import ssd_match

from efgrnet_tf.boxes.coding import cxcywh_to_yxyx
from efgrnet_tf.losses.matching import match_anchors
from efgrnet_tf.losses.targets import valid_gt_mask

# cxcywh; a0-a2 overlap heavily, a3-a5 lie elsewhere.
ANCHORS = np.array(
    [
        [0.30, 0.30, 0.4, 0.4],
        [0.32, 0.30, 0.4, 0.4],
        [0.30, 0.33, 0.4, 0.4],
        [0.80, 0.80, 0.2, 0.2],
        [0.80, 0.20, 0.2, 0.2],
        [0.20, 0.80, 0.3, 0.3],
    ],
    np.float32,
)
THRESHOLD = 0.5


def _match(boxes, valid):
    """Runs one image through `match_anchors` and the reference; checks they agree."""
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    valid = np.asarray(valid, bool)
    matched, positive = match_anchors(boxes[None], valid[None], cxcywh_to_yxyx(ANCHORS), THRESHOLD)
    matched, positive = matched.numpy()[0], positive.numpy()[0]
    ref_matched, ref_positive = ssd_match(boxes, valid, ANCHORS, THRESHOLD)
    np.testing.assert_array_equal(positive, ref_positive)
    np.testing.assert_array_equal(matched[positive], ref_matched[ref_positive])
    return matched, positive


def test_one_box_matches_every_anchor_above_the_threshold():
    matched, positive = _match([[0.1, 0.1, 0.5, 0.5]], [True])
    np.testing.assert_array_equal(positive, [True, True, True, False, False, False])
    np.testing.assert_array_equal(matched[:3], [0, 0, 0])


def test_a_box_too_small_for_any_anchor_is_force_matched_to_its_best():
    matched, positive = _match([[0.78, 0.78, 0.8, 0.8]], [True])  # IoU 0.01 with a3
    np.testing.assert_array_equal(positive, [False, False, False, True, False, False])
    assert matched[3] == 0


def test_two_boxes_wanting_the_same_anchor_the_later_slot_wins():
    boxes = [[0.7, 0.7, 0.9, 0.88], [0.72, 0.7, 0.9, 0.9]]  # both best at a3
    matched, positive = _match(boxes, [True, True])
    np.testing.assert_array_equal(positive, [False, False, False, True, False, False])
    assert matched[3] == 1


def test_forced_match_overrides_the_anchors_own_best_box():
    # Slot 0 is a0 exactly (IoU 1); slot 1 is small and its best anchor is also a0.
    boxes = [[0.1, 0.1, 0.5, 0.5], [0.12, 0.1, 0.3, 0.28]]
    matched, positive = _match(boxes, [True, True])
    np.testing.assert_array_equal(positive[:3], [True, True, True])
    np.testing.assert_array_equal(matched[:3], [1, 0, 0])


def test_an_image_without_boxes_has_no_positives():
    _, positive = _match(np.zeros([2, 4]), [False, False])
    assert not positive.any()


def test_padded_slots_are_ignored_even_on_top_of_an_anchor():
    boxes = [[0.1, 0.1, 0.5, 0.5], [0.78, 0.78, 0.8, 0.8]]
    matched, positive = _match(boxes, [False, True])
    np.testing.assert_array_equal(positive, [False, False, False, True, False, False])
    assert matched[3] == 1


@pytest.mark.parametrize("ignore_crowd", [True, False])
def test_crowd_boxes_match_nothing_when_ignored(ignore_crowd):
    classes = tf.constant([[4, 2, -1]])
    is_crowd = tf.constant([[True, False, False]])
    valid = valid_gt_mask(classes, is_crowd, ignore_crowd).numpy()
    np.testing.assert_array_equal(valid, [[not ignore_crowd, True, False]])
    boxes = [[0.1, 0.1, 0.5, 0.5], [0.78, 0.78, 0.8, 0.8], [0.0, 0.0, 0.0, 0.0]]
    _, positive = _match(boxes, valid[0])
    assert positive[:3].all() == (not ignore_crowd)


def test_random_batches_with_per_image_anchors_match_the_reference():
    rng = np.random.default_rng(3)
    batch, slots, num_anchors = 3, 5, 40
    anchors = np.concatenate(
        [
            rng.uniform(0.1, 0.9, (batch, num_anchors, 2)),
            rng.uniform(0.05, 0.4, (batch, num_anchors, 2)),
        ],
        -1,
    ).astype(np.float32)
    corner = rng.uniform(0, 0.7, (batch, slots, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(0.02, 0.3, (batch, slots, 2))], -1)
    boxes = boxes.astype(np.float32)
    valid = rng.uniform(size=(batch, slots)) < 0.7
    matched, positive = match_anchors(boxes, valid, cxcywh_to_yxyx(anchors), THRESHOLD)
    for b in range(batch):
        ref_matched, ref_positive = ssd_match(boxes[b], valid[b], anchors[b], THRESHOLD)
        np.testing.assert_array_equal(positive[b], ref_positive)
        np.testing.assert_array_equal(matched[b].numpy()[ref_positive], ref_matched[ref_positive])
