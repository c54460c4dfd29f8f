"""An export of a data set with sparse category ids answers those ids, named in its assets.

The export is read in a process that never imports efgrnet_tf, as TF Serving or a user's own
code reads it.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from google.protobuf import text_format
from PIL import Image
from serving_helpers import run_stock_tf_probe
from test_labels import string_int_label_map_class

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.classes import with_classes
from efgrnet_tf.serving.exporter import export_saved_model

pytestmark = pytest.mark.slow

# Listed out of id order; training classes follow the sorted ids: car=1, dog=2, kite=3.
SPARSE_CATEGORIES = [{"id": 11, "name": "kite"}, {"id": 3, "name": "car"}, {"id": 7, "name": "dog"}]
SPARSE_IDS = np.array([0, 3, 7, 11])


def _sparse_coco_config(small_cfg, folder):
    """`small_cfg`'s model (4 classes with background) reading a COCO-JSON set with ids 3/7/11,
    the classes left to the data."""
    images = folder / "images"
    images.mkdir()
    Image.fromarray(np.zeros((16, 24, 3), np.uint8)).save(images / "a.png")
    annotation_file = folder / "instances.json"
    annotation_file.write_text(
        json.dumps(
            {
                "images": [{"id": 1, "file_name": "a.png", "height": 16, "width": 24}],
                "annotations": [
                    {"id": 1, "image_id": 1, "category_id": 7, "bbox": [2, 2, 10, 8], "area": 80}
                ],
                "categories": SPARSE_CATEGORIES,
            }
        )
    )
    raw = config_from_dict(
        {
            "data": {
                "source": "coco_json",
                "coco_json": {
                    "train": [{"images": str(images), "annotations": str(annotation_file)}]
                },
            }
        }
    )
    model = dataclasses.replace(small_cfg.model, num_classes=0)
    return dataclasses.replace(small_cfg, model=model, class_names=(), data=raw.data)


@pytest.fixture(scope="module")
def sparse_report(small_cfg, trained_model, test_images, tmp_path_factory):
    folder = tmp_path_factory.mktemp("sparse")
    cfg = with_classes(_sparse_coco_config(small_cfg, folder))
    export = export_saved_model(cfg, trained_model[1], folder / "export")
    return run_stock_tf_probe(export, test_images[0], str(tmp_path_factory.mktemp("probe")))


def test_sparse_export_answers_the_data_sets_category_ids(sparse_report, stock_tf_report):
    assert sparse_report["efgrnet_tf_imported"] is False
    # The same weights exported with the dense synthetic label map (ids 1..3): the same
    # detections, each class k answered as the k-th sparse id.
    detected_classes = set()
    for sparse, dense in zip(
        sparse_report["image_tensor"], stock_tf_report["image_tensor"], strict=True
    ):
        dense_classes = np.rint(dense["detection_classes"]).astype(int)
        detected_classes |= set(dense_classes[0, : int(dense["num_detections"][0])])
        np.testing.assert_array_equal(sparse["detection_classes"], SPARSE_IDS[dense_classes])
        np.testing.assert_allclose(sparse["detection_scores"], dense["detection_scores"])
        np.testing.assert_allclose(sparse["detection_boxes"], dense["detection_boxes"])
    # Several classes detected, so a mapping that sends every class to one id would fail.
    assert len(detected_classes - {0}) >= 2, detected_classes


def test_sparse_export_names_its_ids_in_labels_txt_and_label_map_pbtxt(sparse_report):
    labels = sparse_report["assets"]["labels.txt"].splitlines()
    assert {i: name for i, name in enumerate(labels, start=1) if name} == {
        3: "car",
        7: "dog",
        11: "kite",
    }
    parsed = text_format.Parse(
        sparse_report["assets"]["label_map.pbtxt"], string_int_label_map_class()()
    )
    assert [(item.id, item.display_name) for item in parsed.item] == [
        (3, "car"),
        (7, "dog"),
        (11, "kite"),
    ]
