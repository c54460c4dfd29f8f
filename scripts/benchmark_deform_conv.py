"""Times the deformable convolution against tf.nn.conv2d on the FGRM shapes of the 320 (or
`--image_size`) model.

For each shape (batch 4, 3x3 kernel, 256 output channels, padding = dilation, stride 1, offsets
uniform in [-2, 2]) it prints the median time of the compiled op (`custom_op`), the pure-TF twin
in eager mode and under `jit_compile=True`, the `crop_and_resize` twin (eager), and
`tf.nn.conv2d` of the same shape and dilation (one dilated Conv2D op, as the detector runs it:
`dilated_conv2d`), forward and forward+backward (gradients with respect to every input), with
the ratio to conv2d, the forward's achieved GFLOP/s (2 x batch x Ho x Wo x 9 x C x O, the FLOPs
of the conv of the same shape) and the speed-up of the custom op over each other
implementation. The custom op runs the CPU engine variant `EFGRNET_CPU_ENGINE` names (default:
the fastest the CPU supports; custom_ops/README.md). The targets of issue 2 on
the 2-core CPU: custom op forward <= 2x conv2d, forward+backward <= 3x conv2d, and >= 5x faster
than pure TF forward+backward.

    python scripts/benchmark_deform_conv.py                 # CPU, then GPU when there is one
    python scripts/benchmark_deform_conv.py --device cpu --runs 9
    python scripts/benchmark_deform_conv.py --device gpu --batch 32 --dtype float16
    python scripts/benchmark_deform_conv.py --device cpu --channel_divisor 16 --runs 1  # quick
    python scripts/benchmark_deform_conv.py --device cpu --dtype bfloat16  # AMX/AVX512-BF16 only
    python scripts/benchmark_deform_conv.py --device cpu --batch 1 --image_size 512
    EFGRNET_CPU_ENGINE=baseline python scripts/benchmark_deform_conv.py --device cpu
"""

import os
import statistics
import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import numpy as np
import tensorflow as tf
from absl import app, flags

from efgrnet_tf.modeling.dilated_conv import dilated_conv2d
from efgrnet_tf.modeling.precision import cpu_bfloat16_flags
from efgrnet_tf.ops import custom_op_library, deform_conv2d
from efgrnet_tf.user_errors import UserInputError

_DEVICE = flags.DEFINE_enum(
    "device", "auto", ["auto", "cpu", "gpu"], "auto: the CPU, then the GPU when there is one."
)
_BATCH = flags.DEFINE_integer("batch", 4, "Batch size.")
_RUNS = flags.DEFINE_integer("runs", 5, "Timed runs; the median is shown.")
_WARMUP = flags.DEFINE_integer("warmup", 2, "Untimed runs first.")
_DTYPE = flags.DEFINE_enum("dtype", "float32", ["float32", "float16", "bfloat16"], "Data type.")
_IMAGE_SIZE = flags.DEFINE_integer(
    "image_size", 320, "Model input size; the FGRM inputs are 1/8, 1/16 and 1/32 of it."
)
_CHANNEL_DIVISOR = flags.DEFINE_integer(
    "channel_divisor", 1, "Divide every channel count by this (quick runs)."
)

# (stride, channels, dilation): the FGRM inputs of the VGG16 model at strides 8, 16 and 32.
FGRM_LEVELS = ((8, 512, 5), (16, 1024, 4), (32, 256, 3))
OUT_CHANNELS = 256


def _median_ms(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def _sync(tensors):
    """Waits for `tensors` (fetching one element each, so GPU timings include the kernels)."""
    for tensor in tensors:
        tf.reshape(tensor, [-1])[:1].numpy()


def _implementations(dilation):
    """name -> (forward function of (x, offsets, kernel), differentiated inputs: 'xok' or 'xk')."""

    def conv2d(x, offsets, kernel):
        # The detector's dilated conv: one Conv2D op where its CPU gradients exist (oneDNN).
        # "SAME" is padding = dilation for a 3x3 kernel.
        del offsets
        return dilated_conv2d(x, kernel, "SAME", dilation)

    def deform(implementation):
        def fn(x, offsets, kernel):
            return deform_conv2d(
                x,
                offsets,
                kernel,
                padding=dilation,
                dilations=dilation,
                implementation=implementation,
            )

        return fn

    implementations = {"conv2d": (conv2d, False, False)}
    if custom_op_library.load_deform_conv_library() is not None:
        implementations["custom_op"] = (deform("custom_op"), True, False)
    implementations["pure_tf eager"] = (deform("pure_tf"), True, False)
    implementations["pure_tf xla"] = (deform("pure_tf"), True, True)
    implementations["crop_and_resize"] = (deform("crop_and_resize"), True, False)
    return implementations


def _timings(fn, with_offsets, jit, tensors, runs, warmup):
    """(forward ms, forward+backward ms) of `fn` on `tensors` = (x, offsets, kernel, grad)."""
    x, offsets, kernel, grad_output = tensors
    sources = [x, offsets, kernel] if with_offsets else [x, kernel]

    def forward():
        return fn(x, offsets, kernel)

    def forward_backward():
        with tf.GradientTape() as tape:
            tape.watch(sources)
            output = fn(x, offsets, kernel)
        return tape.gradient(output, sources, output_gradients=grad_output)

    if jit:
        forward = tf.function(forward, jit_compile=True)
        forward_backward = tf.function(forward_backward, jit_compile=True)
    forward_ms = _median_ms(lambda: _sync([forward()]), runs, warmup)
    backward_ms = _median_ms(lambda: _sync(forward_backward()), runs, warmup)
    return forward_ms, backward_ms


def benchmark(
    device, batch, runs, warmup, dtype="float32", channel_divisor=1, seed=0, image_size=320
):
    """Prints the table for `device` on the FGRM shapes of an `image_size` model;
    `channel_divisor` shrinks every channel count (quick runs)."""
    rng = np.random.default_rng(seed)
    out_channels = OUT_CHANNELS // channel_divisor
    print(f"\n== {device} ({batch} images, {dtype}, 3x3 kernel, {out_channels} output channels) ==")
    header = (
        f"{'shape':<30} {'implementation':<15} {'fwd ms':>9} {'x conv2d':>9} {'GFLOP/s':>8} "
        f"{'fwd+bwd ms':>11} {'x conv2d':>9} {'custom speed-up fwd / fwd+bwd':>31}"
    )
    print(header)
    print("-" * len(header))
    for stride, channels, dilation in FGRM_LEVELS:
        name, size = f"stride {stride}", image_size // stride
        channels //= channel_divisor
        with tf.device(device):
            tensors = (
                tf.constant(rng.normal(size=(batch, size, size, channels)), dtype),
                tf.constant(rng.uniform(-2, 2, (batch, size, size, 18)), dtype),
                tf.constant(rng.normal(size=(3, 3, channels, out_channels)) * 0.02, dtype),
                tf.constant(rng.normal(size=(batch, size, size, out_channels)), dtype),
            )
            results = {
                impl: _timings(fn, with_offsets, jit, tensors, runs, warmup)
                for impl, (fn, with_offsets, jit) in _implementations(dilation).items()
            }
        label = f"{name}: {channels}ch {size}x{size} d{dilation}"
        conv_fwd, conv_bwd = results["conv2d"]
        forward_gflop = 2 * batch * size * size * 9 * channels * out_channels / 1e9
        custom = results.get("custom_op")
        for impl, (fwd, bwd) in results.items():
            speedup = ""
            if custom is not None and impl not in ("conv2d", "custom_op"):
                speedup = f"{fwd / custom[0]:.1f}x / {bwd / custom[1]:.1f}x"
            print(
                f"{label:<30} {impl:<15} {fwd:>9.1f} {fwd / conv_fwd:>8.2f}x "
                f"{forward_gflop / (fwd / 1e3):>8.1f} "
                f"{bwd:>11.1f} {bwd / conv_bwd:>8.2f}x {speedup:>31}"
            )
            label = ""


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if custom_op_library.load_deform_conv_library() is None:
        print(f"custom op unavailable: {custom_op_library.library_load_error()}")
    have_gpu = bool(tf.config.list_logical_devices("GPU"))
    devices = []
    if _DEVICE.value in ("auto", "cpu"):
        if _DTYPE.value == "bfloat16" and not cpu_bfloat16_flags():
            # Emulated bfloat16 is slower than float32: its rows would compare nothing useful.
            print("this CPU has neither AMX-BF16 nor AVX512-BF16: bfloat16 CPU rows skipped")
        else:
            devices.append("/CPU:0")
    if _DEVICE.value == "gpu" or (_DEVICE.value == "auto" and have_gpu):
        if not have_gpu:
            raise UserInputError("--device gpu: no GPU visible to TensorFlow")
        devices.append("/GPU:0")
    engine = os.environ.get("EFGRNET_CPU_ENGINE") or "the fastest supported"
    print(f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs, devices {devices}")
    print(f"custom op CPU engine: {engine}")
    for device in devices:
        benchmark(
            device,
            _BATCH.value,
            _RUNS.value,
            _WARMUP.value,
            _DTYPE.value,
            _CHANNEL_DIVISOR.value,
            image_size=_IMAGE_SIZE.value,
        )


if __name__ == "__main__":
    launch.run_tool(main, [__name__])
