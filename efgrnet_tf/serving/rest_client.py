"""Client of TF Serving's REST API (`POST /v1/models/<name>[/versions/<n>]:predict`).

Request bodies use the row ("instances") format: one instance per image, binary strings as
`{"b64": ...}` objects. Only the standard library is used for HTTP.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping, Sequence

import numpy as np

from efgrnet_tf.serving.client_errors import ServingClientError
from efgrnet_tf.serving.signature_names import (
    IMAGE_BYTES_SIGNATURE,
    IMAGE_TENSOR_SIGNATURE,
    OUTPUT_NAMES,
)

DEFAULT_REST_PORT = 8501


def predict_url(host: str, port: int, model_name: str, version: int | None = None) -> str:
    """`http://host:port/v1/models/<name>[/versions/<version>]:predict`."""
    path = f"/v1/models/{urllib.parse.quote(model_name, safe='')}"
    if version is not None:
        path += f"/versions/{int(version)}"
    return f"http://{host}:{port}{path}:predict"


def image_bytes_body(
    encoded_images: Sequence[bytes], signature_name: str = IMAGE_BYTES_SIGNATURE
) -> dict:
    """`{"signature_name": ..., "instances": [{"b64": <base64 of image i>}, ...]}`."""
    instances = [{"b64": base64.b64encode(data).decode("ascii")} for data in encoded_images]
    return {"signature_name": signature_name, "instances": instances}


def image_tensor_body(images: np.ndarray, signature_name: str = IMAGE_TENSOR_SIGNATURE) -> dict:
    """`{"signature_name": ..., "instances": images.tolist()}` for uint8 `[B, H, W, 3]` images.

    Raises:
      ValueError: `images` is not uint8 `[B, H, W, 3]` (the server would reject it anyway).
    """
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] != 3:
        raise ValueError(f"images must be uint8 [B, H, W, 3], got {images.dtype} {images.shape}")
    return {"signature_name": signature_name, "instances": images.tolist()}


def parse_predictions(response: Mapping) -> dict[str, np.ndarray]:
    """A row-format `{"predictions": [{output: value}, ...]}` -> `{output: [B, ...] float32}`."""
    try:
        rows = response["predictions"]
        return {name: np.asarray([row[name] for row in rows], np.float32) for name in OUTPUT_NAMES}
    except (KeyError, TypeError) as e:
        raise ServingClientError(
            f"unexpected TF Serving response (no {e} in it): {str(response)[:300]}"
        ) from e


def predict(url: str, body: Mapping, timeout_s: float = 30.0) -> dict[str, np.ndarray]:
    """POSTs `body` to `url` and returns the parsed detections.

    Raises:
      ServingClientError: connection refused, host not found, time-out, or an HTTP error; the
        message quotes TF Serving's `{"error": ...}` text when there is one.
    """
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as reply:
            return parse_predictions(json.load(reply))
    except urllib.error.HTTPError as e:
        raise ServingClientError(http_error_message(url, e.code, e.read())) from e
    except urllib.error.URLError as e:
        raise ServingClientError(unreachable_message(url, e.reason, timeout_s)) from e
    except TimeoutError as e:
        raise ServingClientError(unreachable_message(url, e, timeout_s)) from e
    except json.JSONDecodeError as e:
        raise ServingClientError(f"TF Serving at {url} answered with invalid JSON: {e}") from e


def http_error_message(url: str, status: int, payload: bytes) -> str:
    """A readable message for an HTTP error reply of TF Serving (`{"error": "..."}` body)."""
    try:
        detail = json.loads(payload)["error"]
    except (ValueError, KeyError, TypeError):
        detail = payload.decode("utf-8", "replace")[:300]
    if status == 404:
        hint = "is the model name (and version) the one TF Serving serves?"
    elif status == 400:
        hint = "check the signature name and that the inputs fit it"
    else:
        hint = "see the TF Serving log"
    return f"TF Serving rejected {url} (HTTP {status}): {detail} -- {hint}"


def unreachable_message(url: str, reason: object, timeout_s: float) -> str:
    """A readable message for a request that never got an HTTP answer."""
    if isinstance(reason, TimeoutError):
        what = f"no answer within {timeout_s:g} s"
    elif isinstance(reason, ConnectionRefusedError):
        what = "connection refused"
    else:
        what = str(reason)
    return (
        f"cannot reach TF Serving at {url}: {what} -- is tensorflow_model_server running with "
        f"--rest_api_port on that port (8501 by default)?"
    )
