"""Takes the classes from the data, and owns the label map: training class <-> data id <-> name.

The data source owns the label map (`Source.class_names`, `Source.category_ids`); a config that
leaves the classes out (`model.num_classes: 0`, `class_names: []`) gets them from it, and one
that gives them is checked against it by `open_source`, before a model is built.

Training uses contiguous classes 1..N (0 is background, docs/design.md); a data set may name
its classes by other ids (COCO's category ids 1..90 with gaps, or 3/7/11 of a custom COCO-JSON
file). `LabelMap` converts between the two: exports answer the data set's ids, as the TF Object
Detection API's COCO models answer COCO category ids.
"""

from __future__ import annotations

import dataclasses

import tensorflow as tf

from efgrnet_tf.config.checks import check_class_names
from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.sources import tfds_source

# Sources whose class ids are known without reading data files.
_SOURCES_WITHOUT_ID_FILES = ("synthetic", "voc_folder", "tfds")


@dataclasses.dataclass(frozen=True)
class LabelMap:
    """Training class k (1-based) <-> the data set's id `data_ids[k - 1]` <-> `class_names[k - 1]`.

    Attributes:
      class_names: one name per class, in training-class order.
      data_ids: the data set's own id of each class, same order (1..N for data sets without
        ids of their own); distinct and positive, since 0 marks "no detection".
    """

    class_names: tuple[str, ...]
    data_ids: tuple[int, ...]

    def __post_init__(self):
        if len(self.class_names) != len(self.data_ids):
            raise ValueError(
                f"{len(self.class_names)} class names but {len(self.data_ids)} data ids"
            )
        if len(set(self.data_ids)) != len(self.data_ids) or min(self.data_ids, default=1) < 1:
            raise ValueError(f"data ids must be distinct and >= 1, got {list(self.data_ids)}")
        for name in self.class_names:
            if not name.strip() or "\n" in name or "\r" in name:
                raise ValueError(f"class name {name!r} is empty or contains a line break")

    @classmethod
    def numbered(cls, class_names: tuple[str, ...]) -> LabelMap:
        """The label map of a data set without ids of its own: class k has data id k."""
        return cls(tuple(class_names), tuple(range(1, len(class_names) + 1)))

    def names_by_data_id(self) -> dict[int, str]:
        """`{data_id: name}`."""
        return dict(zip(self.data_ids, self.class_names, strict=True))

    def to_data_ids(self, classes: tf.Tensor) -> tf.Tensor:
        """Training classes (int, any shape; 0 = none) -> data ids (int32; 0 stays 0)."""
        table = tf.constant((0, *self.data_ids), tf.int32)
        return tf.gather(table, tf.cast(classes, tf.int32))

    def to_classes(self, data_ids: tf.Tensor) -> tf.Tensor:
        """Data ids (int, any shape) -> training classes (int32); 0 and unknown ids give 0."""
        known = tf.constant(self.data_ids, tf.int32)
        matches = tf.cast(tf.equal(tf.cast(data_ids, tf.int32)[..., None], known), tf.int32)
        return tf.reduce_sum(matches * tf.range(1, len(self.data_ids) + 1), axis=-1)


def resolve_classes(cfg: ExperimentConfig) -> ExperimentConfig:
    """`cfg` with `model.num_classes` and `class_names` of its data set (opened and checked).

    Raises:
      ValueError: the config gives classes that differ from the data's (both are named).
    """
    from efgrnet_tf.data import info

    names = info.dataset_info(cfg).class_names
    model = dataclasses.replace(cfg.model, num_classes=len(names) + 1)
    return dataclasses.replace(cfg, model=model, class_names=tuple(names))


def with_classes(cfg: ExperimentConfig) -> ExperimentConfig:
    """`cfg` itself when it gives its class count, else `resolve_classes(cfg)`.

    For export and prediction, which need the data only when the config does not give the
    count (without names the export labels classes by number, as before).
    """
    return resolve_classes(cfg) if cfg.model.num_classes == 0 else cfg


def config_class_names(cfg: ExperimentConfig) -> tuple[str, ...]:
    """The `num_classes - 1` names `cfg` gives; `class_1` ... when it gives only the count.

    Raises:
      ValueError: `cfg.class_names` is non-empty but does not have `num_classes - 1` entries
        (`check_class_names`, which every loaded config has passed).
    """
    check_class_names(cfg)
    num_foreground = cfg.model.num_classes - 1
    return tuple(cfg.class_names) or tuple(f"class_{i}" for i in range(1, num_foreground + 1))


def label_map(cfg: ExperimentConfig) -> LabelMap:
    """The label map of `cfg`'s classes.

    Read from the data set (opened, and checked against the config) when the config leaves the
    classes to the data or the ids live in the data's files (`coco_json`, `tfrecord`); so
    exporting such a model needs its data (a TFRecord set only its metadata JSON). A config
    that gives its classes otherwise keeps its names, with the ids of the tfds data set it
    names (COCO's category ids) or 1..N (synthetic, VOC folders, tfds VOC), without opening
    the data.
    """
    if cfg.model.num_classes and cfg.data.source in _SOURCES_WITHOUT_ID_FILES:
        names = config_class_names(cfg)
        ids = tfds_source.category_ids(cfg.data.tfds.train[0]) if _is_tfds(cfg) else None
        return LabelMap.numbered(names) if ids is None else LabelMap(names, ids)
    from efgrnet_tf.data import info

    data = info.dataset_info(cfg)
    if data.category_ids is None:
        return LabelMap.numbered(data.class_names)
    return LabelMap(tuple(data.class_names), tuple(data.category_ids))


def _is_tfds(cfg: ExperimentConfig) -> bool:
    return cfg.data.source == "tfds" and bool(cfg.data.tfds.train)
