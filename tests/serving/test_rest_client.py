"""REST client: URLs and bodies in TF Serving's documented shape, replies, readable errors."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
from fake_tf_serving import closed_port, rest_server

from efgrnet_tf.serving import rest_client
from efgrnet_tf.serving.client_errors import ServingClientError


def test_predict_url_follows_the_rest_api_scheme():
    assert (
        rest_client.predict_url("localhost", 8501, "efgrnet")
        == "http://localhost:8501/v1/models/efgrnet:predict"
    )
    assert (
        rest_client.predict_url("10.0.0.2", 9000, "my model", version=3)
        == "http://10.0.0.2:9000/v1/models/my%20model/versions/3:predict"
    )


def test_image_bytes_body_is_instances_of_b64_objects():
    encoded = [b"\x89PNG\r\n\x1a\n first", b"\xff\xd8\xff second"]
    body = json.loads(json.dumps(rest_client.image_bytes_body(encoded)))
    assert body == {
        "signature_name": "serve_image_bytes",
        "instances": [{"b64": base64.b64encode(data).decode("ascii")} for data in encoded],
    }
    assert [base64.b64decode(i["b64"]) for i in body["instances"]] == encoded


def test_image_tensor_body_is_nested_lists_of_pixels():
    images = np.arange(2 * 2 * 3 * 3, dtype=np.uint8).reshape(2, 2, 3, 3)
    body = json.loads(json.dumps(rest_client.image_tensor_body(images)))
    assert body["signature_name"] == "serving_default"
    # Image 1, row 0, column 2 starts at flat index 1 * 18 + 0 * 9 + 2 * 3 = 24.
    assert body["instances"][1][0][2] == [24, 25, 26]
    np.testing.assert_array_equal(np.array(body["instances"], np.uint8), images)


@pytest.mark.parametrize(
    "images", [np.zeros((1, 4, 4, 3), np.float32), np.zeros((4, 4, 3), np.uint8)]
)
def test_image_tensor_body_rejects_what_the_signature_would(images):
    with pytest.raises(ValueError, match=r"uint8 \[B, H, W, 3\]"):
        rest_client.image_tensor_body(images)


def test_parse_predictions_stacks_the_rows():
    row = {
        "detection_boxes": [[0.1, 0.2, 0.3, 0.4]],
        "detection_scores": [0.9],
        "detection_classes": [2.0],
        "num_detections": 1.0,
    }
    parsed = rest_client.parse_predictions({"predictions": [row, row]})
    assert parsed["detection_boxes"].shape == (2, 1, 4)
    np.testing.assert_array_equal(parsed["num_detections"], [1.0, 1.0])
    with pytest.raises(ServingClientError, match="unexpected TF Serving response"):
        rest_client.parse_predictions({"error": "nope"})


def test_closed_port_is_reported_as_unreachable():
    url = rest_client.predict_url("127.0.0.1", closed_port(), "efgrnet")
    with pytest.raises(ServingClientError, match=r"cannot reach TF Serving.*connection refused"):
        rest_client.predict(url, rest_client.image_bytes_body([b"x"]), timeout_s=5)


def test_http_error_message_quotes_tf_serving_error():
    message = rest_client.http_error_message(
        "http://h/v1/models/m:predict",
        404,
        b'{"error": "Servable not found for request: Latest(m)"}',
    )
    assert "HTTP 404" in message and "Servable not found" in message and "model name" in message
    assert "HTTP 502" in rest_client.http_error_message("u", 502, b"<html>bad gateway</html>")


@pytest.mark.slow
def test_predict_over_rest_returns_the_signature_outputs(loaded_export, test_images):
    with open(test_images[0][0], "rb") as f:
        encoded = f.read()
    expected = loaded_export.signatures["serve_image_bytes"](encoded_images=[encoded])
    with rest_server(loaded_export, "efgrnet") as port:
        by_bytes = rest_client.predict(
            rest_client.predict_url("127.0.0.1", port, "efgrnet", version=1),
            rest_client.image_bytes_body([encoded]),
        )
        by_pixels = rest_client.predict(
            rest_client.predict_url("127.0.0.1", port, "efgrnet"),
            rest_client.image_tensor_body(test_images[1][0][None]),
        )
    for name, value in expected.items():
        np.testing.assert_allclose(by_bytes[name], value.numpy(), atol=1e-6)
        np.testing.assert_allclose(by_pixels[name], value.numpy(), atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_name", "signature_name", "message"),
    [
        ("wrong_model", "serve_image_bytes", "HTTP 404.*Latest\\(wrong_model\\).*model name"),
        ("efgrnet", "wrong_signature", "HTTP 400.*wrong_signature.*signature name"),
    ],
)
def test_wrong_model_or_signature_is_a_readable_error(
    loaded_export, model_name, signature_name, message
):
    with rest_server(loaded_export, "efgrnet") as port:
        url = rest_client.predict_url("127.0.0.1", port, model_name)
        with pytest.raises(ServingClientError, match=message):
            rest_client.predict(url, rest_client.image_bytes_body([b"x"], signature_name))
