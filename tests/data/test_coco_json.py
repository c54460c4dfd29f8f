"""COCO json reader against a hand-written annotation file."""

import numpy as np
from data_fixtures import solid_image, write_coco

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
