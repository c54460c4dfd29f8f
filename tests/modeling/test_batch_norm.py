"""FusedTrainingBatchNormalization against keras.layers.BatchNormalization: the same training
outputs, gradients, moving statistics, inference, variables and config; Keras's own path where
the fused kernel does not apply."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.modeling.batch_norm import FusedTrainingBatchNormalization
from efgrnet_tf.modeling.conv_bn import BatchNormSettings

# Float32 rounding, and one bfloat16/float16 rounding step of the outputs (values of order 3).
TOLERANCE = {"float32": 1e-5, "mixed_bfloat16": 3e-2, "mixed_float16": 3e-3}
# Neither Keras's defaults (0.99, 1e-3) nor the fused op's, so each one must reach the kernel.
LAYER_ARGS = dict(momentum=0.7, epsilon=0.1)


def _random_nhwc(seed, shape=(2, 3, 4, 5)):
    # A large mean and per-channel scales make a variance error visible in every statistic.
    rng = np.random.default_rng(seed)
    return (rng.normal(size=shape) * np.arange(1, shape[-1] + 1) + 4.0).astype(np.float32)


def _twin_layers(dtype="float32", input_shape=(2, 3, 4, 5), **kwargs):
    """A fused layer and a Keras layer with the same non-trivial weights and statistics."""
    args = {**LAYER_ARGS, **kwargs}
    fused = FusedTrainingBatchNormalization(dtype=dtype, **args)
    plain = keras.layers.BatchNormalization(dtype=dtype, **args)
    rng = np.random.default_rng(7)
    weights = [rng.uniform(0.5, 1.5, input_shape[-1]).astype(np.float32) for _ in range(4)]
    for layer in (fused, plain):
        layer.build(input_shape)
        layer.set_weights(weights)
    return fused, plain


def _training_step(layer, inputs):
    """Output, and gradients of a random linear function of it w.r.t. input, gamma and beta."""
    inputs = tf.constant(inputs)
    upstream_gradient = np.random.default_rng(11).normal(size=inputs.shape).astype(np.float32)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs, training=True)
        loss = tf.reduce_sum(tf.cast(outputs, tf.float32) * upstream_gradient)
    gradients = tape.gradient(loss, [inputs, layer.gamma, layer.beta])
    return [tf.cast(outputs, tf.float32), *gradients]


def _op_types(layer, inputs, training, **call_kwargs):
    """The op types of `layer(inputs, training=training, **call_kwargs)` traced as a graph."""
    call = tf.function(lambda x: layer(x, training=training, **call_kwargs))
    return {op.type for op in call.get_concrete_function(inputs).graph.get_operations()}


@pytest.mark.parametrize("precision", ["float32", "mixed_bfloat16", "mixed_float16"])
def test_training_matches_keras_outputs_gradients_and_moving_statistics(precision):
    fused, plain = _twin_layers(precision)
    tolerance = TOLERANCE[precision]
    for step in range(3):
        inputs = _random_nhwc(step)
        fused_results = _training_step(fused, inputs)
        plain_results = _training_step(plain, inputs)
        for name, a, b in zip(
            ["outputs", "d_input", "d_gamma", "d_beta"], fused_results, plain_results, strict=True
        ):
            scale = max(1.0, float(np.abs(b).max()))
            np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance * scale, err_msg=name)
    # The statistics are float32 under every policy: float32 rounding only.
    np.testing.assert_allclose(fused.moving_mean, plain.moving_mean, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance, plain.moving_variance, rtol=1e-5)


def test_moving_statistics_average_the_biased_batch_variance():
    layer = FusedTrainingBatchNormalization(**LAYER_ARGS)
    inputs = _random_nhwc(3)
    layer(inputs, training=True)
    # From the initial statistics (0, 1): moving = 0.7 * initial + 0.3 * batch statistic, the
    # variance over n (NumPy's ddof=0) as in Keras's layer, not the op's variance over n - 1.
    np.testing.assert_allclose(layer.moving_mean, 0.3 * inputs.mean(axis=(0, 1, 2)), rtol=1e-5)
    expected_variance = 0.7 + 0.3 * inputs.var(axis=(0, 1, 2))
    np.testing.assert_allclose(layer.moving_variance, expected_variance, rtol=1e-5)


def test_xla_compiled_training_matches_keras():
    fused, plain = _twin_layers()
    inputs = tf.constant(_random_nhwc(12))
    outputs = [
        tf.function(lambda x, layer=layer: layer(x, training=True), jit_compile=True)(inputs)
        for layer in (fused, plain)
    ]
    np.testing.assert_allclose(outputs[0], outputs[1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused.moving_mean, plain.moving_mean, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance, plain.moving_variance, rtol=1e-5)


@pytest.mark.parametrize("autocast", [True, False])
def test_training_outputs_have_keras_dtype_with_or_without_autocast(autocast):
    fused, plain = _twin_layers("mixed_bfloat16", autocast=autocast)
    inputs = tf.constant(_random_nhwc(6))
    outputs = fused(inputs, training=True)
    assert outputs.dtype == plain(inputs, training=True).dtype == "bfloat16"


def test_training_runs_the_fused_kernel_and_inference_runs_keras_path():
    fused, plain = _twin_layers()
    inputs = tf.constant(_random_nhwc(4))
    assert "FusedBatchNormV3" in _op_types(fused, inputs, training=True)
    assert "FusedBatchNormV3" not in _op_types(fused, inputs, training=False)
    np.testing.assert_array_equal(fused(inputs, training=False), plain(inputs, training=False))


@pytest.mark.parametrize(
    "case",
    ["synchronized", "renorm", "frozen", "rank_2", "channels_first", "mask"],
)
def test_cases_the_kernel_does_not_cover_take_keras_path(case):
    kwargs = {"synchronized": True} if case == "synchronized" else {}
    kwargs.update({"renorm": True} if case == "renorm" else {})
    kwargs.update({"axis": 1} if case == "channels_first" else {})
    shape = (6, 5) if case == "rank_2" else (2, 3, 4, 5)
    fused = FusedTrainingBatchNormalization(**LAYER_ARGS, **kwargs)
    plain = keras.layers.BatchNormalization(**LAYER_ARGS, **kwargs)
    for layer in (fused, plain):
        layer.build(shape)
        layer.set_weights([np.full(w.shape, 0.5, np.float32) for w in layer.weights])
        layer.trainable = case != "frozen"
    inputs = tf.constant(_random_nhwc(5, shape))
    call_kwargs = {"mask": tf.ones(shape[:-1], tf.bool)} if case == "mask" else {}
    assert "FusedBatchNormV3" not in _op_types(fused, inputs, training=True, **call_kwargs)
    np.testing.assert_allclose(
        fused(inputs, training=True, **call_kwargs),
        plain(inputs, training=True, **call_kwargs),
        rtol=1e-6,
    )
    np.testing.assert_allclose(fused.moving_variance, plain.moving_variance, rtol=1e-6)


def test_mirrored_training_matches_keras(two_replica_strategy):
    with two_replica_strategy.scope():
        fused, plain = _twin_layers()
    batches = tf.constant(np.stack([_random_nhwc(seed) for seed in (8, 9)]))

    def replica_outputs(layer):
        def step(ctx):
            return layer(tf.gather(batches, ctx.replica_id_in_sync_group), training=True)

        per_replica = two_replica_strategy.run(
            tf.function(lambda: step(tf.distribute.get_replica_context()))
        )
        return [t.numpy() for t in two_replica_strategy.experimental_local_results(per_replica)]

    for a, b in zip(replica_outputs(fused), replica_outputs(plain), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(fused.moving_mean, plain.moving_mean, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance, plain.moving_variance, rtol=1e-5)


def test_variables_config_and_checkpoints_are_keras_layers(tmp_path):
    fused, plain = _twin_layers()
    names = ["gamma", "beta", "moving_mean", "moving_variance"]
    assert [w.name for w in fused.weights] == [w.name for w in plain.weights] == names
    assert [w.path for w in fused.weights] == [f"{fused.name}/{name}" for name in names]
    assert all(w.dtype == "float32" for w in fused.weights)
    assert fused.get_config() == {**plain.get_config(), "name": fused.name}
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(fused))
    assert type(restored) is FusedTrainingBatchNormalization
    assert restored.get_config() == fused.get_config()
    # A checkpoint of Keras's layer restores into the fused one.
    target = FusedTrainingBatchNormalization(**LAYER_ARGS)
    target.build((2, 3, 4, 5))
    tf.train.Checkpoint(layer=target).read(
        tf.train.Checkpoint(layer=plain).write(str(tmp_path / "bn"))
    ).assert_consumed()
    for restored_weight, weight in zip(target.weights, plain.weights, strict=True):
        np.testing.assert_array_equal(restored_weight, weight)


def test_settings_build_the_fused_layer():
    layer = BatchNormSettings(momentum=0.9, epsilon=1e-4, synchronized=True).layer("bn")
    assert type(layer) is FusedTrainingBatchNormalization
    assert (layer.momentum, layer.epsilon, layer.synchronized, layer.name) == (
        0.9,
        1e-4,
        True,
        "bn",
    )
