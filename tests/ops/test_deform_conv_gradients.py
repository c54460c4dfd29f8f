"""Gradients of `deform_conv2d` for inputs, offsets, mask and kernel, both implementations.

The NumPy reference's hand-derived gradients are first checked against finite differences,
then both implementations are checked against them, against `tf.test.compute_gradient`, and
against each other.
"""

import numpy as np
import pytest
import tensorflow as tf
from deform_conv_cases import (
    CASES,
    DeformConvCase,
    deform_conv2d_with_gradients,
    parametrize_cases,
    random_case,
)
from deform_conv_reference import deform_conv2d_reference

from efgrnet_tf.ops import custom_op_library, deform_conv2d

ARGUMENTS = ("inputs", "offsets", "mask", "kernel")


def _fractional_offsets(rng, shape, offset_range):
    """Offsets whose fractional parts stay in [0.2, 0.8]: no sample within 0.2 of a kink."""
    whole = rng.integers(-offset_range, offset_range, shape)
    return (whole + rng.uniform(0.2, 0.8, shape)).astype(np.float32)


def test_reference_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    conv_args = {"strides": (2, 1), "padding": (1, 2), "dilations": (1, 2), "deformable_groups": 2}
    arrays = {
        "inputs": rng.normal(size=(2, 4, 5, 4)),
        "offsets": _fractional_offsets(rng, (2, 3, 7, 16), 3).astype(np.float64),
        "mask": rng.uniform(0, 1, (2, 3, 7, 8)),
        "kernel": rng.normal(size=(2, 2, 4, 3)),
    }
    grad_outputs = rng.normal(size=(2, 3, 7, 3))

    def loss(arrays):
        outputs = deform_conv2d_reference(**arrays, **conv_args)
        return float(np.sum(outputs * grad_outputs))

    analytic = deform_conv2d_reference(**arrays, **conv_args, grad_outputs=grad_outputs)
    step = 1e-6
    for name in ARGUMENTS:
        for flat_index in rng.choice(arrays[name].size, 12, replace=False):
            index = np.unravel_index(flat_index, arrays[name].shape)
            plus = {key: value.copy() for key, value in arrays.items()}
            minus = {key: value.copy() for key, value in arrays.items()}
            plus[name][index] += step
            minus[name][index] -= step
            numeric = (loss(plus) - loss(minus)) / (2 * step)
            np.testing.assert_allclose(
                analytic[f"grad_{name}"][index], numeric, rtol=1e-5, atol=1e-6, err_msg=name
            )


GRADIENT_CASES = (
    "3x3_stride1_pad1_mask",
    "2x3_stride2_groups2",
    "3x1_pad5_dil5_groups2_mask",
    "3x3_pad4_dil4_integer_offsets_batch5",
    "1x2_small_offsets_batch3",
)


@parametrize_cases(*GRADIENT_CASES)
def test_gradients_match_numpy_reference(implementation, case):
    inputs, offsets, kernel, mask, conv_args = random_case(1, case)
    arrays = {"inputs": inputs, "offsets": offsets, "mask": mask, "kernel": kernel}
    output_shape = deform_conv2d_reference(inputs, offsets, kernel, mask=mask, **conv_args).shape
    grad_outputs = np.random.default_rng(2).normal(size=output_shape).astype(np.float32)
    expected = deform_conv2d_reference(
        inputs, offsets, kernel, mask=mask, **conv_args, grad_outputs=grad_outputs
    )

    outputs, gradients = deform_conv2d_with_gradients(
        implementation, arrays, grad_outputs, conv_args
    )

    np.testing.assert_allclose(outputs, expected["outputs"], rtol=1e-4, atol=1e-4)
    for name, gradient in gradients.items():
        np.testing.assert_allclose(
            gradient, expected[f"grad_{name}"], rtol=1e-4, atol=1e-4, err_msg=name
        )
    assert ("mask" in gradients) == (mask is not None)


def _random_configuration(seed):
    """A random DeformConvCase: strides 1-2, padding 0-5, dilation 1-5, groups 1-2, kernels up to
    3x3, batch 1, 3 or 5, with or without mask, on a 5x6 image with offsets in [-6, 6]."""
    rng = np.random.default_rng(seed)
    while True:
        kernel_hw = tuple(int(k) for k in rng.integers(1, 4, 2))
        dilations = tuple(int(d) for d in rng.integers(1, 6, 2))
        padding = tuple(int(p) for p in rng.integers(0, 6, 2))
        extents = [d * (k - 1) + 1 for d, k in zip(dilations, kernel_hw, strict=True)]
        if all(s + 2 * p >= e for s, p, e in zip((5, 6), padding, extents, strict=True)):
            break
    groups = int(rng.integers(1, 3))
    return DeformConvCase(
        batch=int(rng.choice([1, 3, 5])),
        channels=2 * groups,
        filters=3,
        kernel_hw=kernel_hw,
        strides=tuple(int(s) for s in rng.integers(1, 3, 2)),
        padding=padding,
        dilations=dilations,
        groups=groups,
        with_mask=bool(rng.integers(0, 2)),
    )


@pytest.mark.parametrize("seed", range(6))
def test_random_configurations_match_numpy_reference(implementation, seed):
    case = _random_configuration(seed)
    inputs, offsets, kernel, mask, conv_args = random_case(seed, case)
    arrays = {"inputs": inputs, "offsets": offsets, "mask": mask, "kernel": kernel}
    output_shape = deform_conv2d_reference(inputs, offsets, kernel, mask=mask, **conv_args).shape
    grad_outputs = np.random.default_rng(seed).normal(size=output_shape).astype(np.float32)
    expected = deform_conv2d_reference(
        inputs, offsets, kernel, mask=mask, **conv_args, grad_outputs=grad_outputs
    )

    outputs, gradients = deform_conv2d_with_gradients(
        implementation, arrays, grad_outputs, conv_args
    )

    np.testing.assert_allclose(outputs, expected["outputs"], rtol=1e-4, atol=1e-4, err_msg=case)
    for name, gradient in gradients.items():
        np.testing.assert_allclose(
            gradient, expected[f"grad_{name}"], rtol=1e-4, atol=1e-4, err_msg=f"{name} {case}"
        )


@pytest.mark.parametrize("argument", ARGUMENTS)
def test_gradient_matches_tf_compute_gradient(implementation, argument):
    rng = np.random.default_rng(3)
    conv_args = {"strides": (1, 2), "padding": (1, 1), "dilations": (2, 1), "deformable_groups": 2}
    arrays = {
        "inputs": rng.normal(size=(1, 4, 5, 2)).astype(np.float32),
        "offsets": _fractional_offsets(rng, (1, 4, 3, 16), 2),
        "mask": rng.uniform(0, 1, (1, 4, 3, 8)).astype(np.float32),
        "kernel": rng.normal(size=(2, 2, 2, 3)).astype(np.float32),
    }

    def convolve(value):
        args = {**arrays, argument: value}
        return deform_conv2d(
            args["inputs"],
            args["offsets"],
            args["kernel"],
            mask=args["mask"],
            implementation=implementation,
            **conv_args,
        )

    theoretical, numerical = tf.test.compute_gradient(convolve, [arrays[argument]], delta=1e-2)

    np.testing.assert_allclose(theoretical[0], numerical[0], rtol=1e-3, atol=5e-3)
    assert np.abs(theoretical[0]).max() > 0.1


def test_custom_op_and_pure_tf_agree_on_medium_inputs():
    assert custom_op_library.load_deform_conv_library() is not None, (
        f"the custom op library did not load: {custom_op_library.library_load_error()}"
    )
    rng = np.random.default_rng(4)
    conv_args = {"strides": (1, 1), "padding": (2, 2), "dilations": (2, 2), "deformable_groups": 2}
    arrays = {
        "inputs": rng.normal(size=(3, 12, 11, 16)).astype(np.float32),
        "offsets": rng.uniform(-4, 4, (3, 12, 11, 36)).astype(np.float32),
        "mask": rng.uniform(0, 1, (3, 12, 11, 18)).astype(np.float32),
        "kernel": rng.normal(size=(3, 3, 16, 8)).astype(np.float32),
    }
    grad_outputs = rng.normal(size=(3, 12, 11, 8)).astype(np.float32)

    custom_outputs, custom_gradients = deform_conv2d_with_gradients(
        "custom_op", arrays, grad_outputs, conv_args
    )
    pure_outputs, pure_gradients = deform_conv2d_with_gradients(
        "pure_tf", arrays, grad_outputs, conv_args
    )

    np.testing.assert_allclose(custom_outputs, pure_outputs, rtol=1e-4, atol=1e-4)
    for name in ARGUMENTS:
        np.testing.assert_allclose(
            custom_gradients[name], pure_gradients[name], rtol=1e-4, atol=2e-4, err_msg=name
        )


def test_pure_tf_gradients_under_xla_equal_eager():
    inputs, offsets, kernel, mask, conv_args = random_case(5, CASES["3x1_pad5_dil5_groups2_mask"])
    arrays = {"inputs": inputs, "offsets": offsets, "mask": mask, "kernel": kernel}

    eager_outputs, eager = deform_conv2d_with_gradients("pure_tf", arrays, 1.0, conv_args)
    xla_outputs, xla = deform_conv2d_with_gradients(
        "pure_tf", arrays, 1.0, conv_args, jit_compile=True
    )

    np.testing.assert_allclose(xla_outputs, eager_outputs, rtol=1e-5, atol=1e-5)
    for name in ARGUMENTS:
        np.testing.assert_allclose(xla[name], eager[name], rtol=1e-5, atol=1e-5, err_msg=name)


def test_offset_gradient_at_the_borders_follows_torchvision(implementation):
    # Row 0 samples y = -1 exactly: value 0, but the offset gradient is the derivative from inside
    # the image, (1 - lx) v(0, x0) + lx v(0, x0 + 1), as in torchvision's get_coordinate_weight.
    # Row 1 samples y = H = 2: no corner is in the image, so every gradient is 0.
    image = np.array([[1.0, 2.0, 4.0], [8.0, 16.0, 32.0]], np.float32)
    offsets = np.zeros((1, 2, 3, 2), np.float32)
    offsets[0, 0, :, 0] = -1.0
    offsets[0, 1, :, 0] = 1.0
    offsets[..., 1] = 0.25
    arrays = {
        "inputs": image[None, :, :, None],
        "offsets": offsets,
        "kernel": np.ones((1, 1, 1, 1), np.float32),
    }

    outputs, gradients = deform_conv2d_with_gradients(implementation, arrays, 1.0, {})

    np.testing.assert_array_equal(outputs, np.zeros((1, 2, 3, 1)))
    expected_dy = [0.75 * 1.0 + 0.25 * 2.0, 0.75 * 2.0 + 0.25 * 4.0, 0.75 * 4.0]
    np.testing.assert_allclose(gradients["offsets"][0, 0, :, 0], expected_dy, rtol=1e-6)
    np.testing.assert_array_equal(gradients["offsets"][0, 0, :, 1], np.zeros(3))
    np.testing.assert_array_equal(gradients["offsets"][0, 1], np.zeros((3, 2)))
    np.testing.assert_array_equal(gradients["inputs"], np.zeros((1, 2, 3, 1)))


def test_empty_batch_gives_empty_gradients_and_a_zero_kernel_gradient(implementation):
    arrays = {
        "inputs": np.zeros((0, 5, 6, 2), np.float32),
        "offsets": np.zeros((0, 5, 6, 18), np.float32),
        "mask": np.zeros((0, 5, 6, 9), np.float32),
        "kernel": np.ones((3, 3, 2, 4), np.float32),
    }

    outputs, gradients = deform_conv2d_with_gradients(implementation, arrays, 1.0, {"padding": 1})

    assert outputs.shape == (0, 5, 6, 4)
    for name in ("inputs", "offsets", "mask"):
        assert gradients[name].shape == arrays[name].shape, name
    np.testing.assert_array_equal(gradients["kernel"], np.zeros((3, 3, 2, 4)))
