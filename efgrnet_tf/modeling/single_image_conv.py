"""One float32 image on a small, deep map convolved as one MatMul per kernel tap (CPU latency).

oneDNN's float32 direct convolution takes about as long for one image as for two on the
detector's small, deep maps (a 3x3 1024→1024 conv on 20x20: 125 ms at batch 1, 108 ms at batch
2, with one thread or two), so batch-1 inference on a CPU runs those layers at half its rate.
The same convolution as `sum_ij window(x, i, j) @ W[i, j]`, one MatMul per tap, runs at MatMul
speed: 0.43-0.84x the direct conv's time at batch 1 where `applies` says yes, 1.1-1.5x at batch 2
and more and on shallow or small convs, where it says no (docs/performance.md).

`Conv2D` (`efgrnet_tf/modeling/conv2d.py`) takes this path for one float32 image, chosen at run
time where the batch is not known when tracing (SavedModels); bfloat16, GPUs, larger batches and
TensorFlow's own CPU kernels (`TF_ENABLE_ONEDNN_OPTS=0`, whose batch-1 conv is fast) keep the
native convolution, and so does anything traced inside `native_convolutions()` (the LiteRT
export, whose own kernels prefer a CONV_2D).
"""

import contextlib
import functools

import tensorflow as tf

from efgrnet_tf.modeling import dilated_conv

# Where the MatMul path was measured faster at batch 1 (2-core AMX Xeon, TF 2.21; docs/
# performance.md): outputs up to 40x40 per image, at least 256 channels in and out (the taps read
# their input once each, which pays only against enough MatMul work: 40x40 256→24 took 2.7x
# the direct conv, 256→256 0.95x, 20x20 512→512 0.55x), and at least 2e8 multiply-adds (10x10
# 256→256: 1.5x; 10x10 512→512: 0.84x).
MAX_OUTPUT_PIXELS = 1600
MIN_CHANNELS = 256
MIN_MULTIPLY_ADDS = 200_000_000

_native_only = [False]


@contextlib.contextmanager
def native_convolutions():
    """Layers traced inside use the native convolution only (for exports to other runtimes)."""
    previous = _native_only[0]
    _native_only[0] = True
    try:
        yield
    finally:
        _native_only[0] = previous


@functools.cache
def _has_gpu():
    """Whether a GPU is visible; physical devices, so the runtime stays uninitialised (a
    strategy or `set_visible_devices` may still come after a model is built)."""
    return bool(tf.config.list_physical_devices("GPU"))


def output_size(size, kernel, stride, dilation):
    """Output length of a VALID convolution along one axis."""
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def applies(inputs, kernel, strides, dilations, groups, pads=(0, 0)):
    """Whether `inputs` (NHWC, to be padded by `pads` rows and columns on each side) may take
    the MatMul path: float32, oneDNN's CPU kernels and no GPU, not inside
    `native_convolutions()`, at most one image, static spatial size, at most
    `MAX_OUTPUT_PIXELS` outputs per image, at least `MIN_CHANNELS` input and output channels and
    `MIN_MULTIPLY_ADDS` per image."""
    height, width, channels = inputs.shape[1:]
    if (
        _native_only[0]
        or inputs.dtype != tf.float32
        or groups != 1
        or None in (height, width, channels)
        or min(channels, kernel.shape[3]) < MIN_CHANNELS
        or inputs.shape[0] not in (None, 1)
        or _has_gpu()
        # The probe tells oneDNN's CPU convs from TensorFlow's own, whose batch-1 float32 conv
        # is fast: the MatMuls take 1.1-1.5x its time.
        or not dilated_conv.native_dilated_conv_gradients()
    ):
        return False
    kernel_h, kernel_w, _, filters = kernel.shape
    rows = output_size(height + 2 * pads[0], kernel_h, strides[0], dilations[0])
    cols = output_size(width + 2 * pads[1], kernel_w, strides[1], dilations[1])
    multiply_adds = rows * cols * kernel_h * kernel_w * channels * filters
    return 0 < rows * cols <= MAX_OUTPUT_PIXELS and multiply_adds >= MIN_MULTIPLY_ADDS


def shifted_matmul_conv2d(inputs, kernel, strides, dilations, pads=(0, 0)):
    """NHWC convolution of `inputs` [B, H, W, C], zero-padded by `pads` on each side, with
    `kernel` [kh, kw, C, O] as one `[B*Ho*Wo, C] @ [C, O]` MatMul per tap, summed.

    A strided conv first splits the input into its stride x stride phases (one reshape and
    transpose), so that every tap reads a contiguous window of one phase: TensorFlow's strided
    slices cost more than the MatMuls on the small maps this path serves.
    """
    kernel_h, kernel_w, channels, filters = kernel.shape
    (stride_h, stride_w), (dilation_h, dilation_w) = strides, dilations
    rows = output_size(inputs.shape[1] + 2 * pads[0], kernel_h, stride_h, dilation_h)
    cols = output_size(inputs.shape[2] + 2 * pads[1], kernel_w, stride_w, dilation_w)
    # Tap i reads phase (i * d) % s from phase row (i * d) // s on; every phase holds as many
    # rows as the last tap needs.
    phase_rows = (kernel_h - 1) * dilation_h // stride_h + rows
    phase_cols = (kernel_w - 1) * dilation_w // stride_w + cols
    height, width = stride_h * phase_rows, stride_w * phase_cols
    padded = tf.pad(
        inputs,
        [
            [0, 0],
            [pads[0], max(0, height - inputs.shape[1] - pads[0])],
            [pads[1], max(0, width - inputs.shape[2] - pads[1])],
            [0, 0],
        ],
    )[:, :height, :width]
    if stride_h == stride_w == 1:
        phases = padded[:, None, None]  # [B, 1, 1, H, W, C]: one phase, no copy
    else:
        phases = tf.transpose(
            tf.reshape(padded, [-1, phase_rows, stride_h, phase_cols, stride_w, channels]),
            [0, 2, 4, 1, 3, 5],
        )
    total = None
    for i in range(kernel_h):
        for j in range(kernel_w):
            top, phase_i = divmod(i * dilation_h, stride_h)
            left, phase_j = divmod(j * dilation_w, stride_w)
            view = phases[:, phase_i, phase_j, top : top + rows, left : left + cols, :]
            term = tf.matmul(tf.reshape(view, [-1, channels]), kernel[i, j])
            total = term if total is None else total + term
    return tf.reshape(total, [-1, rows, cols, filters])


def convolve(inputs, kernel, strides, dilations, pads, native):
    """`shifted_matmul_conv2d` when `inputs` holds one image, else `native(inputs, kernel)`;
    decided at run time when the batch size is not static. The caller checked `applies`."""

    def matmul():
        return shifted_matmul_conv2d(inputs, kernel, strides, dilations, pads)

    if inputs.shape[0] == 1:
        return matmul()
    return tf.cond(tf.shape(inputs)[0] == 1, matmul, lambda: native(inputs, kernel))
