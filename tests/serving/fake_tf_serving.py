"""Stand-ins for TF Serving's REST and gRPC front ends, running an export in this process.

They follow TF Serving's documented behaviour where the tests look: the URL scheme
`/v1/models/<name>[/versions/<n>]:predict`, the row ("instances") format with `{"b64": ...}`
strings, `{"error": ...}` bodies with HTTP 404 for an unknown model and 400 for a bad request,
and gRPC NOT_FOUND / INVALID_ARGUMENT statuses.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import socket
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

from efgrnet_tf.serving.signature_names import IMAGE_BYTES_SIGNATURE, IMAGE_TENSOR_SIGNATURE

_PREDICT_PATH = re.compile(r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+))?:predict$")


class _Servable:
    """The export under one model name, with TF Serving's lookup errors."""

    def __init__(self, loaded, model_name: str):
        self.loaded = loaded
        self.model_name = model_name

    def lookup_error(self, name: str, signature_name: str) -> tuple[str, str] | None:
        """(`"not_found"` | `"invalid"`, message) when the request cannot be routed."""
        if name != self.model_name:
            return "not_found", f"Servable not found for request: Latest({name})"
        if signature_name not in self.loaded.signatures:
            return (
                "invalid",
                f'Serving signature name: "{signature_name}" not found in signature def',
            )
        return None

    def run(self, signature_name: str, value) -> dict[str, np.ndarray]:
        function = self.loaded.signatures[signature_name]
        (input_name,) = function.structured_input_signature[1]
        outputs = function(**{input_name: tf.constant(value)})
        return {name: tensor.numpy() for name, tensor in outputs.items()}


@contextlib.contextmanager
def rest_server(loaded, model_name: str):
    """Serves `loaded` as `model_name` over REST on 127.0.0.1; yields the port."""
    servable = _Servable(loaded, model_name)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            match = _PREDICT_PATH.match(self.path)
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            signature_name = body.get("signature_name", IMAGE_TENSOR_SIGNATURE)
            if match is None:
                return self._reply(404, {"error": f"Malformed request: POST {self.path}"})
            error = servable.lookup_error(match["name"], signature_name)
            if error:
                return self._reply(404 if error[0] == "not_found" else 400, {"error": error[1]})
            instances = body["instances"]
            if signature_name == IMAGE_BYTES_SIGNATURE:
                value = [base64.b64decode(instance["b64"]) for instance in instances]
            else:
                value = np.asarray(instances, np.uint8)
            try:
                outputs = servable.run(signature_name, value)
            except (tf.errors.InvalidArgumentError, TypeError, ValueError) as e:
                return self._reply(400, {"error": str(e)})
            rows = [
                {name: output[i].tolist() for name, output in outputs.items()}
                for i in range(len(instances))
            ]
            return self._reply(200, {"predictions": rows})

        def _reply(self, status: int, payload: dict) -> None:
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@contextlib.contextmanager
def grpc_server(loaded, model_name: str):
    """Serves `loaded` as `model_name` over gRPC on 127.0.0.1; yields the port."""
    servable = _Servable(loaded, model_name)

    class Servicer(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):
            spec = request.model_spec
            error = servable.lookup_error(spec.name, spec.signature_name or IMAGE_TENSOR_SIGNATURE)
            if error:
                code = grpc.StatusCode.NOT_FOUND if error[0] == "not_found" else None
                context.abort(code or grpc.StatusCode.INVALID_ARGUMENT, error[1])
            (value,) = [tf.make_ndarray(tensor) for tensor in request.inputs.values()]
            try:
                outputs = servable.run(spec.signature_name, value)
            except (tf.errors.InvalidArgumentError, TypeError, ValueError) as e:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(e))
            response = predict_pb2.PredictResponse()
            for name, output in outputs.items():
                response.outputs[name].CopyFrom(tf.make_tensor_proto(output))
            return response

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Servicer(), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    try:
        yield port
    finally:
        server.stop(grace=None).wait()


def closed_port() -> int:
    """A 127.0.0.1 port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
