"""Checks that relate several fields or sections of a config, run by the loader on every load.

A section checks its own fields in its `__post_init__`; what needs two sections (the anchors
against the model) or a field chosen by another (`data.<source>` by `data.source`) is checked
here, once, when the config loads, rather than when a model is built or exported. Each check
raises `InvalidField` with the dotted key at fault; the loader adds the file that set it.
"""

from __future__ import annotations

from collections.abc import Callable

from efgrnet_tf.config.data import DataConfig
from efgrnet_tf.config.experiment import ExperimentConfig

# Strides of the model's four detection levels, the same for every backbone (docs/design.md,
# "Conventions").
MODEL_LEVEL_STRIDES = (8, 16, 32, 64)


class InvalidField(ValueError):
    """A failed check: `key` is the dotted config key at fault, the message says why."""

    def __init__(self, key: str, message: str):
        super().__init__(message)
        self.key = key


def check_config(cfg: ExperimentConfig) -> None:
    """Runs every check below; raises `InvalidField` on the first failure."""
    check_anchor_steps(cfg)
    check_class_names(cfg)
    check_data_source(cfg.data)


def check_anchor_steps(cfg: ExperimentConfig) -> None:
    """`anchors.steps` must be the strides of the model's levels: one anchor grid per level."""
    if tuple(cfg.anchors.steps) != MODEL_LEVEL_STRIDES:
        raise InvalidField(
            "anchors.steps",
            f"anchors.steps {list(cfg.anchors.steps)} must be the model's feature strides "
            f"{list(MODEL_LEVEL_STRIDES)}",
        )


def check_class_names(cfg: ExperimentConfig) -> None:
    """A config that gives both `class_names` and `model.num_classes` names every foreground
    class (background has no name)."""
    num_classes = cfg.model.num_classes
    if cfg.class_names and num_classes and len(cfg.class_names) != num_classes - 1:
        raise InvalidField(
            "class_names",
            f"class_names has {len(cfg.class_names)} names but model.num_classes = "
            f"{num_classes} needs {num_classes - 1} (background has no name)",
        )


def check_data_source(data: DataConfig) -> None:
    """The sub-section that `data.source` picks names what that reader needs."""
    _SOURCE_CHECKS[data.source](data)


def _check_synthetic(data: DataConfig) -> None:
    """The synthetic set needs nothing beyond its defaults."""


def _check_tfds(data: DataConfig) -> None:
    """tfds needs at least one training split."""
    if not data.tfds.train:
        raise InvalidField(
            "data.tfds.train",
            "data.source tfds needs data.tfds.train, e.g. ['voc/2007:trainval']",
        )


def _check_voc_folder(data: DataConfig) -> None:
    """VOC folders need at least one training image set; each set names folder and image set."""
    voc = data.voc_folder
    if not voc.train:
        raise InvalidField(
            "data.voc_folder.train",
            "data.source voc_folder needs data.voc_folder.train, e.g. "
            "[{year_folder: VOCdevkit/VOC2007, image_set: trainval}]",
        )
    for i, image_set in enumerate(voc.train):
        _require_both(
            f"data.voc_folder.train[{i}]",
            image_set.year_folder,
            image_set.image_set,
            "year_folder",
            "image_set",
        )
    if voc.eval.year_folder or voc.eval.image_set:
        _require_both(
            "data.voc_folder.eval",
            voc.eval.year_folder,
            voc.eval.image_set,
            "year_folder",
            "image_set (e.g. test)",
            ", or neither (no evaluation split)",
        )


def _check_coco_json(data: DataConfig) -> None:
    """COCO JSON needs an annotation file (training, or evaluation for a config that only
    evaluates); each split names both its images and its annotations."""
    coco = data.coco_json
    if not (coco.train or coco.eval.annotations):
        raise InvalidField(
            "data.coco_json.train",
            "data.source coco_json needs data.coco_json.train, e.g. "
            "[{images: coco/train2017, annotations: coco/annotations/instances_train2017.json}] "
            "(or only data.coco_json.eval, to evaluate)",
        )
    for i, split in enumerate(coco.train):
        _require_both(
            f"data.coco_json.train[{i}]",
            split.images,
            split.annotations,
            "images (a folder)",
            "annotations (an instances JSON file)",
        )
    if coco.eval.images or coco.eval.annotations:
        _require_both(
            "data.coco_json.eval",
            coco.eval.images,
            coco.eval.annotations,
            "images",
            "annotations",
            ", or neither (no evaluation split)",
        )


def _check_tfrecord(data: DataConfig) -> None:
    """TFRecords need at least one training prefix."""
    if not data.tfrecord.train_prefixes:
        raise InvalidField(
            "data.tfrecord.train_prefixes",
            "data.source tfrecord needs data.tfrecord.train_prefixes (written by "
            "scripts/convert_to_tfrecord.py)",
        )


_SOURCE_CHECKS: dict[str, Callable[[DataConfig], None]] = {
    "synthetic": _check_synthetic,
    "tfds": _check_tfds,
    "voc_folder": _check_voc_folder,
    "coco_json": _check_coco_json,
    "tfrecord": _check_tfrecord,
}


def _require_both(
    key: str, first: str, second: str, first_name: str, second_name: str, alternative: str = ""
) -> None:
    """Raises naming `key` unless both fields of a pair (a folder and its index) are set."""
    if not (first and second):
        raise InvalidField(key, f"{key} needs both {first_name} and {second_name}{alternative}")
