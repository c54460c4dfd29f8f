"""COCO json reader against a hand-written annotation file."""

import numpy as np
import pytest
from data_fixtures import solid_image, write_coco

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.pipeline import build_train_dataset
from efgrnet_tf.data.sources.catalog import open_source
from efgrnet_tf.data.sources.coco_json import index_coco


def test_labels_follow_sorted_category_ids_and_crowd_is_kept(tmp_path):
    images = [
        {"id": 42, "file_name": "a.jpg", "height": 20, "width": 50, "pixels": solid_image(20, 50)},
        {"id": 7, "file_name": "b.jpg", "height": 10, "width": 10, "pixels": solid_image(10, 10)},
    ]
    annotations = [
        {"id": 1, "image_id": 42, "category_id": 90, "bbox": [5, 2, 10, 8], "iscrowd": 0},
        {"id": 2, "image_id": 42, "category_id": 3, "bbox": [0, 0, 50, 20], "iscrowd": 1},
    ]
    categories = [{"id": 90, "name": "toothbrush"}, {"id": 3, "name": "car"}]
    image_dir, annotation_file = write_coco(tmp_path, images, annotations, categories)

    index = index_coco(str(annotation_file), str(image_dir))

    assert index.class_names == ("car", "toothbrush")
    assert index.category_ids == (3, 90)
    first, second = index.images
    assert (first.image_id, second.image_id) == (42, 7)
    # [x, y, w, h] = [5, 2, 10, 8] in a 20 x 50 image.
    np.testing.assert_allclose(first.boxes, [[2 / 20, 5 / 50, 10 / 20, 15 / 50], [0, 0, 1, 1]])
    assert first.classes.tolist() == [2, 1]
    assert first.is_crowd.tolist() == [False, True]
    assert second.boxes.shape == (0, 4)  # images without annotations are kept


def test_several_training_files_are_read_as_one_training_split(tmp_path):
    categories = [{"id": 3, "name": "car"}]
    train = []
    for folder, image_ids in (("a", (1, 2)), ("b", (30,))):
        images = [
            {"id": i, "file_name": f"{i}.jpg", "height": 8, "width": 8, "pixels": solid_image(8, 8)}
            for i in image_ids
        ]
        image_dir, annotation_file = write_coco(tmp_path / folder, images, [], categories)
        train.append({"images": str(image_dir), "annotations": str(annotation_file)})
    cfg = config_from_dict({"data": {"source": "coco_json", "coco_json": {"train": train}}})

    source = open_source(cfg)
    records = source.train_records(None).as_numpy_iterator()

    assert (source.num_train_examples, source.num_eval_examples) == (3, 0)
    assert source.class_names == ("car",) and source.category_ids == (3,)
    assert sorted(int(record["image_id"]) for record in records) == [1, 2, 30]


def test_a_config_that_only_evaluates_takes_the_label_map_of_its_eval_file(tmp_path):
    images = [{"id": 5, "file_name": "a.jpg", "height": 8, "width": 8, "pixels": solid_image(8, 8)}]
    categories = [{"id": 90, "name": "toothbrush"}, {"id": 3, "name": "car"}]
    image_dir, annotation_file = write_coco(tmp_path, images, [], categories)
    evaluation = {"images": str(image_dir), "annotations": str(annotation_file)}
    cfg = config_from_dict({"data": {"source": "coco_json", "coco_json": {"eval": evaluation}}})

    info = dataset_info(cfg)

    assert (info.num_train_examples, info.num_eval_examples) == (0, 1)
    assert info.class_names == ("car", "toothbrush") and info.category_ids == (3, 90)
    assert info.eval_annotation_file == str(annotation_file)
    with pytest.raises(ValueError, match="names no training split"):
        build_train_dataset(cfg)
