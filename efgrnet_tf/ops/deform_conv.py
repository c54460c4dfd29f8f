"""Public deformable convolution: argument checks and the choice between the two kernels.

`deform_conv2d` runs either the compiled `EfgrnetDeformConv2D` op (C++/CUDA, loaded by
`efgrnet_tf.ops.custom_op_library`) or its stock-TensorFlow twin
(`efgrnet_tf.ops.deform_conv_pure_tf`). Both follow torchvision.ops.deform_conv2d exactly.
"""

import functools
import numbers

import tensorflow as tf
from absl import logging

from efgrnet_tf.ops import custom_op_library
from efgrnet_tf.ops.deform_conv_pure_tf import deform_conv2d_pure_tf

IMPLEMENTATIONS = ("auto", "custom_op", "pure_tf", "crop_and_resize")
# The implementations made of stock TensorFlow ops, and the sampler of the twin each runs.
STOCK_TF_SAMPLERS = {"pure_tf": "gather", "crop_and_resize": "crop_and_resize"}


def deform_conv_output_size(size, kernel, stride=1, padding=0, dilation=1):
    """Output length of a (deformable) convolution along one spatial axis.

    Args:
        size: input length (H or W).
        kernel: kernel length (kh or kw).
        stride, padding, dilation: of that axis; `padding` zeros on each side.

    Returns:
        `(size + 2 * padding - (dilation * (kernel - 1) + 1)) // stride + 1`, the length the
        offsets and mask of `deform_conv2d` must have on that axis.
    """
    return (size + 2 * padding - (dilation * (kernel - 1) + 1)) // stride + 1


def deform_conv2d(
    inputs,
    offsets,
    kernel,
    *,
    strides=1,
    padding=0,
    dilations=1,
    deformable_groups=1,
    mask=None,
    implementation="auto",
):
    """Deformable 2-D convolution (DCNv1; DCNv2 with `mask`), semantics of torchvision's.

    For output pixel `(oy, ox)`, tap `k = i * kw + j` and deformable group `g`, the sample
    position is `y = oy * sh - ph + i * dh + dy`, `x = ox * sw - pw + j * dw + dx`, where
    `dy = offsets[n, oy, ox, g * 2 * kh * kw + 2 * k]` and `dx` is the next channel. The
    sampled value of channel c (group `g = c // (C / G)`) is 0 when `y <= -1`, `y >= H`,
    `x <= -1` or `x >= W`; otherwise the bilinear blend of the corners `(floor(y) + {0, 1},
    floor(x) + {0, 1})`, each corner outside the image counting as 0 (zero padding, no border
    clamping). It is multiplied by `mask[n, oy, ox, g * kh * kw + k]` when a mask is given, and
    `outputs[n, oy, ox, o] = sum over i, j, c of sample * kernel[i, j, c, o]`. With zero
    offsets and no mask this is `tf.nn.conv2d` with explicit zero padding.

    Both implementations are differentiable with respect to inputs, offsets, mask and kernel,
    with torchvision's backward conventions: at integer coordinates the corners are `floor(y)`
    and `floor(y) + 1`, and at exactly `y == -1` (or `x == -1`) the offset gradient is the
    one-sided derivative from inside the image although the value there is 0. Graphs meant for
    export should use stock ops (`"crop_and_resize"`, or `"pure_tf"` for XLA and LiteRT): a
    SavedModel holding the custom op needs our library loaded.

    Args:
        inputs: `[N, H, W, C]` float tensor (NHWC); C must be known statically.
        offsets: `[N, Ho, Wo, 2 * G * kh * kw]`, same dtype as `inputs`, dy then dx per tap.
        kernel: `[kh, kw, C, O]` (HWIO), same dtype, statically shaped.
        strides: int or `(sh, sw)`, positive.
        padding: int or `(ph, pw)`, non-negative zero padding on each side.
        dilations: int or `(dh, dw)`, positive.
        deformable_groups: G, a positive divisor of C.
        mask: optional `[N, Ho, Wo, G * kh * kw]` modulation (DCNv2), same dtype.
        implementation: `"custom_op"` (the compiled op; an error when its library did not load),
            `"pure_tf"` (stock ops: any device, XLA, LiteRT, SavedModels without our library),
            `"crop_and_resize"` (stock ops sampling by `tf.image.crop_and_resize`: CPU and GPU,
            not XLA or LiteRT; faster than `"pure_tf"` in inference, slower in training, whose
            backward recomputes pure TF's samples) or `"auto"` (the custom op when its
            library loaded, else pure TF; logged once).

    Returns:
        `[N, Ho, Wo, O]` tensor of the dtype of `inputs`, with
        `Ho = deform_conv_output_size(H, kh, sh, ph, dh)` and likewise `Wo`.

    Raises:
        ValueError: a static rank, size, channel count, dtype or argument value is invalid;
            the message names the argument.
        RuntimeError: `implementation="custom_op"` but the op library is not loaded.
    """
    implementation = resolve_implementation(implementation)
    strides = _positive_pair(strides, "strides")
    dilations = _positive_pair(dilations, "dilations")
    padding = _non_negative_pair(padding, "padding")
    if not _is_int(deformable_groups) or deformable_groups < 1:
        raise ValueError(f"deformable_groups must be a positive int, got {deformable_groups!r}.")
    deformable_groups = int(deformable_groups)

    inputs = tf.convert_to_tensor(inputs)
    offsets = tf.convert_to_tensor(offsets)
    kernel = tf.convert_to_tensor(kernel)
    if mask is not None:
        mask = tf.convert_to_tensor(mask)
    _check_shapes(inputs, offsets, kernel, mask, strides, padding, dilations, deformable_groups)

    if implementation in STOCK_TF_SAMPLERS:
        return deform_conv2d_pure_tf(
            inputs,
            offsets,
            kernel,
            mask,
            strides,
            padding,
            dilations,
            deformable_groups,
            sampler=STOCK_TF_SAMPLERS[implementation],
        )
    library = custom_op_library.load_deform_conv_library()
    if library is None:
        raise RuntimeError(
            "implementation='custom_op' but the deformable-convolution op library did not load: "
            f"{custom_op_library.library_load_error()}"
        )
    use_mask = mask is not None
    op_args = dict(
        input=inputs,
        offset=offsets,
        mask=mask if use_mask else tf.zeros([0], inputs.dtype),
        kernel=kernel,
        strides=list(strides),
        padding=list(padding),
        dilations=list(dilations),
        deformable_groups=deformable_groups,
        use_mask=use_mask,
    )
    if not _gemm_by_matmul(inputs.dtype):
        return library.efgrnet_deform_conv2d(**op_args)
    # bfloat16 on the CPU: the op samples, TensorFlow's MatMul (oneDNN: AMX / AVX512-BF16
    # with float32 accumulation) multiplies; its gradient gives grad_kernel and grad_columns.
    columns = library.efgrnet_deform_im2_col(**op_args)
    kh, kw, channels, out_channels = kernel.shape
    rows = tf.reshape(columns, [-1, kh * kw * channels])
    outputs = tf.matmul(rows, tf.reshape(kernel, [kh * kw * channels, out_channels]))
    return tf.reshape(outputs, tf.concat([tf.shape(columns)[:3], [out_channels]], axis=0))


def _gemm_by_matmul(dtype):
    """Whether the custom op leaves the GEMM to `tf.matmul`: bfloat16 without a GPU, where
    oneDNN's bfloat16 MatMul is ~4x the fused op's float32 GEMM (custom_ops/README.md)."""
    return dtype == tf.bfloat16 and not tf.config.list_logical_devices("GPU")


def resolve_implementation(implementation):
    """The kernel that `implementation` selects in this process.

    Args:
        implementation: one of `IMPLEMENTATIONS`.

    Returns:
        `implementation` itself, except `"auto"`: the custom op when its library loaded, else
        `"pure_tf"`. Only `"pure_tf"` compiles under XLA (neither the op library nor
        `crop_and_resize` has an XLA kernel).

    Raises:
        ValueError: `implementation` is none of `IMPLEMENTATIONS`.
    """
    if implementation not in IMPLEMENTATIONS:
        raise ValueError(
            f"implementation must be one of {IMPLEMENTATIONS}, got {implementation!r}."
        )
    return _auto_implementation() if implementation == "auto" else implementation


@functools.cache
def _auto_implementation():
    """The implementation `"auto"` stands for in this process, logged the first time.

    The custom op whenever its library loaded, for every dtype: on the CPU it was measured
    1.8-6.7x faster than the pure-TF twin in float32 and bfloat16, forward and forward+backward,
    at the FGRM shapes of the 320 and 512 models (docs/performance.md); on the GPU it is the
    CUDA kernel. Only XLA-compiled graphs need the twin, and they get it through the layer's
    `supports_jit`, not through this choice.
    """
    if custom_op_library.load_deform_conv_library() is not None:
        logging.info("deform_conv2d: using the compiled EfgrnetDeformConv2D op.")
        return "custom_op"
    logging.info(
        "deform_conv2d: op library unavailable (%s); using the pure-TensorFlow implementation.",
        custom_op_library.library_load_error(),
    )
    return "pure_tf"


def int_pair(value, name):
    """`value` as a pair of Python ints, from an int or a length-2 sequence of ints.

    Raises:
      ValueError: `value` is neither (bools are no ints); the message names `name`.
    """
    try:
        pair = (value, value) if _is_int(value) else tuple(value)
    except TypeError:
        pair = ()
    if len(pair) != 2 or not all(_is_int(v) for v in pair):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}.")
    return tuple(int(v) for v in pair)


def _is_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_pair(value, name):
    pair = int_pair(value, name)
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}.")
    return pair


def _non_negative_pair(value, name):
    pair = int_pair(value, name)
    if min(pair) < 0:
        raise ValueError(f"{name} must be non-negative, got {value!r}.")
    return pair


def _check_shapes(inputs, offsets, kernel, mask, strides, padding, dilations, groups):
    """Raises ValueError naming the argument whose static shape or dtype is inconsistent."""
    for name, tensor in (("inputs", inputs), ("offsets", offsets), ("kernel", kernel)) + (
        (("mask", mask),) if mask is not None else ()
    ):
        if tensor.shape.rank != 4:
            raise ValueError(f"{name} must have rank 4, got shape {tensor.shape}.")
        if tensor.dtype != inputs.dtype:
            raise ValueError(
                f"{name} must have the dtype of inputs ({inputs.dtype.name}), "
                f"got {tensor.dtype.name}."
            )
    if not inputs.dtype.is_floating:
        raise ValueError(f"inputs must be a float tensor, got {inputs.dtype.name}.")
    if not kernel.shape.is_fully_defined():
        raise ValueError(f"kernel must have a static shape [kh, kw, C, O], got {kernel.shape}.")
    kh, kw, kernel_channels, _ = kernel.shape
    if min(kernel.shape) < 1:
        raise ValueError(f"kernel sizes must be positive, got shape {kernel.shape}.")
    batch, height, width, channels = inputs.shape
    if channels is None:
        raise ValueError(f"inputs must have a static channel count, got shape {inputs.shape}.")
    if channels != kernel_channels:
        raise ValueError(
            f"kernel input channels ({kernel_channels}) must equal the inputs channels "
            f"({channels}); kernel is HWIO [kh, kw, C, O]."
        )
    if channels % groups:
        raise ValueError(
            f"deformable_groups ({groups}) must divide the inputs channels ({channels})."
        )

    out_size = [None, None]
    for axis, (size, k) in enumerate(((height, kh), (width, kw))):
        if size is not None:
            out_size[axis] = deform_conv_output_size(
                size, k, strides[axis], padding[axis], dilations[axis]
            )
            if out_size[axis] < 1:
                raise ValueError(
                    f"inputs spatial size {size} on axis {axis + 1} is smaller than the dilated "
                    f"kernel ({dilations[axis] * (k - 1) + 1}) plus padding."
                )
    taps = kh * kw
    expected = [("offsets", offsets, 2 * groups * taps)]
    if mask is not None:
        expected.append(("mask", mask, groups * taps))
    for name, tensor, expected_channels in expected:
        if tensor.shape[3] is not None and tensor.shape[3] != expected_channels:
            raise ValueError(
                f"{name} must have {expected_channels} channels for deformable_groups={groups} "
                f"and a {kh}x{kw} kernel, got shape {tensor.shape}."
            )
        for axis, want in ((0, batch), (1, out_size[0]), (2, out_size[1])):
            have = tensor.shape[axis]
            if want is not None and have is not None and have != want:
                raise ValueError(
                    f"{name} must have shape [N, Ho, Wo, {expected_channels}] = "
                    f"[{batch}, {out_size[0]}, {out_size[1]}, {expected_channels}] for inputs "
                    f"{inputs.shape}, got {tensor.shape}."
                )
