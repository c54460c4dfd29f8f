"""Benchmarks the LiteRT exports (float32, float16, int8) against the TF SavedModel, batch 1.

For each config (the demo's `shapes_vgg16_128` and `voc_vgg16_320` by default) the model is
built with random weights (latency does not depend on them; int8 is calibrated on synthetic
shapes images), converted by `efgrnet_tf.serving.litert_converter.convert_module`, and its
SavedModel export (`serving_default`, the deformable conv in pure TF) saved, all in this one
process. Each LiteRT model runs in the LiteRT interpreter with XNNPACK at 1 and 2 threads; the
SavedModel in TensorFlow with as many intra-op threads as the most LiteRT threads. Timed calls
are interleaved round by round and each reports its fastest round, so load from other processes
on a shared machine hits every measurement alike. Prints latency, the ratio to the SavedModel
and the file size; `--out` also writes them as JSON.

    python scripts/benchmark_litert.py
    python scripts/benchmark_litert.py --configs=configs/shapes_vgg16_128.yaml --rounds=3
"""

import json
import os
import tempfile
import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import numpy as np
import tensorflow as tf
from absl import app, flags

import efgrnet_tf
from efgrnet_tf.cli.whole_number_flags import define_whole_numbers
from efgrnet_tf.config import load_config
from efgrnet_tf.data.classes import label_map
from efgrnet_tf.data.preprocess import resize_to_square
from efgrnet_tf.data.synthetic import synthetic_dataset
from efgrnet_tf.serving.export_module import DetectionExportModule
from efgrnet_tf.serving.litert_converter import QUANTIZATIONS, convert_module
from efgrnet_tf.serving.litert_module import LiteRTDetectionModule
from efgrnet_tf.serving.litert_runner import LiteRTDetector
from efgrnet_tf.serving.signature_names import IMAGE_TENSOR_SIGNATURE, INPUT_NAMES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CONFIGS = ["configs/shapes_vgg16_128.yaml", "configs/voc_vgg16_320.yaml"]

flags.DEFINE_list("configs", DEFAULT_CONFIGS, "Config YAML files (relative to the repository).")
flags.DEFINE_list("quantize", ["none", "float16", "int8"], "LiteRT quantizations to measure.")
flags.register_validator(
    "quantize",
    lambda names: all(name in QUANTIZATIONS for name in names),
    f"--quantize takes some of {','.join(QUANTIZATIONS)}",
)
define_whole_numbers("threads", [1, 2], "LiteRT interpreter thread counts, comma-separated.")
flags.DEFINE_integer("rounds", 5, "Timed rounds (the best one counts).")
flags.DEFINE_integer("calls", 3, "Calls per round (their mean counts).")
flags.DEFINE_integer("calibration_images", 8, "Synthetic images calibrating int8.")
flags.DEFINE_string("out", None, "JSON file for the results.")


def _calibration_pixels(count, image_size):
    """`[1, S, S, 3]` float32 pixels of synthetic shapes images, for int8 calibration."""
    examples = synthetic_dataset("train", count, seed=0, image_size=image_size)
    return [resize_to_square(example["image"], image_size)[None].numpy() for example in examples]


def _saved_model_call(model, cfg, folder, image):
    """The `serving_default` call of the model's SavedModel export, and its size in bytes."""
    module = DetectionExportModule(model, cfg, label_map(cfg))
    tf.saved_model.save(module, folder, signatures=module.signatures())
    serve = tf.saved_model.load(folder).signatures[IMAGE_TENSOR_SIGNATURE]
    images = tf.constant(image.astype(np.uint8))
    size = sum(
        os.path.getsize(os.path.join(root, name))
        for root, _, names in os.walk(folder)
        for name in names
    )
    return lambda: serve(**{INPUT_NAMES[IMAGE_TENSOR_SIGNATURE]: images})[
        "num_detections"
    ].numpy(), size


def _litert_calls(model, cfg, args, folder, image):
    """`{(quantize, threads): call}` of the LiteRT models, and `{quantize: bytes}`."""
    calls, sizes = {}, {}
    calibration = _calibration_pixels(args.calibration_images, cfg.model.image_size)
    for quantize in args.quantize:
        input_dtype = tf.uint8 if quantize == "int8" else tf.float32
        start = time.perf_counter()
        flatbuffer = convert_module(
            LiteRTDetectionModule(model, cfg, label_map(cfg), input_dtype), quantize, calibration
        )
        print(f"  converted {quantize} in {time.perf_counter() - start:.0f} s", flush=True)
        path = os.path.join(folder, f"{quantize}.tflite")
        with open(path, "wb") as f:
            f.write(flatbuffer)
        sizes[quantize] = len(flatbuffer)
        for threads in args.threads:
            detector = LiteRTDetector(path, num_threads=threads)
            calls[quantize, threads] = lambda d=detector: d.detect(image[0])
    return calls, sizes


def _fastest_rounds(calls, rounds, calls_per_round):
    """Best-of-`rounds` mean seconds per call for every call, the rounds interleaved."""
    for call in calls.values():
        call()  # warm-up: first-call allocation and tracing
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for key, call in calls.items():
            start = time.perf_counter()
            for _ in range(calls_per_round):
                call()
            best[key] = min(best[key], (time.perf_counter() - start) / calls_per_round)
    return best


def _benchmark_config(config_path, args):
    cfg = load_config(
        os.path.join(REPO_ROOT, config_path), ["model.deform_conv_implementation=pure_tf"]
    )
    size = cfg.model.image_size
    print(f"{cfg.name}: {size}x{size}", flush=True)
    model = efgrnet_tf.build_model(cfg)
    image = np.random.default_rng(0).integers(0, 256, (1, size, size, 3)).astype(np.float32)
    with tempfile.TemporaryDirectory() as folder:
        tf_call, tf_bytes = _saved_model_call(model, cfg, os.path.join(folder, "saved"), image)
        litert_calls, litert_bytes = _litert_calls(model, cfg, args, folder, image)
        seconds = _fastest_rounds({"savedmodel": tf_call, **litert_calls}, args.rounds, args.calls)
    rows = [
        {
            "config": cfg.name,
            "model": "TF SavedModel",
            "threads": max(args.threads),
            "latency_ms": 1000 * seconds["savedmodel"],
            "ratio_to_savedmodel": 1.0,
            "size_mb": tf_bytes / 2**20,
        }
    ]
    for quantize, threads in litert_calls:
        rows.append(
            {
                "config": cfg.name,
                "model": f"LiteRT {quantize}",
                "threads": threads,
                "latency_ms": 1000 * seconds[quantize, threads],
                "ratio_to_savedmodel": seconds[quantize, threads] / seconds["savedmodel"],
                "size_mb": litert_bytes[quantize] / 2**20,
            }
        )
    return rows


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    args = flags.FLAGS
    tf.config.threading.set_intra_op_parallelism_threads(max(args.threads))
    rows = [row for config in args.configs for row in _benchmark_config(config, args)]
    print(f"\n{'config':22} {'model':16} {'threads':>7} {'ms':>9} {'x TF':>6} {'MB':>7}")
    for row in rows:
        print(
            f"{row['config']:22} {row['model']:16} {row['threads']:>7} "
            f"{row['latency_ms']:>9.1f} {row['ratio_to_savedmodel']:>6.2f} {row['size_mb']:>7.1f}"
        )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(rows, f, indent=2)


if __name__ == "__main__":
    launch.run_tool(main, [__name__])
