"""Takes the classes from the data: fills `model.num_classes` and `class_names` of a config.

The data source owns the label map (`Source.class_names`, `Source.category_ids`); a config that
leaves the classes out (`model.num_classes: 0`, `class_names: []`) gets them from it, and one
that gives them is checked against it by `open_source`, before a model is built.
"""

from __future__ import annotations

import dataclasses

from efgrnet_tf.config.experiment import ExperimentConfig


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
