"""An export loaded by plain TensorFlow gives the Keras model's detections on both signatures."""

from __future__ import annotations

import numpy as np
import pytest
from detection_asserts import assert_same_detections
from serving_helpers import MAX_DETECTIONS

from efgrnet_tf.boxes.anchors import generate_anchors
from efgrnet_tf.data.preprocess import preprocess_for_eval
from efgrnet_tf.modeling.detection_generator import decode_detections

pytestmark = pytest.mark.slow


def keras_detections(model, cfg, image: np.ndarray) -> dict[str, np.ndarray]:
    """The in-process reference: preprocess, run the Keras model, decode (one image)."""
    size = cfg.model.image_size
    outputs = model(preprocess_for_eval(image[None], size, cfg.data.mean_bgr), training=False)
    detections = decode_detections(
        outputs,
        generate_anchors(cfg.anchors, (size, size)),
        cfg.postprocess,
        cfg.anchors.variances,
    )
    return {name: value.numpy()[0] for name, value in detections.items()}


def image_row(outputs: dict, index: int) -> dict[str, np.ndarray]:
    return {name: np.asarray(value)[index] for name, value in outputs.items()}


def test_loading_the_export_does_not_import_efgrnet_tf(stock_tf_report):
    assert stock_tf_report["efgrnet_tf_imported"] is False


def test_outputs_have_the_od_api_shapes(stock_tf_report):
    outputs = stock_tf_report["image_bytes"]
    assert np.shape(outputs["detection_boxes"]) == (2, MAX_DETECTIONS, 4)
    assert np.shape(outputs["detection_scores"]) == (2, MAX_DETECTIONS)
    assert np.shape(outputs["detection_classes"]) == (2, MAX_DETECTIONS)
    assert np.shape(outputs["num_detections"]) == (2,)


def test_image_bytes_and_image_tensor_signatures_agree(stock_tf_report):
    # One batch of two PNGs of different sizes against each image's uint8 pixels alone.
    by_bytes = stock_tf_report["image_bytes"]
    for index, by_tensor in enumerate(stock_tf_report["image_tensor"]):
        assert_same_detections(image_row(by_bytes, index), image_row(by_tensor, 0), atol=1e-5)


def test_jpeg_bytes_match_their_decoded_pixels(stock_tf_report):
    by_bytes, by_tensor = stock_tf_report["jpeg_bytes"], stock_tf_report["jpeg_tensor"]
    assert_same_detections(image_row(by_bytes, 0), image_row(by_tensor, 0), atol=1e-5)


def test_export_matches_the_keras_model(stock_tf_report, trained_model, small_cfg, test_images):
    model = trained_model[0]
    for pixels, by_tensor in zip(test_images[1], stock_tf_report["image_tensor"], strict=True):
        expected = keras_detections(model, small_cfg, pixels)
        assert_same_detections(image_row(by_tensor, 0), expected)
