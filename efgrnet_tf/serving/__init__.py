"""Export for TensorFlow Serving, local prediction, and the serving clients (docs/serving.md).

- `exporter`: checkpoint -> `BASE/<version>/` SavedModel; `export_module`: what is saved;
  `image_tensor` / `image_bytes`: one serving signature per input type;
  `signature_names`: signature, input and output names; `labels`: `assets/labels.txt` and
  `assets/label_map.pbtxt`.
- `predictor`: detections of one image from an export or a checkpoint; `predict_files`:
  detections of image files written as JSON and drawings.
- `rest_client` / `grpc_client`: request builders and senders for a running TF Serving;
  `client_cli`: `scripts/serving_client.py`; `detection_records`: outputs -> JSON records.
"""
