"""Training on several splits at once (VOC07+12): every split is counted and read, once per epoch.

The tfds splits are mocked (never downloaded); the `voc_folder` ones are tiny VOCdevkit trees.
With a shuffle buffer larger than the data, the first `num_train_examples` images of the
training stream are exactly one epoch.
"""

import glob
import os

import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from data_fixtures import encode_image, solid_image, voc_xml, write_voc_tree

from efgrnet_tf.config import config_from_dict, load_config
from efgrnet_tf.data.info import dataset_info
from efgrnet_tf.data.pipeline import build_train_dataset

CONFIGS_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "configs")
VOC_CONFIGS = sorted(
    os.path.relpath(path, CONFIGS_DIR)
    for path in glob.glob(os.path.join(CONFIGS_DIR, "**", "voc_*.yaml"), recursive=True)
)
VOC07_12 = ("voc/2007:trainval", "voc/2012:trainval")

# Image file names of each mocked tfds VOC year: VOC2007 numbers its images 000005, VOC2012
# by year, 2008_000008 (image ids 5 and 2008000008).
TFDS_FILE_NAMES = {
    ("2007", "trainval"): ["000005.jpg", "000009.jpg", "000012.jpg"],
    ("2012", "trainval"): ["2008_000008.jpg", "2008_000015.jpg"],
    ("2007", "test"): ["000001.jpg"],
}


def _image_ids(file_names):
    return {int(name.split(".")[0].replace("_", "")) for name in file_names}


def _mock_voc_examples(self, split, decoders=None, read_config=None, shuffle_files=False):
    """One cat per image, `TFDS_FILE_NAMES` of this builder's year and split."""
    del decoders, read_config, shuffle_files
    names = TFDS_FILE_NAMES[(self.builder_config.name, split)]
    n = len(names)
    return tf.data.Dataset.from_tensor_slices(
        {
            "image": [encode_image(solid_image(30, 40))] * n,
            "image/filename": names,
            "objects": {
                "bbox": tf.RaggedTensor.from_uniform_row_length([[0.1, 0.2, 0.6, 0.7]] * n, 1),
                "label": tf.RaggedTensor.from_uniform_row_length(tf.constant([7] * n, tf.int64), 1),
                "is_difficult": tf.RaggedTensor.from_uniform_row_length([False] * n, 1),
            },
        }
    )


@pytest.fixture
def mocked_voc_tfds(tmp_path):
    """A tfds data_dir whose voc/2007 and voc/2012 splits hold `TFDS_FILE_NAMES`."""
    data_dir = str(tmp_path / "tfds")
    for year in ("2007", "2012"):
        builder = tfds.builder(f"voc/{year}", data_dir=data_dir)
        splits = [
            tfds.core.SplitInfo(
                name=split, shard_lengths=[len(names)], num_bytes=0, filename_template=None
            )
            for (names_year, split), names in TFDS_FILE_NAMES.items()
            if names_year == year
        ]
        builder.info.set_splits(tfds.core.SplitDict(splits))
        tf.io.gfile.makedirs(builder.data_dir)
        builder.info.write_to_directory(builder.data_dir)
    with tfds.testing.mock_data(
        as_dataset_fn=_mock_voc_examples,
        data_dir=data_dir,
        policy=tfds.testing.MockPolicy.USE_FILES,
    ):
        yield data_dir


def _first_epoch_image_ids(cfg, num_images):
    batch = next(iter(build_train_dataset(cfg)))
    assert batch["images"].shape[0] == num_images
    return sorted(batch["image_id"].numpy().tolist())


def _voc_config(name, data_dir, *overrides):
    return load_config(
        os.path.join(CONFIGS_DIR, name), [f"data.tfds.data_dir={data_dir}", *overrides]
    )


@pytest.mark.parametrize("config", VOC_CONFIGS)
def test_every_voc_config_trains_on_voc07_and_voc12_and_counts_both(config, mocked_voc_tfds):
    cfg = _voc_config(config, mocked_voc_tfds)
    assert cfg.data.source == "tfds"
    assert cfg.data.tfds.train == VOC07_12
    assert cfg.data.tfds.eval == "voc/2007:test"
    info = dataset_info(cfg)
    assert (info.num_train_examples, info.num_eval_examples) == (3 + 2, 1)


def test_voc07_12_training_stream_reads_every_image_of_both_splits_once_per_epoch(
    mocked_voc_tfds,
):
    train_names = TFDS_FILE_NAMES[("2007", "trainval")] + TFDS_FILE_NAMES[("2012", "trainval")]
    cfg = _voc_config(
        "voc_vgg16_320.yaml",
        mocked_voc_tfds,
        "model.image_size=64",
        f"train.global_batch_size={len(train_names)}",
    )
    assert _first_epoch_image_ids(cfg, len(train_names)) == sorted(_image_ids(train_names))


def _voc_year(root, split, names):
    entries = [
        {
            "name": name,
            "image_bytes": encode_image(solid_image(20, 30)),
            "xml": voc_xml(f"{name}.jpg", (20, 30), [("cat", 2, 3, 15, 12, False)]),
        }
        for name in names
    ]
    return str(write_voc_tree(root, split, entries))


def test_voc_folder_trains_on_every_year_folder(tmp_path):
    voc2007 = _voc_year(tmp_path / "VOC2007", "trainval", ["000005", "000009"])
    voc2012 = _voc_year(tmp_path / "VOC2012", "train", ["2008_000008"])
    test = _voc_year(tmp_path / "VOC2007test", "test", ["000001"])
    cfg = config_from_dict(
        {
            "model": {"image_size": 64, "num_classes": 2},
            "data": {
                "source": "voc_folder",
                "voc_folder": {
                    "train": [
                        {"year_folder": voc2007, "image_set": "trainval"},
                        {"year_folder": voc2012, "image_set": "train"},
                    ],
                    "eval": {"year_folder": test, "image_set": "test"},
                },
            },
            "train": {"global_batch_size": 3},
            "class_names": ["cat"],
        }
    )
    info = dataset_info(cfg)
    assert (info.num_train_examples, info.num_eval_examples) == (3, 1)
    assert _first_epoch_image_ids(cfg, 3) == [5, 9, 2008000008]
