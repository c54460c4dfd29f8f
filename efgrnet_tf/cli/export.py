"""`efgrnet-export` / `scripts/export.py`: a checkpoint -> a TF Serving SavedModel `BASE/N/`.

    efgrnet-export --config configs/voc_vgg16_320.yaml --checkpoint runs/voc320 \
        --export_dir exports/efgrnet [--version 3] [--deform_conv_implementation custom_op]

Prints the path of the new version folder. See docs/serving.md for the signatures and for
serving the export with TF Serving.
"""

from __future__ import annotations

from absl import app, flags, logging

from efgrnet_tf.cli import config_flags, launch
from efgrnet_tf.data.classes import with_classes
from efgrnet_tf.serving.exporter import DEFORM_CONV_IMPLEMENTATIONS, export_saved_model

config_flags.define_config_flags("Experiment YAML the checkpoint was trained with.")
_CHECKPOINT = config_flags.define_checkpoint_flag()
_EXPORT_DIR = flags.DEFINE_string(
    "export_dir", None, "Base folder TF Serving watches; the export goes to BASE/<version>."
)
_VERSION = flags.DEFINE_integer(
    "version", None, "Version number; default: one past the largest existing version."
)
_DEFORM_CONV_IMPLEMENTATION = flags.DEFINE_enum(
    "deform_conv_implementation",
    None,
    list(DEFORM_CONV_IMPLEMENTATIONS),
    "crop_and_resize (default) and pure_tf: stock TF ops only (any TF Serving); "
    "crop_and_resize samples faster, pure_tf also compiles under XLA (the default with "
    "--jit_compile). custom_op: the compiled EfgrnetDeformConv2D op; only a TF Serving build "
    "that links _deform_conv_ops.so can serve it.",
)
_JIT_COMPILE = flags.DEFINE_bool(
    "jit_compile",
    False,
    "XLA-compile the model's forward pass in the serving functions. On CPUs, measured faster "
    "only in float32 at batch 1, and several times slower in mixed_bfloat16 "
    "(docs/performance.md).",
)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    path = export_saved_model(
        with_classes(config_flags.config_from_flags()),
        _CHECKPOINT.value,
        _EXPORT_DIR.value,
        version=_VERSION.value,
        deform_conv_implementation=_DEFORM_CONV_IMPLEMENTATION.value,
        jit_compile=_JIT_COMPILE.value,
    )
    logging.info("exported %s", path)
    print(path)
    return 0


def run() -> None:
    flags.mark_flags_as_required(["config", "checkpoint", "export_dir"])
    launch.run_tool(main, [__name__, config_flags.MODULE])
