"""VOCdevkit folder reader against a hand-written tree."""

import numpy as np
import tensorflow as tf
from data_fixtures import encode_image, solid_image, voc_xml, write_voc_tree

from efgrnet_tf.data import records
from efgrnet_tf.data.label_maps import VOC_CLASS_NAMES
from efgrnet_tf.data.sources.indexed_images import indexed_images_dataset
from efgrnet_tf.data.sources.voc_folder import index_voc_split


def test_boxes_are_normalised_from_one_based_inclusive_pixels(tmp_path):
    objects = [("dog", 1, 1, 40, 30, False), ("person", 11, 21, 20, 30, True)]
    root = write_voc_tree(
        tmp_path / "VOC2007",
        "trainval",
        [
            {
                "name": "000005",
                "image_bytes": encode_image(solid_image(30, 40)),
                "xml": voc_xml("000005.jpg", (30, 40), objects),
            },
            {
                "name": "2008_000123",
                "image_bytes": encode_image(solid_image(20, 10)),
                "xml": voc_xml("2008_000123.jpg", (20, 10), []),
            },
        ],
    )
    images = index_voc_split(str(root), "trainval", VOC_CLASS_NAMES)

    assert [image.image_id for image in images] == [5, 2008000123]
    # Pixel 1..40 of a 40 wide image covers [0, 40) -> [0, 1]; 11..20 -> [10, 20) / 40.
    np.testing.assert_allclose(
        images[0].boxes, [[0.0, 0.0, 1.0, 1.0], [20 / 30, 10 / 40, 1.0, 20 / 40]], atol=1e-6
    )
    assert images[0].classes.tolist() == [12, 15]  # dog, person (1-based)
    assert images[0].is_difficult.tolist() == [False, True]
    assert images[0].is_crowd.tolist() == [False, False]
    assert images[1].boxes.shape == (0, 4)

    decoded = [records.decode_record(r) for r in indexed_images_dataset(images)]
    assert decoded[0]["image"].shape == (30, 40, 3)
    assert decoded[0]["original_size_hw"].numpy().tolist() == [30, 40]
    np.testing.assert_allclose(decoded[0]["boxes"], images[0].boxes)
    assert decoded[1]["image_id"].numpy() == 2008000123
    assert decoded[1]["image"].dtype == tf.uint8


def test_image_size_from_header_reads_jpeg_and_png_headers():
    pixels = solid_image(13, 29)
    for image_format in ("JPEG", "PNG", "BMP"):
        size = records.image_size_from_header(tf.constant(encode_image(pixels, image_format)))
        assert size.numpy().tolist() == [13, 29], image_format


def test_input_pipelines_read_disjoint_shares_of_the_folder(tmp_path):
    entries = [
        {
            "name": f"{i:06d}",
            "image_bytes": encode_image(solid_image(8, 8)),
            "xml": voc_xml(f"{i:06d}.jpg", (8, 8), [("cat", 1, 1, 4, 4, False)]),
        }
        for i in range(5)
    ]
    images = index_voc_split(str(write_voc_tree(tmp_path, "val", entries)), "val", VOC_CLASS_NAMES)
    shares = [
        [int(r["image_id"]) for r in indexed_images_dataset(images, ctx)]
        for ctx in (tf.distribute.InputContext(2, 0, 2), tf.distribute.InputContext(2, 1, 2))
    ]
    assert sorted(shares[0] + shares[1]) == [0, 1, 2, 3, 4]
    assert not set(shares[0]) & set(shares[1])
