"""The configs a run folder keeps: one per (re)start, never overwritten; incompatible restarts
refused before anything is restored.

The first start writes `config.yaml`; a restart with a different but compatible config writes
`config-2.yaml`, `config-3.yaml`, ... and logs which fields changed. A restart whose config
changes the saved state (the model's variables, the optimizer's slots) cannot continue from the
run's checkpoints and is refused with the differing fields.
"""

from __future__ import annotations

import os
import re

import tensorflow as tf
import yaml
from absl import logging

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.config.loader import config_from_dict, config_to_dict, save_config
from efgrnet_tf.user_errors import UserInputError

FIRST_CONFIG = "config.yaml"
_LATER_CONFIG = re.compile(r"^config-(\d+)\.yaml$")
# Fields that shape the checkpointed variables (prefixes of dotted keys), and the exceptions.
# `train.init_checkpoint` is none of them: a restart resumes from the run's own checkpoints,
# whichever weights the run started from.
STATE_FIELDS = ("model.", "anchors.", "train.optimizer", "train.mixed_precision")
STATELESS_MODEL_FIELDS = ("model.pretrained_backbone", "model.deform_conv_implementation")


class IncompatibleRestartError(UserInputError):
    """A restart whose config cannot continue from the run folder's checkpoints."""


def recorded_configs(model_dir: str) -> list[str]:
    """The config files of `model_dir`, oldest first."""
    if not tf.io.gfile.isdir(model_dir):
        return []
    names = tf.io.gfile.listdir(model_dir)
    later = sorted((int(m.group(1)), n) for n in names if (m := _LATER_CONFIG.match(n)))
    first = [FIRST_CONFIG] if FIRST_CONFIG in names else []
    return [os.path.join(model_dir, n) for n in first + [n for _, n in later]]


def config_differences(old: ExperimentConfig, new: ExperimentConfig) -> dict[str, tuple]:
    """`{dotted key: (old value, new value)}` for every leaf field that differs."""
    differences = {}

    def walk(a, b, prefix):
        if isinstance(a, dict) and isinstance(b, dict):
            for key in a.keys() | b.keys():
                walk(a.get(key), b.get(key), f"{prefix}{key}.")
        elif a != b:
            differences[prefix.rstrip(".")] = (a, b)

    walk(config_to_dict(old), config_to_dict(new), "")
    return dict(sorted(differences.items()))


def changes_saved_state(dotted_key: str) -> bool:
    """Whether a change of `dotted_key` makes the run's checkpoints unusable for the config."""
    if dotted_key.startswith(STATELESS_MODEL_FIELDS):
        return False
    return dotted_key.startswith(STATE_FIELDS)


def newest_recorded_config(model_dir: str) -> ExperimentConfig | None:
    """The config of the latest (re)start of `model_dir`, or None for a new run folder."""
    paths = recorded_configs(model_dir)
    if not paths:
        return None
    with tf.io.gfile.GFile(paths[-1]) as f:
        return config_from_dict(yaml.safe_load(f), source=paths[-1])


def check_restart(cfg: ExperimentConfig, model_dir: str) -> None:
    """Refuses to continue a run whose checkpoints `cfg` cannot use.

    Raises:
      IncompatibleRestartError: `model_dir` has checkpoints and a recorded config that differs
        from `cfg` in a field that shapes the saved state; the message names every such field.
    """
    previous = newest_recorded_config(model_dir)
    if previous is None or tf.train.latest_checkpoint(model_dir) is None:
        return
    blocking = {
        key: values
        for key, values in config_differences(previous, cfg).items()
        if changes_saved_state(key)
    }
    if blocking:
        fields = ", ".join(f"{key} {old!r} -> {new!r}" for key, (old, new) in blocking.items())
        raise IncompatibleRestartError(
            f"{model_dir} holds a run whose checkpoints do not fit this config ({fields}); "
            f"train into a new --model_dir, adding --init_checkpoint={model_dir} to start "
            f"from its weights (fine-tuning)"
        )


def record_config(cfg: ExperimentConfig, model_dir: str) -> str:
    """Writes `cfg` as the run's next config file unless it equals the newest one; returns the
    path of the file that holds `cfg`."""
    paths = recorded_configs(model_dir)
    if not paths:
        path = os.path.join(model_dir, FIRST_CONFIG)
        save_config(cfg, path)
        return path
    previous = newest_recorded_config(model_dir)
    if previous == cfg:
        return paths[-1]
    path = os.path.join(model_dir, f"config-{len(paths) + 1}.yaml")
    save_config(cfg, path)
    changes = ", ".join(
        f"{key}: {old!r} -> {new!r}"
        for key, (old, new) in config_differences(previous, cfg).items()
    )
    logging.info("config changed since %s (%s); recorded as %s", paths[-1], changes, path)
    return path
