"""`deform_conv2d` in bfloat16 against the float64 NumPy reference, forward and all gradients,
both implementations; and the custom op's bfloat16 GEMMs are TensorFlow's MatMul.

The reference runs on the bfloat16-rounded inputs, so what is checked is the op's own error:
its float32 sampling, bfloat16 GEMM operands (float32 accumulation) and one rounding of each
result, about 2^-8 of the result's scale.
"""

import numpy as np
import pytest
import tensorflow as tf
from deform_conv_cases import CASES, deform_conv2d_with_gradients, parametrize_cases, random_case
from deform_conv_reference import deform_conv2d_reference

from efgrnet_tf.ops import deform_conv2d

# Of the largest reference value: bfloat16 rounds to 8 significant bits (0.4%); the sums over
# taps and channels and the rounding of every operand add a few of those.
RELATIVE_TOLERANCE = 2e-2

BFLOAT16_CASES = ("3x3_pad1_groups2_mask", "3x3_stride2_pad3_dil3")


def _bfloat16_rounded(array):
    return None if array is None else tf.cast(tf.cast(array, tf.bfloat16), tf.float64).numpy()


def _assert_close_at_bfloat16_scale(actual, expected, name):
    actual = tf.cast(actual, tf.float64).numpy()
    scale = np.abs(expected).max()
    assert scale > 0, f"{name}: an all-zero reference proves nothing"
    error = np.abs(actual - expected).max() / scale
    assert error <= RELATIVE_TOLERANCE, f"{name}: max error {error:.4f} of the largest value"


@parametrize_cases(*BFLOAT16_CASES)
def test_bfloat16_forward_and_gradients_match_the_float64_reference(implementation, case):
    inputs, offsets, kernel, mask, conv_args = random_case(3, case)
    named = {"inputs": inputs, "offsets": offsets, "kernel": kernel, "mask": mask}
    arrays = {name: _bfloat16_rounded(value) for name, value in named.items() if value is not None}
    shape = deform_conv2d_reference(
        arrays["inputs"], arrays["offsets"], arrays["kernel"], mask=arrays.get("mask"), **conv_args
    ).shape
    grad_outputs = _bfloat16_rounded(np.random.default_rng(4).normal(size=shape))
    expected = deform_conv2d_reference(
        arrays["inputs"],
        arrays["offsets"],
        arrays["kernel"],
        mask=arrays.get("mask"),
        grad_outputs=grad_outputs,
        **conv_args,
    )

    outputs, gradients = deform_conv2d_with_gradients(
        implementation, arrays, grad_outputs, conv_args, dtype=tf.bfloat16
    )

    assert outputs.dtype == tf.bfloat16.as_numpy_dtype
    _assert_close_at_bfloat16_scale(outputs, expected["outputs"], "outputs")
    for name, gradient in gradients.items():
        assert gradient.dtype == tf.bfloat16.as_numpy_dtype, name
        _assert_close_at_bfloat16_scale(gradient, expected[f"grad_{name}"], f"grad_{name}")
    assert gradients.keys() == arrays.keys()


def _traced_forward_and_gradients(implementation, conv_args):
    """A tf.function of (x, offsets, kernel): deform_conv2d and its gradients for all three."""

    @tf.function
    def forward_and_gradients(x, offsets, kernel):
        with tf.GradientTape() as tape:
            tape.watch([x, offsets, kernel])
            y = deform_conv2d(x, offsets, kernel, implementation=implementation, **conv_args)
        return tape.gradient(y, [x, offsets, kernel])

    return forward_and_gradients


def _op_types(function, *args):
    graph = function.get_concrete_function(*args).graph
    types = {op.type for op in graph.get_operations()}
    for f in graph.as_graph_def().library.function:
        types.update(node.op for node in f.node_def)
    return types


def test_bfloat16_custom_op_leaves_its_gemms_to_matmul():
    inputs, offsets, kernel, _, conv_args = random_case(5, CASES["3x3_stride2_pad3_dil3"])
    args = [tf.constant(a, tf.bfloat16) for a in (inputs, offsets, kernel)]

    forward_and_gradients = _traced_forward_and_gradients("custom_op", conv_args)

    types = _op_types(forward_and_gradients, *args)
    assert {"EfgrnetDeformIm2Col", "EfgrnetDeformCol2Im", "MatMul"} <= types
    assert "EfgrnetDeformConv2D" not in types
    float32_types = _op_types(forward_and_gradients, *[tf.cast(a, tf.float32) for a in args])
    assert "EfgrnetDeformConv2D" in float32_types


def _matmul_dtypes(function, *args):
    graph = function.get_concrete_function(*args).graph
    nodes = [(op.type, op.node_def) for op in graph.get_operations()]
    for f in graph.as_graph_def().library.function:
        nodes.extend((node.op, node) for node in f.node_def)
    return {tf.as_dtype(node.attr["T"].type) for op_type, node in nodes if op_type == "MatMul"}


@pytest.mark.parametrize(
    ("dtype", "gemm_dtype"),
    [(tf.bfloat16, tf.bfloat16), (tf.float16, tf.float32), (tf.float32, tf.float32)],
)
def test_pure_tf_gemms_run_in_bfloat16_only_for_bfloat16_inputs(dtype, gemm_dtype):
    inputs, offsets, kernel, _, conv_args = random_case(5, CASES["3x3_stride2_pad3_dil3"])
    args = [tf.constant(a, dtype) for a in (inputs, offsets, kernel)]

    forward_and_gradients = _traced_forward_and_gradients("pure_tf", conv_args)

    # The forward GEMM and its two gradient GEMMs.
    assert _matmul_dtypes(forward_and_gradients, *args) == {gemm_dtype}
