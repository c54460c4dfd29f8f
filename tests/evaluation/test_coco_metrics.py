"""Our COCO path (normalised boxes → absolute xywh, category-id mapping, COCOeval) against
pycocotools called directly on the same ground truth and detections written in pixels."""

import json
import sys

import numpy as np
import pytest
from evaluation_helpers import make_image
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from efgrnet_tf.evaluation.coco_metrics import (
    COCO_METRIC_NAMES,
    build_coco_ground_truth,
    compute_coco_metrics,
)
from efgrnet_tf.evaluation.detections import to_coco_results

CLASS_NAMES = ("zebra", "kite", "toothbrush")
CATEGORY_IDS = (24, 38, 90)  # label k -> CATEGORY_IDS[k - 1]
SIZES_HW = ((480, 640), (300, 500), (640, 427), (200, 200))


def _case(seed=0):
    """Ground truth and detections in pixels: `{image_id: (size_hw, gts, dets)}`.

    gts: (label, [x1, y1, x2, y2], crowd); dets: (label, [x1, y1, x2, y2], score). Boxes of all
    three COCO area ranges, one crowd box, one image without objects; detections are jittered
    ground truth (some far off), duplicates and random false positives.
    """
    rng = np.random.default_rng(seed)
    case = {}
    for image_id, (h, w) in zip((7, 42, 1001, 5), SIZES_HW, strict=True):
        gts, dets = [], []
        num_gt = 0 if image_id == 5 else 4
        for _ in range(num_gt):
            side = rng.choice([12.0, 60.0, 150.0]) * rng.uniform(0.8, 1.2, size=2)
            x1, y1 = rng.uniform(0, w - side[0]), rng.uniform(0, h - side[1])
            box = [x1, y1, x1 + side[0], y1 + side[1]]
            label = int(rng.integers(1, 4))
            gts.append((label, box, bool(image_id == 42 and not gts)))
            for _ in range(int(rng.integers(0, 3))):
                jitter = rng.normal(0.0, 0.08, size=4) * np.r_[side, side]
                det = np.clip(np.array(box) + jitter, 0, [w, h, w, h])
                dets.append((label, det.tolist(), float(rng.uniform())))
        for _ in range(3):
            x1, y1 = rng.uniform(0, w - 50), rng.uniform(0, h - 50)
            dets.append((int(rng.integers(1, 4)), [x1, y1, x1 + 50, y1 + 40], rng.uniform()))
        case[image_id] = ((h, w), gts, dets)
    return case


def _eval_images(case):
    return [
        make_image(
            image_id,
            size_hw,
            gts=[(label, box, False, crowd) for label, box, crowd in gts],
            dets=dets,
        )
        for image_id, (size_hw, gts, dets) in case.items()
    ]


def _reference_gt_dict(case):
    """The COCO dataset dict written directly in pixels with the original category ids."""
    annotations = []
    for image_id, (_, gts, _) in case.items():
        for label, (x1, y1, x2, y2), crowd in gts:
            annotations.append(
                {
                    "id": len(annotations) + 1,
                    "image_id": image_id,
                    "category_id": CATEGORY_IDS[label - 1],
                    "bbox": [x1, y1, x2 - x1, y2 - y1],
                    "area": (x2 - x1) * (y2 - y1),
                    "iscrowd": int(crowd),
                }
            )
    return {
        "images": [{"id": i, "height": s[0], "width": s[1]} for i, (s, _, _) in case.items()],
        "annotations": annotations,
        "categories": [
            {"id": c, "name": n} for c, n in zip(CATEGORY_IDS, CLASS_NAMES, strict=True)
        ],
    }


def _reference_results(case):
    return [
        {
            "image_id": image_id,
            "category_id": CATEGORY_IDS[label - 1],
            "bbox": [x1, y1, x2 - x1, y2 - y1],
            "score": score,
        }
        for image_id, (_, _, dets) in case.items()
        for label, (x1, y1, x2, y2), score in dets
    ]


def _pycocotools_stats(gt_dict, results, category_ids=None):
    coco_gt = COCO()
    coco_gt.dataset = gt_dict
    coco_gt.createIndex()
    coco_eval = COCOeval(coco_gt, coco_gt.loadRes(results), iouType="bbox")
    if category_ids is not None:
        coco_eval.params.catIds = category_ids
    coco_eval.evaluate()
    coco_eval.accumulate()
    coco_eval.summarize()
    return coco_eval.stats


@pytest.mark.parametrize("seed", [0, 1])
def test_twelve_numbers_match_pycocotools_on_the_same_detections(seed):
    case = _case(seed)
    images = _eval_images(case)
    expected = _pycocotools_stats(_reference_gt_dict(case), _reference_results(case))
    ground_truth = build_coco_ground_truth(images, CLASS_NAMES, CATEGORY_IDS)
    metrics = compute_coco_metrics(ground_truth, to_coco_results(images, CATEGORY_IDS))
    assert list(metrics) == list(COCO_METRIC_NAMES)
    np.testing.assert_allclose([metrics[n] for n in COCO_METRIC_NAMES], expected, atol=1e-9)
    assert 0.0 < metrics["AP"] < metrics["AP50"] < 1.0  # a case that tests something


def test_ground_truth_from_annotation_file_gives_the_same_numbers(tmp_path):
    case = _case()
    path = _annotation_file_with_an_unevaluated_image(case, tmp_path)
    images = _eval_images(case)
    metrics = compute_coco_metrics(
        str(path),
        to_coco_results(images, CATEGORY_IDS),
        image_ids=[image.image_id for image in images],
    )
    expected = _pycocotools_stats(_reference_gt_dict(case), _reference_results(case))
    np.testing.assert_allclose([metrics[n] for n in COCO_METRIC_NAMES], expected, atol=1e-9)


def test_per_class_ap_equals_cocoeval_restricted_to_that_category():
    case = _case()
    images = _eval_images(case)
    ground_truth = build_coco_ground_truth(images, CLASS_NAMES, CATEGORY_IDS)
    metrics = compute_coco_metrics(
        ground_truth, to_coco_results(images, CATEGORY_IDS), per_class=True
    )
    for category_id, name in zip(CATEGORY_IDS, CLASS_NAMES, strict=True):
        expected = _pycocotools_stats(
            _reference_gt_dict(case), _reference_results(case), [category_id]
        )[0]
        assert metrics[f"AP/{name}"] == pytest.approx(expected, abs=1e-9)


def test_in_memory_ground_truth_fields():
    image = make_image(
        3,
        size_hw=(200, 400),
        gts=[(2, [40, 20, 140, 70], False, True)],
        dets=[(2, [40, 20, 140, 70], 0.5)],
    )
    gt = build_coco_ground_truth([image], CLASS_NAMES, CATEGORY_IDS)
    assert gt["images"] == [{"id": 3, "height": 200, "width": 400}]
    assert gt["categories"] == [
        {"id": c, "name": n} for c, n in zip(CATEGORY_IDS, CLASS_NAMES, strict=True)
    ]
    (annotation,) = gt["annotations"]
    assert annotation["id"] == 1  # pycocotools treats id 0 as "unmatched"
    assert (annotation["category_id"], annotation["iscrowd"]) == (38, 1)
    np.testing.assert_allclose(annotation["bbox"], [40, 20, 100, 50])
    assert annotation["area"] == pytest.approx(5000)
    (result,) = to_coco_results([image], CATEGORY_IDS)
    assert result["category_id"] == 38 and result["score"] == 0.5
    np.testing.assert_allclose(result["bbox"], [40, 20, 100, 50])
    # Without category ids (VOC, synthetic) the labels are the ids.
    assert to_coco_results([image])[0]["category_id"] == 2


def test_no_detections_gives_zeros_without_crashing(capsys):
    # One ground-truth box per area range (small < 32², medium < 96², large), so every number
    # is defined and must be 0.
    image = make_image(
        1,
        size_hw=(400, 400),
        gts=[(1, [0, 0, 20, 20], False), (2, [50, 50, 110, 110], False),
             (3, [150, 150, 350, 350], False)],
    )  # fmt: skip
    metrics = compute_coco_metrics(build_coco_ground_truth([image], CLASS_NAMES), [])
    assert metrics == {name: 0.0 for name in COCO_METRIC_NAMES}
    assert capsys.readouterr().out == ""  # pycocotools' prints are captured


@pytest.mark.parametrize("seed", [0, 1])
def test_faster_coco_eval_gives_the_numbers_of_pycocotools(seed, tmp_path):
    case = _case(seed)
    path = _annotation_file_with_an_unevaluated_image(case, tmp_path)
    images = _eval_images(case)
    results = to_coco_results(images, CATEGORY_IDS)
    image_ids = [image.image_id for image in images]
    pycocotools, faster = (
        compute_coco_metrics(
            str(path), results, image_ids=image_ids, per_class=True, use_faster_coco_eval=fast
        )
        for fast in (False, True)
    )
    assert list(faster) == list(pycocotools)
    assert len(faster) == len(COCO_METRIC_NAMES) + len(CLASS_NAMES)
    np.testing.assert_allclose(list(faster.values()), list(pycocotools.values()), atol=1e-12)
    assert 0.0 < faster["AP"] < faster["AP50"] < 1.0


def test_asking_for_faster_coco_eval_without_it_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "faster_coco_eval", None)  # makes the import fail
    with pytest.raises(ImportError, match="faster-coco-eval"):
        compute_coco_metrics(_reference_gt_dict(_case()), [], use_faster_coco_eval=True)


def _annotation_file_with_an_unevaluated_image(case, tmp_path):
    """The case's ground truth as an annotation file that also holds an image not evaluated
    (with a box), which `image_ids` must restrict away."""
    gt_dict = _reference_gt_dict(case)
    gt_dict["images"].append({"id": 999, "height": 10, "width": 10})
    gt_dict["annotations"].append(
        {"id": 999, "image_id": 999, "category_id": 24, "bbox": [1, 1, 5, 5], "area": 25,
         "iscrowd": 0}
    )  # fmt: skip
    path = tmp_path / "instances_val.json"
    path.write_text(json.dumps(gt_dict))
    return str(path)
