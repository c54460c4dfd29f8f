"""Deformable convolution in stock TensorFlow ops: gather-based bilinear sampling + one matmul.

The twin of the compiled `EfgrnetDeformConv2D` op, with the same semantics
(torchvision.ops.deform_conv2d, see `efgrnet_tf.ops.deform_conv2d`). It uses only stock ops, so
it runs on any device, compiles under XLA and survives in SavedModels loaded without our op
library. Gradients for every input come from TensorFlow autodiff: `tf.floor` has no gradient,
so the derivative of a bilinear weight with respect to its sample coordinate is that of the
fractional part, which is torchvision's convention (corners `floor(y)` and `floor(y) + 1`, also at
exact integer coordinates).

Arguments are not validated here; `efgrnet_tf.ops.deform_conv.deform_conv2d` does that.
"""

import tensorflow as tf

# Precisions too coarse for bilinear weights and sums; they are computed in float32.
_LOW_PRECISION = (tf.float16, tf.bfloat16)


def deform_conv2d_pure_tf(
    inputs, offsets, kernel, mask, strides, padding, dilations, deformable_groups
):
    """Deformable 2-D convolution (DCNv1, or DCNv2 when `mask` is given) without custom ops.

    Args:
        inputs: `[N, H, W, C]` images or features (NHWC); C must be known statically.
        offsets: `[N, Ho, Wo, 2 * G * kh * kw]`; channel `g * 2 * kh * kw + 2 * k` is the row
            offset dy and the next one the column offset dx of tap `k = i * kw + j`, group `g`.
        kernel: `[kh, kw, C, O]` (HWIO), statically shaped.
        mask: `[N, Ho, Wo, G * kh * kw]` modulation (channel `g * kh * kw + k`), or None.
        strides: `(sh, sw)` positive ints.
        padding: `(ph, pw)` non-negative ints of implicit zero padding.
        dilations: `(dh, dw)` positive ints.
        deformable_groups: G, dividing C; input channel c uses the offsets of group
            `c // (C / G)`.

    Returns:
        `[N, Ho, Wo, O]` in the dtype of `inputs`, with
        `Ho = (H + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1` and likewise `Wo`. Float16 and
        bfloat16 inputs are computed in float32 and cast back.
    """
    out_dtype = inputs.dtype
    compute_dtype = tf.float32 if out_dtype in _LOW_PRECISION else out_dtype
    inputs = tf.cast(inputs, compute_dtype)
    offsets = tf.cast(offsets, compute_dtype)
    kernel = tf.cast(kernel, compute_dtype)

    kh, kw, channels, filters = kernel.shape
    taps = kh * kw
    groups = deformable_groups
    group_channels = channels // groups
    sh, sw = strides
    ph, pw = padding
    dh, dw = dilations

    input_shape = tf.shape(inputs)
    batch, height, width = input_shape[0], input_shape[1], input_shape[2]
    out_height = (height + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    out_width = (width + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1

    # Sample coordinates [N, Ho, Wo, G, K]: the regular grid of tap k plus its offset.
    offsets = tf.reshape(offsets, [batch, out_height, out_width, groups, taps, 2])
    tap_rows = tf.constant([(k // kw) * dh for k in range(taps)], compute_dtype)
    tap_cols = tf.constant([(k % kw) * dw for k in range(taps)], compute_dtype)
    grid_y = tf.cast(tf.range(out_height) * sh - ph, compute_dtype)
    grid_x = tf.cast(tf.range(out_width) * sw - pw, compute_dtype)
    y = grid_y[:, None, None, None] + tap_rows + offsets[..., 0]
    x = grid_x[None, :, None, None] + tap_cols + offsets[..., 1]

    height_f = tf.cast(height, compute_dtype)
    width_f = tf.cast(width, compute_dtype)
    inside = (y > -1.0) & (y < height_f) & (x > -1.0) & (x < width_f)
    # Samples outside the open range sample nothing; clamping them keeps the int casts defined.
    y = tf.where(inside, y, tf.zeros_like(y))
    x = tf.where(inside, x, tf.zeros_like(x))
    scale = tf.cast(inside, compute_dtype)
    if mask is not None:
        mask = tf.cast(mask, compute_dtype)
        scale *= tf.reshape(mask, [batch, out_height, out_width, groups, taps])

    y_low = tf.floor(y)
    x_low = tf.floor(x)
    ly = y - y_low
    lx = x - x_low
    y_low = tf.cast(y_low, tf.int32)
    x_low = tf.cast(x_low, tf.int32)

    # Gather rows of one channel group from [N * H * W * G, C / G]; the row of (n, r, c, g) is
    # ((n * H + r) * W + c) * G + g.
    flat_inputs = tf.reshape(inputs, [-1, group_channels])
    sample_base = (
        tf.range(batch)[:, None, None, None, None] * (height * width * groups)
        + tf.range(groups)[:, None]
    )
    columns = None
    for dy, dx, weight in (
        (0, 0, (1.0 - ly) * (1.0 - lx)),
        (0, 1, (1.0 - ly) * lx),
        (1, 0, ly * (1.0 - lx)),
        (1, 1, ly * lx),
    ):
        rows = y_low + dy
        cols = x_low + dx
        valid = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        index = (
            sample_base
            + (tf.clip_by_value(rows, 0, height - 1) * width + tf.clip_by_value(cols, 0, width - 1))
            * groups
        )
        weight = tf.where(valid, weight * scale, tf.zeros_like(weight))
        corner = tf.gather(flat_inputs, index) * weight[..., None]
        columns = corner if columns is None else columns + corner

    # [N, Ho, Wo, G, K, C/G] -> [N, Ho, Wo, K, G, C/G]: column k * C + c meets kernel[i, j, c].
    if groups > 1:
        columns = tf.transpose(columns, [0, 1, 2, 4, 3, 5])
    columns = tf.reshape(columns, [-1, taps * channels])
    outputs = tf.matmul(columns, tf.reshape(kernel, [taps * channels, filters]))
    outputs = tf.reshape(outputs, [batch, out_height, out_width, filters])
    return tf.cast(outputs, out_dtype)
