"""Checks across fields run when a config loads; each error names the key and the file."""

import dataclasses
import re

import pytest

from efgrnet_tf.config import ConfigError, load_config
from efgrnet_tf.data.classes import config_class_names


def _load(tmp_path, text, overrides=()):
    path = tmp_path / "exp.yaml"
    path.write_text(text)
    return load_config(path, overrides)


def test_anchor_steps_must_be_the_model_strides(tmp_path):
    with pytest.raises(ConfigError, match=r"exp\.yaml: anchors\.steps \[8, 16, 32, 100\]"):
        _load(tmp_path, "anchors:\n  steps: [8, 16, 32, 100]\n")


def test_a_check_broken_by_an_override_names_the_override(tmp_path):
    with pytest.raises(ConfigError, match=r"override 'anchors\.steps=\[4, 8, 16, 32\]'"):
        _load(tmp_path, "name: fine\n", ["anchors.steps=[4, 8, 16, 32]"])


def test_class_names_must_name_every_foreground_class(tmp_path):
    text = "model:\n  num_classes: 4\nclass_names: [cat, dog]\n"
    with pytest.raises(ConfigError, match=r"exp\.yaml: class_names has 2 names .* needs 3"):
        _load(tmp_path, text)
    assert _load(tmp_path, "model:\n  num_classes: 3\nclass_names: [cat, dog]\n").class_names


def test_config_class_names_applies_the_same_check_to_configs_made_in_code(tmp_path):
    cfg = _load(tmp_path, "model:\n  num_classes: 3\n")
    assert config_class_names(cfg) == ("class_1", "class_2")
    with pytest.raises(ValueError, match="class_names has 1 names"):
        config_class_names(dataclasses.replace(cfg, class_names=("cat",)))


@pytest.mark.parametrize(
    "data, key",
    [
        ("source: tfds", "data.tfds.train"),
        ("source: voc_folder", "data.voc_folder.train"),
        (
            "source: voc_folder\n  voc_folder:\n    train: [{year_folder: VOC2007}]",
            r"data.voc_folder.train\[0\]",
        ),
        (
            "source: voc_folder\n  voc_folder:\n    train: [{year_folder: V, image_set: a}]\n"
            "    eval: {year_folder: V}",
            "data.voc_folder.eval",
        ),
        ("source: coco_json", "data.coco_json.train"),
        (
            "source: coco_json\n  coco_json:\n    train: [{images: train2017}]",
            r"data.coco_json.train\[0\]",
        ),
        (
            "source: coco_json\n  coco_json:\n    train: [{images: i, annotations: a.json}]\n"
            "    eval: {annotations: b.json}",
            "data.coco_json.eval",
        ),
        ("source: tfrecord", "data.tfrecord.train_prefixes"),
    ],
)
def test_the_chosen_source_must_name_what_its_reader_needs(tmp_path, data, key):
    with pytest.raises(ConfigError, match=rf"exp\.yaml: (data.source \w+ needs )?{key}"):
        _load(tmp_path, f"data:\n  {data}\n")


def test_only_the_chosen_source_is_checked(tmp_path):
    cfg = _load(
        tmp_path,
        "data:\n  source: tfrecord\n  tfrecord:\n    train_prefixes: [records/train]\n"
        "  coco_json:\n    train: [{images: unused}]\n",
    )
    assert cfg.data.tfrecord.train_prefixes == ("records/train",)


def test_a_source_check_names_the_base_file_that_set_the_section(tmp_path):
    (tmp_path / "base.yaml").write_text(
        "data:\n  source: voc_folder\n  voc_folder:\n    train: [{year_folder: V}]\n"
    )
    with pytest.raises(ConfigError, match=r"base\.yaml: data\.voc_folder\.train\[0\]"):
        _load(tmp_path, "base: base.yaml\nname: child\n")


@pytest.mark.parametrize(
    "override",
    ["data.voc_folder.eval.year_folder=VOC2007", "data.voc_folder.train=[{year_folder: VOC2012}]"],
    ids=["a field of the section at fault", "the list holding the entry at fault"],
)
def test_a_source_check_names_the_override_that_broke_it(tmp_path, override):
    text = "data:\n  source: voc_folder\n  voc_folder:\n    train: [{year_folder: V, image_set: a}]"
    with pytest.raises(ConfigError, match=rf"^override '{re.escape(override)}': data\.voc_folder"):
        _load(tmp_path, text, [override])
