"""The `--config`, `--override` and `--checkpoint` flags, defined once for every tool that reads
a config or a training checkpoint."""

from __future__ import annotations

from absl import flags

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.config.loader import load_config
from efgrnet_tf.modeling.precision import PRECISIONS

MODULE = __name__


def define_config_flags(
    config_help: str = "Experiment YAML file (configs/*.yaml).",
    flag_values: flags.FlagValues = flags.FLAGS,
) -> None:
    """Defines `--config` (a YAML file), the repeatable `--override section.key=value` and
    `--precision` (`model.precision`).

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
    define_precision_flag(flag_values)


def define_checkpoint_flag(flag_values: flags.FlagValues = flags.FLAGS) -> flags.FlagHolder:
    """Defines `--checkpoint`, a training checkpoint or a run folder (its newest checkpoint)."""
    return flags.DEFINE_string(
        "checkpoint",
        None,
        "Training checkpoint (`.../ckpt-N`) or a model_dir (its newest checkpoint).",
        flag_values=flag_values,
    )


def define_precision_flag(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines `--precision` (`model.precision`, default None: the config's); once per process."""
    if "precision" in flag_values:
        return
    flags.DEFINE_enum(
        "precision",
        None,
        list(PRECISIONS),
        "Dtype policy of the model built from the config (mixed_bfloat16: fast on CPUs with AMX "
        "or AVX512-BF16; bfloat16, for evaluate, export and predict only: the same outputs with "
        "the weights stored in bfloat16, faster still); an export keeps the precision it was "
        "exported in. Default: "
        "model.precision (scripts/demo.py: mixed_bfloat16 where the CPU has AMX-BF16 or "
        "AVX512-BF16, else float32).",
        flag_values=flag_values,
    )


def precision_overrides(precision: str | None) -> list[str]:
    """The overrides `--precision` stands for (none when the flag is left out); it also sets
    the older `train.mixed_precision`, so the flag wins over a config file's value of either."""
    if precision is None:
        return []
    mixed_float16 = str(precision == "mixed_float16").lower()
    return [f"model.precision={precision}", f"train.mixed_precision={mixed_float16}"]


def config_from_flags(
    flag_values: flags.FlagValues = flags.FLAGS, extra_overrides: tuple[str, ...] = ()
) -> ExperimentConfig:
    """The `--config` file with the `--override`s, `--precision`, then `extra_overrides`."""
    return load_config(
        flag_values.config,
        [
            *flag_values.override,
            *precision_overrides(flag_values.precision),
            *extra_overrides,
        ],
    )
