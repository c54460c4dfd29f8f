"""Text tables and files for evaluation results.

Metrics travel as one flat `{name: float}` dict: summary numbers have plain names (`AP`,
`mAP_area`), per-class numbers are `<kind>/<class name>` (`AP/person`, `AP_area/dog`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

import tensorflow as tf


def split_per_class(
    metrics: Mapping[str, float],
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Splits flat metrics into the summary numbers and `{class: {kind: value}}`."""
    summary, per_class = {}, {}
    for name, value in metrics.items():
        kind, sep, class_name = name.partition("/")
        if sep:
            per_class.setdefault(class_name, {})[kind] = value
        else:
            summary[name] = value
    return summary, per_class


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table: left-aligned first column, right-aligned others, a rule under the
    header."""
    widths = [max(len(str(row[c])) for row in [header, *rows]) for c in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        first = str(cells[0]).ljust(widths[0])
        rest = (str(cell).rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return "  ".join([first, *rest]).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def format_metrics(metrics: Mapping[str, float], per_class: bool = True) -> str:
    """The summary numbers as a `metric | value` table, then, if any and asked for, a
    `class | <kind>...` table of the per-class numbers (floats with 4 decimals)."""
    summary, classes = split_per_class(metrics)
    text = format_table(("metric", "value"), [(k, _number(v)) for k, v in summary.items()])
    if per_class and classes:
        kinds = sorted({kind for values in classes.values() for kind in values})
        rows = [
            (name, *(_number(values[k]) if k in values else "-" for k in kinds))
            for name, values in classes.items()
        ]
        text += "\n\n" + format_table(("class", *kinds), rows)
    return text


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:.4f}"


def write_json(obj, path: str) -> str:
    """Writes `obj` as indented JSON to `path` (any `tf.io.gfile` path; its folder is created);
    returns `path`."""
    folder = path.rpartition("/")[0]
    if folder:
        tf.io.gfile.makedirs(folder)
    with tf.io.gfile.GFile(path, "w") as f:
        f.write(json.dumps(obj, indent=1))
    return path
