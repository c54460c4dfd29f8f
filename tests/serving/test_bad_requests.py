"""Malformed requests fail with a message naming the problem, and the next request works."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

pytestmark = pytest.mark.slow


def serve_images(loaded_export, images):
    return loaded_export.signatures["serving_default"](images=images)


def serve_image_bytes(loaded_export, encoded):
    return loaded_export.signatures["serve_image_bytes"](encoded_images=encoded)


@pytest.mark.parametrize(
    ("images", "message"),
    [
        (tf.zeros([1, 32, 32, 3], tf.float32), "uint8"),
        (tf.zeros([32, 32, 3], tf.uint8), "4-dimensional"),
    ],
    ids=["float_images", "rank_3"],
)
def test_bad_image_tensor_is_a_clear_error(loaded_export, images, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        serve_images(loaded_export, images)
    outputs = serve_images(loaded_export, tf.zeros([1, 32, 48, 3], tf.uint8))
    assert outputs["detection_boxes"].shape[0] == 1


def test_undecodable_image_bytes_is_a_clear_error(loaded_export, test_images):
    with pytest.raises(tf.errors.InvalidArgumentError, match="Unknown image file format"):
        serve_image_bytes(loaded_export, tf.constant([b"this is not an image"]))
    encoded = tf.io.read_file(test_images[0][1])
    outputs = serve_image_bytes(loaded_export, tf.stack([encoded]))
    assert np.isfinite(outputs["detection_scores"].numpy()).all()
