"""The CI-trained model exported by `efgrnet-export-litert` and run by the LiteRT interpreter
(no Flex delegate) gives the Keras model's detections: float32 to 1e-5, float16 and int8 to
within 0.01 COCO AP (int8's measured AP is printed).

Each model is converted once per module (a conversion takes 10-40 s).
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from detection_asserts import assert_same_detections
from PIL import Image
from serving_helpers import run_export_script

from efgrnet_tf.data.pipeline import build_eval_dataset
from efgrnet_tf.data.preprocess import restore_uint8_rgb
from efgrnet_tf.data.synthetic import synthetic_dataset
from efgrnet_tf.evaluation.detectors import keras_detection_fn
from efgrnet_tf.evaluation.evaluator import eval_labels, evaluate
from efgrnet_tf.serving.labels import read_labels_file
from efgrnet_tf.serving.litert_converter import export_litert, op_names
from efgrnet_tf.serving.litert_module import OUTPUT_NAMES
from efgrnet_tf.serving.litert_runner import LiteRTDetector

pytestmark = pytest.mark.slow

# Boxes and scores of the float32 model against the Keras model (measured: 3e-7).
FLOAT32_ATOL = 1e-5
# COCO AP of the float16 and int8 models against the Keras model's.
AP_TOLERANCE = 0.01
CALIBRATION_IMAGES = 32


@pytest.fixture(scope="module")
def float32_model(trained_ci_run, tmp_path_factory):
    """The float32 export, written by `scripts/export_litert.py` as a user runs it."""
    path = str(tmp_path_factory.mktemp("litert_float32") / "model.tflite")
    config_path = os.path.join(trained_ci_run.model_dir, "config.yaml")
    printed = run_export_script(
        "export_litert", config_path, trained_ci_run.model_dir, f"--output={path}"
    )
    assert printed == path
    return path


@pytest.fixture(scope="module")
def calibration_folder(trained_ci_run, tmp_path_factory):
    """Training images (not the held-out ones) as PNGs, to calibrate int8."""
    data = trained_ci_run.cfg.data
    folder = tmp_path_factory.mktemp("calibration")
    examples = synthetic_dataset("train", CALIBRATION_IMAGES, data.seed, data.synthetic.image_size)
    for index, example in enumerate(examples):
        Image.fromarray(example["image"].numpy()).save(folder / f"{index:03d}.png")
    return str(folder)


@pytest.fixture(scope="module")
def quantized_models(trained_ci_run, calibration_folder, tmp_path_factory):
    """`{quantize: path}` for float16 and int8."""
    paths = {}
    for quantize in ("float16", "int8"):
        path = str(tmp_path_factory.mktemp(f"litert_{quantize}") / "model.tflite")
        export_litert(
            trained_ci_run.cfg,
            trained_ci_run.model_dir,
            path,
            quantize=quantize,
            representative_images_dir=calibration_folder,
        )
        paths[quantize] = path
    return paths


@pytest.fixture(scope="module")
def keras_ap(trained_ci_run):
    cfg = trained_ci_run.cfg
    return held_out_ap(keras_detection_fn(trained_ci_run.model, cfg), cfg)


def held_out_ap(detect_fn, cfg) -> float:
    """COCO AP over the config's held-out split."""
    metrics = evaluate(detect_fn, build_eval_dataset(cfg), cfg, eval_labels(cfg), per_class=False)
    return metrics["AP"]


def litert_detection_fn(detector: LiteRTDetector, mean_bgr):
    """The evaluator's detection function (preprocessed batches in) run image by image."""

    def detect(images):
        pixels = restore_uint8_rgb(images, mean_bgr).numpy()
        outputs = [detector.detect(image) for image in pixels]
        return {name: np.stack([o[name] for o in outputs]) for name in OUTPUT_NAMES}

    return detect


def test_only_builtin_ops_and_the_od_api_postprocess_op(float32_model, quantized_models):
    for path in (float32_model, *quantized_models.values()):
        with open(path, "rb") as f:
            names = op_names(f.read())
        custom = {name for name in names if not name.isupper()}
        assert custom == {"TFLite_Detection_PostProcess"}, path


def test_fixed_pixel_input_and_outputs_in_od_api_order(float32_model, quantized_models):
    size = 128
    for path, dtype in ((float32_model, np.float32), (quantized_models["int8"], np.uint8)):
        detector = LiteRTDetector(path)
        (image_input,) = detector.interpreter.get_input_details()
        assert list(image_input["shape"]) == [1, size, size, 3]
        assert image_input["dtype"] == dtype
        # Apps written for OD API models read the outputs by position.
        by_position = [d["index"] for d in detector.interpreter.get_output_details()]
        by_name = detector.interpreter.get_signature_runner().get_output_details()
        assert by_position == [by_name[name]["index"] for name in OUTPUT_NAMES]


def test_labels_txt_beside_the_model_names_the_classes(float32_model, trained_ci_run):
    labels = read_labels_file(os.path.join(os.path.dirname(float32_model), "labels.txt"))
    assert list(labels.values()) == list(trained_ci_run.cfg.class_names)


def test_float32_detections_match_the_keras_model(float32_model, trained_ci_run):
    cfg = trained_ci_run.cfg
    batch = next(iter(build_eval_dataset(cfg)))
    expected = keras_detection_fn(trained_ci_run.model, cfg)(batch["images"][:6])
    pixels = restore_uint8_rgb(batch["images"][:6], cfg.data.mean_bgr).numpy()
    detector = LiteRTDetector(float32_model)
    for index, image in enumerate(pixels):
        reference = {name: value.numpy()[index] for name, value in expected.items()}
        assert_same_detections(detector.detect(image), reference, atol=FLOAT32_ATOL)


@pytest.mark.parametrize("quantize", ["float16", "int8"])
def test_quantized_ap_is_within_0_01_of_the_keras_model(
    quantize, quantized_models, keras_ap, trained_ci_run
):
    cfg = trained_ci_run.cfg
    detector = LiteRTDetector(quantized_models[quantize])

    ap = held_out_ap(litert_detection_fn(detector, cfg.data.mean_bgr), cfg)

    print(f"{quantize}: held-out AP {ap:.4f}, Keras model {keras_ap:.4f}")
    assert abs(ap - keras_ap) <= AP_TOLERANCE
