"""gRPC client: PredictRequests that parse back to the intended tensors, readable errors."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from fake_tf_serving import closed_port, grpc_server
from tensorflow_serving.apis import predict_pb2

from efgrnet_tf.serving import grpc_client
from efgrnet_tf.serving.client_errors import ServingClientError


def reparsed(request: predict_pb2.PredictRequest) -> predict_pb2.PredictRequest:
    """The request as the server sees it: serialised and parsed back."""
    return predict_pb2.PredictRequest.FromString(request.SerializeToString())


def test_image_bytes_request_holds_a_string_vector():
    encoded = [b"\x89PNG first", b"\xff\xd8 second\x00"]
    request = reparsed(grpc_client.image_bytes_request("efgrnet", encoded, version=4))
    assert request.model_spec.name == "efgrnet"
    assert request.model_spec.signature_name == "serve_image_bytes"
    assert request.model_spec.version.value == 4
    assert list(request.inputs) == ["encoded_images"]
    tensor = request.inputs["encoded_images"]
    assert tensor.dtype == tf.string.as_datatype_enum
    assert [d.size for d in tensor.tensor_shape.dim] == [2]
    assert list(tf.make_ndarray(tensor)) == encoded


def test_image_tensor_request_holds_uint8_pixels():
    images = np.random.default_rng(0).integers(0, 256, (2, 5, 7, 3), dtype=np.uint8)
    request = reparsed(grpc_client.image_tensor_request("efgrnet", images))
    assert request.model_spec.signature_name == "serving_default"
    assert not request.model_spec.HasField("version")
    tensor = request.inputs["images"]
    assert tensor.dtype == tf.uint8.as_datatype_enum
    np.testing.assert_array_equal(tf.make_ndarray(tensor), images)


def test_image_tensor_request_rejects_float_images():
    with pytest.raises(ValueError, match="uint8"):
        grpc_client.image_tensor_request("efgrnet", np.zeros((1, 4, 4, 3), np.float32))


def test_parse_response_reads_the_four_outputs():
    response = predict_pb2.PredictResponse()
    values = {
        "detection_boxes": np.full((1, 2, 4), 0.5, np.float32),
        "detection_scores": np.array([[0.9, 0.0]], np.float32),
        "detection_classes": np.array([[3.0, 0.0]], np.float32),
        "num_detections": np.array([1.0], np.float32),
    }
    for name, value in values.items():
        response.outputs[name].CopyFrom(tf.make_tensor_proto(value))
    parsed = grpc_client.parse_response(response)
    for name, value in values.items():
        np.testing.assert_array_equal(parsed[name], value)
    del response.outputs["num_detections"]
    with pytest.raises(ServingClientError, match="num_detections"):
        grpc_client.parse_response(response)


def test_closed_port_is_reported_as_unreachable():
    request = grpc_client.image_bytes_request("efgrnet", [b"x"])
    with pytest.raises(ServingClientError, match=r"cannot reach TF Serving at 127\.0\.0\.1"):
        grpc_client.predict(f"127.0.0.1:{closed_port()}", request, timeout_s=5)


@pytest.mark.slow
def test_predict_over_grpc_returns_the_signature_outputs(loaded_export, test_images):
    pixels = test_images[1][1][None]
    expected = loaded_export.signatures["serving_default"](images=pixels)
    with grpc_server(loaded_export, "efgrnet") as port:
        request = grpc_client.image_tensor_request("efgrnet", pixels, version=1)
        outputs = grpc_client.predict(f"127.0.0.1:{port}", request)
    for name, value in expected.items():
        np.testing.assert_allclose(outputs[name], value.numpy(), atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("model_name", "signature_name", "message"),
    [
        ("wrong_model", "serve_image_bytes", "does not serve model 'wrong_model'"),
        ("efgrnet", "wrong_signature", "rejected the request for signature 'wrong_signature'"),
        ("efgrnet", "serve_image_bytes", "(?s)rejected.*Unknown image file format"),
    ],
)
def test_server_rejections_are_readable_errors(loaded_export, model_name, signature_name, message):
    request = grpc_client.image_bytes_request(
        model_name, [b"not an image"], signature_name=signature_name
    )
    with (
        grpc_server(loaded_export, "efgrnet") as port,
        pytest.raises(ServingClientError, match=message),
    ):
        grpc_client.predict(f"127.0.0.1:{port}", request)
