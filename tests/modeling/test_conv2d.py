"""conv2d.Conv2D: Keras Conv2D's outputs and gradients from one native dilated Conv2D op (Keras's
SpaceToBatch path where the CPU gradient kernels refuse dilations), and from shifted MatMuls for
one float32 image on a small, deep map."""

import contextlib
import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.modeling import dilated_conv, single_image_conv
from efgrnet_tf.modeling.conv2d import Conv2D


def _layer_pair(input_shape, seed, **config):
    """A keras.layers.Conv2D and our Conv2D with `config`, built for `input_shape`, with the same
    random weights."""
    keras_conv, ours = keras.layers.Conv2D(**config), Conv2D(**config)
    for layer in (keras_conv, ours):
        layer.build(input_shape)
    rng = np.random.default_rng(seed)
    ours.set_weights([rng.normal(size=w.shape).astype(np.float32) for w in ours.weights])
    keras_conv.set_weights(ours.get_weights())
    return keras_conv, ours


def _small_pair(dilation, padding="same", dtype="float32"):
    """A pair of 4→5 channel 3x3 convs for [B, 13, 11, 4] inputs."""
    config = dict(filters=5, kernel_size=3, padding=padding, dilation_rate=dilation, dtype=dtype)
    return _layer_pair((None, 13, 11, 4), dilation, **config)


def _deep_pair(padding, strides, dilation, channels=512):
    """A pair of `channels`→`channels` 3x3 convs for [B, 24, 22, channels] inputs."""
    config = dict(
        filters=channels, kernel_size=3, padding=padding, strides=strides, dilation_rate=dilation
    )
    return _layer_pair((None, 24, 22, channels), channels, **config)


def _outputs_and_gradients(layer, inputs):
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        outputs = layer(inputs)
        loss = tf.reduce_sum(
            tf.cast(outputs, tf.float32) * tf.range(outputs.shape[-1], dtype=tf.float32)
        )
    grad_inputs, *grad_weights = tape.gradient(loss, [inputs, *layer.trainable_weights])
    return [t.numpy().astype(np.float32) for t in (outputs, grad_inputs, *grad_weights)]


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("dilation", [1, 2, (3, 2)])
@pytest.mark.parametrize("dtype, tolerance", [("float32", 1e-5), ("mixed_bfloat16", 2e-2)])
def test_outputs_and_gradients_are_keras_conv2d(dilation, padding, dtype, tolerance):
    keras_conv, ours = _small_pair(dilation, padding, dtype)
    inputs = tf.constant(np.random.default_rng(7).normal(size=(2, 13, 11, 4)), tf.float32)
    expected = _outputs_and_gradients(keras_conv, inputs)
    result = _outputs_and_gradients(ours, inputs)
    assert [r.shape for r in result] == [e.shape for e in expected]
    for got, want in zip(result, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance * np.abs(want).max())


def test_grouped_dilated_conv_is_keras_conv2d():
    config = dict(filters=4, kernel_size=3, padding="same", dilation_rate=2, groups=2)
    inputs = tf.constant(np.random.default_rng(3).normal(size=(1, 9, 9, 4)), tf.float32)
    keras_conv, ours = _layer_pair(inputs.shape, 3, **config)
    np.testing.assert_allclose(ours(inputs), keras_conv(inputs), rtol=1e-5, atol=1e-5)


def _graph_ops(layer, shape=(1, 13, 11, 4)):
    """The op types of `layer` traced for float32 inputs of `shape`."""
    traced = tf.function(layer).get_concrete_function(tf.TensorSpec(shape))
    return {node.op for node in traced.graph.as_graph_def().node}


@pytest.mark.parametrize("native", [True, False])
def test_dilated_conv_is_one_conv2d_op_where_its_gradients_exist(monkeypatch, native):
    monkeypatch.setattr(dilated_conv, "native_dilated_conv_gradients", lambda: native)
    _, ours = _small_pair(2)
    ops = _graph_ops(ours)
    assert "Conv2D" in ops
    assert ("SpaceToBatchND" in ops) is not native


def test_serialises_as_itself():
    _, ours = _small_pair(3)
    restored = keras.layers.deserialize(keras.layers.serialize(ours))
    assert type(restored) is Conv2D
    assert restored.get_config() == ours.get_config()


def test_without_onednn_the_probe_says_no_and_the_native_convs_run():
    """TensorFlow's own CPU kernels: their gradients refuse dilations, so the dilated conv falls
    back to Keras's path (and trains); their batch-1 conv is fast, so no MatMul path."""
    script = textwrap.dedent(
        """
        import numpy as np, tensorflow as tf
        from efgrnet_tf.modeling.conv2d import Conv2D
        from efgrnet_tf.modeling.dilated_conv import native_dilated_conv_gradients
        assert native_dilated_conv_gradients() is False
        layer = Conv2D(3, 3, padding="same", dilation_rate=2)
        x = tf.ones([1, 7, 7, 2])
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(x))
        grads = tape.gradient(loss, layer.trainable_weights)
        assert all(np.isfinite(g.numpy()).all() for g in grads)
        deep = Conv2D(256, 3, padding="same")
        graph = tf.function(deep).get_concrete_function(tf.TensorSpec([1, 20, 20, 256]))
        assert "MatMul" not in {node.op for node in graph.graph.as_graph_def().node}
        print("fallback-ok")
        """
    )
    env = dict(os.environ, TF_ENABLE_ONEDNN_OPTS="0", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "fallback-ok" in result.stdout


@pytest.mark.parametrize(
    "padding, strides, dilation", [("same", 1, 1), ("same", 1, 2), ("valid", 2, 1), ("valid", 1, 3)]
)
def test_one_float32_image_on_a_deep_map_is_keras_conv2d_from_matmuls(padding, strides, dilation):
    keras_conv, ours = _deep_pair(padding, strides, dilation)
    inputs = tf.constant(np.random.default_rng(1).normal(size=(1, 24, 22, 512)), tf.float32)
    expected = _outputs_and_gradients(keras_conv, inputs)
    result = _outputs_and_gradients(ours, inputs)
    for got, want in zip(result, expected, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    ops = _graph_ops(ours, inputs.shape)
    assert "MatMul" in ops and not ops & {"Conv2D", "SpaceToBatchND"}


def test_an_unknown_batch_chooses_matmuls_for_one_image_and_the_native_conv_for_more():
    keras_conv, ours = _deep_pair("same", 1, 1)
    traced = tf.function(ours).get_concrete_function(tf.TensorSpec([None, 24, 22, 512]))
    graph = traced.graph.as_graph_def()
    assert {"If", "StatelessIf"} & {node.op for node in graph.node}
    branch_ops = [{node.op for node in f.node_def} for f in graph.library.function]
    assert any("MatMul" in ops for ops in branch_ops) and any("Conv2D" in ops for ops in branch_ops)
    for batch in (1, 3):
        inputs = tf.constant(
            np.random.default_rng(batch).normal(size=(batch, 24, 22, 512)), tf.float32
        )
        want = keras_conv(inputs).numpy()
        np.testing.assert_allclose(traced(inputs), want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


@pytest.mark.parametrize(
    "case",
    [
        "none",
        "shallow input",
        "few filters",
        "bfloat16",
        "batch 2",
        "large map",
        "small map",
        "native_convolutions",
        "channels_first",
        "no oneDNN",
    ],
)
def test_the_native_conv_runs_where_matmuls_were_not_measured_faster(case, monkeypatch):
    """20x20, 256 channels in and out take the MatMuls; each change here leaves them."""
    channels = single_image_conv.MIN_CHANNELS
    size = {"large map": 41, "small map": 12}.get(case, 20)
    shape = [2 if case == "batch 2" else 1, size, size, channels - (case == "shallow input")]
    config = dict(filters=channels - (case == "few filters"), kernel_size=3, padding="same")
    if case == "bfloat16":
        config["dtype"] = "mixed_bfloat16"
    if case == "channels_first":
        config["data_format"] = "channels_first"
        shape = [1, channels, size, size]
    if case == "no oneDNN":
        monkeypatch.setattr(dilated_conv, "native_dilated_conv_gradients", lambda: False)
    native_only = case == "native_convolutions"
    with single_image_conv.native_convolutions() if native_only else contextlib.nullcontext():
        ops = _graph_ops(Conv2D(**config), shape)
    if case == "none":
        assert "MatMul" in ops and "Conv2D" not in ops
    else:
        assert "Conv2D" in ops and "MatMul" not in ops and not {"If", "StatelessIf"} & ops
