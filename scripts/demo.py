"""The README's main command: train, evaluate, export and predict on the synthetic shapes set.

    python scripts/demo.py --model_dir runs/shapes_demo

1. trains `configs/shapes_vgg16_128.yaml` from scratch on the embedded synthetic training split
   (continuing from `model_dir`'s newest checkpoint when there is one), in mixed_bfloat16 when
   the CPU computes bfloat16 natively (AMX-BF16 or AVX512-BF16, detected and printed), else in
   float32 (`--precision` overrides);
2. evaluates it on the held-out split with COCO metrics (`model_dir/eval/metrics.json`);
3. exports it as a SavedModel (`model_dir/export/<version>/`; in bfloat16, the weights stored
   in bfloat16, when it trained in mixed_bfloat16);
4. runs the export on held-out images and draws its detections (`model_dir/predictions/*.png`);
5. prints the metrics and the time of each stage, and exits with status 1 when the held-out
   AP50 misses `TARGET_AP50` (so the README's number is enforced by the command itself).
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
from absl import app, flags, logging
from PIL import Image

from efgrnet_tf.cli import config_flags
from efgrnet_tf.config import ExperimentConfig, load_config
from efgrnet_tf.data.synthetic import example_seed, render_shapes_example
from efgrnet_tf.evaluation.evaluator import evaluate_model
from efgrnet_tf.modeling.precision import cpu_bfloat16_flags, inference_precision
from efgrnet_tf.serving.exporter import export_saved_model
from efgrnet_tf.serving.predict_files import predict_images
from efgrnet_tf.serving.predictor import saved_model_detector
from efgrnet_tf.training.experiment import train_experiment

DEMO_CONFIG = os.path.join(os.path.dirname(__file__), "..", "configs", "shapes_vgg16_128.yaml")
# The demo's promise (README): COCO AP50 on the held-out split.
TARGET_AP50 = 0.80

_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Run folder for everything the demo writes.")
_NUM_IMAGES = flags.DEFINE_integer("num_images", 8, "Held-out images to draw detections on.")
config_flags.define_precision_flag()


def demo_precision(requested: str | None) -> tuple[str, str]:
    """`(precision, why)`: `requested`, or when None what this CPU computes fastest."""
    if requested is not None:
        return requested, "--precision"
    bfloat16_flags = cpu_bfloat16_flags()
    if bfloat16_flags:
        return "mixed_bfloat16", f"this CPU has {' and '.join(bfloat16_flags)}"
    return "float32", "this CPU has neither AMX-BF16 nor AVX512-BF16"


def write_held_out_images(cfg, folder: str, count: int) -> list[str]:
    """Renders the first `count` images of the synthetic eval split as PNG files."""
    os.makedirs(folder, exist_ok=True)
    paths = []
    for index in range(count):
        seed = example_seed(cfg.data.seed, "eval", index)
        example = render_shapes_example(seed, index, cfg.data.synthetic.image_size)
        path = os.path.join(folder, f"heldout_{index:03d}.png")
        Image.fromarray(example["image"].numpy()).save(path)
        paths.append(path)
    return paths


def missed_target(metrics: dict[str, float], target: float = TARGET_AP50) -> bool:
    """True when the held-out COCO AP50 is below the demo's promised `target`."""
    return metrics["AP50"] < target


def serving_config(cfg: ExperimentConfig) -> ExperimentConfig:
    """`cfg` to export, in `inference_precision` of the precision it trained in."""
    precision = inference_precision(cfg.model.precision)
    return dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, precision=precision))


def main(argv) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    model_dir = _MODEL_DIR.value
    precision, why = demo_precision(flags.FLAGS.precision)
    print(f"precision: {precision} ({why})", flush=True)
    cfg = load_config(DEMO_CONFIG, [f"model.precision={precision}"])
    seconds = {}

    start = time.perf_counter()
    model, summary = train_experiment(cfg, model_dir)
    seconds["train"] = time.perf_counter() - start

    start = time.perf_counter()
    metrics = evaluate_model(model, cfg, output_dir=os.path.join(model_dir, "eval"))
    seconds["evaluate"] = time.perf_counter() - start

    start = time.perf_counter()
    export_dir = export_saved_model(
        serving_config(cfg), model_dir, os.path.join(model_dir, "export")
    )
    seconds["export"] = time.perf_counter() - start

    start = time.perf_counter()
    images = write_held_out_images(
        cfg, os.path.join(model_dir, "heldout_images"), _NUM_IMAGES.value
    )
    predictions_dir = os.path.join(model_dir, "predictions")
    predict_images(
        saved_model_detector(export_dir),
        images,
        predictions_dir,
        score_threshold=0.3,
        drawing_min_side=512,
    )
    seconds["predict"] = time.perf_counter() - start

    total = sum(seconds.values())
    missed = missed_target(metrics)
    verdict = "MISSED" if missed else "reached"
    lines = [
        "",
        f"EFGRNet shapes demo ({cfg.name}, {precision}) in {model_dir}",
        f"  trained to step {summary['final_step']:.0f}, final loss {summary['loss/total']:.3f}",
        "  held-out COCO metrics: "
        + " ".join(f"{k}={metrics[k]:.3f}" for k in ("AP", "AP50", "AP75", "APs", "APm", "APl")),
        f"  AP50 target {TARGET_AP50:.2f}: {verdict}",
        f"  SavedModel: {export_dir}",
        f"  drawn detections: {predictions_dir}/*.png",
        "  seconds: "
        + " ".join(f"{stage}={value:.0f}" for stage, value in seconds.items())
        + f" total={total:.0f}",
    ]
    print("\n".join(lines))
    logging.info("demo done in %.0f s", total)
    if missed:
        sys.exit(1)


if __name__ == "__main__":
    flags.mark_flag_as_required("model_dir")
    launch.run_tool(main, [__name__, config_flags.__name__])
