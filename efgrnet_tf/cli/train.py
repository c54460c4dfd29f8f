"""`efgrnet-train`: trains EFGRNet from a YAML config into a model folder.

    efgrnet-train --config configs/voc_vgg16_320.yaml --model_dir runs/voc320 \
        --strategy mirrored --override train.global_batch_size=64

A restart in the same `--model_dir` continues from its newest checkpoint; `--resume` also
requires one to exist. The resolved config is written to `model_dir/config.yaml`.
"""

from __future__ import annotations

from collections.abc import Sequence

from absl import app, flags, logging

from efgrnet_tf.config import ExperimentConfig, load_config
from efgrnet_tf.training.experiment import train_experiment
from efgrnet_tf.training.strategy import STRATEGY_NAMES

_CONFIG = flags.DEFINE_string("config", None, "Experiment YAML file (configs/*.yaml).")
_OVERRIDES = flags.DEFINE_multi_string(
    "override", [], "Config override `section.key=value` (YAML value); repeatable."
)
_MODEL_DIR = flags.DEFINE_string("model_dir", None, "Run folder: checkpoints, summaries, config.")
_STRATEGY = flags.DEFINE_enum(
    "strategy", "default", STRATEGY_NAMES, "tf.distribute strategy (multi-worker reads TF_CONFIG)."
)
_MIXED_PRECISION = flags.DEFINE_bool(
    "mixed_precision", None, "float16 compute with loss scaling; default: train.mixed_precision."
)
_PRETRAINED_BACKBONE = flags.DEFINE_string(
    "pretrained_backbone", None, "Backbone weights file; default: model.pretrained_backbone."
)
_RESUME = flags.DEFINE_bool(
    "resume", False, "Fail unless model_dir has a checkpoint to continue from."
)


def config_from_flags(
    config_path: str,
    overrides: Sequence[str] = (),
    mixed_precision: bool | None = None,
    pretrained_backbone: str | None = None,
) -> ExperimentConfig:
    """The config file with `overrides` applied, then the dedicated flags (which win)."""
    overrides = list(overrides)
    if mixed_precision is not None:
        overrides.append(f"train.mixed_precision={str(mixed_precision).lower()}")
    if pretrained_backbone is not None:
        overrides.append(f"model.pretrained_backbone={pretrained_backbone!r}")
    return load_config(config_path, overrides)


def main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    cfg = config_from_flags(
        _CONFIG.value, _OVERRIDES.value, _MIXED_PRECISION.value, _PRETRAINED_BACKBONE.value
    )
    logging.info("training %s into %s", cfg.name, _MODEL_DIR.value)
    train_experiment(cfg, _MODEL_DIR.value, _STRATEGY.value, _RESUME.value)


def run() -> None:
    """Console-script entry point."""
    flags.mark_flags_as_required(["config", "model_dir"])
    app.run(main)


if __name__ == "__main__":
    run()
