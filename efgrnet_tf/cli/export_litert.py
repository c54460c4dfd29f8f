"""`efgrnet-export-litert` / `scripts/export_litert.py`: a checkpoint -> a LiteRT `.tflite`.

    efgrnet-export-litert --config configs/voc_vgg16_320.yaml --checkpoint runs/voc320 \
        --output exports/efgrnet.tflite [--quantize int8 --representative_images DIR]

Writes the model and `labels.txt` beside it, prints the model's path. The model takes float32
(uint8 for `int8`) `[1, S, S, 3]` RGB pixels resized to S x S; see README "Run on device
(LiteRT)".
"""

from __future__ import annotations

from absl import app, flags, logging

from efgrnet_tf.cli import config_flags, launch
from efgrnet_tf.data.classes import with_classes
from efgrnet_tf.serving.litert_converter import QUANTIZATIONS, export_litert

config_flags.define_config_flags("Experiment YAML the checkpoint was trained with.")
_CHECKPOINT = config_flags.define_checkpoint_flag()
_OUTPUT = flags.DEFINE_string(
    "output", None, "The LiteRT model file to write (`model.tflite`); labels.txt goes beside it."
)
_QUANTIZE = flags.DEFINE_enum(
    "quantize",
    "none",
    list(QUANTIZATIONS),
    "none: float32. float16: float16 weights. dynamic_int8: int8 weights, float activations. "
    "int8: uint8 input, int8 convolutions and matmuls calibrated on --representative_images "
    "(the deformable conv's sampling coordinates and the box decoding stay float32).",
)
_REPRESENTATIVE_IMAGES = flags.DEFINE_string(
    "representative_images",
    None,
    "Folder of JPEG/PNG training images that calibrate --quantize int8 (up to 200 are read).",
)


def main(argv: list[str]) -> int:
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    if _QUANTIZE.value == "int8" and not _REPRESENTATIVE_IMAGES.value:
        raise app.UsageError("--quantize int8 needs --representative_images")
    labels_path = export_litert(
        with_classes(config_flags.config_from_flags()),
        _CHECKPOINT.value,
        _OUTPUT.value,
        quantize=_QUANTIZE.value,
        representative_images_dir=_REPRESENTATIVE_IMAGES.value,
    )
    logging.info("wrote %s and %s", _OUTPUT.value, labels_path)
    print(_OUTPUT.value)
    return 0


def run() -> None:
    flags.mark_flags_as_required(["config", "checkpoint", "output"])
    launch.run_tool(main, [__name__, config_flags.MODULE])
