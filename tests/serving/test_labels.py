"""labels.txt: line i names class id i; configs without names still get one line per id."""

from __future__ import annotations

import dataclasses

import pytest

from efgrnet_tf.serving.labels import class_names_for_export, read_labels_file, write_labels_file


def test_labels_file_round_trip_numbers_lines_from_one(tmp_path):
    path = tmp_path / "labels.txt"
    write_labels_file(["cat", "traffic light", "dog"], path)
    assert path.read_text(encoding="utf-8") == "cat\ntraffic light\ndog\n"
    assert read_labels_file(path) == {1: "cat", 2: "traffic light", 3: "dog"}


def test_config_without_names_gets_numbered_names(small_cfg):
    cfg = dataclasses.replace(small_cfg, class_names=())
    assert class_names_for_export(cfg) == ("class_1", "class_2", "class_3")


def test_names_must_cover_every_foreground_class(small_cfg):
    with pytest.raises(ValueError, match="needs 3"):
        class_names_for_export(dataclasses.replace(small_cfg, class_names=("a", "b")))


def test_names_must_not_contain_line_breaks(small_cfg):
    with pytest.raises(ValueError, match="line break"):
        class_names_for_export(dataclasses.replace(small_cfg, class_names=("a", "b\nc", "d")))
