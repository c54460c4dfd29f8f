"""Client of TF Serving's gRPC `PredictionService.Predict` (tensorflow-serving-api protos)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from efgrnet_tf.serving.client_errors import ServingClientError
from efgrnet_tf.serving.signature_names import (
    IMAGE_BYTES_SIGNATURE,
    IMAGE_TENSOR_SIGNATURE,
    INPUT_NAMES,
    OUTPUT_NAMES,
)

DEFAULT_GRPC_PORT = 8500


def predict_request(
    model_name: str,
    signature_name: str,
    inputs: Mapping[str, np.ndarray],
    version: int | None = None,
) -> predict_pb2.PredictRequest:
    """A `PredictRequest` for `model_spec` (name, signature, optional version) and `inputs`."""
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)
    for name, value in inputs.items():
        request.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return request


def image_bytes_request(
    model_name: str,
    encoded_images: Sequence[bytes],
    version: int | None = None,
    signature_name: str = IMAGE_BYTES_SIGNATURE,
) -> predict_pb2.PredictRequest:
    """`serve_image_bytes` request: a DT_STRING `[B]` tensor of the encoded images."""
    encoded = np.array(list(encoded_images), dtype=object)
    return predict_request(
        model_name, signature_name, {INPUT_NAMES[IMAGE_BYTES_SIGNATURE]: encoded}, version
    )


def image_tensor_request(
    model_name: str,
    images: np.ndarray,
    version: int | None = None,
    signature_name: str = IMAGE_TENSOR_SIGNATURE,
) -> predict_pb2.PredictRequest:
    """`serving_default` request: a DT_UINT8 `[B, H, W, 3]` tensor.

    Raises:
      ValueError: `images` is not uint8 `[B, H, W, 3]`.
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 [B, H, W, 3], got {images.dtype} {images.shape}")
    return predict_request(
        model_name, signature_name, {INPUT_NAMES[IMAGE_TENSOR_SIGNATURE]: images}, version
    )


def parse_response(response: predict_pb2.PredictResponse) -> dict[str, np.ndarray]:
    """`{output: [B, ...] float32}` for the four detection outputs."""
    missing = [name for name in OUTPUT_NAMES if name not in response.outputs]
    if missing:
        raise ServingClientError(
            f"TF Serving's response lacks {missing}; it has {sorted(response.outputs)}"
        )
    return {
        name: tf.make_ndarray(response.outputs[name]).astype(np.float32) for name in OUTPUT_NAMES
    }


def predict(
    target: str, request: predict_pb2.PredictRequest, timeout_s: float = 30.0
) -> dict[str, np.ndarray]:
    """Sends `request` to `target` (`host:port`) and returns the parsed detections.

    Raises:
      ServingClientError: the server is unreachable, timed out, or rejected the request.
    """
    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        try:
            response = stub.Predict(request, timeout=timeout_s)
        except grpc.RpcError as e:
            raise ServingClientError(rpc_error_message(target, request, e)) from e
    return parse_response(response)


def rpc_error_message(
    target: str, request: predict_pb2.PredictRequest, error: grpc.RpcError
) -> str:
    """A readable message for a failed `Predict` call, by gRPC status code."""
    code, detail = error.code(), error.details()
    spec = request.model_spec
    model = repr(spec.name) + (f" version {spec.version.value}" if spec.HasField("version") else "")
    if code == grpc.StatusCode.UNAVAILABLE:
        return (
            f"cannot reach TF Serving at {target}: {detail} -- is tensorflow_model_server "
            f"running with --port on that port (8500 by default)?"
        )
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return f"TF Serving at {target} did not answer in time: {detail}"
    if code == grpc.StatusCode.NOT_FOUND:
        return f"TF Serving at {target} does not serve model {model}: {detail}"
    if code in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION):
        return (
            f"TF Serving at {target} rejected the request for signature "
            f"{spec.signature_name!r} of model {model}: {detail} -- check the signature name and "
            f"that the inputs fit it"
        )
    return f"TF Serving at {target} failed ({code.name}): {detail}"
