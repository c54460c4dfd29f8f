"""`scripts/serving_client.py`: sends images to a running TF Serving and prints detections.

  python scripts/serving_client.py --protocol=rest --model_name=efgrnet img1.jpg img2.png
  python scripts/serving_client.py --protocol=grpc --signature_name=serving_default img.jpg

One request per image. `serve_image_bytes` sends the file's bytes as they are;
`serving_default` decodes the image here (`image_files.read_rgb`, the decoder the export's
`serve_image_bytes` uses) and sends its uint8 pixels.
"""

from __future__ import annotations

import sys

import numpy as np
from absl import app, flags

from efgrnet_tf.cli import launch
from efgrnet_tf.serving import grpc_client, rest_client
from efgrnet_tf.serving.client_errors import ServingClientError
from efgrnet_tf.serving.detection_records import detection_records, format_records
from efgrnet_tf.serving.image_files import UnreadableImageError, read_rgb
from efgrnet_tf.serving.labels import read_labels_file
from efgrnet_tf.serving.signature_names import IMAGE_BYTES_SIGNATURE, SIGNATURES

FLAGS = flags.FLAGS
flags.DEFINE_enum("protocol", "rest", ["rest", "grpc"], "TF Serving API to call.")
flags.DEFINE_string("host", "localhost", "TF Serving host.")
flags.DEFINE_integer("port", None, "Port; default 8501 for REST, 8500 for gRPC.")
flags.DEFINE_string("model_name", "efgrnet", "The MODEL_NAME TF Serving serves the export as.")
flags.DEFINE_integer("model_version", None, "A version to ask for; default: the latest.")
flags.DEFINE_enum("signature_name", IMAGE_BYTES_SIGNATURE, list(SIGNATURES), "Signature.")
flags.DEFINE_float("timeout_s", 30.0, "Seconds to wait for each answer.")
flags.DEFINE_string("labels", None, "A labels.txt (the export's assets/labels.txt) for names.")
flags.DEFINE_float("score_threshold", 0.3, "Detections below this score are not printed.")


def request_detections(image_path: str) -> tuple[dict[str, np.ndarray], tuple[int, int]]:
    """Detections of one image file from the server named by the flags, and its `(H, W)`.

    Raises:
      UnreadableImageError: the file is no image `read_rgb` can decode.
      ServingClientError: the server cannot be reached or answers with an error.
    """
    with open(image_path, "rb") as f:
        encoded = f.read()
    pixels = read_rgb(image_path)
    by_bytes = FLAGS.signature_name == IMAGE_BYTES_SIGNATURE
    if FLAGS.protocol == "rest":
        port = FLAGS.port or rest_client.DEFAULT_REST_PORT
        url = rest_client.predict_url(FLAGS.host, port, FLAGS.model_name, FLAGS.model_version)
        if by_bytes:
            body = rest_client.image_bytes_body([encoded], FLAGS.signature_name)
        else:
            body = rest_client.image_tensor_body(pixels[None], FLAGS.signature_name)
        detections = rest_client.predict(url, body, FLAGS.timeout_s)
    else:
        target = f"{FLAGS.host}:{FLAGS.port or grpc_client.DEFAULT_GRPC_PORT}"
        if by_bytes:
            request = grpc_client.image_bytes_request(
                FLAGS.model_name, [encoded], FLAGS.model_version, FLAGS.signature_name
            )
        else:
            request = grpc_client.image_tensor_request(
                FLAGS.model_name, pixels[None], FLAGS.model_version, FLAGS.signature_name
            )
        detections = grpc_client.predict(target, request, FLAGS.timeout_s)
    return detections, pixels.shape[:2]


def main(argv: list[str]) -> int:
    image_paths = argv[1:]
    if not image_paths:
        raise app.UsageError("give one or more image files")
    class_names = read_labels_file(FLAGS.labels) if FLAGS.labels else {}
    for path in image_paths:
        try:
            detections, size_hw = request_detections(path)
        except ServingClientError as e:
            print(f"error: {e}", file=sys.stderr)
            return 1
        except UnreadableImageError as e:
            print(f"error: {path}: unreadable image: {e}", file=sys.stderr)
            return 1
        one_image = {name: value[0] for name, value in detections.items()}
        records = detection_records(one_image, size_hw, class_names, FLAGS.score_threshold)
        print(f"{path}: {len(records)} detections")
        print(format_records(records))
    return 0


def run() -> None:
    launch.run_tool(main, [__name__])
