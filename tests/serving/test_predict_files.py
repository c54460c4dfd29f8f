"""Image listing and the JSON + PNG outputs of `predict_images`, with a scripted detector."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from serving_helpers import write_unreadable_images

from efgrnet_tf.serving.predict_files import list_images, predict_images
from efgrnet_tf.serving.predictor import Detector


def scripted_serve_images(images):
    """One detection per image: class 2, score 0.8, the box rows 25%-75%, columns 0-50%."""
    batch = images.shape[0]
    outputs = {
        "detection_boxes": np.tile([[[0.25, 0.0, 0.75, 0.5], [0, 0, 0, 0]]], (batch, 1, 1)),
        "detection_scores": np.tile([[0.8, 0.0]], (batch, 1)),
        "detection_classes": np.tile([[2.0, 0.0]], (batch, 1)),
        "num_detections": np.ones([batch]),
    }
    return {name: tf.constant(value, tf.float32) for name, value in outputs.items()}


def scripted_detector() -> Detector:
    return Detector(scripted_serve_images, {1: "circle", 2: "square"})


def write_png(path, height, width):
    Image.fromarray(np.full((height, width, 3), 255, np.uint8)).save(path)


def test_list_images_expands_folders_in_name_order_and_names_what_it_leaves_out(tmp_path):
    folder = tmp_path / "images"
    (folder / "more").mkdir(parents=True)
    for name in ("b.png", "a.JPG", "notes.txt"):
        (folder / name).write_bytes(b"")
    single = tmp_path / "single.bmp"
    single.write_bytes(b"")
    images, skipped = list_images([str(single), str(folder)])
    assert images == [str(single), str(folder / "a.JPG"), str(folder / "b.png")]
    assert skipped == [
        {"file": str(folder / "more"), "reason": "a sub-folder (folders are not searched)"},
        {"file": str(folder / "notes.txt"), "reason": "not a .jpg/.jpeg/.png/.bmp/.gif file"},
    ]


def test_list_images_rejects_missing_paths_and_empty_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such image file or folder"):
        list_images([str(tmp_path / "missing.png")])
    with pytest.raises(FileNotFoundError, match="images in"):
        list_images([str(tmp_path)])


def test_predict_images_writes_pixel_boxes_and_drawings(tmp_path):
    first, second = tmp_path / "a" / "cat.png", tmp_path / "b" / "cat.png"
    for path in (first, second):
        path.parent.mkdir()
    write_png(first, 40, 80)
    write_png(second, 20, 20)
    out = tmp_path / "out"
    results, skipped = predict_images(scripted_detector(), [str(first), str(second)], str(out), 0.5)
    with open(out / "detections.json") as f:
        assert json.load(f) == results
    assert skipped == [] and json.loads((out / "skipped.json").read_text()) == []
    assert results[0]["image_size_hw"] == [40, 80]
    (record,) = results[0]["detections"]
    assert record["class_name"] == "square" and record["score"] == pytest.approx(0.8)
    assert record["box_yxyx_abs"] == [10.0, 0.0, 30.0, 40.0]
    # Same stem twice: the second drawing gets a suffix; both keep their image's size.
    assert sorted(p.name for p in out.iterdir()) == [
        "cat.png",
        "cat_1.png",
        "detections.json",
        "skipped.json",
    ]
    drawing = np.asarray(Image.open(out / "cat.png"))
    assert drawing.shape == (40, 80, 3)
    assert (drawing[29, 0:40] != 255).any()  # the bottom edge of the box, row 30 - 1
    assert (drawing[35:, :] == 255).all()  # nothing below the box


def test_score_threshold_drops_detections(tmp_path):
    write_png(tmp_path / "x.png", 10, 10)
    results, _ = predict_images(scripted_detector(), [str(tmp_path / "x.png")], str(tmp_path), 0.9)
    assert results[0]["detections"] == []


def test_small_images_are_drawn_enlarged_when_asked(tmp_path):
    write_png(tmp_path / "small.png", 40, 50)
    out = tmp_path / "out"
    results, _ = predict_images(
        scripted_detector(), [str(tmp_path / "small.png")], str(out), 0.5, drawing_min_side=100
    )
    # Shorter side 40 → factor ceil(100 / 40) = 3; the records keep the image's own pixels.
    drawing = np.asarray(Image.open(out / "small.png"))
    assert drawing.shape == (120, 150, 3)
    assert results[0]["detections"][0]["box_yxyx_abs"] == [10.0, 0.0, 30.0, 25.0]
    assert (drawing[89, 0:75] != 255).any()  # the box's bottom edge at 3x: row 90 - 1
    assert (drawing[100:, :] == 255).all()


def test_unreadable_images_are_skipped_with_their_reason(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    reasons = write_unreadable_images(folder)
    write_png(folder / "good.png", 10, 20)
    images, listed = list_images([str(folder)])
    out = tmp_path / "out"
    results, skipped = predict_images(scripted_detector(), images, str(out), 0.5, skipped=listed)
    assert [r["file"] for r in results] == [str(folder / "good.png")]
    assert sorted(os.path.basename(s["file"]) for s in skipped) == sorted(reasons)
    for entry in skipped:
        assert entry["reason"].startswith("unreadable image: ")
        assert reasons[os.path.basename(entry["file"])] in entry["reason"].lower()
    assert json.loads((out / "skipped.json").read_text()) == skipped
    assert json.loads((out / "detections.json").read_text()) == results


def test_detections_below_the_drawing_threshold_are_written_but_not_drawn(tmp_path):
    write_png(tmp_path / "x.png", 40, 80)
    out = tmp_path / "out"
    results, _ = predict_images(
        scripted_detector(), [str(tmp_path / "x.png")], str(out), 0.5, draw_score_threshold=0.9
    )
    assert results[0]["detections"][0]["score"] == pytest.approx(0.8)
    assert (np.asarray(Image.open(out / "x.png")) == 255).all()


def test_each_image_is_logged_with_its_detections_by_name(tmp_path, caplog):
    write_png(tmp_path / "x.png", 10, 10)
    with caplog.at_level("INFO", logger="absl"):
        predict_images(scripted_detector(), [str(tmp_path / "x.png")], str(tmp_path / "o"), 0.5)
    assert f"{tmp_path / 'x.png'}: 1 detections (square 0.80)" in caplog.messages
