"""The label map shipped with an export: `labels.txt` and the OD-API `label_map.pbtxt`.

Both name the ids of the signatures' `detection_classes`, the data set's own ids
(`efgrnet_tf.data.classes.LabelMap`): COCO category ids for COCO, 1..N for data sets without
ids of their own.
- `labels.txt`: line i (counting from 1) names id i; an id no class has gets an empty line
  (so COCO's file has 90 lines), background (id 0) has none.
- `label_map.pbtxt`: the TF Object Detection API's `StringIntLabelMap` text format,
  `item { id: 3 name: "car" display_name: "car" }` per class.
"""

from __future__ import annotations

import json
import os

from efgrnet_tf.data.classes import LabelMap

LABELS_FILENAME = "labels.txt"
LABEL_MAP_FILENAME = "label_map.pbtxt"


def write_labels_file(label_map: LabelMap, path: str | os.PathLike) -> None:
    """Writes `labels.txt` for `label_map`, UTF-8, newline-terminated lines."""
    names = label_map.names_by_data_id()
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{names.get(i, '')}\n" for i in range(1, max(names, default=0) + 1))


def read_labels_file(path: str | os.PathLike) -> dict[int, str]:
    """Reads a `labels.txt`: `{id: name}`, the id being the line number; empty lines skipped."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().splitlines()
    return {class_id: name for class_id, name in enumerate(lines, start=1) if name}


def write_label_map_pbtxt(label_map: LabelMap, path: str | os.PathLike) -> None:
    """Writes `label_map` as an OD-API `label_map.pbtxt` (names quoted as JSON strings, which
    protobuf's text format reads the same for printable text)."""
    with open(path, "w", encoding="utf-8") as f:
        for data_id, name in label_map.names_by_data_id().items():
            quoted = json.dumps(name, ensure_ascii=False)
            f.write(f"item {{\n  id: {data_id}\n  name: {quoted}\n  display_name: {quoted}\n}}\n")
