"""Bad files and annotations: repaired, or skipped with one warning naming file and reason."""

import logging

import numpy as np
import pytest
from data_fixtures import encode_image, solid_image, voc_xml, write_coco, write_voc_tree
from eval_images import eval_ground_truth

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.label_maps import VOC_CLASS_NAMES
from efgrnet_tf.data.pipeline import build_eval_dataset, build_train_dataset
from efgrnet_tf.data.sources.coco_json import index_coco

_DOG = [("dog", 3, 3, 12, 10, False)]


def _entry(name, image_bytes, objects=_DOG, size_hw=(16, 20), xml=None):
    return {
        "name": name,
        "image_bytes": image_bytes,
        "xml": xml if xml is not None else voc_xml(f"{name}.jpg", size_hw, objects),
    }


def _corrupt_huffman_tables(jpeg: bytes) -> bytes:
    """Valid header and end marker, garbage tables: passes indexing, fails decoding."""
    garbage = np.random.default_rng(0).integers(0, 255, 300, dtype=np.uint8).tobytes()
    return jpeg[:400] + garbage + jpeg[700:]


@pytest.fixture
def bad_voc_tree(tmp_path):
    rgb = solid_image(16, 20)
    big = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    entries = [
        _entry("000001", encode_image(rgb)),
        _entry("000002", encode_image(big)[:3000], size_hw=(64, 64)),  # truncated JPEG
        _entry("000003", encode_image(rgb, "PNG")),  # PNG behind a .jpg name
        _entry("000004", encode_image(rgb, mode="L")),  # grayscale
        _entry("000005", encode_image(rgb, "PNG", mode="RGBA")),
        _entry("000006", encode_image(rgb), objects=[]),  # no objects
        _entry("000007", encode_image(rgb), objects=[("dog", 5, 5, 30, 12, False)]),  # outside
        _entry("000008", encode_image(rgb), objects=[*_DOG, ("cat", 9, 4, 7, 8, False)]),  # w < 0
        _entry("000009", encode_image(rgb), objects=[("unicorn", 1, 1, 4, 4, False)]),
        _entry("000010", None),  # missing image file
        _entry("000011", encode_image(rgb), xml="<annotation><object>"),  # malformed XML
        _entry("000012", _corrupt_huffman_tables(encode_image(big)), size_hw=(64, 64)),
    ]
    return write_voc_tree(tmp_path / "VOC2007", "test", entries)


def _voc_config(root):
    return config_from_dict(
        {
            "data": {
                "source": "voc_folder",
                "voc_folder": {
                    "train": [{"year_folder": str(root), "image_set": "test"}],
                    "eval": {"year_folder": str(root), "image_set": "test"},
                },
            },
            # The VOC classes, given: a record naming another class is bad data here.
            "model": {"image_size": 64, "num_classes": 21},
            "class_names": list(VOC_CLASS_NAMES),
            "train": {"global_batch_size": 4},
            "eval": {"batch_size": 4},
        }
    )


def test_bad_voc_records_are_repaired_or_skipped_and_counted(bad_voc_tree, caplog):
    with caplog.at_level(logging.WARNING, logger="efgrnet_tf.data"):
        ground_truth = {g.image_id: g for g in eval_ground_truth(_voc_config(bad_voc_tree))}

    skipped = {2: "truncated JPEG", 9: "'unicorn' is not in the label map", 10: "does not exist"}
    skipped[11] = "malformed annotation XML"
    for image_id, reason in skipped.items():
        assert image_id not in ground_truth
        messages = [r.getMessage() for r in caplog.records if f"{image_id:06d}." in r.getMessage()]
        assert len(messages) == 1 and reason in messages[0], messages
    assert any("8 records kept, 4 skipped, 2 repaired" in r.getMessage() for r in caplog.records)
    # 000012 passes indexing but cannot be decoded: the eval pipeline drops it.
    assert sorted(ground_truth) == [1, 3, 4, 5, 6, 7, 8]
    # Kept: formats converted, empty image kept, box clipped (not moved), degenerate box dropped.
    assert ground_truth[6].gt_boxes_yxyx.shape == (0, 4)
    np.testing.assert_allclose(ground_truth[7].gt_boxes_yxyx, [[4 / 16, 4 / 20, 12 / 16, 1.0]])
    assert ground_truth[8].gt_classes.tolist() == [12]  # the negative-width cat is gone
    assert any(
        "000007.xml: box 0" in r.getMessage() and "clipped" in r.getMessage()
        for r in caplog.records
    )
    assert any(
        "000008.xml: box 1" in r.getMessage() and "no area" in r.getMessage()
        for r in caplog.records
    )


def test_eval_pipeline_decodes_odd_formats_and_drops_undecodable_images(bad_voc_tree, capfd):
    batches = list(build_eval_dataset(_voc_config(bad_voc_tree)))

    image_ids = np.concatenate([b["image_id"].numpy() for b in batches]).tolist()
    # 000012 passes indexing (valid markers) but fails decoding: dropped with a warning naming
    # its file, no crash.
    assert image_ids == [1, 3, 4, 5, 6, 7, 8]
    warnings = [line for line in capfd.readouterr().err.splitlines() if "skipping" in line]
    assert len(warnings) == 1 and "000012.jpg" in warnings[0], warnings
    sizes = np.concatenate([b["original_size_hw"].numpy() for b in batches])
    assert (sizes == [16, 20]).all()
    assert all(b["images"].shape[1:] == (64, 64, 3) for b in batches)


def test_bad_coco_annotations_skip_their_image(tmp_path, caplog):
    images = [
        {"id": i, "file_name": f"{i}.jpg", "height": 8, "width": 8, "pixels": solid_image(8, 8)}
        for i in range(4)
    ]
    images.append({"id": 4, "file_name": "missing.jpg", "height": 8, "width": 8})
    annotations = [
        {"id": 10, "image_id": 0, "category_id": 1, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        {"id": 11, "image_id": 1, "category_id": 99, "bbox": [1, 1, 2, 2], "iscrowd": 0},
        {"id": 12, "image_id": 2, "category_id": 1, "bbox": [1, "x", 2], "iscrowd": 0},
        {"id": 13, "image_id": 3, "category_id": 1, "bbox": [4, 4, -2, 3], "iscrowd": 0},
    ]
    image_dir, annotation_file = write_coco(
        tmp_path, images, annotations, [{"id": 1, "name": "thing"}]
    )
    with caplog.at_level(logging.WARNING, logger="efgrnet_tf.data"):
        index = index_coco(str(annotation_file), str(image_dir))

    assert [image.image_id for image in index.images] == [0, 3]
    assert index.images[1].boxes.shape == (0, 4)  # negative width: dropped with a warning
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "1.jpg: annotation 11: unknown category id 99" in text
    assert "2.jpg: annotation 12: malformed bbox" in text
    assert "missing.jpg: image file does not exist" in text
    assert "2 records kept, 3 skipped, 1 repaired" in text


def test_malformed_coco_json_names_the_file(tmp_path):
    annotation_file = tmp_path / "instances.json"
    annotation_file.write_text('{"images": [')

    with pytest.raises(ValueError, match=r"instances\.json"):
        index_coco(str(annotation_file), str(tmp_path))


def test_training_runs_through_bad_data_for_several_epochs(bad_voc_tree, capfd):
    cfg = _voc_config(bad_voc_tree)
    batches = list(build_train_dataset(cfg).take(5))  # 20 images: > 2 epochs of 7 usable

    image_ids = set(np.concatenate([b["image_id"].numpy() for b in batches]).tolist())
    assert image_ids <= {1, 3, 4, 5, 6, 7, 8}
    assert all(b["images"].shape == (4, 64, 64, 3) for b in batches)
    # Each pass over the 8 indexed images meets the undecodable one once, and names it.
    warnings = [line for line in capfd.readouterr().err.splitlines() if "skipping" in line]
    assert len(warnings) >= 2 and all("000012.jpg" in line for line in warnings), warnings
