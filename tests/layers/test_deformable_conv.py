"""`DeformableConv2D`: shapes, the op it wraps, config and `.keras` round trips, mixed precision."""

import typing

import keras
import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.config.model import ModelConfig
from efgrnet_tf.layers import DeformableConv2D
from efgrnet_tf.ops import deform_conv2d
from efgrnet_tf.ops.deform_conv import IMPLEMENTATIONS


def _inputs(batch=2, size_hw=(9, 10), channels=4, offset_channels=18, mask_channels=None):
    rng = np.random.default_rng(0)
    inputs = rng.normal(size=(batch, *size_hw, channels)).astype(np.float32)
    offsets = rng.uniform(-3, 3, (batch, *size_hw, offset_channels)).astype(np.float32)
    if mask_channels is None:
        return inputs, offsets
    return inputs, offsets, rng.uniform(0, 1, (batch, *size_hw, mask_channels)).astype(np.float32)


def test_output_shape_follows_stride_padding_and_dilation(implementation):
    layer = DeformableConv2D(
        5, (3, 2), strides=(2, 1), padding=(1, 3), dilation_rate=(2, 3),
        implementation=implementation,
    )  # fmt: skip
    # Ho = (9 + 2 - 5) // 2 + 1 = 4, Wo = (10 + 6 - 4) // 1 + 1 = 13.
    inputs = np.zeros((2, 9, 10, 4), np.float32)
    offsets = np.zeros((2, 4, 13, 12), np.float32)

    outputs = layer(inputs, offsets)

    assert outputs.shape == (2, 4, 13, 5)
    assert layer.compute_output_shape((None, 9, 10, 4), (None, 4, 13, 12)) == (None, 4, 13, 5)
    assert layer.kernel.shape == (3, 2, 4, 5)


def test_layer_is_the_op_plus_bias(implementation):
    inputs, offsets, modulation = _inputs(mask_channels=18)
    layer = DeformableConv2D(
        3, 3, padding=2, dilation_rate=2, deformable_groups=2, implementation=implementation,
        bias_initializer="random_normal",
    )  # fmt: skip
    offsets = np.concatenate([offsets, -offsets], axis=-1)

    outputs = layer(inputs, offsets, modulation)

    expected = (
        deform_conv2d(
            inputs,
            offsets,
            layer.kernel,
            padding=2,
            dilations=2,
            deformable_groups=2,
            mask=modulation,
            implementation="pure_tf",
        )
        + layer.bias
    )
    np.testing.assert_allclose(outputs.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_get_config_from_config_round_trip():
    layer = DeformableConv2D(
        7, (3, 1), strides=2, padding=(5, 0), dilation_rate=(5, 1), deformable_groups=2,
        use_bias=False, implementation="pure_tf", kernel_regularizer=keras.regularizers.L2(5e-4),
        name="dcn",
    )  # fmt: skip

    clone = DeformableConv2D.from_config(layer.get_config())

    assert clone.get_config() == layer.get_config()
    assert clone.kernel_size == (3, 1)
    assert clone.padding == (5, 0)
    assert clone.implementation == "pure_tf"
    assert isinstance(clone.kernel_regularizer, keras.regularizers.L2)


def test_functional_model_keras_file_round_trip_gives_identical_outputs(tmp_path):
    images = keras.Input((9, 10, 4))
    offsets = keras.Input((9, 10, 18))
    modulation = keras.Input((9, 10, 9))
    outputs = DeformableConv2D(6, 3, padding=1, implementation="pure_tf")(
        images, offsets, modulation
    )
    model = keras.Model([images, offsets, modulation], outputs)
    data = _inputs(mask_channels=9)
    expected = model(list(data))

    model.save(tmp_path / "model.keras")
    loaded = keras.models.load_model(tmp_path / "model.keras")

    np.testing.assert_array_equal(loaded(list(data)).numpy(), expected.numpy())
    assert loaded.layers[-1].implementation == "pure_tf"


def test_mixed_float16_keeps_float32_variables_and_computes_in_float16(implementation):
    inputs, offsets = _inputs()
    reference = DeformableConv2D(4, 3, padding=1, implementation=implementation)
    expected = reference(inputs, offsets)
    layer = DeformableConv2D(4, 3, padding=1, implementation=implementation, dtype="mixed_float16")
    layer.build(inputs.shape)
    layer.set_weights(reference.get_weights())

    outputs = layer(inputs, offsets)

    assert layer.kernel.dtype == "float32"
    assert outputs.dtype == tf.float16
    np.testing.assert_allclose(outputs.numpy(), expected.numpy(), rtol=0.02, atol=0.05)


def test_unknown_implementation_is_rejected():
    with pytest.raises(ValueError, match="implementation"):
        DeformableConv2D(4, 3, implementation="cuda")


@pytest.mark.parametrize(
    ("argument", "value"),
    [("kernel_size", (3, 3, 3)), ("strides", True), ("padding", "same"), ("dilation_rate", 1.5)],
)
def test_geometry_arguments_must_be_ints_or_pairs_of_ints(argument, value):
    with pytest.raises(ValueError, match=f"{argument} must be an int or a pair of ints"):
        DeformableConv2D(4, **{"kernel_size": 3, argument: value})


def test_gradients_reach_kernel_bias_and_the_offset_branch(implementation):
    images = keras.Input((9, 10, 4))
    offsets = keras.layers.Conv2D(18, 3, padding="same", kernel_initializer="random_normal")(images)
    outputs = DeformableConv2D(3, 3, padding=1, implementation=implementation)(images, offsets)
    model = keras.Model(images, outputs)
    inputs, _ = _inputs()

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(inputs) ** 2)
    gradients = tape.gradient(loss, model.trainable_variables)

    assert len(gradients) == 4  # offset conv kernel and bias, deformable kernel and bias
    for variable, gradient in zip(model.trainable_variables, gradients, strict=True):
        assert gradient is not None, variable.path
        assert np.abs(gradient.numpy()).max() > 0, variable.path


def test_predict_with_a_batch_step_that_does_not_divide_the_batch(implementation):
    images = keras.Input((9, 10, 4))
    offsets = keras.Input((9, 10, 18))
    layer = DeformableConv2D(3, 3, padding=1, implementation=implementation)
    model = keras.Model([images, offsets], layer(images, offsets))
    inputs, offset_values = _inputs(batch=5)

    outputs = model.predict([inputs, offset_values], batch_size=2, verbose=0)

    expected = (
        deform_conv2d(inputs, offset_values, layer.kernel, padding=1, implementation="pure_tf")
        + layer.bias
    )
    np.testing.assert_allclose(outputs, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_kernel_regularizer_adds_a_loss():
    layer = DeformableConv2D(3, 3, padding=1, kernel_regularizer=keras.regularizers.L2(0.5))
    inputs, offsets = _inputs()

    layer(inputs, offsets)

    expected = 0.5 * np.sum(layer.kernel.numpy() ** 2)
    np.testing.assert_allclose(sum(loss.numpy() for loss in layer.losses), expected, rtol=1e-5)


def test_only_the_pure_tf_layer_claims_xla_support_and_it_compiles():
    inputs, offsets = _inputs()
    custom = DeformableConv2D(3, 3, padding=1, implementation="custom_op")
    pure = DeformableConv2D(3, 3, padding=1, implementation="pure_tf")
    expected = pure(inputs, offsets)

    compiled = tf.function(lambda x, o: pure(x, o), jit_compile=True)(inputs, offsets)

    assert not custom.supports_jit
    assert pure.supports_jit
    np.testing.assert_allclose(compiled.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_the_config_offers_exactly_the_implementations_of_the_op():
    offered = typing.get_args(typing.get_type_hints(ModelConfig)["deform_conv_implementation"])
    assert set(offered) == set(IMPLEMENTATIONS)
