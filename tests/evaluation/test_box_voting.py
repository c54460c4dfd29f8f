"""Box voting against a plain sequential NumPy reference written from the description of the
authors' `bbox_vote` / `soft_bbox_vote` (eval_dcn_multi_scale.py), and on hand cases."""

import numpy as np
import pytest

from efgrnet_tf.evaluation.box_voting import vote_boxes

IOU = 0.45


def _iou(box, boxes):
    height = np.clip(np.minimum(box[2], boxes[:, 2]) - np.maximum(box[0], boxes[:, 0]), 0, None)
    width = np.clip(np.minimum(box[3], boxes[:, 3]) - np.maximum(box[1], boxes[:, 1]), 0, None)
    inter = height * width
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / ((box[2] - box[0]) * (box[3] - box[1]) + area - inter)


def reference_vote(boxes, scores, classes, iou_threshold, soft=False, soft_min_score=0.001):
    """Per class, repeatedly: the best remaining box and every remaining box with IoU ≥ the
    threshold to it form a cluster, removed together; the cluster gives its score-weighted
    mean box with its best score (soft: plus each other member with score·(1 - IoU) if ≥
    `soft_min_score`, when the cluster has two or more boxes)."""
    out = []
    for class_id in sorted(set(classes.tolist())):
        remaining = [i for i in np.argsort(-scores, kind="stable") if classes[i] == class_id]
        class_out = []
        while remaining:
            top = remaining[0]
            overlaps = _iou(boxes[top], boxes[remaining])
            overlaps[0] = 1.0  # the leader belongs to its own cluster
            members = [i for i, o in zip(remaining, overlaps, strict=True) if o >= iou_threshold]
            member_iou = [o for o in overlaps if o >= iou_threshold]
            remaining = [i for i in remaining if i not in members]
            weights = scores[members]
            voted = (boxes[members] * weights[:, None]).sum(0) / weights.sum()
            class_out.append((voted, scores[top]))
            if soft and len(members) > 1:
                for i, o in zip(members, member_iou, strict=True):
                    if i != top and scores[i] * (1 - o) >= soft_min_score:
                        class_out.append((boxes[i], scores[i] * (1 - o)))
        class_out.sort(key=lambda pair: -pair[1])
        out += [(box, score, class_id) for box, score in class_out]
    return (
        np.array([o[0] for o in out]).reshape(-1, 4),
        np.array([o[1] for o in out]),
        np.array([o[2] for o in out]),
    )


def _check_against_reference(boxes, scores, classes, soft=False):
    got = vote_boxes(boxes, scores, classes, iou_threshold=IOU, soft=soft)
    want = reference_vote(boxes, scores, classes, IOU, soft=soft)
    np.testing.assert_array_equal(got[2], want[2])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    np.testing.assert_allclose(got[0], want[0], atol=1e-6)
    return got


def test_two_overlapping_boxes_become_their_score_weighted_mean_with_the_best_score():
    boxes = np.array([[0.0, 0.0, 0.4, 0.4], [0.0, 0.1, 0.4, 0.5]], np.float32)  # IoU 0.6
    scores = np.array([0.6, 0.9], np.float32)
    got_boxes, got_scores, got_classes = _check_against_reference(boxes, scores, np.array([3, 3]))
    np.testing.assert_allclose(got_boxes, [[0.0, 0.06, 0.4, 0.46]], atol=1e-6)
    np.testing.assert_allclose(got_scores, [0.9])
    np.testing.assert_array_equal(got_classes, [3])


def test_a_chain_is_split_where_the_leader_no_longer_reaches():
    # a-b and b-c overlap at IoU 0.6, a-c at 0.25: a absorbs b, c is left to lead alone.
    boxes = np.array([[0.0, 0.0, 0.4, 0.4], [0.0, 0.1, 0.4, 0.5], [0.0, 0.2, 0.4, 0.6]], np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    got_boxes, got_scores, _ = _check_against_reference(boxes, scores, np.array([1, 1, 1]))
    np.testing.assert_allclose(
        got_boxes, [[0.0, 0.8 * 0.1 / 1.7, 0.4, 0.4 + 0.8 * 0.1 / 1.7], boxes[2]], atol=1e-6
    )
    np.testing.assert_allclose(got_scores, [0.9, 0.7])


def test_different_classes_are_never_merged():
    boxes = np.array([[0.1, 0.1, 0.5, 0.5]] * 3, np.float32)
    scores = np.array([0.9, 0.8, 0.7], np.float32)
    got_boxes, got_scores, got_classes = _check_against_reference(
        boxes, scores, np.array([2, 1, 2])
    )
    np.testing.assert_array_equal(got_classes, [1, 2])
    np.testing.assert_allclose(got_scores, [0.8, 0.9])
    np.testing.assert_allclose(got_boxes, boxes[:2], atol=1e-6)


def test_soft_voting_keeps_absorbed_boxes_with_scores_decayed_by_their_overlap():
    boxes = np.array(
        [[0.0, 0.0, 0.4, 0.4], [0.0, 0.1, 0.4, 0.5], [0.0, 0.02, 0.4, 0.42], [0.6, 0.6, 0.9, 0.9]],
        np.float32,
    )
    scores = np.array([0.9, 0.6, 0.0012, 0.5], np.float32)
    got_boxes, got_scores, _ = _check_against_reference(
        boxes, scores, np.array([1, 1, 1, 1]), soft=True
    )
    # IoU(b, a) = 0.6 → 0.6·0.4; IoU(c, a) = 0.4/0.42 → 0.0012·(0.02/0.42) < 0.001: dropped;
    # d leads a cluster of one: no decayed copy of it.
    np.testing.assert_allclose(got_scores, [0.9, 0.5, 0.6 * 0.4], rtol=1e-5)
    np.testing.assert_allclose(got_boxes[2], boxes[1])
    np.testing.assert_allclose(got_boxes[1], boxes[3])


@pytest.mark.parametrize("soft", [False, True])
def test_random_pools_match_the_reference(soft):
    rng = np.random.default_rng(7)
    # Clustered boxes (jittered copies of a few objects) over several classes, plus 600
    # scattered ones in class 1 so that there are more leaders than one comparison block.
    centres = rng.uniform(0.2, 0.8, (12, 2))
    sizes = rng.uniform(0.05, 0.3, (12, 2))
    pick = rng.integers(0, 12, 400)
    jitter = rng.normal(0, 0.02, (400, 4))
    clustered = np.concatenate(
        [centres[pick] - sizes[pick] / 2, centres[pick] + sizes[pick] / 2], 1
    )
    corner = rng.uniform(0, 0.95, (600, 2))
    scattered = np.concatenate([corner, corner + 0.004], 1)
    clustered = np.sort((clustered + jitter).reshape(-1, 2, 2), axis=1).reshape(-1, 4)
    boxes = np.concatenate([clustered, scattered]).astype(np.float32)
    scores = rng.uniform(0.01, 1.0, 1000).astype(np.float32)
    classes = np.concatenate([rng.integers(1, 4, 400), np.ones(600, int)])
    got = _check_against_reference(boxes, scores, classes, soft=soft)
    assert len(got[1]) > 256


def test_a_box_overlapping_exactly_at_the_threshold_is_absorbed():
    # IoU = 0.45 / 1 exactly in float32 arithmetic; the authors merge at IoU ≥ 0.45.
    boxes = np.array([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 0.45]], np.float32)
    _, got_scores, _ = vote_boxes(
        boxes, np.array([0.9, 0.8], np.float32), np.array([1, 1]), iou_threshold=IOU
    )
    np.testing.assert_allclose(got_scores, [0.9])


def test_a_cluster_of_zero_scores_keeps_its_leaders_box():
    boxes = np.array([[0.1, 0.1, 0.5, 0.5], [0.1, 0.12, 0.5, 0.52]], np.float32)
    got_boxes, got_scores, _ = vote_boxes(
        boxes, np.zeros(2, np.float32), np.array([1, 1]), iou_threshold=IOU
    )
    np.testing.assert_array_equal(got_scores, [0.0])
    np.testing.assert_array_equal(got_boxes, boxes[:1])


def test_no_boxes_give_no_detections():
    boxes, scores, classes = vote_boxes(
        np.zeros([0, 4]), np.zeros([0]), np.zeros([0], int), iou_threshold=IOU
    )
    assert boxes.shape == (0, 4) and scores.shape == (0,) and classes.shape == (0,)
