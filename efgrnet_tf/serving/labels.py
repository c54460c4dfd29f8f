"""The label map shipped with an export: `labels.txt`, one class name per line.

Line i (counting from 1) names class id i, the 1-based `detection_classes` of the signatures;
background (id 0) has no line. Names come from `cfg.class_names`; a config without names gets
`class_1` ... `class_{num_classes - 1}` so every exported id still has a line.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from efgrnet_tf.config.experiment import ExperimentConfig

LABELS_FILENAME = "labels.txt"


def class_names_for_export(cfg: ExperimentConfig) -> tuple[str, ...]:
    """The `num_classes - 1` foreground names of `cfg`, in class-id order.

    Raises:
      ValueError: `cfg.class_names` is non-empty but does not have `num_classes - 1` entries, or
        a name contains a line break (it would shift every later line of `labels.txt`).
    """
    num_foreground = cfg.model.num_classes - 1
    names = cfg.class_names or tuple(f"class_{i}" for i in range(1, num_foreground + 1))
    if len(names) != num_foreground:
        raise ValueError(
            f"class_names has {len(names)} names but model.num_classes = "
            f"{cfg.model.num_classes} needs {num_foreground} (background has no name)"
        )
    for name in names:
        if "\n" in name or "\r" in name:
            raise ValueError(f"class name {name!r} contains a line break")
    return tuple(names)


def write_labels_file(class_names: Sequence[str], path: str | os.PathLike) -> None:
    """Writes `class_names` to `path`, one per line, UTF-8, newline-terminated."""
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(f"{name}\n" for name in class_names)


def read_labels_file(path: str | os.PathLike) -> dict[int, str]:
    """Reads a `labels.txt`: `{class_id: name}` with ids 1, 2, ... in line order."""
    with open(path, encoding="utf-8") as f:
        names = f.read().splitlines()
    return {class_id: name for class_id, name in enumerate(names, start=1)}
