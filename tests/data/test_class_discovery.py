"""Classes from the data: discovery for configs that leave them out, refusal of a mismatch."""

import pytest
from data_fixtures import encode_image, solid_image, voc_xml, write_coco, write_voc_tree

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.classes import resolve_classes
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.pipeline import build_eval_dataset, build_train_dataset
from efgrnet_tf.data.sources.tfrecord import TfRecordMetadata, write_tfrecords

# Sparse category ids, listed out of order: labels follow the sorted ids.
SPARSE_CATEGORIES = [{"id": 11, "name": "kite"}, {"id": 3, "name": "car"}, {"id": 7, "name": "dog"}]


def _sparse_coco_config(tmp_path, model=None, class_names=None):
    images = [{"id": 1, "file_name": "a.jpg", "height": 16, "width": 24}]
    images[0]["pixels"] = solid_image(16, 24)
    annotations = [{"id": 1, "image_id": 1, "category_id": 11, "bbox": [2, 2, 10, 8]}]
    image_dir, annotation_file = write_coco(tmp_path, images, annotations, SPARSE_CATEGORIES)
    raw = {
        "model": {"image_size": 64, **(model or {})},
        "data": {
            "source": "coco_json",
            "coco_json": {
                "train": [{"images": str(image_dir), "annotations": str(annotation_file)}],
                "eval": {"images": str(image_dir), "annotations": str(annotation_file)},
            },
        },
    }
    if class_names is not None:
        raw["class_names"] = class_names
    return config_from_dict(raw)


def test_a_config_without_classes_takes_coco_categories_with_sparse_ids(tmp_path):
    cfg = resolve_classes(_sparse_coco_config(tmp_path))

    assert cfg.model.num_classes == 4
    assert cfg.class_names == ("car", "dog", "kite")
    assert dataset_info(cfg).category_ids == (3, 7, 11)


def test_a_voc_folder_without_classes_takes_the_names_of_its_annotations(tmp_path):
    def entry(name, objects):
        return {
            "name": name,
            "image_bytes": encode_image(solid_image(20, 20)),
            "xml": voc_xml(f"{name}.jpg", (20, 20), objects),
        }

    train = write_voc_tree(
        tmp_path / "train", "trainval", [entry("1", [("Zebra", 1, 1, 9, 9, False)])]
    )
    evaluation = write_voc_tree(
        tmp_path / "eval",
        "test",
        [entry("2", [("apple", 1, 1, 9, 9, False), ("zebra", 2, 2, 8, 8, False)])],
    )
    raw = {
        "model": {"image_size": 64},
        "data": {
            "source": "voc_folder",
            "voc_folder": {
                "train": [{"year_folder": str(train), "image_set": "trainval"}],
                "eval": {"year_folder": str(evaluation), "image_set": "test"},
            },
        },
    }

    cfg = resolve_classes(config_from_dict(raw))

    assert (cfg.model.num_classes, cfg.class_names) == (3, ("apple", "zebra"))
    assert dataset_info(cfg).num_train_examples == 1


def test_a_model_is_not_built_before_its_classes_are_resolved(tmp_path):
    from efgrnet_tf import build_model

    with pytest.raises(ValueError, match=r"model\.num_classes is 0.*resolve_classes"):
        build_model(_sparse_coco_config(tmp_path))


def test_given_classes_that_fit_the_data_are_kept(tmp_path):
    cfg = _sparse_coco_config(tmp_path, {"num_classes": 4}, ["car", "dog", "kite"])
    assert resolve_classes(cfg) == cfg


def test_a_wrong_num_classes_is_refused_when_the_data_is_opened_naming_both(tmp_path):
    cfg = _sparse_coco_config(tmp_path, {"num_classes": 3})

    for open_data in (resolve_classes, build_train_dataset, build_eval_dataset):
        with pytest.raises(ValueError) as raised:
            open_data(cfg)
        message = str(raised.value)
        assert "model.num_classes 3" in message
        assert "3 classes ['car', 'dog', 'kite']" in message
        assert "\n" not in message


def test_class_names_that_differ_from_the_data_are_refused_naming_both(tmp_path):
    cfg = _sparse_coco_config(tmp_path, class_names=["car", "kite", "dog"])

    with pytest.raises(ValueError, match=r"\['car', 'kite', 'dog'\].*\['car', 'dog', 'kite'\]"):
        resolve_classes(cfg)


def test_coco_files_with_different_categories_are_refused(tmp_path):
    cfg = _sparse_coco_config(tmp_path / "train")
    other = [
        {"id": 1, "file_name": "a.jpg", "height": 16, "width": 24, "pixels": solid_image(16, 24)}
    ]
    _, eval_file = write_coco(tmp_path / "eval", other, [], [{"id": 3, "name": "car"}])
    train_split = cfg.data.coco_json.train[0]
    train_file = train_split.annotations
    other_split = {"images": str(tmp_path / "eval" / "images"), "annotations": str(eval_file)}
    train = [{"images": train_split.images, "annotations": train_file}]
    # The other file as the evaluation split, and as a second training file.
    for coco in ({"train": train, "eval": other_split}, {"train": [*train, other_split]}):
        with pytest.raises(ValueError, match="different categories") as raised:
            dataset_info(config_from_dict({"data": {"source": "coco_json", "coco_json": coco}}))
        assert train_file in str(raised.value)
        assert str(eval_file) in str(raised.value)


def test_tfrecord_sets_with_different_label_maps_are_refused(tmp_path):
    prefixes = []
    for name, class_names in (("a", ("car",)), ("b", ("dog",))):
        prefix = str(tmp_path / name)
        write_tfrecords([], prefix, 1, TfRecordMetadata(0, class_names))
        prefixes.append(prefix)
    cfg = config_from_dict(
        {"data": {"source": "tfrecord", "tfrecord": {"train_prefixes": prefixes}}}
    )

    with pytest.raises(ValueError, match="mix label maps"):
        dataset_info(cfg)


def test_tfds_splits_of_different_data_sets_are_refused():
    cfg = config_from_dict(
        {
            "data": {
                "source": "tfds",
                "tfds": {"train": ["voc/2007:trainval"], "eval": "coco/2017:validation"},
            }
        }
    )

    with pytest.raises(ValueError, match="mix label maps"):
        dataset_info(cfg)
