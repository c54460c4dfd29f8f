"""Evaluation: PASCAL VOC and COCO box metrics, and the evaluator that runs a detector.

- `detections`: per-image ground truth + detections (`EvalImage`), box conversions, COCO results.
- `voc_metrics`: VOC07 11-point and area-under-curve AP with the devkit's matching rules.
- `coco_metrics`: COCOeval's 12 numbers (pycocotools or faster-coco-eval), per-category AP.
- `detectors`: detection functions for a Keras model and a training checkpoint (a SavedModel's
  is `efgrnet_tf.serving.saved_model_detection`, handed in by `efgrnet-evaluate`).
- `evaluator`: `evaluate` (any detection function and eval dataset), `evaluate_model` (trainer).
- `reporting`: metric tables and JSON files.
- `tta`: multi-size + flip inference (`multi_size`: the model at any size; `box_voting`: the
  per-class merge).
"""
