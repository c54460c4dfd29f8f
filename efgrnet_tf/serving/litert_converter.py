"""Converts a checkpoint to a LiteRT (TFLite) model of builtin ops plus the OD API's NMS op.

The graph (`LiteRTDetectionModule`) is saved as a SavedModel and converted from there, as the
TF Object Detection API does: the converter's SavedModel path lifts the variables to constants
without inlining the annotated post-processing function, which it replaces by
`TFLite_Detection_PostProcess`. Converting a frozen concrete function instead inlines that
function first and folds its placeholder zeros into the outputs.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import warnings
from collections.abc import Sequence

import numpy as np
import tensorflow as tf
from tensorflow.lite.tools import flatbuffer_utils

from efgrnet_tf.config.experiment import ExperimentConfig
from efgrnet_tf.data.classes import label_map as label_map_of
from efgrnet_tf.data.preprocess import resize_to_square
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights
from efgrnet_tf.modeling.efgrnet import build_model
from efgrnet_tf.modeling.single_image_conv import native_convolutions
from efgrnet_tf.serving.image_files import UnreadableImageError, read_rgb
from efgrnet_tf.serving.labels import LABELS_FILENAME, write_labels_file
from efgrnet_tf.serving.litert_module import OUTPUT_NAMES, LiteRTDetectionModule
from efgrnet_tf.user_errors import UserInputError

QUANTIZATIONS = ("none", "float16", "dynamic_int8", "int8")
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp")
# Ops computed in int8 by an `int8` export (`_convert_int8`).
INT8_OPS = frozenset({"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "MAX_POOL_2D", "PAD"})
# Calibration images read for int8 (the converter's own guidance is ~100-500).
MAX_REPRESENTATIVE_IMAGES = 200


def representative_images(folder: str, image_size: int) -> list[np.ndarray]:
    """The images of `folder` (sorted, at most `MAX_REPRESENTATIVE_IMAGES`) as model inputs.

    Returns:
      float32 `[1, S, S, 3]` RGB pixels each, resized as the export's input expects.
    Raises:
      UserInputError: `folder` is not a folder, holds no JPEG/PNG/BMP image or one that
        `read_rgb` cannot read.
    """
    if not os.path.isdir(folder):
        raise UserInputError(f"--representative_images {folder} is not a folder")
    names = sorted(n for n in os.listdir(folder) if n.lower().endswith(IMAGE_EXTENSIONS))
    if not names:
        raise UserInputError(f"--representative_images {folder} holds no JPEG/PNG/BMP image")
    images = []
    for name in names[:MAX_REPRESENTATIVE_IMAGES]:
        path = os.path.join(folder, name)
        try:
            pixels = read_rgb(path)
        except UnreadableImageError as e:
            raise UserInputError(f"--representative_images {path}: unreadable image: {e}") from e
        images.append(resize_to_square(pixels, image_size)[None].numpy())
    return images


def convert_module(
    module: LiteRTDetectionModule,
    quantize: str = "none",
    calibration_images: Sequence[np.ndarray] = (),
) -> bytes:
    """The LiteRT flatbuffer of `module`, builtin ops only (no Flex), quantized as asked.

    Args:
      module: the graph to convert; `int8` needs one with uint8 input.
      quantize: `none` (float32), `float16` (float16 weights, float32 compute on CPU),
        `dynamic_int8` (int8 weights, activations quantized on the fly) or `int8` (see
        `_convert_int8`).
      calibration_images: `[1, S, S, 3]` pixels in [0, 255], required for `int8`.
    Raises:
      ValueError: an unknown `quantize`, or `int8` without calibration images or uint8 input.
    """
    if quantize not in QUANTIZATIONS:
        raise ValueError(f"quantize must be one of {QUANTIZATIONS}, got {quantize!r}")
    if quantize == "int8" and (not calibration_images or module.input_dtype != tf.uint8):
        raise ValueError("quantize='int8' needs calibration images and a uint8-input module")
    with tempfile.TemporaryDirectory(prefix="efgrnet-litert-") as saved_model_dir:
        # LiteRT's CONV_2D kernels, not the float32 batch-1 MatMul path of TensorFlow's CPUs.
        with native_convolutions():
            tf.saved_model.save(
                module, saved_model_dir, signatures={"serving_default": module.detect}
            )
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model_dir)
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
        if quantize != "none":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantize == "float16":
            converter.target_spec.supported_types = [tf.float16]
        if quantize == "int8":
            flatbuffer = _convert_int8(converter, calibration_images)
        else:
            flatbuffer = converter.convert()
    return _outputs_in_od_api_order(flatbuffer)


def _convert_int8(
    converter: tf.lite.TFLiteConverter, calibration_images: Sequence[np.ndarray]
) -> bytes:
    """Int8 weights and activations for the convolutions and matmuls, float32 for the rest.

    Every op outside `INT8_OPS` stays float32: the deformable conv's sampling coordinates, the
    two-stage box decoding and the scores. Quantized to 8 bits those cost the CI model
    two thirds of its AP (README, "Run on device"); the convolutions hold nearly all the
    compute. TensorFlow's selective quantization does it (`QuantizationDebugger` with the
    other ops denylisted); it ignores `inference_input_type`, hence the module's own uint8
    input.
    """
    uint8_images = [
        np.clip(np.round(image), 0, 255).astype(np.uint8) for image in calibration_images
    ]
    converter.optimizations = []
    float_ops = op_names(converter.convert()) - INT8_OPS
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = lambda: ([image] for image in uint8_images)
    with warnings.catch_warnings():
        # The debugger runs its models in tf.lite.Interpreter, which warns of its deprecation.
        warnings.filterwarnings("ignore", "(?s).*tf.lite.Interpreter is deprecated")
        debugger = tf.lite.experimental.QuantizationDebugger(
            converter=converter,
            debug_dataset=lambda: ([image] for image in uint8_images[:1]),
            debug_options=tf.lite.experimental.QuantizationDebugOptions(
                denylisted_ops=sorted(float_ops)
            ),
        )
        return debugger.get_nondebug_quantized_model()


def op_names(flatbuffer: bytes) -> set[str]:
    """The ops of a LiteRT model: builtin names (`CONV_2D`, ...) and custom ops' codes."""
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    names = set()
    for subgraph in model.subgraphs:
        for operator in subgraph.operators:
            custom_code = model.operatorCodes[operator.opcodeIndex].customCode
            if custom_code:
                names.add(custom_code.decode())
            else:
                names.add(flatbuffer_utils.opcode_to_name(model, operator.opcodeIndex))
    return names


def export_litert(
    cfg: ExperimentConfig,
    checkpoint: str,
    output_path: str,
    *,
    quantize: str = "none",
    representative_images_dir: str | None = None,
) -> str:
    """Builds the model of `cfg`, restores `checkpoint`, writes the LiteRT model and label map.

    Args:
      cfg: the experiment config the checkpoint was trained with.
      checkpoint: a checkpoint path (`.../ckpt-1234`) or a folder (its newest checkpoint).
      output_path: the `.tflite` file to write; `labels.txt` goes beside it.
      quantize: see `convert_module`.
      representative_images_dir: calibration images for `int8`.
    Returns:
      The path of the label map.
    Raises:
      CheckpointError: no checkpoint at `checkpoint`, or one that does not fit the model.
      UserInputError: `int8` without usable calibration images.
    """
    export_cfg = dataclasses.replace(
        cfg, model=dataclasses.replace(cfg.model, deform_conv_implementation="pure_tf")
    )
    label_map = label_map_of(export_cfg)
    calibration = []
    if representative_images_dir is not None:
        calibration = representative_images(representative_images_dir, cfg.model.image_size)
    model = build_model(export_cfg)
    restore_model_weights(model, checkpoint)
    input_dtype = tf.uint8 if quantize == "int8" else tf.float32
    module = LiteRTDetectionModule(model, export_cfg, label_map, input_dtype)
    flatbuffer = convert_module(module, quantize, calibration)

    folder = os.path.dirname(os.path.abspath(output_path))
    os.makedirs(folder, exist_ok=True)
    with open(output_path, "wb") as f:
        f.write(flatbuffer)
    labels_path = os.path.join(folder, LABELS_FILENAME)
    write_labels_file(label_map, labels_path)
    return labels_path


def _outputs_in_od_api_order(flatbuffer: bytes) -> bytes:
    """`flatbuffer` with its main graph's outputs in `OUTPUT_NAMES` order.

    The converter orders a SavedModel signature's outputs its own way (count first); apps
    written for OD API models read the outputs by position: boxes, classes, scores, count.
    """
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))
    (signature,) = model.signatureDefs
    tensor_of_name = {output.name.decode(): output.tensorIndex for output in signature.outputs}
    model.subgraphs[signature.subgraphIndex].outputs = np.array(
        [tensor_of_name[name] for name in OUTPUT_NAMES], np.int32
    )
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))
