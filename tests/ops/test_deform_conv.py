"""Forward pass of `deform_conv2d`, both implementations, against independent references."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from deform_conv_cases import CASES, parametrize_cases, random_case
from deform_conv_reference import deform_conv2d_reference

from efgrnet_tf.ops import deform_conv2d

FORWARD_CASES = (
    "3x3_plain",
    "2x3_stride2_groups2_mask",
    "3x1_pad5_dil5",
    "3x3_pad2_dil2_integer_offsets_batch5",
    "3x3_pad3_dil3_small_offsets",
)


@parametrize_cases(*FORWARD_CASES)
def test_forward_matches_numpy_reference(implementation, case):
    inputs, offsets, kernel, mask, conv_args = random_case(0, case)

    outputs = deform_conv2d(
        inputs, offsets, kernel, mask=mask, implementation=implementation, **conv_args
    )

    expected = deform_conv2d_reference(inputs, offsets, kernel, mask=mask, **conv_args)
    np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    ("kernel_hw", "strides", "padding", "dilations"),
    [
        ((3, 3), (1, 1), (1, 1), (1, 1)),
        ((2, 3), (2, 1), (0, 2), (1, 2)),
        ((3, 1), (1, 2), (5, 0), (5, 1)),
    ],
)
def test_zero_offsets_equal_conv2d_with_explicit_padding(
    implementation, kernel_hw, strides, padding, dilations
):
    rng = np.random.default_rng(1)
    inputs = rng.normal(size=(3, 7, 8, 4)).astype(np.float32)
    kernel = rng.normal(size=(*kernel_hw, 4, 5)).astype(np.float32)
    expected = tf.nn.conv2d(
        inputs,
        kernel,
        strides=[1, *strides, 1],
        padding=[[0, 0], [padding[0]] * 2, [padding[1]] * 2, [0, 0]],
        dilations=[1, *dilations, 1],
    )
    offsets = np.zeros((*expected.shape[:3], 2 * kernel_hw[0] * kernel_hw[1]), np.float32)

    outputs = deform_conv2d(
        inputs,
        offsets,
        kernel,
        strides=strides,
        padding=padding,
        dilations=dilations,
        implementation=implementation,
    )

    np.testing.assert_allclose(outputs.numpy(), expected.numpy(), rtol=1e-5, atol=1e-5)


def test_integer_shift_samples_the_shifted_pixel_and_zero_outside(implementation):
    # A 1x1 kernel with offset (dy, dx) = (1, -2) reads pixel (y + 1, x - 2), 0 when outside.
    inputs = np.arange(1, 13, dtype=np.float32).reshape(1, 3, 4, 1)
    offsets = np.tile(np.array([1.0, -2.0], np.float32), (1, 3, 4, 1))
    kernel = np.ones((1, 1, 1, 1), np.float32)

    outputs = deform_conv2d(inputs, offsets, kernel, implementation=implementation)

    expected = np.zeros((3, 4), np.float32)
    expected[:2, 2:] = inputs[0, 1:, :2, 0]
    np.testing.assert_array_equal(outputs.numpy()[0, :, :, 0], expected)


def test_half_pixel_outside_blends_with_zero_not_the_border(implementation):
    # y = -0.5 lies between row -1 (zero padding) and row 0: half of row 0, no clamping.
    inputs = np.full((1, 2, 2, 1), 4.0, np.float32)
    offsets = np.tile(np.array([-0.5, 0.0], np.float32), (1, 2, 2, 1))
    kernel = np.ones((1, 1, 1, 1), np.float32)

    outputs = deform_conv2d(inputs, offsets, kernel, implementation=implementation)

    np.testing.assert_array_equal(outputs.numpy()[0, :, :, 0], [[2.0, 2.0], [4.0, 4.0]])


def test_empty_batch_gives_empty_output(implementation):
    inputs = np.zeros((0, 5, 6, 2), np.float32)
    offsets = np.zeros((0, 5, 6, 18), np.float32)
    kernel = np.ones((3, 3, 2, 4), np.float32)

    outputs = deform_conv2d(inputs, offsets, kernel, padding=1, implementation=implementation)

    assert outputs.shape == (0, 5, 6, 4)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_low_precision_is_close_to_float32(implementation, dtype):
    case = CASES["2x3_stride2_groups2_mask"]
    inputs, offsets, kernel, mask, conv_args = random_case(2, case)
    expected = deform_conv2d(
        inputs, offsets, kernel, mask=mask, implementation=implementation, **conv_args
    )

    low = [tf.cast(a, dtype) for a in (inputs, offsets, kernel, mask)]
    outputs = deform_conv2d(*low[:3], mask=low[3], implementation=implementation, **conv_args)

    assert outputs.dtype == dtype
    tolerance = 0.05 if dtype == tf.float16 else 0.3
    np.testing.assert_allclose(
        tf.cast(outputs, tf.float32).numpy(), expected.numpy(), rtol=0.05, atol=tolerance
    )


def test_unknown_batch_dimension_in_tf_function(implementation):
    case = CASES["3x3_pad3_dil3_small_offsets"]
    inputs, offsets, kernel, mask, conv_args = random_case(3, case)

    @tf.function(
        input_signature=[
            tf.TensorSpec([None, *inputs.shape[1:]], tf.float32),
            tf.TensorSpec([None, *offsets.shape[1:]], tf.float32),
            tf.TensorSpec([None, *mask.shape[1:]], tf.float32),
        ]
    )
    def convolve(inputs, offsets, mask):
        return deform_conv2d(
            inputs, offsets, kernel, mask=mask, implementation=implementation, **conv_args
        )

    outputs = convolve(inputs, offsets, mask)

    expected = deform_conv2d_reference(inputs, offsets, kernel, mask=mask, **conv_args)
    np.testing.assert_allclose(outputs.numpy(), expected, rtol=1e-4, atol=1e-4)


def test_pure_tf_under_xla_equals_eager():
    case = CASES["2x3_stride2_groups2_mask"]
    inputs, offsets, kernel, mask, conv_args = random_case(4, case)

    def convolve(inputs, offsets, mask):
        return deform_conv2d(
            inputs, offsets, kernel, mask=mask, implementation="pure_tf", **conv_args
        )

    eager = convolve(inputs, offsets, mask)
    compiled = tf.function(convolve, jit_compile=True)(inputs, offsets, mask)

    np.testing.assert_allclose(compiled.numpy(), eager.numpy(), rtol=1e-5, atol=1e-5)


def test_pure_tf_saved_model_runs_without_importing_efgrnet_tf(tmp_path):
    case = CASES["3x3_plain"]
    inputs, offsets, kernel, _, conv_args = random_case(5, case)
    module = tf.Module()
    module.convolve = tf.function(
        lambda inputs, offsets: deform_conv2d(
            inputs, offsets, kernel, implementation="pure_tf", **conv_args
        ),
        input_signature=[
            tf.TensorSpec([None, *inputs.shape[1:]], tf.float32),
            tf.TensorSpec([None, *offsets.shape[1:]], tf.float32),
        ],
    )
    tf.saved_model.save(module, str(tmp_path / "model"))
    np.savez(tmp_path / "data.npz", inputs=inputs, offsets=offsets)

    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        import tensorflow as tf
        data = np.load({str(tmp_path / "data.npz")!r})
        loaded = tf.saved_model.load({str(tmp_path / "model")!r})
        np.save({str(tmp_path / "out.npy")!r}, loaded.convolve(data["inputs"], data["offsets"]))
        assert not any(name.startswith("efgrnet_tf") for name in sys.modules)
        """
    )
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        cwd=tmp_path,
        env={"TF_CPP_MIN_LOG_LEVEL": "2", "CUDA_VISIBLE_DEVICES": ""},
    )

    expected = deform_conv2d_reference(inputs, offsets, kernel, **conv_args)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), expected, rtol=1e-4, atol=1e-4)
