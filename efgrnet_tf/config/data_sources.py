"""Per-source data configs: `data.<source>` says where that reader finds its splits.

`data.source` picks one of them (`efgrnet_tf.data.sources.catalog`); the others are not read.
An empty evaluation entry means the source has no evaluation split. Which fields a source needs
is checked when the config loads (`efgrnet_tf.config.checks`).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SyntheticDataConfig:
    """The embedded shapes set (`efgrnet_tf.data.synthetic`), generated from `data.seed`."""

    train_size: int = 2000
    eval_size: int = 200
    # Side of the square images, in pixels.
    image_size: int = 256

    def __post_init__(self):
        if self.train_size <= 0 or self.eval_size < 0 or self.image_size <= 0:
            raise ValueError(
                "train_size and image_size must be > 0 and eval_size >= 0, got "
                f"{self.train_size}, {self.image_size}, {self.eval_size}"
            )


@dataclasses.dataclass(frozen=True)
class TfdsDataConfig:
    """Prepared tensorflow-datasets sets (`voc/2007`, `voc/2012`, `coco/2017`), never downloaded.

    Splits are `"name:split"` strings; several training splits are mixed in proportion to
    their sizes.
    """

    # e.g. ["voc/2007:trainval", "voc/2012:trainval"].
    train: tuple[str, ...] = ()
    # e.g. "voc/2007:test".
    eval: str = ""
    # tfds `data_dir`; "" = tfds's default folder.
    data_dir: str = ""


@dataclasses.dataclass(frozen=True)
class VocImageSetConfig:
    """One image set of a VOC year folder: `<year_folder>/ImageSets/Main/<image_set>.txt`."""

    # e.g. "VOCdevkit/VOC2007" (holds Annotations/, ImageSets/, JPEGImages/).
    year_folder: str = ""
    # e.g. "trainval".
    image_set: str = ""


@dataclasses.dataclass(frozen=True)
class VocFolderConfig:
    """Raw VOC folders; several training image sets are concatenated."""

    train: tuple[VocImageSetConfig, ...] = ()
    # An empty `year_folder` = no evaluation split.
    eval: VocImageSetConfig = dataclasses.field(default_factory=VocImageSetConfig)


@dataclasses.dataclass(frozen=True)
class CocoJsonSplitConfig:
    """An image folder and the COCO `instances_*.json` that annotates it."""

    images: str = ""
    annotations: str = ""


@dataclasses.dataclass(frozen=True)
class CocoJsonConfig:
    """COCO-style annotation files; several training files (same categories) are concatenated.

    The label map is the first file's (the evaluation file's in a config that only evaluates).
    """

    train: tuple[CocoJsonSplitConfig, ...] = ()
    # An empty `annotations` = no evaluation split.
    eval: CocoJsonSplitConfig = dataclasses.field(default_factory=CocoJsonSplitConfig)


@dataclasses.dataclass(frozen=True)
class TfRecordConfig:
    """Sharded TFRecords written by `scripts/convert_to_tfrecord.py`.

    A prefix `P` names the shards `P-*-of-*.tfrecord` and the metadata file `P.json`; several
    training prefixes are mixed in proportion to their sizes.
    """

    train_prefixes: tuple[str, ...] = ()
    # "" = no evaluation split.
    eval_prefix: str = ""
