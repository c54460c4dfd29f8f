"""Deformable convolution in stock TensorFlow ops: bilinear sampling + one matmul.

The twin of the compiled `EfgrnetDeformConv2D` op, with the same semantics
(torchvision.ops.deform_conv2d, see `efgrnet_tf.ops.deform_conv2d`). It uses only stock ops, so
it survives in SavedModels loaded without our op library. Two samplers compute the same values:

- `"gather"`: four gathers and blends. It runs on any device, compiles under XLA and converts
  to LiteRT builtins.
- `"crop_and_resize"`: one `tf.image.crop_and_resize` call of 1x1 crops, each centred on a
  sample, on the input padded by a ring of zeros. It has kernels for CPU and GPU, but not for
  XLA or LiteRT. Its forward is 2-3.7x faster than the gathers' (docs/performance.md), and its
  gradients are the gather sampler's. Its samples and coordinates are float32 (float64 inputs
  lose their extra precision there).

The gather sampler's gradients for every input come from TensorFlow autodiff and reproduce
torchvision's backward kernels: `tf.floor` has no gradient, so a bilinear weight is
differentiated through the fractional part with the corners `floor(y)` and `floor(y) + 1` also
at integer coordinates, and the sample value is the sum over in-image corners only (no separate
range test). That sum is 0 whenever `y <= -1`, `y >= H`, `x <= -1` or `x >= W`, as the semantics
require, while at exactly `y == -1` (or `x == -1`) the offset gradient is the one-sided
derivative from inside the image, as torchvision's `get_coordinate_weight` computes it.

In the gather sampler no intermediate tensor has more than 4 dimensions, the limit of several
TFLite kernels (StridedSlice, broadcasting arithmetic).

Arguments are not validated here; `efgrnet_tf.ops.deform_conv.deform_conv2d` does that.
"""

import tensorflow as tf

# Precisions too coarse for bilinear weights and sums; they are computed in float32.
_LOW_PRECISION = (tf.float16, tf.bfloat16)
# Dtypes whose final GEMM runs in the input dtype: TF's bfloat16 MatMul accumulates in float32
# (oneDNN on CPUs with AMX/AVX512-BF16), so only the GEMM operands are rounded. float16 keeps
# its float32 GEMM.
_GEMM_IN_INPUT_DTYPE = (tf.bfloat16,)


def deform_conv2d_pure_tf(
    inputs, offsets, kernel, mask, strides, padding, dilations, deformable_groups, sampler="gather"
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
        sampler: `"gather"` or `"crop_and_resize"` (see the module docstring).

    Returns:
        `[N, Ho, Wo, O]` in the dtype of `inputs`, with
        `Ho = (H + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1` and likewise `Wo`. Float16 and
        bfloat16 inputs are sampled in float32 (coordinates and bilinear weights need its
        precision); the GEMM of the samples with the kernel then runs in bfloat16 (float32
        accumulation) for bfloat16 inputs, in float32 for float16 ones.
    """
    out_dtype = inputs.dtype
    compute_dtype = tf.float32 if out_dtype in _LOW_PRECISION else out_dtype
    gemm_dtype = out_dtype if out_dtype in _GEMM_IN_INPUT_DTYPE else compute_dtype
    inputs = tf.cast(inputs, compute_dtype)
    offsets = tf.cast(offsets, compute_dtype)

    kh, kw, channels, filters = kernel.shape
    taps = kh * kw
    groups = deformable_groups
    sh, sw = strides
    ph, pw = padding
    dh, dw = dilations

    input_shape = tf.shape(inputs)
    batch, height, width = input_shape[0], input_shape[1], input_shape[2]
    out_height = (height + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    out_width = (width + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1

    # Sample coordinates [N, Ho, Wo, G * K] (channel g * K + k, the mask's layout): the regular
    # grid of tap k plus its offset. Offsets interleave dy, dx, so every other channel is one.
    tap_rows = tf.constant([(k // kw) * dh for _ in range(groups) for k in range(taps)])
    tap_cols = tf.constant([(k % kw) * dw for _ in range(groups) for k in range(taps)])
    grid_y = tf.reshape(tf.range(out_height) * sh - ph, [1, -1, 1, 1])
    grid_x = tf.reshape(tf.range(out_width) * sw - pw, [1, 1, -1, 1])
    y = tf.cast(grid_y + tap_rows, compute_dtype) + offsets[..., 0::2]
    x = tf.cast(grid_x + tap_cols, compute_dtype) + offsets[..., 1::2]
    scale = None if mask is None else tf.cast(mask, compute_dtype)

    if sampler == "crop_and_resize":
        columns = _crop_and_resize_samples(inputs, y, x, groups, taps)
        if scale is not None:
            columns *= tf.reshape(scale, [-1, 1])
    else:
        columns = _bilinear_samples(inputs, y, x, scale, groups, taps)
    # Rows (n, oy, ox, g, k) -> [N * Ho * Wo, K * C] with column k * C + c, which meets
    # kernel[i, j, c] in the flattened kernel.
    if groups > 1:
        columns = tf.transpose(
            tf.reshape(columns, [-1, groups, taps, channels // groups]), [0, 2, 1, 3]
        )
    columns = tf.cast(tf.reshape(columns, [-1, taps * channels]), gemm_dtype)
    kernel = tf.cast(tf.reshape(kernel, [taps * channels, filters]), gemm_dtype)
    outputs = tf.matmul(columns, kernel)
    outputs = tf.reshape(outputs, [batch, out_height, out_width, filters])
    return tf.cast(outputs, out_dtype)


def _bilinear_samples(inputs, y, x, scale, groups, taps):
    """Zero-padded bilinear samples of each channel group at its own positions.

    Every tensor here has at most 4 dimensions, the limit of several TFLite kernels, so the
    function converts to LiteRT builtins.

    Args:
        inputs: `[N, H, W, C]`.
        y, x: `[N, Ho, Wo, G * K]` sample rows and columns (pixel units); channel `g * K + k`
            is tap k of group g.
        scale: `[N, Ho, Wo, G * K]` factor of each sample (the modulation mask), or None.
        groups: G.
        taps: K.

    Returns:
        `[N * Ho * Wo * G * K, C / G]`: row `(((n * Ho + oy) * Wo + ox) * G + g) * K + k` holds
        channels `g * C / G ...` of `inputs` sampled at `(y, x)[n, oy, ox, g * K + k]`, times
        `scale` there.
    """
    input_shape = tf.shape(inputs)
    batch, height, width = input_shape[0], input_shape[1], input_shape[2]
    dtype = inputs.dtype

    # Corners outside the image count 0, which alone makes samples outside the open range
    # (-1, H) x (-1, W) worth 0. Clipping to [-2, H + 1] keeps the int casts defined and changes
    # no value or gradient: beyond it every corner is outside.
    y = tf.clip_by_value(y, -2.0, tf.cast(height + 1, dtype))
    x = tf.clip_by_value(x, -2.0, tf.cast(width + 1, dtype))
    y_low = tf.floor(y)
    x_low = tf.floor(x)
    ly = y - y_low
    lx = x - x_low
    y_low = tf.cast(y_low, tf.int32)
    x_low = tf.cast(x_low, tf.int32)

    # Rows of one channel group in [N * H * W * G, C / G]: (n, r, c, g) is row
    # ((n * H + r) * W + c) * G + g.
    flat_inputs = tf.reshape(inputs, [-1, inputs.shape[-1] // groups])
    group_of_channel = tf.constant([g for g in range(groups) for _ in range(taps)])
    sample_base = (
        tf.reshape(tf.range(batch) * (height * width * groups), [-1, 1, 1, 1]) + group_of_channel
    )
    samples = None
    for row_step, col_step, weight in (
        (0, 0, (1.0 - ly) * (1.0 - lx)),
        (0, 1, (1.0 - ly) * lx),
        (1, 0, ly * (1.0 - lx)),
        (1, 1, ly * lx),
    ):
        rows = y_low + row_step
        cols = x_low + col_step
        in_image = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
        pixel = tf.clip_by_value(rows, 0, height - 1) * width + tf.clip_by_value(cols, 0, width - 1)
        if scale is not None:
            weight *= scale
        weight = tf.where(in_image, weight, tf.zeros_like(weight))
        corner = tf.gather(flat_inputs, tf.reshape(sample_base + pixel * groups, [-1]))
        corner *= tf.reshape(weight, [-1, 1])
        samples = corner if samples is None else samples + corner
    return samples


def _crop_and_resize_samples(inputs, y, x, groups, taps):
    """`_bilinear_samples` without scale, by `tf.image.crop_and_resize`; same rows and values.

    Each sample is a 1x1 crop centred on `(y + 1, x + 1)` of the inputs padded by one zero
    pixel on every side. `crop_and_resize` blends the corners `floor` and `ceil` of a
    coordinate and returns 0 outside `[0, H + 1]`; with the zero ring that is the zero-padded
    bilinear sample everywhere: corners outside the image meet the ring or count 0. Its own
    coordinate gradient is 0 at integer coordinates (where `floor == ceil`), unlike
    torchvision's, so the gradients are the gather sampler's, recomputed in the backward pass.
    """

    @tf.custom_gradient
    def sample(inputs, y, x):
        def gradient(upstream):
            with tf.GradientTape() as tape:
                tape.watch([inputs, y, x])
                reference = _bilinear_samples(inputs, y, x, None, groups, taps)
            return tape.gradient(reference, [inputs, y, x], output_gradients=upstream)

        return _crop_and_resize_forward(inputs, y, x, groups, taps), gradient

    return sample(inputs, y, x)


def _crop_and_resize_forward(inputs, y, x, groups, taps):
    """The samples of `_crop_and_resize_samples`: `[N * Ho * Wo * G * K, C / G]`."""
    input_shape = tf.shape(inputs)
    batch, height, width = input_shape[0], input_shape[1], input_shape[2]
    group_channels = inputs.shape[-1] // groups
    images = inputs
    if groups > 1:
        # One image per (n, g): [N * G, H, W, C / G], image n * G + g.
        images = tf.reshape(inputs, [batch, height, width, groups, group_channels])
        images = tf.reshape(
            tf.transpose(images, [0, 3, 1, 2, 4]), [-1, height, width, group_channels]
        )
    images = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]])
    # A 1x1 crop of box (y1, x1, y2, x2) samples row y1 * (padded height - 1).
    box_y = tf.reshape((y + 1.0) / tf.cast(height + 1, y.dtype), [-1])
    box_x = tf.reshape((x + 1.0) / tf.cast(width + 1, x.dtype), [-1])
    boxes = tf.cast(tf.stack([box_y, box_x, box_y, box_x], axis=1), tf.float32)
    image_of_channel = tf.constant([g for g in range(groups) for _ in range(taps)])
    box_image = tf.reshape(
        tf.broadcast_to(
            tf.reshape(tf.range(batch) * groups, [-1, 1, 1, 1]) + image_of_channel, tf.shape(y)
        ),
        [-1],
    )
    samples = tf.image.crop_and_resize(
        images,
        boxes,
        box_image,
        crop_size=[1, 1],
        extrapolation_value=0.0,
    )
    return tf.cast(tf.reshape(samples, [-1, group_channels]), inputs.dtype)
