"""tfds voc/coco readers on mocked data (never downloads)."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from data_fixtures import encode_image, solid_image
from eval_images import eval_ground_truth

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.label_maps import COCO_CATEGORY_IDS
from efgrnet_tf.data.pipeline import build_eval_dataset


def _prepare_metadata(data_dir, name, split, num_examples):
    """Writes the dataset_info of a prepared split, so split sizes are known."""
    builder = tfds.builder(name, data_dir=data_dir)
    split_info = tfds.core.SplitInfo(
        name=split, shard_lengths=[num_examples], num_bytes=0, filename_template=None
    )
    builder.info.set_splits(tfds.core.SplitDict([split_info]))
    tf.io.gfile.makedirs(builder.data_dir)
    builder.info.write_to_directory(builder.data_dir)


def _objects(bboxes, **fields):
    ragged = {"bbox": tf.ragged.constant(bboxes, ragged_rank=1, inner_shape=(4,), dtype=tf.float32)}
    for key, (values, dtype) in fields.items():
        ragged[key] = tf.ragged.constant(values, dtype=dtype)
    return ragged


def _voc_examples(self, split, decoders=None, read_config=None, shuffle_files=False):
    del self, split, read_config, shuffle_files
    assert isinstance(decoders["image"], tfds.decode.SkipDecoding)
    return tf.data.Dataset.from_tensor_slices(
        {
            "image": [encode_image(solid_image(30, 40)), encode_image(solid_image(20, 10))],
            "image/filename": ["000005.jpg", "000009.jpg"],
            "objects": _objects(
                [[[0.1, 0.2, 0.3, 0.4], [0.5, 0.5, 0.9, 0.8]], []],
                label=([[3, 0], []], tf.int64),
                is_difficult=([[True, False], []], tf.bool),
            ),
        }
    )


def _coco_examples(self, split, decoders=None, read_config=None, shuffle_files=False):
    del self, split, decoders, read_config, shuffle_files
    return tf.data.Dataset.from_tensor_slices(
        {
            "image": [encode_image(solid_image(16, 24))],
            "image/id": tf.constant([139], tf.int64),
            "objects": _objects(
                [[[0.0, 0.0, 0.5, 0.5], [0.2, 0.1, 0.6, 0.9]]],
                label=([[0, 79]], tf.int64),
                is_crowd=([[False, True]], tf.bool),
            ),
        }
    )


def test_voc_keeps_difficult_flags_and_one_based_labels(tmp_path):
    _prepare_metadata(str(tmp_path), "voc/2007", "test", 2)
    cfg = config_from_dict(
        {
            "data": {
                "source": "tfds",
                "tfds": {
                    "train": ["voc/2007:test"],
                    "eval": "voc/2007:test",
                    "data_dir": str(tmp_path),
                },
            },
            "model": {"image_size": 64},
            "eval": {"batch_size": 2},
        }
    )
    with tfds.testing.mock_data(
        as_dataset_fn=_voc_examples,
        data_dir=str(tmp_path),
        policy=tfds.testing.MockPolicy.USE_FILES,
    ):
        info = dataset_info(cfg)
        ground_truth = eval_ground_truth(cfg)
        batch = next(iter(build_eval_dataset(cfg)))

    assert info.num_train_examples == info.num_eval_examples == 2
    assert info.class_names[:2] == ("aeroplane", "bicycle") and info.category_ids is None
    assert [g.image_id for g in ground_truth] == [5, 9]
    assert ground_truth[0].original_size_hw == (30, 40)
    assert ground_truth[0].gt_classes.tolist() == [4, 1]
    assert ground_truth[0].gt_is_difficult.tolist() == [True, False]
    assert batch["images"].shape == (2, 64, 64, 3)
    # tfds VOC boxes are 1-based pixel indices / size: shifted by one pixel to (xmin - 1) / W.
    np.testing.assert_allclose(
        batch["boxes"][0, :2],
        [[0.1 - 1 / 30, 0.2 - 1 / 40, 0.3, 0.4], [0.5 - 1 / 30, 0.5 - 1 / 40, 0.9, 0.8]],
        atol=1e-6,
    )
    assert batch["classes"][0, :3].numpy().tolist() == [4, 1, -1]
    assert batch["original_size_hw"].numpy().tolist() == [[30, 40], [20, 10]]


def test_coco_maps_labels_back_to_category_ids_and_keeps_crowd(tmp_path):
    _prepare_metadata(str(tmp_path), "coco/2017", "validation", 1)
    cfg = config_from_dict(
        {
            "data": {
                "source": "tfds",
                "tfds": {
                    "train": ["coco/2017:validation"],
                    "eval": "coco/2017:validation",
                    "data_dir": str(tmp_path),
                },
            }
        }
    )
    with tfds.testing.mock_data(
        as_dataset_fn=_coco_examples,
        data_dir=str(tmp_path),
        policy=tfds.testing.MockPolicy.USE_FILES,
    ):
        info = dataset_info(cfg)
        (ground_truth,) = eval_ground_truth(cfg)

    assert ground_truth.image_id == 139
    assert ground_truth.gt_classes.tolist() == [1, 80]
    assert ground_truth.gt_is_crowd.tolist() == [False, True]
    assert [info.category_ids[k - 1] for k in ground_truth.gt_classes] == [1, 90]
    assert info.category_ids == COCO_CATEGORY_IDS
    assert info.class_names[79] == "toothbrush"


def test_split_names_must_name_voc_or_coco():
    from efgrnet_tf.data.sources.tfds_source import parse_split

    with pytest.raises(ValueError, match="voc/2007:trainval"):
        parse_split("mnist:train")
