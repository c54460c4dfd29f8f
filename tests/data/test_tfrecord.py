"""TFRecord conversion and reading: a round trip reproduces the source's records."""

import json

import numpy as np
import tensorflow as tf
from data_fixtures import solid_image, write_coco
from eval_images import eval_ground_truth

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.convert import convert_split
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.sources.tfrecord import tfrecord_dataset


def _coco_config(image_dir, annotation_file):
    return config_from_dict(
        {
            "data": {
                "source": "coco_json",
                "coco_json": {
                    "train": [{"images": str(image_dir), "annotations": str(annotation_file)}],
                    "eval": {"images": str(image_dir), "annotations": str(annotation_file)},
                },
            }
        }
    )


def test_round_trip_of_a_coco_folder_keeps_records_and_metadata(tmp_path):
    images = [
        {
            "id": i,
            "file_name": f"{i}.jpg",
            "height": 10 + i,
            "width": 20,
            "pixels": solid_image(10 + i, 20),
        }
        for i in range(5)
    ]
    annotations = [
        {"id": i, "image_id": i, "category_id": 5 + i % 2, "bbox": [1, 2, 3, 4], "iscrowd": i % 2}
        for i in range(5)
    ]
    categories = [{"id": 5, "name": "five"}, {"id": 6, "name": "six"}]
    image_dir, annotation_file = write_coco(tmp_path, images, annotations, categories)
    coco_cfg = _coco_config(image_dir, annotation_file)
    prefix = str(tmp_path / "records" / "val")

    assert convert_split(coco_cfg, "eval", prefix, num_shards=2) == 5

    metadata = json.loads((tmp_path / "records" / "val.json").read_text())
    assert metadata["num_examples"] == 5 and metadata["category_ids"] == [5, 6]
    assert metadata["annotation_file"] == str(annotation_file)
    tfrecord_cfg = config_from_dict(
        {
            "data": {
                "source": "tfrecord",
                "tfrecord": {"train_prefixes": [prefix], "eval_prefix": prefix},
            }
        }
    )
    info = dataset_info(tfrecord_cfg)
    assert info.class_names == ("five", "six") and info.category_ids == (5, 6)
    expected = {g.image_id: g for g in eval_ground_truth(coco_cfg)}
    read_back = eval_ground_truth(tfrecord_cfg)
    assert sorted(g.image_id for g in read_back) == list(range(5))
    for g in read_back:
        want = expected[g.image_id]
        assert g.original_size_hw == want.original_size_hw
        np.testing.assert_allclose(g.gt_boxes_yxyx, want.gt_boxes_yxyx)
        np.testing.assert_array_equal(g.gt_classes, want.gt_classes)
        np.testing.assert_array_equal(g.gt_is_crowd, want.gt_is_crowd)


def test_shards_are_split_between_input_pipelines_deterministically(tmp_path):
    cfg = config_from_dict({"data": {"synthetic": {"train_size": 6, "image_size": 32}}})
    prefix = str(tmp_path / "shapes")
    convert_split(cfg, "train", prefix, num_shards=3)
    contexts = [tf.distribute.InputContext(2, i, 2) for i in range(2)]

    def ids(context):
        dataset = tfrecord_dataset(prefix, context, deterministic=True)
        return [int(r["image_id"]) for r in dataset]

    first, second = ids(contexts[0]), ids(contexts[1])
    assert sorted(first + second) == list(range(6))
    assert first == ids(contexts[0])
