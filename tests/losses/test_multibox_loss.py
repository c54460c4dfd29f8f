"""The two-stage multibox loss against the NumPy reference, hand-made cases and MirroredStrategy."""

import math
import os

import numpy as np
import pytest
import tensorflow as tf
from losses_reference import encode, reference_losses, smooth_l1

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config import AnchorConfig, ExperimentConfig, LossConfig, load_config
from efgrnet_tf.losses.multibox_loss import compute_losses

NUM_CLASSES = 4
SMALL_ANCHORS = AnchorConfig(min_sizes=(16.0, 32.0), steps=(16, 32))  # 60 anchors at 64x64
LOSS_KEYS = (
    "objectness_classification",
    "objectness_localization",
    "final_classification",
    "final_localization",
    "total",
)


def _cfg(**loss_overrides):
    return ExperimentConfig(anchors=SMALL_ANCHORS, loss=LossConfig(**loss_overrides))


def _random_batch(seed=0):
    """4 images: two boxes + padding, a box + a crowd box, nothing at all, three boxes."""
    rng = np.random.default_rng(seed)
    anchors = generate_anchors(SMALL_ANCHORS, (64, 64)).numpy()
    num_anchors = len(anchors)
    boxes = np.array(
        [
            [[0.11, 0.13, 0.52, 0.41], [0.5, 0.57, 0.93, 0.91], [0, 0, 0, 0]],
            [[0.21, 0.33, 0.46, 0.62], [0.01, 0.02, 0.61, 0.73], [0, 0, 0, 0]],
            [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0]],
            [[0.05, 0.61, 0.31, 0.94], [0.42, 0.11, 0.87, 0.53], [0.6, 0.63, 0.71, 0.69]],
        ],
        np.float32,
    )
    labels = {
        "boxes": boxes,
        "classes": np.array([[1, 3, -1], [2, 1, -1], [-1, -1, -1], [3, 2, 1]], np.int32),
        "is_crowd": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]], bool),
    }
    objectness_logits = rng.normal(size=(4, num_anchors, 2))
    objectness_logits[..., 0] += np.where(rng.uniform(size=(4, num_anchors)) < 0.3, 8.0, 0.0)
    outputs = {
        "box_deltas": rng.normal(size=(4, num_anchors, 4)),
        "class_logits": rng.normal(size=(4, num_anchors, NUM_CLASSES)),
        "objectness_deltas": 0.5 * rng.normal(size=(4, num_anchors, 4)),
        "objectness_logits": objectness_logits,
    }
    outputs = {k: v.astype(np.float32) for k, v in outputs.items()}
    return outputs, labels, anchors


def _assert_losses_close(actual, expected, rtol=1e-4):
    for key in LOSS_KEYS:
        np.testing.assert_allclose(float(actual[key]), expected[key], rtol=rtol, atol=1e-5)


@pytest.mark.parametrize("filter_all", [True, False])
@pytest.mark.parametrize("ignore_crowd", [True, False])
def test_two_stage_loss_matches_the_numpy_reference(filter_all, ignore_crowd):
    cfg = _cfg(filter_negatives_from_all_final_losses=filter_all, ignore_crowd_boxes=ignore_crowd)
    outputs, labels, anchors = _random_batch()
    losses = compute_losses(outputs, labels, anchors, cfg.loss, cfg.anchors.variances)
    _assert_losses_close(losses, reference_losses(outputs, labels, anchors, cfg))


def test_single_stage_loss_matches_the_reference_with_zero_objectness_terms():
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=1)
    single = {k: outputs[k] for k in ("box_deltas", "class_logits")}
    losses = compute_losses(single, labels, anchors, cfg.loss, cfg.anchors.variances)
    assert float(losses["objectness_classification"]) == 0.0
    assert float(losses["objectness_localization"]) == 0.0
    _assert_losses_close(losses, reference_losses(single, labels, anchors, cfg))


def _one_box_labels(box, class_id=2):
    return {
        "boxes": np.array([[box, [0, 0, 0, 0]]], np.float32),
        "classes": np.array([[class_id, -1]], np.int32),
        "is_crowd": np.zeros([1, 2], bool),
    }


def test_final_targets_use_the_refined_anchors():
    box = [0.1, 0.1, 0.4, 0.4]  # cxcywh (0.25, 0.25, 0.3, 0.3)
    anchors = np.array(
        [
            [0.8, 0.8, 0.2, 0.2],  # a0: far from the box; B1 moves it exactly onto the box
            [0.35, 0.35, 0.3, 0.3],  # a1: IoU 0.29, the box's best anchor; B1 moves it away
            [0.2, 0.8, 0.2, 0.2],  # a2: background in both stages
        ],
        np.float32,
    )
    variances = (0.1, 0.2)
    objectness_deltas = np.zeros([1, 3, 4], np.float32)
    objectness_deltas[0, 0] = encode(box, anchors[0], variances)
    objectness_deltas[0, 1] = encode([0.7, 0.1, 0.9, 0.3], anchors[1], variances)
    deltas = np.array([0.3, -0.2, 0.1, 0.5], np.float32)
    outputs = {
        "box_deltas": np.tile(deltas, [1, 3, 1]),
        "class_logits": np.zeros([1, 3, 3], np.float32),
        "objectness_deltas": objectness_deltas,
        "objectness_logits": np.zeros([1, 3, 2], np.float32),
    }
    losses = compute_losses(
        outputs, _one_box_labels(box), anchors, LossConfig(), SMALL_ANCHORS.variances
    )
    # Stage 1: a1 is the only (forced) positive; stage 2: refined a0 is, with zero targets.
    stage1_target = encode(box, anchors[1], variances)
    expected_objectness_loc = smooth_l1(objectness_deltas[0, 1] - stage1_target, 1.0)
    assert float(losses["objectness_localization"]) == pytest.approx(expected_objectness_loc)
    assert float(losses["final_localization"]) == pytest.approx(smooth_l1(deltas, 1.0), rel=1e-4)
    # One positive and both remaining anchors as negatives, uniform logits.
    assert float(losses["objectness_classification"]) == pytest.approx(3 * math.log(2))
    assert float(losses["final_classification"]) == pytest.approx(3 * math.log(3))


@pytest.mark.parametrize(
    "filter_all, threshold, expected_cls_terms, expected_divisor",
    [(True, 0.01, 3, 1), (False, 0.01, 4, 1), (True, 0.0, 4, 2)],
)
def test_negative_anchor_filter(filter_all, threshold, expected_cls_terms, expected_divisor):
    box = [0.1, 0.1, 0.5, 0.5]
    anchors = np.array(
        [[0.3, 0.3, 0.4, 0.4], [0.3, 0.3, 0.4, 0.4], [0.8, 0.8, 0.2, 0.2], [0.8, 0.2, 0.2, 0.2]],
        np.float32,
    )
    d0 = np.array([0.5, 0.0, 0.0, 0.0], np.float32)
    d1 = np.array([0.0, 2.0, 0.0, 0.0], np.float32)
    objectness_logits = np.zeros([1, 4, 2], np.float32)
    objectness_logits[0, 1] = [10.0, -10.0]  # a1: P(fg) = 2e-9, filtered
    outputs = {
        "box_deltas": np.stack([d0, d1, d0, d0])[None],
        "class_logits": np.zeros([1, 4, 3], np.float32),
        "objectness_deltas": np.zeros([1, 4, 4], np.float32),
        "objectness_logits": objectness_logits,
    }
    cfg = _cfg(
        filter_negatives_from_all_final_losses=filter_all, objectness_filter_threshold=threshold
    )
    losses = compute_losses(outputs, _one_box_labels(box), anchors, cfg.loss, cfg.anchors.variances)
    kept_deltas = [d0] if expected_divisor == 1 else [d0, d1]
    expected_loc = sum(smooth_l1(d, 1.0) for d in kept_deltas) / expected_divisor
    assert float(losses["final_localization"]) == pytest.approx(expected_loc, rel=1e-5)
    expected_cls = expected_cls_terms * math.log(3) / expected_divisor
    assert float(losses["final_classification"]) == pytest.approx(expected_cls, rel=1e-5)
    _assert_losses_close(losses, reference_losses(outputs, _one_box_labels(box), anchors, cfg))


def _gradients(outputs, labels, anchors, cfg):
    tensors = {k: tf.constant(v) for k, v in outputs.items()}
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        total = compute_losses(tensors, labels, anchors, cfg.loss, cfg.anchors.variances)["total"]
    return total, tape.gradient(total, tensors)


def test_an_image_without_boxes_trains_background_with_a_finite_loss():
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=2)
    empty = {k: v[2:3] for k, v in outputs.items()}
    empty_labels = {k: v[2:3] for k, v in labels.items()}
    losses = compute_losses(empty, empty_labels, anchors, cfg.loss, cfg.anchors.variances)
    assert float(losses["final_localization"]) == 0.0
    assert float(losses["objectness_localization"]) == 0.0
    assert float(losses["final_classification"]) > 0.0
    _assert_losses_close(losses, reference_losses(empty, empty_labels, anchors, cfg))
    total, grads = _gradients(empty, empty_labels, anchors, cfg)
    assert np.isfinite(float(total))
    assert np.count_nonzero(grads["class_logits"].numpy().any(-1)) == 45  # the mined negatives
    for grad in grads.values():
        assert np.all(np.isfinite(grad.numpy()))


def test_gradients_are_finite_and_reach_every_head():
    outputs, labels, anchors = _random_batch(seed=3)
    _, grads = _gradients(outputs, labels, anchors, _cfg())
    for name, grad in grads.items():
        assert np.all(np.isfinite(grad.numpy())), name
        assert np.any(grad.numpy() != 0), name


def test_float16_outputs_are_computed_in_float32():
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=4)
    half = {k: v.astype(np.float16) for k, v in outputs.items()}
    losses = compute_losses(half, labels, anchors, cfg.loss, cfg.anchors.variances)
    assert all(losses[key].dtype == tf.float32 for key in LOSS_KEYS)
    as_float32 = {k: v.astype(np.float32) for k, v in half.items()}
    _assert_losses_close(losses, reference_losses(as_float32, labels, anchors, cfg))


def test_xla_compiled_loss_equals_eager():
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=5)
    compiled = tf.function(
        lambda o, lab: compute_losses(o, lab, anchors, cfg.loss, cfg.anchors.variances),
        jit_compile=True,
    )
    _assert_losses_close(compiled(outputs, labels), reference_losses(outputs, labels, anchors, cfg))


def test_mirrored_replicas_sum_to_the_single_device_global_batch_loss(two_replica_strategy):
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=6)
    halves = [
        ({k: v[:2] for k, v in outputs.items()}, {k: v[:2] for k, v in labels.items()}),
        ({k: v[2:] for k, v in outputs.items()}, {k: v[2:] for k, v in labels.items()}),
    ]
    # The halves have different positive counts, so per-replica normalisation would differ.
    per_half = [reference_losses(o, lab, anchors, cfg)["total"] for o, lab in halves]
    expected = reference_losses(outputs, labels, anchors, cfg)
    assert sum(per_half) / 2 != pytest.approx(expected["total"], rel=1e-3)

    strategy = two_replica_strategy
    dist_outputs = strategy.experimental_distribute_values_from_function(
        lambda ctx: halves[ctx.replica_id_in_sync_group][0]
    )
    dist_labels = strategy.experimental_distribute_values_from_function(
        lambda ctx: halves[ctx.replica_id_in_sync_group][1]
    )

    @tf.function
    def replica_losses(o, lab):
        return strategy.run(
            lambda oo, ll: compute_losses(oo, ll, anchors, cfg.loss, cfg.anchors.variances),
            args=(o, lab),
        )

    per_replica = replica_losses(dist_outputs, dist_labels)
    summed = {k: strategy.reduce("SUM", v, axis=None) for k, v in per_replica.items()}
    _assert_losses_close(summed, expected)
    single_device = compute_losses(outputs, labels, anchors, cfg.loss, cfg.anchors.variances)
    for key in LOSS_KEYS:
        np.testing.assert_allclose(float(summed[key]), float(single_device[key]), rtol=1e-5)


def test_loss_config_rejects_invalid_values():
    with pytest.raises(ValueError):
        LossConfig(smooth_l1_beta=0.0)
    with pytest.raises(ValueError):
        LossConfig(negatives_for_images_without_positives=-1)
    with pytest.raises(ValueError):
        LossConfig(positive_iou_threshold=1.5)


# 48 disjoint 0.1 x 0.1 anchors on an 8 x 6 grid: a box equal to anchor 0 has exactly one
# positive (IoU 1; every other IoU is 0) and 47 candidate negatives in both stages.
GRID_ANCHORS = np.array(
    [[(i + 0.5) / 8, (j + 0.5) / 6, 0.1, 0.1] for j in range(6) for i in range(8)], np.float32
)
CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "configs")
OURS, AUTHORS_CODE = "coco_vgg16_320.yaml", "deviations/coco_vgg16_320_authors_code.yaml"


def _uniform_outputs(batch_size, num_classes=81):
    """All-zero heads: every anchor's cross-entropy is log 2 (stage 1) or log C (stage 2), no
    anchor is filtered (P(fg) = 0.5) and the refined anchors are the anchors."""
    num_anchors = len(GRID_ANCHORS)
    return {
        "box_deltas": np.zeros([batch_size, num_anchors, 4], np.float32),
        "class_logits": np.zeros([batch_size, num_anchors, num_classes], np.float32),
        "objectness_deltas": np.zeros([batch_size, num_anchors, 4], np.float32),
        "objectness_logits": np.zeros([batch_size, num_anchors, 2], np.float32),
    }


def _labels(*images_have_a_box):
    """One row per image: a box on anchor 0 (class 5) or only padding."""
    anchor0_yxyx = [1 / 12 - 0.05, 1 / 16 - 0.05, 1 / 12 + 0.05, 1 / 16 + 0.05]
    boxes = [[anchor0_yxyx if has else [0, 0, 0, 0]] for has in images_have_a_box]
    return {
        "boxes": np.array(boxes, np.float32),
        "classes": np.array([[5 if has else -1] for has in images_have_a_box], np.int32),
        "is_crowd": np.zeros([len(images_have_a_box), 1], bool),
    }


@pytest.mark.parametrize(
    "config, images_have_a_box, kept_anchors",
    [
        # One positive and its 3 negatives; the image without boxes keeps 3 x 0 in the
        # authors' rule and 45 in ours.
        (AUTHORS_CODE, (True, False), 1 + 3),
        (OURS, (True, False), 1 + 3 + 45),
        # No positive in the whole batch: both keep 45 per image (divided by 1, not 0).
        (AUTHORS_CODE, (False, False), 45 + 45),
        (OURS, (False, False), 45 + 45),
    ],
)
def test_images_without_positives_by_hand(config, images_have_a_box, kept_anchors):
    cfg = load_config(os.path.join(CONFIGS, config))
    outputs, labels = _uniform_outputs(len(images_have_a_box)), _labels(*images_have_a_box)
    losses = compute_losses(outputs, labels, GRID_ANCHORS, cfg.loss, cfg.anchors.variances)
    # One positive (or none): the divisor is 1 either way.
    assert float(losses["objectness_classification"]) == pytest.approx(kept_anchors * math.log(2))
    assert float(losses["final_classification"]) == pytest.approx(kept_anchors * math.log(81))
    # The box is anchor 0 itself: zero deltas are its targets (up to float32 rounding).
    assert float(losses["objectness_localization"]) == pytest.approx(0.0, abs=1e-9)
    assert float(losses["final_localization"]) == pytest.approx(0.0, abs=1e-9)


def test_batch_scope_counts_positives_over_the_global_batch(two_replica_strategy):
    # Replica 1 sees only the image without boxes; the global batch has a positive, so that
    # image keeps no negatives, as on one device.
    cfg = ExperimentConfig(loss=LossConfig(negatives_without_positives_scope="batch"))
    outputs, labels = _uniform_outputs(2), _labels(True, False)
    strategy = two_replica_strategy

    def share(values):
        return strategy.experimental_distribute_values_from_function(
            lambda ctx: {k: v[ctx.replica_id_in_sync_group :][:1] for k, v in values.items()}
        )

    @tf.function
    def replica_losses(o, lab):
        return strategy.run(
            lambda oo, ll: compute_losses(oo, ll, GRID_ANCHORS, cfg.loss, cfg.anchors.variances),
            args=(o, lab),
        )

    per_replica = replica_losses(share(outputs), share(labels))
    summed = strategy.reduce("SUM", per_replica["final_classification"], axis=None)
    assert float(summed) == pytest.approx(4 * math.log(81), rel=1e-6)


@pytest.mark.parametrize("boxes_anywhere", [True, False])
def test_batch_scope_is_the_per_image_rule_with_0_or_the_count(boxes_anywhere):
    outputs, labels, anchors = _random_batch(seed=7)
    if not boxes_anywhere:
        labels = {**labels, "classes": np.full_like(labels["classes"], -1)}
    cfg = _cfg(negatives_without_positives_scope="batch")
    per_image = _cfg(negatives_for_images_without_positives=0 if boxes_anywhere else 45)
    _assert_losses_close(
        compute_losses(outputs, labels, anchors, cfg.loss, cfg.anchors.variances),
        reference_losses(outputs, labels, anchors, per_image),
    )
