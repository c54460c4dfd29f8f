"""Configs in the old flat data form (run folders' config.yaml, old files and overrides) read as
the per-source sections, with a deprecation warning naming the new keys."""

import logging
import pathlib

import pytest
import yaml

from efgrnet_tf.config import (
    CocoJsonConfig,
    CocoJsonSplitConfig,
    ConfigError,
    TfdsDataConfig,
    TfRecordConfig,
    VocFolderConfig,
    VocImageSetConfig,
    config_from_dict,
    config_to_dict,
    load_config,
)

CONFIGS = pathlib.Path(__file__).resolve().parents[2] / "configs"
# Every flat data key as the old `save_config` wrote them into a run folder's config.yaml.
OLD_FLAT_DATA = {
    "train_splits": [],
    "eval_split": "",
    "data_dir": "",
    "train_paths": [],
    "eval_path": "",
    "annotation_file": "",
    "eval_annotation_file": "",
    "synthetic_train_size": 2000,
    "synthetic_eval_size": 200,
    "synthetic_image_size": 256,
}


def _old_run_config(cfg):
    """`cfg` as the code before the per-source sections saved it."""
    raw = config_to_dict(cfg)
    for source in ("synthetic", "tfds", "voc_folder", "coco_json", "tfrecord"):
        raw["data"].pop(source)
    raw["data"].update(OLD_FLAT_DATA)
    synthetic = cfg.data.synthetic
    raw["data"]["synthetic_train_size"] = synthetic.train_size
    raw["data"]["synthetic_eval_size"] = synthetic.eval_size
    raw["data"]["synthetic_image_size"] = synthetic.image_size
    raw["model"]["num_anchors_per_cell"] = len(cfg.anchors.aspect_ratios)
    return raw


def test_an_old_run_folder_config_reads_as_the_config_it_was_saved_from(tmp_path, caplog):
    new = load_config(CONFIGS / "shapes_vgg16_128_ci.yaml")
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(_old_run_config(new), sort_keys=False))

    with caplog.at_level(logging.WARNING, logger="efgrnet_tf.config"):
        assert load_config(path) == new
        assert config_from_dict(_old_run_config(new), source=str(path)) == new

    warning = caplog.records[0].getMessage()
    assert str(path) in warning and "data.synthetic_train_size" in warning
    assert "read as data.synthetic.train_size, data.synthetic.eval_size" in warning
    assert any("num_anchors_per_cell is deprecated" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "flat, section, expected",
    [
        (
            {
                "source": "tfds",
                "train_splits": ["voc/2007:trainval", "voc/2012:trainval"],
                "eval_split": "voc/2007:test",
                "data_dir": "/tfds",
            },
            "tfds",
            TfdsDataConfig(("voc/2007:trainval", "voc/2012:trainval"), "voc/2007:test", "/tfds"),
        ),
        (
            {
                "source": "voc_folder",
                "train_paths": ["VOC2007", "VOC2012"],
                "train_splits": ["trainval"],
                "eval_path": "VOC2007test",
                "eval_split": "test",
            },
            "voc_folder",
            VocFolderConfig(
                (
                    VocImageSetConfig("VOC2007", "trainval"),
                    VocImageSetConfig("VOC2012", "trainval"),
                ),
                VocImageSetConfig("VOC2007test", "test"),
            ),
        ),
        (
            {
                "source": "voc_folder",
                "train_paths": ["VOC2007", "VOC2012"],
                "train_splits": ["trainval", "train"],
            },
            "voc_folder",
            VocFolderConfig(
                (VocImageSetConfig("VOC2007", "trainval"), VocImageSetConfig("VOC2012", "train"))
            ),
        ),
        (
            {
                "source": "coco_json",
                "train_paths": ["train2017"],
                "annotation_file": "instances_train2017.json",
                "eval_path": "val2017",
                "eval_annotation_file": "instances_val2017.json",
            },
            "coco_json",
            CocoJsonConfig(
                (CocoJsonSplitConfig("train2017", "instances_train2017.json"),),
                CocoJsonSplitConfig("val2017", "instances_val2017.json"),
            ),
        ),
        (
            {"source": "tfrecord", "train_paths": ["r/a", "r/b"], "eval_path": "r/test"},
            "tfrecord",
            TfRecordConfig(("r/a", "r/b"), "r/test"),
        ),
    ],
    ids=["tfds", "voc_one_image_set", "voc_image_set_per_folder", "coco_json", "tfrecord"],
)
def test_flat_keys_move_to_the_section_of_their_source(flat, section, expected):
    assert getattr(config_from_dict({"data": flat}).data, section) == expected


def test_old_overrides_are_translated_together_after_the_others(tmp_path, caplog):
    overrides = [
        "data.source=voc_folder",
        "data.train_paths=[VOC2007, VOC2012]",
        "data.train_splits=[trainval]",
        "data.eval_path=VOC2007",
        "data.eval_split=test",
    ]
    with caplog.at_level(logging.WARNING, logger="efgrnet_tf.config"):
        cfg = load_config(CONFIGS / "voc_vgg16_320.yaml", overrides)
    assert cfg.data.voc_folder.train == (
        VocImageSetConfig("VOC2007", "trainval"),
        VocImageSetConfig("VOC2012", "trainval"),
    )
    assert cfg.data.voc_folder.eval == VocImageSetConfig("VOC2007", "test")
    assert "read as data.voc_folder.train, data.voc_folder.eval.year_folder" in caplog.text


def test_an_old_file_on_a_new_base_takes_the_source_of_its_base(tmp_path):
    (tmp_path / "leaf.yaml").write_text(
        f"base: {CONFIGS / 'coco_vgg16_320.yaml'}\ndata:\n  train_splits: [coco/2014:train]\n"
    )
    cfg = load_config(tmp_path / "leaf.yaml")
    assert cfg.data.tfds.train == ("coco/2014:train",)
    assert cfg.data.tfds.eval == "coco/2017:validation"


def test_keys_the_source_never_read_are_dropped_and_named(caplog):
    with caplog.at_level(logging.WARNING, logger="efgrnet_tf.config"):
        cfg = config_from_dict({"data": {"source": "synthetic", "train_paths": ["ignored"]}})
    assert cfg.data.voc_folder.train == () and cfg.data.tfrecord.train_prefixes == ()
    assert "data.source synthetic never read data.train_paths" in caplog.text


def test_flat_keys_that_cannot_be_paired_are_an_error_naming_key_and_file(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text(
        "data:\n  source: voc_folder\n  train_paths: [a, b, c]\n  train_splits: [x, y]\n"
    )
    with pytest.raises(ConfigError, match=r"old\.yaml: data\.train_splits \['x', 'y'\]"):
        load_config(path)


def test_num_anchors_per_cell_is_accepted_only_when_it_fits_the_aspect_ratios(tmp_path):
    path = tmp_path / "old.yaml"
    path.write_text("model:\n  num_anchors_per_cell: 2\nanchors:\n  aspect_ratios: [1.0, 2.0]\n")
    assert load_config(path).anchors.num_anchors_per_cell == 2
    with pytest.raises(ConfigError, match=r"'model\.num_anchors_per_cell=3': .* 3 contradicts"):
        load_config(path, ["model.num_anchors_per_cell=3"])
    with pytest.raises(ConfigError, match=r"<dict>: model\.num_anchors_per_cell 4"):
        config_from_dict({"model": {"num_anchors_per_cell": 4}})
