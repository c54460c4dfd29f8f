"""Loads an export in a process that never imports efgrnet_tf; prints a JSON report.

Run as `python stock_tf_probe.py SAVED_MODEL_DIR IMAGE.png [IMAGE.png ...]` from a folder
where `efgrnet_tf` is not importable. The report holds:
- `op_types`: every op type in the SavedModel's graph and function library, sorted;
- `unregistered_op_types`: those missing from this process' (stock TensorFlow) op registry;
- `image_tensor`: `serving_default` run on each image alone (uint8 decoded here);
- `image_bytes`: `serve_image_bytes` run once on all the encoded files as one batch;
- `jpeg_bytes` / `jpeg_tensor`: the first image re-encoded as JPEG here, through
  `serve_image_bytes`, and its JPEG-decoded pixels through `serving_default`;
- `assets`: the text of `labels.txt` and `label_map.pbtxt`, read through the loaded object;
- `efgrnet_tf_imported`: whether loading the export pulled efgrnet_tf in.
"""

import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2
from tensorflow.python.framework import op_def_registry


def graph_op_types(saved_model_dir):
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    op_types = set()
    for meta_graph in saved_model.meta_graphs:
        op_types.update(node.op for node in meta_graph.graph_def.node)
        for function in meta_graph.graph_def.library.function:
            op_types.update(node.op for node in function.node_def)
    return sorted(op_types)


def to_lists(outputs):
    return {name: value.numpy().tolist() for name, value in outputs.items()}


def main(saved_model_dir, image_paths):
    op_types = graph_op_types(saved_model_dir)
    unregistered = [op for op in op_types if op_def_registry.get(op) is None]
    loaded = tf.saved_model.load(saved_model_dir)
    encoded = [tf.io.read_file(path) for path in image_paths]
    serve_images = loaded.signatures["serving_default"]
    image_tensor = [
        to_lists(serve_images(images=tf.io.decode_png(data, channels=3)[None])) for data in encoded
    ]
    serve_image_bytes = loaded.signatures["serve_image_bytes"]
    image_bytes = to_lists(serve_image_bytes(encoded_images=tf.stack(encoded)))
    jpeg = tf.io.encode_jpeg(tf.io.decode_png(encoded[0], channels=3), quality=90)
    jpeg_bytes = to_lists(serve_image_bytes(encoded_images=jpeg[None]))
    jpeg_tensor = to_lists(serve_images(images=tf.io.decode_jpeg(jpeg, channels=3)[None]))
    assets = {}
    for attribute, name in (("labels_asset", "labels.txt"), ("label_map_asset", "label_map.pbtxt")):
        with open(getattr(loaded, attribute).asset_path.numpy().decode(), encoding="utf-8") as f:
            assets[name] = f.read()
    report = {
        "op_types": op_types,
        "unregistered_op_types": unregistered,
        "image_tensor": image_tensor,
        "image_bytes": image_bytes,
        "jpeg_bytes": jpeg_bytes,
        "jpeg_tensor": jpeg_tensor,
        "assets": assets,
        "efgrnet_tf_imported": any(name.startswith("efgrnet_tf") for name in sys.modules),
    }
    print(json.dumps(report))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
