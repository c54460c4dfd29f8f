"""`efgrnet-evaluate` / `scripts/evaluate.py`: a checkpoint or a SavedModel on an eval split.

    efgrnet-evaluate --config configs/voc_vgg16_320.yaml --checkpoint runs/voc320 \
        --output_dir runs/voc320/eval [--split voc/2007:test] [--per_class]
    efgrnet-evaluate --config configs/coco_vgg16_320.yaml --saved_model exports/efgrnet \
        --output_dir exports/eval --override eval.metric=coco
    efgrnet-evaluate --config configs/coco_resnet101_512_ms.yaml --checkpoint runs/coco512 \
        --output_dir runs/coco512/eval_ms --tta

Computes `eval.metric` of the config (VOC: 11-point and area mAP; COCO: the 12 COCOeval
numbers), logs the table and writes `metrics.json` (and `coco_results.json` for COCO) into
`--output_dir`. With `--tta`, each original image is detected at the sizes of the config's
`tta:` section (and mirrored) and the detections merged by box voting
(`efgrnet_tf.evaluation.tta`). The flags are defined by `define_flags` when `run()` starts, so
importing this module defines none (several entry points can live in one process, e.g. in tests).
"""

from __future__ import annotations

import json

from absl import app, flags, logging

from efgrnet_tf.cli import config_flags, launch
from efgrnet_tf.config.experiment import ExperimentConfig

# The key `--split` replaces, by `data.source`.
_SPLIT_KEYS = {"tfds": "data.tfds.eval", "voc_folder": "data.voc_folder.eval.image_set"}


def define_flags(flag_values: flags.FlagValues = flags.FLAGS) -> None:
    """Defines the evaluation flags, with their validators, on `flag_values`."""
    config_flags.define_config_flags(flag_values=flag_values)
    config_flags.define_checkpoint_flag(flag_values)
    flags.DEFINE_string(
        "saved_model",
        None,
        "Exported SavedModel folder, or an export base folder (its newest version).",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "split",
        None,
        "Eval split; replaces data.tfds.eval (e.g. voc/2007:test) or "
        "data.voc_folder.eval.image_set (e.g. test) of the config.",
        flag_values=flag_values,
    )
    flags.DEFINE_string(
        "output_dir",
        None,
        "Folder for metrics.json (and coco_results.json).",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "per_class",
        None,
        "Report AP per class; default: eval.per_class_table of the config.",
        flag_values=flag_values,
    )
    flags.DEFINE_bool(
        "tta",
        False,
        "Multi-size + flip inference with box voting, as the config's `tta:` section says "
        "(needs --checkpoint).",
        flag_values=flag_values,
    )
    flags.mark_flags_as_required(["config", "output_dir"], flag_values=flag_values)
    flags.mark_flags_as_mutual_exclusive(
        ["checkpoint", "saved_model"], required=True, flag_values=flag_values
    )


def config_from_flags(flag_values: flags.FlagValues) -> ExperimentConfig:
    """The config file with `--override`s applied, then `--split` (an override of the
    evaluation split of sources that name splits)."""
    cfg = config_flags.config_from_flags(flag_values)
    if flag_values.split is None:
        return cfg
    if cfg.data.source not in _SPLIT_KEYS:
        raise app.UsageError(
            f"--split: data.source {cfg.data.source} names no splits (only "
            f"{' and '.join(_SPLIT_KEYS)} do); set its evaluation entry with --override"
        )
    split_override = f"{_SPLIT_KEYS[cfg.data.source]}={json.dumps(flag_values.split)}"
    return config_flags.config_from_flags(flag_values, (split_override,))


def evaluate_from_flags(flag_values: flags.FlagValues) -> dict[str, float]:
    """Evaluates what the parsed `flag_values` name; returns the metrics (also written)."""
    # TensorFlow loads only here, so flag and config errors are reported at once.
    from efgrnet_tf.data.classes import label_map, resolve_classes

    cfg = config_from_flags(flag_values)
    if flag_values.tta:
        if flag_values.checkpoint is None:
            raise app.UsageError("--tta runs a training checkpoint: give --checkpoint")
        if not cfg.tta.scales:
            raise app.UsageError(f"--tta: {flag_values.config} has no tta.scales")
    cfg = resolve_classes(cfg)
    from efgrnet_tf.data.pipeline import build_eval_dataset, build_original_size_eval_dataset
    from efgrnet_tf.evaluation.detectors import checkpoint_detection_fn
    from efgrnet_tf.evaluation.evaluator import eval_labels, evaluate
    from efgrnet_tf.evaluation.tta import checkpoint_tta_detector
    from efgrnet_tf.serving.saved_model_detection import (
        resolve_saved_model_dir,
        saved_model_detection_fn,
    )

    dataset_fn = build_eval_dataset
    if flag_values.tta:
        detect, source = checkpoint_tta_detector(cfg, flag_values.checkpoint)
        dataset_fn = build_original_size_eval_dataset
    elif flag_values.checkpoint is not None:
        detect, source = checkpoint_detection_fn(cfg, flag_values.checkpoint)
    else:
        source = resolve_saved_model_dir(flag_values.saved_model)
        detect = saved_model_detection_fn(source, cfg.data.mean_bgr, label_map(cfg))
    logging.info("evaluating %s on %s data", source, cfg.data.source)
    return evaluate(
        detect,
        dataset_fn(cfg),
        cfg,
        eval_labels(cfg),
        per_class=flag_values.per_class,
        output_dir=flag_values.output_dir,
    )


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    evaluate_from_flags(flags.FLAGS)


def run() -> None:
    define_flags()
    launch.run_tool(main, [__name__, config_flags.MODULE])
