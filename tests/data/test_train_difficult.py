"""VOC "difficult" boxes: never training targets (unless `data.train_difficult`), always in
the evaluation ground truth (the authors' `keep_difficult=False` and the VOC devkit)."""

import numpy as np
from data_fixtures import encode_image, solid_image, voc_xml, write_voc_tree
from eval_images import eval_ground_truth

from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.pipeline import build_eval_dataset, build_train_dataset

CAT, DOG = 1, 2  # labels of the folder's class names in order: cat, dog


def _config(tmp_path, **data):
    """Two images: a dog and a difficult cat; a difficult cat alone. Train = eval folder."""
    entries = [
        {
            "name": "000001",
            "image_bytes": encode_image(solid_image(40, 60)),
            "xml": voc_xml(
                "000001.jpg",
                (40, 60),
                [("dog", 5, 5, 30, 35, False), ("cat", 30, 10, 58, 38, True)],
            ),
        },
        {
            "name": "000002",
            "image_bytes": encode_image(solid_image(40, 60)),
            "xml": voc_xml("000002.jpg", (40, 60), [("cat", 10, 5, 50, 35, True)]),
        },
    ]
    root = str(write_voc_tree(tmp_path / "VOC2007", "trainval", entries))
    return config_from_dict(
        {
            "data": {
                "source": "voc_folder",
                "voc_folder": {
                    "train": [{"year_folder": root, "image_set": "trainval"}],
                    "eval": {"year_folder": root, "image_set": "trainval"},
                },
                "max_boxes": 4,
                "deterministic": True,
                **data,
            },
            "class_names": ["cat", "dog"],
            "model": {"image_size": 64, "num_classes": 3},
            "train": {"global_batch_size": 2},
            "eval": {"batch_size": 2},
        }
    )


def _training_targets(cfg, num_batches=8):
    batches = list(build_train_dataset(cfg).take(num_batches))
    classes = np.concatenate([b["classes"].numpy() for b in batches])
    difficult = np.concatenate([b["is_difficult"].numpy() for b in batches])
    return classes, difficult


def test_difficult_boxes_never_reach_the_training_targets(tmp_path):
    classes, difficult = _training_targets(_config(tmp_path))
    assert CAT not in classes and not difficult.any()
    # The dog image keeps its dog; the cat-only image trains as an image without boxes.
    per_image = [set(row[row > 0]) for row in classes]
    assert {DOG} in per_image and set() in per_image


def test_difficult_boxes_stay_in_the_evaluation_ground_truth(tmp_path):
    cfg = _config(tmp_path)
    truth = {gt.image_id: gt for gt in eval_ground_truth(cfg)}
    assert truth[1].gt_classes.tolist() == [DOG, CAT]
    assert truth[1].gt_is_difficult.tolist() == [False, True]
    assert truth[2].gt_classes.tolist() == [CAT] and truth[2].gt_is_difficult.tolist() == [True]
    batch = next(iter(build_eval_dataset(cfg)))
    assert batch["classes"].numpy()[:, :2].tolist() == [[DOG, CAT], [CAT, -1]]
    assert batch["is_difficult"].numpy()[:, :2].tolist() == [[False, True], [True, False]]


def test_train_difficult_keeps_them_as_targets(tmp_path):
    classes, difficult = _training_targets(_config(tmp_path, train_difficult=True))
    assert CAT in classes and difficult.any()
