"""Analytic FLOP count of a Keras model's forward pass (convolutions and matrix products).

The model is traced once at a fixed input shape and every op of the resulting graph is
inspected: a `Conv2D` op counts `2 * N * Ho * Wo * O * kh * kw * C` (a multiply-add is two
FLOPs); a `MatMul`/`BatchMatMul` counts `2 * M * K * N` — the pure-TF deformable conv
ends in such a product of its sampled columns `[N * Ho * Wo, kh * kw * C]` with the kernel, so
it counts exactly as the conv of the same shape; the compiled `EfgrnetDeformConv2D` op is
counted as that conv too. Bilinear sampling, BN, activations, pooling and additions are
not counted (the usual convention of detection papers).
"""

import math

import tensorflow as tf

_CONV_OPS = ("Conv2D", "EfgrnetDeformConv2D")
_MATMUL_OPS = ("MatMul", "BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")


def count_flops(model, input_shape):
    """FLOPs of one forward pass of `model` on an input of `input_shape`.

    Args:
        model: a Keras model (or any callable of one tensor), called with `training=False`.
        input_shape: full static input shape, e.g. `(1, 320, 320, 3)`.
    Returns:
        int FLOPs (2 per multiply-add) of all convolutions and matrix products.
    """
    spec = tf.TensorSpec(input_shape, tf.float32)
    graph = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec).graph
    return sum(op_flops(op) for op in graph.get_operations())


def op_flops(op: tf.Operation) -> int:
    """FLOPs (2 per multiply-add) of one convolution or matrix-product op; 0 for other ops."""
    if op.type in _CONV_OPS:
        output = op.outputs[0].shape
        kernel = op.inputs[3 if op.type == "EfgrnetDeformConv2D" else 1].shape
        kh, kw, channels, _ = kernel
        return 2 * math.prod(output) * kh * kw * channels
    if op.type in _MATMUL_OPS:
        a, b = op.inputs[0].shape, op.inputs[1].shape
        transpose_a = op.get_attr("transpose_a" if op.type == "MatMul" else "adj_x")
        transpose_b = op.get_attr("transpose_b" if op.type == "MatMul" else "adj_y")
        rows = a[-1] if transpose_a else a[-2]
        inner = a[-2] if transpose_a else a[-1]
        cols = b[-2] if transpose_b else b[-1]
        batch = math.prod(a[:-2]) if len(a) > 2 else 1
        return 2 * batch * rows * inner * cols
    return 0
