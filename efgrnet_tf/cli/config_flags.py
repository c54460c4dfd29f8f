"""The `--config` and `--override` flags, defined once for every tool that reads a config."""

from __future__ import annotations

from absl import flags

from efgrnet_tf.config import ExperimentConfig, load_config

MODULE = __name__


def define_config_flags(
    config_help: str = "Experiment YAML file (configs/*.yaml).",
    flag_values: flags.FlagValues = flags.FLAGS,
) -> None:
    """Defines `--config` (a YAML file) and the repeatable `--override section.key=value`.

    A second call (another tool's flags in the same process) leaves the first definition.
    """
    if "config" in flag_values:
        return
    flags.DEFINE_string("config", None, config_help, flag_values=flag_values)
    flags.DEFINE_multi_string(
        "override",
        [],
        "Config override `section.key=value` (YAML value); repeatable, applied in order.",
        flag_values=flag_values,
    )


def config_from_flags(
    flag_values: flags.FlagValues = flags.FLAGS, extra_overrides: tuple[str, ...] = ()
) -> ExperimentConfig:
    """The `--config` file with the `--override`s, then `extra_overrides`, applied."""
    return load_config(flag_values.config, [*flag_values.override, *extra_overrides])
