"""Coupled-L2 SGD against hand-computed torch.optim.SGD steps (momentum, weight decay)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.config import TrainConfig
from efgrnet_tf.training.optimizer import (
    BATCH_NORM_VARIABLE_NAMES,
    CoupledWeightDecaySGD,
    optimizer_from_config,
)


def torch_sgd_reference(w0, grads, lrs, momentum, weight_decay):
    """torch.optim.SGD(momentum, weight_decay, dampening=0, nesterov=False), written out."""
    w, buf = np.array(w0, np.float64), None
    for g, lr in zip(grads, lrs, strict=True):
        d = np.asarray(g, np.float64) + weight_decay * w
        buf = d if buf is None else momentum * buf + d
        w = w - lr * buf
    return w


def test_three_steps_equal_the_pytorch_update_with_changing_learning_rate():
    w0 = np.array([1.0, -2.0, 0.5], np.float32)
    grads = [np.array(g, np.float32) for g in ([0.1, 0.2, -0.3], [0.0, -1.0, 2.0], [3, 1, 1])]
    lrs = [0.1, 0.2, 0.05]
    variable = keras.Variable(w0, name="kernel")
    optimizer = CoupledWeightDecaySGD(learning_rate=0.1, momentum=0.9, coupled_weight_decay=0.01)
    for g, step_lr in zip(grads, lrs, strict=True):
        optimizer.learning_rate = step_lr
        optimizer.apply_gradients([(tf.constant(g), variable)])
    expected = torch_sgd_reference(w0, grads, lrs, momentum=0.9, weight_decay=0.01)
    np.testing.assert_allclose(variable.numpy(), expected, rtol=1e-6)


def test_one_step_by_hand():
    # w = 2, g = 1, wd = 0.5: d = 1 + 0.5 * 2 = 2; buf = 2; w = 2 - 0.1 * 2 = 1.8.
    variable = keras.Variable([2.0], name="kernel")
    optimizer = CoupledWeightDecaySGD(learning_rate=0.1, momentum=0.9, coupled_weight_decay=0.5)
    optimizer.apply_gradients([(tf.constant([1.0]), variable)])
    np.testing.assert_allclose(variable.numpy(), [1.8], rtol=1e-7)


def test_batch_norm_parameters_can_be_excluded_from_decay():
    gamma = keras.Variable([2.0], name="gamma")
    kernel = keras.Variable([2.0], name="kernel")
    optimizer = CoupledWeightDecaySGD(
        learning_rate=0.1,
        momentum=0.0,
        coupled_weight_decay=0.5,
        no_decay_variable_names=BATCH_NORM_VARIABLE_NAMES,
    )
    optimizer.apply_gradients([(tf.constant([1.0]), gamma), (tf.constant([1.0]), kernel)])
    np.testing.assert_allclose(gamma.numpy(), [1.9])  # 2 - 0.1 * 1
    np.testing.assert_allclose(kernel.numpy(), [1.8])  # 2 - 0.1 * (1 + 0.5 * 2)


@pytest.mark.parametrize(("decay_batch_norm", "expected_gamma"), [(True, 0.9), (False, 1.0)])
def test_config_decays_batch_norm_like_the_authors_unless_switched_off(
    decay_batch_norm, expected_gamma
):
    layer = keras.layers.BatchNormalization()
    layer.build((None, 1))
    optimizer = optimizer_from_config(
        TrainConfig(momentum=0.0, weight_decay=1.0, weight_decay_on_batch_norm=decay_batch_norm),
        0.1,
    )
    zero = tf.zeros([1])
    optimizer.apply_gradients([(zero, v) for v in layer.trainable_variables])
    # gamma starts at 1: with decay, 1 - 0.1 * (0 + 1.0 * 1) = 0.9.
    np.testing.assert_allclose(layer.gamma.numpy(), [expected_gamma], rtol=1e-6)


def test_mixed_precision_wraps_the_optimizer_for_loss_scaling():
    optimizer = optimizer_from_config(TrainConfig(mixed_precision=True), 0.1)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    assert isinstance(optimizer.inner_optimizer, CoupledWeightDecaySGD)


def test_round_trips_through_its_config():
    optimizer = CoupledWeightDecaySGD(0.3, momentum=0.8, coupled_weight_decay=1e-4)
    restored = CoupledWeightDecaySGD.from_config(optimizer.get_config())
    assert restored.momentum == pytest.approx(0.8)
    assert restored.coupled_weight_decay == pytest.approx(1e-4)


@pytest.mark.parametrize(("decay_batch_norm", "expected_gamma"), [(True, 0.95), (False, 1.0)])
def test_adamw_decays_decoupled_and_can_spare_batch_norm(decay_batch_norm, expected_gamma):
    layer = keras.layers.BatchNormalization()
    layer.build((None, 1))
    optimizer = optimizer_from_config(
        TrainConfig(
            optimizer="adamw", weight_decay=0.5, weight_decay_on_batch_norm=decay_batch_norm
        ),
        0.1,
    )
    assert isinstance(optimizer, keras.optimizers.AdamW)
    zero = tf.zeros([1])
    optimizer.apply_gradients([(zero, v) for v in layer.trainable_variables])
    # A zero gradient leaves only the decoupled decay: gamma = 1 - lr * wd * 1 = 0.95.
    np.testing.assert_allclose(layer.gamma.numpy(), [expected_gamma], rtol=1e-6)


def test_adamw_first_step_moves_each_weight_by_the_learning_rate():
    # Adam's first step is lr * g / (|g| + eps) = lr * sign(g), whatever the gradient's scale.
    variable = keras.Variable([1.0, -1.0, 3.0], name="kernel")
    optimizer = optimizer_from_config(TrainConfig(optimizer="adamw", weight_decay=0.0), 0.01)
    optimizer.apply_gradients([(tf.constant([500.0, -0.2, 0.0]), variable)])
    np.testing.assert_allclose(variable.numpy(), [0.99, -0.99, 3.0], atol=1e-5)
