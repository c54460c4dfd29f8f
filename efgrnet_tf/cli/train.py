"""`efgrnet-train`: trains EFGRNet from a YAML config into a model folder.

    efgrnet-train --config configs/voc_vgg16_320.yaml --model_dir runs/voc320 \
        --strategy mirrored --override train.global_batch_size=64

A restart in the same `--model_dir` continues from its newest checkpoint; `--resume` also
requires one to exist. `--init_checkpoint` starts a new run from another run's (or an imported)
checkpoint's model weights: fine-tuning, e.g. to another data set and class count. Each
(re)start's config is kept in the run folder (`config.yaml`, then `config-2.yaml`, ...), and
`train.log` gets the log lines the console shows (appended on each restart; local run folders
only). SIGINT (Ctrl-C) or SIGTERM finishes the step, saves a checkpoint there and exits with
status 130 (SIGINT) or 143 (SIGTERM); the same command resumes from it.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence

from absl import app, flags, logging

from efgrnet_tf.cli import config_flags, launch
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.config.loader import load_config

FLAGS = flags.FLAGS
TRAIN_LOG = "train.log"


def define_flags() -> None:
    """Defines the training flags on the global flag registry."""
    from efgrnet_tf.training.strategy import STRATEGY_NAMES

    config_flags.define_config_flags()
    flags.DEFINE_string("model_dir", None, "Run folder: checkpoints, summaries, configs.")
    flags.DEFINE_enum(
        "strategy", "default", STRATEGY_NAMES, "tf.distribute strategy (multi-worker: TF_CONFIG)."
    )
    flags.DEFINE_bool(
        "mixed_precision",
        None,
        "float16 compute with loss scaling (= --precision=mixed_float16); default: "
        "train.mixed_precision.",
    )
    flags.DEFINE_string(
        "pretrained_backbone", None, "Backbone weights file; default: model.pretrained_backbone."
    )
    flags.DEFINE_bool("resume", False, "Fail unless model_dir has a checkpoint to continue from.")
    flags.DEFINE_string(
        "init_checkpoint",
        None,
        "Fine-tuning: start a new run from the model weights (not the optimizer or step) of "
        "this checkpoint, a run folder (its newest) or a .../ckpt-N path. Class heads of "
        "another num_classes are re-initialised; any other mismatch is an error. Ignored once "
        "model_dir holds checkpoints (a restart resumes). Default: train.init_checkpoint.",
    )
    flags.mark_flags_as_required(["config", "model_dir"])


def config_from_flags(
    config_path: str,
    overrides: Sequence[str] = (),
    mixed_precision: bool | None = None,
    pretrained_backbone: str | None = None,
    init_checkpoint: str | None = None,
    precision: str | None = None,
) -> ExperimentConfig:
    """The config file with `overrides` applied, then the dedicated flags (which win)."""
    overrides = [*overrides, *config_flags.precision_overrides(precision)]
    if mixed_precision is not None:
        overrides.append(f"train.mixed_precision={str(mixed_precision).lower()}")
    if pretrained_backbone is not None:
        overrides.append(f"model.pretrained_backbone={pretrained_backbone!r}")
    if init_checkpoint is not None:
        overrides.append(f"train.init_checkpoint={init_checkpoint!r}")
    return load_config(config_path, overrides)


def main(argv: Sequence[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    from efgrnet_tf.evaluation.evaluator import evaluate_model
    from efgrnet_tf.training.experiment import train_experiment
    from efgrnet_tf.training.interruption import TrainingInterrupted
    from efgrnet_tf.training.trainer import check_trainable_precision

    cfg = config_from_flags(
        FLAGS.config,
        FLAGS.override,
        FLAGS.mixed_precision,
        FLAGS.pretrained_backbone,
        FLAGS.init_checkpoint,
        FLAGS.precision,
    )
    check_trainable_precision(cfg)  # before the run folder is made
    if "://" in FLAGS.model_dir:
        logging.info("no %s: %s is not a local folder", TRAIN_LOG, FLAGS.model_dir)
    else:
        os.makedirs(FLAGS.model_dir, exist_ok=True)
        launch.copy_log_to_file(os.path.join(FLAGS.model_dir, TRAIN_LOG))
    logging.info("training %s into %s", cfg.name, FLAGS.model_dir)
    try:
        train_experiment(cfg, FLAGS.model_dir, FLAGS.strategy, FLAGS.resume, evaluate_model)
    except TrainingInterrupted as e:
        return launch.interrupted_exit_status(e.signal_number or signal.SIGTERM)
    return 0


def run() -> None:
    """Console-script entry point."""
    define_flags()
    launch.run_tool(main, [__name__, config_flags.MODULE])


if __name__ == "__main__":
    run()
