"""Times one training step of a config in each precision: float32 against mixed_bfloat16.

For each `--precisions` value the config's model (random weights), optimizer and loss are built
as the trainer builds them, and one step (forward, the two-stage loss, gradients, optimizer
update) runs on one fixed batch of the config's training pipeline, so the input pipeline takes
no time. The steps are interleaved round by round and each keeps its fastest round, so load from
other processes hits all precisions alike; it prints the step times and their ratio to the first
precision's. bfloat16 rows are skipped on CPUs without AMX-BF16 or AVX512-BF16 (and no GPU).

    python scripts/benchmark_train_step.py --config configs/shapes_vgg16_128.yaml   # the demo
    python scripts/benchmark_train_step.py --config configs/shapes_vgg16_128.yaml \\
        --override model.deform_conv_implementation=pure_tf --rounds=10
"""

import dataclasses
import os
import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import tensorflow as tf
from absl import app, flags

from efgrnet_tf.cli import config_flags
from efgrnet_tf.data.classes import with_classes
from efgrnet_tf.data.pipeline import build_train_dataset
from efgrnet_tf.modeling.precision import (
    INFERENCE_ONLY_PRECISIONS,
    PRECISIONS,
    native_bfloat16_support,
)
from efgrnet_tf.training.components import efgrnet_components
from efgrnet_tf.training.optimizer import optimizer_from_config
from efgrnet_tf.training.schedule import schedule_from_config

config_flags.define_config_flags("Experiment YAML whose training step is timed.")
TRAINABLE_PRECISIONS = tuple(p for p in PRECISIONS if p not in INFERENCE_ONLY_PRECISIONS)
flags.DEFINE_list(
    "precisions",
    ["float32", "mixed_bfloat16"],
    f"model.precision values, of {TRAINABLE_PRECISIONS}.",
)
flags.register_validator(
    "precisions",
    lambda values: bool(values) and set(values) <= set(TRAINABLE_PRECISIONS),
    f"--precisions takes values of {TRAINABLE_PRECISIONS}",
)
flags.DEFINE_integer("rounds", 5, "Timed rounds (the best one counts).")
# Steps per epoch of the learning-rate schedule; only its warm-up start matters here.
_SCHEDULE_STEPS_PER_EPOCH = 100


def training_step(cfg):
    """A `tf.function` running one training step of `cfg` on a batch: the trainer's replica
    step (model, `efgrnet_components` loss, optimizer with loss scaling where it applies)."""
    components = efgrnet_components(cfg)
    model = components.build_model(cfg)
    optimizer = optimizer_from_config(
        cfg.train, schedule_from_config(cfg.train, _SCHEDULE_STEPS_PER_EPOCH)
    )
    optimizer.build(model.trainable_variables)

    @tf.function
    def step(batch):
        variables = model.trainable_variables
        with tf.GradientTape() as tape:
            losses = components.compute_losses(model(batch["images"], training=True), batch)
            scaled_loss = optimizer.scale_loss(losses["total"])
        gradients = tape.gradient(scaled_loss, variables)
        optimizer.apply_gradients(zip(gradients, variables, strict=True))
        return losses["total"]

    return step


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    args = flags.FLAGS
    cfg = with_classes(config_flags.config_from_flags())
    precisions = list(args.precisions)
    if "mixed_bfloat16" in precisions and not native_bfloat16_support():
        print("bfloat16 support: none (no AMX-BF16 or AVX512-BF16, no GPU): bfloat16 skipped")
        precisions.remove("mixed_bfloat16")
    batch = next(iter(build_train_dataset(cfg)))
    steps = {}
    for precision in precisions:
        model_cfg = dataclasses.replace(cfg.model, precision=precision)
        train_cfg = dataclasses.replace(cfg.train, mixed_precision=precision == "mixed_float16")
        steps[precision] = training_step(dataclasses.replace(cfg, model=model_cfg, train=train_cfg))
    for step in steps.values():  # tracing, oneDNN primitive creation, optimizer slots
        step(batch).numpy()
    best = dict.fromkeys(steps, float("inf"))
    for _ in range(args.rounds):
        for precision, step in steps.items():
            start = time.perf_counter()
            step(batch).numpy()
            best[precision] = min(best[precision], time.perf_counter() - start)
    print(
        f"{cfg.name}: batch {cfg.train.global_batch_size}, {cfg.model.image_size}px, "
        f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}, best of "
        f"{args.rounds} rounds"
    )
    first = precisions[0]
    for precision in precisions:
        print(
            f"  {precision:<16}{1e3 * best[precision]:>9.1f} ms/step"
            f"{best[precision] / best[first]:>8.2f}x {first}"
        )


if __name__ == "__main__":
    flags.mark_flags_as_required(["config"])
    launch.run_tool(main, [__name__, config_flags.MODULE])
