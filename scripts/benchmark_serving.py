"""Times the `serving_default` signature of exported SavedModels (e.g. with and without XLA).

Each export gets one 480x640 uint8 image (batch 1, a fixed random image) through its whole
signature: resize, model, decoding, NMS. The first call is timed on its own (with
`--jit_compile` it includes the XLA compilation); then the exports are called in turn, round by
round, so that load from other processes hits them alike, and each reports the median and the
range of its rounds. This is how the latency table of docs/serving.md is made:

    python scripts/export.py --config CONFIG --checkpoint RUN --export_dir /tmp/plain --version 1
    python scripts/export.py --config CONFIG --checkpoint RUN --export_dir /tmp/xla --version 1 \
        --jit_compile
    python scripts/benchmark_serving.py /tmp/plain/1 /tmp/xla/1 --rounds=5
"""

import os
import platform
import statistics
import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import numpy as np
import tensorflow as tf
from absl import flags

from efgrnet_tf.cli.whole_number_flags import define_whole_numbers
from efgrnet_tf.serving.saved_model_detection import resolve_saved_model_dir
from efgrnet_tf.serving.signature_names import IMAGE_TENSOR_SIGNATURE, INPUT_NAMES
from efgrnet_tf.user_errors import UserInputError

flags.DEFINE_integer("rounds", 5, "Timed rounds after the first call.")
define_whole_numbers("image_size_hw", [480, 640], "Height,width of the image.", length=2)


def _timed_call(signature, images):
    """Seconds of one call, outputs fetched."""
    start = time.perf_counter()
    outputs = signature(**{INPUT_NAMES[IMAGE_TENSOR_SIGNATURE]: images})
    _ = {name: value.numpy() for name, value in outputs.items()}
    return time.perf_counter() - start


def _export_dirs(paths):
    """The SavedModel folders named on the command line (`BASE/<version>`, or `BASE` for its
    newest version); at least one."""
    if not paths:
        raise UserInputError("name one or more SavedModel folders (BASE/<version>)")
    return [resolve_saved_model_dir(path) for path in paths]


def main(argv):
    export_dirs = _export_dirs(argv[1:])
    args = flags.FLAGS
    images = tf.constant(
        np.random.default_rng(0).integers(0, 256, (1, *args.image_size_hw, 3), dtype=np.uint8)
    )
    loaded = [tf.saved_model.load(path) for path in export_dirs]
    signatures = [model.signatures[IMAGE_TENSOR_SIGNATURE] for model in loaded]
    first_call = [_timed_call(signature, images) for signature in signatures]
    rounds = [[] for _ in signatures]
    for _ in range(args.rounds):
        for times, signature in zip(rounds, signatures, strict=True):
            times.append(_timed_call(signature, images))

    print(
        f"TensorFlow {tf.__version__}, {os.cpu_count()} CPUs ({platform.processor() or '?'}), "
        f"load average {os.getloadavg()[0]:.1f}; batch 1, {args.image_size_hw[0]}x"
        f"{args.image_size_hw[1]} uint8, {args.rounds} rounds"
    )
    print(f"{'export':<40} {'median ms':>10} {'min-max ms':>16} {'first call s':>13}")
    for path, times, first in zip(export_dirs, rounds, first_call, strict=True):
        spread = f"{1e3 * min(times):.0f}-{1e3 * max(times):.0f}"
        print(f"{path:<40} {1e3 * statistics.median(times):>10.0f} {spread:>16} {first:>13.1f}")


if __name__ == "__main__":
    launch.run_tool(main, [__name__])
