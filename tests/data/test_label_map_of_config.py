"""`label_map(cfg)`: the data's ids and names where the data has them, else 1..N."""

import os

from data_fixtures import solid_image, write_coco

from efgrnet_tf.config import config_from_dict, load_config
from efgrnet_tf.data.classes import label_map
from efgrnet_tf.data.label_maps import COCO_CATEGORY_IDS, COCO_CLASS_NAMES

CONFIGS = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(__file__))), "configs")

SPARSE_CATEGORIES = [{"id": 11, "name": "kite"}, {"id": 3, "name": "car"}, {"id": 7, "name": "dog"}]


def _coco_config(tmp_path, **top):
    images = [{"id": 1, "file_name": "a.jpg", "height": 16, "width": 24}]
    images[0]["pixels"] = solid_image(16, 24)
    annotations = [{"id": 1, "image_id": 1, "category_id": 7, "bbox": [2, 2, 10, 8]}]
    image_dir, annotation_file = write_coco(tmp_path, images, annotations, SPARSE_CATEGORIES)
    train = [{"images": str(image_dir), "annotations": str(annotation_file)}]
    return config_from_dict({"data": {"source": "coco_json", "coco_json": {"train": train}}, **top})


def test_coco_json_classes_keep_their_sparse_ids_whether_or_not_the_config_names_them(tmp_path):
    discovered = label_map(_coco_config(tmp_path / "a"))
    given = label_map(
        _coco_config(tmp_path / "b", model={"num_classes": 4}, class_names=["car", "dog", "kite"])
    )
    assert discovered == given
    assert discovered.names_by_data_id() == {3: "car", 7: "dog", 11: "kite"}


def test_synthetic_classes_given_by_the_config_are_numbered_without_the_data():
    cfg = config_from_dict({"model": {"num_classes": 3}, "class_names": ["x", "y"]})
    assert label_map(cfg).names_by_data_id() == {1: "x", 2: "y"}
    unnamed = config_from_dict({"model": {"num_classes": 3}})
    assert label_map(unnamed).names_by_data_id() == {1: "class_1", 2: "class_2"}


def test_tfds_classes_given_by_the_config_take_the_tfds_ids_without_the_data():
    no_data = ["data.tfds.data_dir=/nonexistent/tfds"]
    coco = load_config(os.path.join(CONFIGS, "coco_vgg16_320.yaml"), no_data)
    coco_map = label_map(coco)
    assert coco_map.data_ids == COCO_CATEGORY_IDS and coco_map.class_names == COCO_CLASS_NAMES
    voc = load_config(os.path.join(CONFIGS, "voc_vgg16_320.yaml"), no_data)
    assert label_map(voc).names_by_data_id()[20] == "tvmonitor"
