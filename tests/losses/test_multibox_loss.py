"""The two-stage multibox loss against the NumPy reference, hand-made cases and MirroredStrategy."""

import math

import numpy as np
import pytest
import tensorflow as tf
from losses_reference import encode, reference_losses, smooth_l1

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.config import AnchorConfig, ExperimentConfig, LossConfig
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
    losses = compute_losses(outputs, labels, anchors, cfg)
    _assert_losses_close(losses, reference_losses(outputs, labels, anchors, cfg))


def test_single_stage_loss_matches_the_reference_with_zero_objectness_terms():
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=1)
    single = {k: outputs[k] for k in ("box_deltas", "class_logits")}
    losses = compute_losses(single, labels, anchors, cfg)
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
    losses = compute_losses(outputs, _one_box_labels(box), anchors, _cfg())
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
    losses = compute_losses(outputs, _one_box_labels(box), anchors, cfg)
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
        total = compute_losses(tensors, labels, anchors, cfg)["total"]
    return total, tape.gradient(total, tensors)


def test_an_image_without_boxes_trains_background_with_a_finite_loss():
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=2)
    empty = {k: v[2:3] for k, v in outputs.items()}
    empty_labels = {k: v[2:3] for k, v in labels.items()}
    losses = compute_losses(empty, empty_labels, anchors, cfg)
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
    losses = compute_losses(half, labels, anchors, cfg)
    assert all(losses[key].dtype == tf.float32 for key in LOSS_KEYS)
    as_float32 = {k: v.astype(np.float32) for k, v in half.items()}
    _assert_losses_close(losses, reference_losses(as_float32, labels, anchors, cfg))


def test_xla_compiled_loss_equals_eager():
    cfg = _cfg()
    outputs, labels, anchors = _random_batch(seed=5)
    compiled = tf.function(lambda o, lab: compute_losses(o, lab, anchors, cfg), jit_compile=True)
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
        return strategy.run(lambda oo, ll: compute_losses(oo, ll, anchors, cfg), args=(o, lab))

    per_replica = replica_losses(dist_outputs, dist_labels)
    summed = {k: strategy.reduce("SUM", v, axis=None) for k, v in per_replica.items()}
    _assert_losses_close(summed, expected)
    single_device = compute_losses(outputs, labels, anchors, cfg)
    for key in LOSS_KEYS:
        np.testing.assert_allclose(float(summed[key]), float(single_device[key]), rtol=1e-5)


def test_loss_config_rejects_invalid_values():
    with pytest.raises(ValueError):
        LossConfig(smooth_l1_beta=0.0)
    with pytest.raises(ValueError):
        LossConfig(negatives_for_images_without_positives=-1)
    with pytest.raises(ValueError):
        LossConfig(positive_iou_threshold=1.5)
