"""Reads configs written before the per-source data sections and the derived anchor count.

Run folders keep the `config.yaml` they were trained with (evaluate, export and predict read
it), and older YAML files and overrides use the flat `data` keys, whose meaning changed with
`data.source`. They are translated into the per-source sections
(`efgrnet_tf.config.data_sources`) with one deprecation warning naming the new keys:

- tfds: `train_splits`, `eval_split`, `data_dir` -> `tfds.train`, `tfds.eval`,
  `tfds.data_dir`;
- voc_folder: `train_paths[i]` with `train_splits[i]` (or the only one) ->
  `voc_folder.train[i]` `{year_folder, image_set}`; `eval_path`, `eval_split` ->
  `voc_folder.eval` `{year_folder, image_set}`;
- coco_json: `train_paths[0]` with `annotation_file` -> `coco_json.train[0]`
  `{images, annotations}`; `eval_path`, `eval_annotation_file` -> `coco_json.eval`;
- tfrecord: `train_paths`, `eval_path` -> `tfrecord.train_prefixes`, `tfrecord.eval_prefix`;

and `synthetic_{train_size,eval_size,image_size}` -> `synthetic.{...}` whatever the source. A
flat key the source never read is dropped (named in the warning when it was not empty).
`model.num_anchors_per_cell` is now `len(anchors.aspect_ratios)`: a config that still sets it
is accepted when it agrees (old run folders record it), and rejected otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from efgrnet_tf.config.boxes import AnchorConfig
from efgrnet_tf.config.checks import InvalidField
from efgrnet_tf.config.raw_trees import deep_merge, dotted_keys

logger = logging.getLogger("efgrnet_tf.config")

FLAT_DATA_KEYS = (
    "train_splits",
    "eval_split",
    "data_dir",
    "train_paths",
    "eval_path",
    "annotation_file",
    "eval_annotation_file",
    "synthetic_train_size",
    "synthetic_eval_size",
    "synthetic_image_size",
)


def upgrade_flat_data_keys(data: Any, inherited_source: str, where: str) -> bool:
    """Moves the flat keys of one layer's `data` mapping into `data.<source>`, in place.

    Args:
      data: the `data` mapping of one YAML file or override (anything else is left alone).
      inherited_source: `data.source` when this layer does not set it (from its bases).
      where: the file or override, named in the warning.
    Returns:
      Whether there was a flat key to translate.
    Raises:
      InvalidField: flat keys that cannot be paired (VOC folders and image sets, one COCO
        image folder).
    """
    if not isinstance(data, dict):
        return False
    flat = {key: data.pop(key) for key in FLAT_DATA_KEYS if key in data}
    if not flat:
        return False
    source = data.get("source", inherited_source)
    old_keys = [f"data.{key}" for key in flat]
    sections, unread = _per_source_sections(source, flat)
    deep_merge(data, sections)
    new_keys = [f"data.{key}" for key in dotted_keys(sections, leaves_only=True)]
    logger.warning(
        "%s: the flat data keys %s are deprecated; read as %s%s",
        where,
        ", ".join(old_keys),
        ", ".join(new_keys) or "nothing",
        f" (data.source {source} never read {', '.join(unread)}: dropped)" if unread else "",
    )
    return True


def drop_num_anchors_per_cell(raw: Mapping, where: str) -> None:
    """Removes `model.num_anchors_per_cell` from the merged config if it fits the anchors.

    `where` (the file or override that set it) is named in the deprecation warning.

    Raises:
      InvalidField: it differs from `len(anchors.aspect_ratios)`.
    """
    model = raw.get("model")
    if not isinstance(model, dict) or "num_anchors_per_cell" not in model:
        return
    value = model.pop("num_anchors_per_cell")
    anchors = raw.get("anchors")
    ratios = anchors.get("aspect_ratios") if isinstance(anchors, Mapping) else None
    if ratios is None:
        ratios = AnchorConfig().aspect_ratios
    if isinstance(ratios, list | tuple) and value != len(ratios):
        raise InvalidField(
            "model.num_anchors_per_cell",
            f"model.num_anchors_per_cell {value!r} contradicts anchors.aspect_ratios "
            f"{list(ratios)}: it is now always len(anchors.aspect_ratios); remove it",
        )
    logger.warning(
        "%s: model.num_anchors_per_cell is deprecated (it is len(anchors.aspect_ratios)); ignored",
        where,
    )


def _per_source_sections(source: str, flat: dict) -> tuple[dict, list[str]]:
    """`({section: fields}, unread non-empty flat keys)` for the flat keys of one layer."""
    sections: dict[str, dict] = {}
    synthetic = {
        new: flat.pop(old)
        for old, new in (
            ("synthetic_train_size", "train_size"),
            ("synthetic_eval_size", "eval_size"),
            ("synthetic_image_size", "image_size"),
        )
        if old in flat
    }
    if synthetic:
        sections["synthetic"] = synthetic
    if source == "tfds":
        tfds = _renamed(
            flat, {"train_splits": "train", "eval_split": "eval", "data_dir": "data_dir"}
        )
        sections["tfds"] = tfds
    elif source == "voc_folder":
        sections["voc_folder"] = _voc_folder(flat)
    elif source == "coco_json":
        sections["coco_json"] = _coco_json(flat)
    elif source == "tfrecord":
        sections["tfrecord"] = _renamed(
            flat, {"train_paths": "train_prefixes", "eval_path": "eval_prefix"}
        )
    unread = [f"data.{key}" for key, value in flat.items() if value not in ("", [], None)]
    return {name: fields for name, fields in sections.items() if fields}, unread


def _renamed(flat: dict, names: dict[str, str]) -> dict:
    """Pops `flat[old]` as `{new: value}` for each `old: new` present."""
    return {new: flat.pop(old) for old, new in names.items() if old in flat}


def _voc_folder(flat: dict) -> dict:
    """`train_paths` paired with `train_splits` (one image set for all, or one per folder)."""
    voc: dict[str, Any] = {}
    folders, image_sets = flat.pop("train_paths", None), flat.pop("train_splits", None)
    if folders is not None or image_sets is not None:
        folders, image_sets = _list(folders, "train_paths"), _list(image_sets, "train_splits")
        if len(image_sets) == 1:
            image_sets = image_sets * len(folders)
        if len(image_sets) != len(folders):
            raise InvalidField(
                "data.train_paths",
                f"data.train_splits {image_sets} must name one image set, or one per "
                f"data.train_paths folder {folders}; better write data.voc_folder.train",
            )
        voc["train"] = [
            {"year_folder": folder, "image_set": image_set}
            for folder, image_set in zip(folders, image_sets, strict=True)
        ]
    evaluation = _renamed(flat, {"eval_path": "year_folder", "eval_split": "image_set"})
    if evaluation:
        voc["eval"] = evaluation
    return voc


def _coco_json(flat: dict) -> dict:
    """`train_paths` = [image folder] paired with `annotation_file`."""
    coco: dict[str, Any] = {}
    folders, annotations = flat.pop("train_paths", None), flat.pop("annotation_file", None)
    if folders or annotations:
        folders = _list(folders, "train_paths")
        if len(folders) != 1:
            raise InvalidField(
                "data.train_paths",
                f"data.train_paths {folders} must be [image folder] for coco_json; better "
                "write data.coco_json.train",
            )
        coco["train"] = [{"images": folders[0], "annotations": annotations or ""}]
    evaluation = _renamed(flat, {"eval_path": "images", "eval_annotation_file": "annotations"})
    if evaluation:
        coco["eval"] = evaluation
    return coco


def _list(value: Any, key: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list | tuple):
        raise InvalidField(f"data.{key}", f"data.{key} must be a list, got {value!r}")
    return list(value)
