"""Writes a checkpoint as a versioned SavedModel in TF Serving's layout: `BASE/<version>/`.

TF Serving watches `BASE` and serves the highest numeric sub-folder. An export is written to a
hidden sibling folder first and renamed into place, so the server never sees a half-written
version.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import tempfile

import tensorflow as tf

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.classes import label_map as label_map_of
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights
from efgrnet_tf.modeling.efgrnet import build_model
from efgrnet_tf.serving.export_module import DetectionExportModule
from efgrnet_tf.serving.labels import (
    LABEL_MAP_FILENAME,
    LABELS_FILENAME,
    write_label_map_pbtxt,
    write_labels_file,
)
from efgrnet_tf.user_errors import UserInputError

DEFORM_CONV_IMPLEMENTATIONS = ("crop_and_resize", "pure_tf", "custom_op")


class ExportOptionsError(UserInputError, ValueError):
    """The export's deformable-conv implementation cannot be used as asked (named)."""


def export_implementation(deform_conv_implementation: str | None, jit_compile: bool) -> str:
    """The deformable conv of an export: as asked, or by default the fastest stock-op one.

    The default is `crop_and_resize` (stock ops, the fastest in inference), or `pure_tf` under
    `jit_compile`, the one stock-op implementation XLA compiles.

    Raises:
      ExportOptionsError: an unknown name, or one without an XLA kernel under `jit_compile`.
    """
    if deform_conv_implementation is None:
        return "pure_tf" if jit_compile else "crop_and_resize"
    if deform_conv_implementation not in DEFORM_CONV_IMPLEMENTATIONS:
        raise ExportOptionsError(
            f"deform_conv_implementation must be one of {DEFORM_CONV_IMPLEMENTATIONS}, got "
            f"{deform_conv_implementation!r}"
        )
    if jit_compile and deform_conv_implementation != "pure_tf":
        raise ExportOptionsError(
            f"deform_conv_implementation={deform_conv_implementation!r} has no XLA kernel; "
            "with jit_compile use 'pure_tf'"
        )
    return deform_conv_implementation


def next_version(export_base_dir: str | os.PathLike) -> int:
    """One more than the largest numeric sub-folder of `export_base_dir` (1 when none)."""
    base = os.fspath(export_base_dir)
    if not os.path.isdir(base):
        return 1
    versions = [int(name) for name in os.listdir(base) if name.isdigit()]
    return max(versions, default=0) + 1


def version_dir(export_base_dir: str | os.PathLike, version: int | None) -> str:
    """`BASE/<version>` for a new export (`version` None: `next_version(BASE)`).

    Raises:
      ValueError: `version` is negative.
      FileExistsError: that version folder already exists; exports are never overwritten,
        since TF Serving may be serving it.
    """
    base = os.fspath(export_base_dir)
    if version is None:
        version = next_version(base)
    if version < 0:
        raise ValueError(f"an export version must be >= 0, got {version}")
    path = os.path.join(base, str(version))
    if os.path.exists(path):
        raise FileExistsError(
            f"export version {path} already exists; pass another --version or leave it out to "
            f"get the next free one ({next_version(base)})"
        )
    return path


def config_for_export(cfg: ExperimentConfig, deform_conv_implementation: str) -> ExperimentConfig:
    """`cfg` with the deformable-conv kernel of the export.

    `crop_and_resize` and `pure_tf` give a graph of stock TensorFlow ops only, which stock TF
    Serving loads. `custom_op` puts the compiled `EfgrnetDeformConv2D` op in the graph; only a
    TF Serving build that links `_deform_conv_ops.so` can load that export.

    Raises:
      ExportOptionsError: `deform_conv_implementation` is none of `DEFORM_CONV_IMPLEMENTATIONS`.
    """
    export_implementation(deform_conv_implementation, jit_compile=False)
    model_cfg = dataclasses.replace(
        cfg.model, deform_conv_implementation=deform_conv_implementation
    )
    return dataclasses.replace(cfg, model=model_cfg)


def export_saved_model(
    cfg: ExperimentConfig,
    checkpoint: str,
    export_base_dir: str | os.PathLike,
    *,
    version: int | None = None,
    deform_conv_implementation: str | None = None,
    jit_compile: bool = False,
) -> str:
    """Builds the model of `cfg`, restores `checkpoint` and saves it as `BASE/<version>/`.

    The SavedModel has the signatures `serving_default` (uint8 images) and `serve_image_bytes`
    (encoded images), see `efgrnet_tf.serving.signature_names`; their `detection_classes` are
    the data set's own class ids (`efgrnet_tf.data.classes.label_map`), named by
    `assets/labels.txt` and `assets/label_map.pbtxt` (`efgrnet_tf.serving.labels`).

    Args:
      cfg: the experiment config the checkpoint was trained with.
      checkpoint: a checkpoint path (`.../ckpt-1234`) or a folder whose newest checkpoint is
        used; only the model's weights are read.
      export_base_dir: BASE, the folder TF Serving is pointed at; created when missing.
      version: the version number; None picks `next_version(BASE)`.
      deform_conv_implementation: one of `DEFORM_CONV_IMPLEMENTATIONS` (see
        `config_for_export`); None: `export_implementation`'s default.
      jit_compile: XLA-compile the model's forward pass in the serving functions.
    Returns:
      The path of the new version folder.
    Raises:
      FileExistsError: the version folder exists (checked before anything is built).
      ExportOptionsError: see `export_implementation`.
      CheckpointError: no checkpoint at `checkpoint`, or one that does not fit the model.
    """
    implementation = export_implementation(deform_conv_implementation, jit_compile)
    target = version_dir(export_base_dir, version)
    export_cfg = config_for_export(cfg, implementation)
    label_map = label_map_of(export_cfg)
    model = build_model(export_cfg)
    restore_model_weights(model, checkpoint)

    base = os.path.dirname(target)
    os.makedirs(base, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=f".tmp-{os.path.basename(target)}-", dir=base)
    try:
        asset_paths = (
            os.path.join(staging, LABELS_FILENAME),
            os.path.join(staging, LABEL_MAP_FILENAME),
        )
        write_labels_file(label_map, asset_paths[0])
        write_label_map_pbtxt(label_map, asset_paths[1])
        module = DetectionExportModule(
            model, export_cfg, label_map, asset_paths, jit_compile=jit_compile
        )
        saved = os.path.join(staging, "saved_model")
        tf.saved_model.save(module, saved, signatures=module.signatures())
        os.rename(saved, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target
