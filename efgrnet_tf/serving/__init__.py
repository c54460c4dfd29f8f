"""Export for TensorFlow Serving, local prediction, and the serving clients (docs/serving.md).

- `exporter`: checkpoint -> `BASE/<version>/` SavedModel; `export_module`: what is saved;
  `image_tensor` / `image_bytes`: one serving signature per input type;
  `signature_names`: signature, input and output names; `labels`: `assets/labels.txt` and
  `assets/label_map.pbtxt`.
- `predictor`: detections of one image from an export or a checkpoint; `predict_files`:
  detections of image files written as JSON and drawings; `saved_model_detection`: an export
  as the evaluator's detection function, and finding an export's newest version folder.
- `rest_client` / `grpc_client`: request builders and senders for a running TF Serving;
  `detection_records`: outputs -> JSON records (the client tool is
  `efgrnet_tf.cli.serving_client`).
"""
