"""VOC AP against cases computed by hand with the rules of the devkit's `voc_eval.py`.

Boxes are written in pixels (`[x1, y1, x2, y2]`) on 100 x 100 images; matching pairs are either
identical, clearly overlapping (IoU ≈ 0.88) or disjoint, so the hand computation does not depend
on the IoU convention, which has its own test.
"""

import numpy as np
import pytest
from evaluation_helpers import make_image

from efgrnet_tf.evaluation.voc_metrics import compute_voc_metrics, voc_ap

CAT, DOG, BIRD, FISH = 1, 2, 3, 4
CLASS_NAMES = ("cat", "dog", "bird", "fish")


def _hand_case():
    # Ground truth. Positives: cat 2 (G1, G4; G2 is difficult), dog 3, bird 1, fish 0.
    image_a = make_image(
        1,
        gts=[
            (CAT, [10, 10, 50, 50], False),  # G1
            (CAT, [60, 60, 90, 90], True),  # G2, difficult
            (DOG, [10, 60, 40, 90], False),  # G3
        ],
        dets=[
            (CAT, [10, 10, 50, 50], 0.9),  # c1: G1 -> TP
            (CAT, [10, 10, 50, 50], 0.8),  # c2: G1 again -> FP (duplicate)
            (CAT, [60, 60, 90, 90], 0.7),  # c3: the difficult G2 -> neither TP nor FP
            (DOG, [12, 60, 42, 90], 0.75),  # d3: G3 shifted by 2 px, IoU 0.88 -> TP
            (FISH, [0, 0, 10, 10], 0.99),  # no fish anywhere: class left out
        ],
    )
    image_b = make_image(
        2,
        gts=[
            (CAT, [20, 20, 60, 60], False),  # G4
            (DOG, [50, 10, 90, 40], False),  # G5
            (BIRD, [5, 5, 30, 30], False),  # G6, never detected
        ],
        dets=[
            (CAT, [20, 20, 60, 60], 0.5),  # c5: G4 -> TP
            (DOG, [50, 10, 90, 40], 0.95),  # d1: G5 -> TP
            (DOG, [0, 60, 20, 99], 0.85),  # d2: overlaps nothing -> FP
        ],
    )
    image_c = make_image(
        3,
        gts=[(DOG, [0, 0, 40, 40], False)],  # G7
        dets=[
            (CAT, [0, 0, 40, 40], 0.6),  # c4: no cat in this image -> FP
            (DOG, [0, 0, 40, 40], 0.3),  # d4: G7 -> TP
        ],
    )
    image_d = make_image(4)  # no objects, no detections
    return [image_a, image_b, image_c, image_d]


# cat, by score c1..c5: tp = 1 1 1 1 2, fp = 0 1 1 2 2 (c3 counts for neither), 2 positives:
#   recall    = .5  .5  .5  .5  1
#   precision = 1   .5  .5  1/3 .5
#   area: envelope 1 up to recall .5, .5 up to 1  -> .5 * 1 + .5 * .5 = .75
#   11-point: t = 0 ... .5 (6 points) -> 1; t = .6 ... 1 (5 points) -> .5  -> 8.5 / 11
CAT_AP_AREA = 0.75
CAT_AP_11 = 8.5 / 11
# dog, by score d1 d2 d3 d4: tp = 1 1 2 3, fp = 0 1 1 1, 3 positives:
#   recall    = 1/3 1/3 2/3 1
#   precision = 1   .5  2/3 3/4
#   area: envelope 1 up to 1/3, then 3/4  -> 1/3 + 2/3 * 3/4 = 5/6
#   11-point: t = 0 ... .3 (4 points) -> 1; t = .4 ... 1 (7 points) -> 3/4  -> 9.25 / 11
DOG_AP_AREA = 5 / 6
DOG_AP_11 = 9.25 / 11
# bird: one positive, no detection -> AP 0 both ways. fish: no positive -> no AP, not averaged.


def test_hand_computed_case_per_class_and_mean():
    metrics = compute_voc_metrics(_hand_case(), CLASS_NAMES)
    assert metrics.ap_area == pytest.approx({"cat": CAT_AP_AREA, "dog": DOG_AP_AREA, "bird": 0.0})
    assert metrics.ap_11point == pytest.approx({"cat": CAT_AP_11, "dog": DOG_AP_11, "bird": 0.0})
    assert metrics.num_positives == {"cat": 2, "dog": 3, "bird": 1}
    assert metrics.map_area == pytest.approx((CAT_AP_AREA + DOG_AP_AREA) / 3)
    assert metrics.map_11point == pytest.approx((CAT_AP_11 + DOG_AP_11) / 3)


def test_flat_dict_names_summary_and_per_class_numbers():
    flat = compute_voc_metrics(_hand_case(), CLASS_NAMES).as_flat_dict()
    assert flat["mAP_area"] == pytest.approx((CAT_AP_AREA + DOG_AP_AREA) / 3)
    assert flat["AP_11point/cat"] == pytest.approx(CAT_AP_11)
    assert flat["AP_area/bird"] == 0.0
    assert "AP_area/fish" not in flat
    summary_only = compute_voc_metrics(_hand_case(), CLASS_NAMES).as_flat_dict(per_class=False)
    assert set(summary_only) == {"mAP_11point", "mAP_area"}


@pytest.mark.parametrize(
    ("difficult", "expected_positives", "expected_area"),
    [
        # Devkit: the detection of the difficult box (ranked first) is ignored; 2 positives.
        # tp = 0 1, fp = 0 0 -> recall 0 .5, precision 0 1 -> area .5 * 1 = .5
        # (were it a FP: precision 0 .5 -> .25).
        (True, 2, 0.5),
        # The same box as a normal positive: tp = 1 2, recall 1/3 2/3, precision 1 1 -> 2/3.
        (False, 3, 2 / 3),
    ],
)
def test_difficult_box_is_neither_positive_nor_false_positive(
    difficult, expected_positives, expected_area
):
    image = make_image(
        1,
        gts=[
            (CAT, [0, 0, 20, 20], False),
            (CAT, [30, 30, 50, 50], False),  # never detected
            (CAT, [60, 60, 90, 90], difficult),
        ],
        dets=[(CAT, [60, 60, 90, 90], 0.9), (CAT, [0, 0, 20, 20], 0.8)],
    )
    metrics = compute_voc_metrics([image], ("cat",))
    assert metrics.num_positives == {"cat": expected_positives}
    assert metrics.ap_area["cat"] == pytest.approx(expected_area)


def test_missed_difficult_box_does_not_lower_recall():
    # One positive found, the difficult box missed: recall 1, AP 1 (as a positive: AP 0.5).
    image = make_image(
        1,
        gts=[(CAT, [0, 0, 20, 20], False), (CAT, [60, 60, 90, 90], True)],
        dets=[(CAT, [0, 0, 20, 20], 0.9)],
    )
    assert compute_voc_metrics([image], ("cat",)).ap_area["cat"] == pytest.approx(1.0)


def test_best_overlap_already_matched_is_a_false_positive_not_a_fallback():
    # Two cats overlap. The second detection's best box (A, IoU 0.91) is taken already; the
    # devkit calls it a FP even though it also overlaps B with IoU 0.67 > 0.5.
    # tp = 1 1, fp = 0 1, 2 positives: recall .5 .5, precision 1 .5
    #   area: .5 * 1 = .5; 11-point: t = 0 ... .5 (6 points) -> 6 / 11.
    image = make_image(
        1,
        gts=[(CAT, [0, 0, 40, 40], False), (CAT, [0, 10, 40, 50], False)],
        dets=[(CAT, [0, 0, 40, 40], 0.9), (CAT, [0, 2, 40, 42], 0.8)],
    )
    metrics = compute_voc_metrics([image], ("cat",))
    assert metrics.ap_area["cat"] == pytest.approx(0.5)
    assert metrics.ap_11point["cat"] == pytest.approx(6 / 11)


def test_iou_plus_one_convention_changes_the_match():
    # 2.5 px wide boxes shifted by 1 px (same rows): continuous IoU 1.5 / 3.5 = 0.43 (FP),
    # with the devkit's +1 on widths 2.5 / 4.5 = 0.56 (TP).
    image = make_image(1, gts=[(CAT, [0, 0, 2.5, 10], False)], dets=[(CAT, [1, 0, 3.5, 10], 0.9)])
    assert compute_voc_metrics([image], ("cat",)).ap_area["cat"] == 0.0
    assert compute_voc_metrics([image], ("cat",), iou_plus_one=True).ap_area["cat"] == 1.0


def test_ties_in_score_keep_input_order():
    # Same score: the FP listed first ranks first -> precision 0 then .5, recall 0 then 1.
    # area: envelope .5 over recall 0..1 -> .5.
    image = make_image(
        1,
        gts=[(CAT, [0, 0, 20, 20], False)],
        dets=[(CAT, [50, 50, 70, 70], 0.5), (CAT, [0, 0, 20, 20], 0.5)],
    )
    assert compute_voc_metrics([image], ("cat",)).ap_area["cat"] == pytest.approx(0.5)


def test_voc_ap_reference_values():
    recall = np.array([0.2, 0.4, 0.4, 0.8])
    precision = np.array([1.0, 1.0, 2 / 3, 0.8])
    # area: envelope 1 up to .4, .8 up to .8, 0 after -> .4 + .4 * .8 = .72
    assert voc_ap(recall, precision, use_07_metric=False) == pytest.approx(0.72)
    # 11-point: t = 0 ... .4 -> 1 (5 points; .4 is 0.4 in np.arange), .5 ... .8 -> .8
    # (4 points), .9, 1 -> 0
    assert voc_ap(recall, precision, use_07_metric=True) == pytest.approx((5 + 4 * 0.8) / 11)
    assert voc_ap(np.zeros(0), np.zeros(0), use_07_metric=True) == 0.0
    assert voc_ap(np.zeros(0), np.zeros(0), use_07_metric=False) == 0.0


def test_no_classes_with_positives_gives_zero_mean():
    metrics = compute_voc_metrics([make_image(1, dets=[(CAT, [0, 0, 5, 5], 0.5)])], ("cat",))
    assert (metrics.map_area, metrics.map_11point, metrics.ap_area) == (0.0, 0.0, {})


def _voc_eval_transcription(images, label, use_07_metric):
    """py-faster-rcnn's `voc_eval` (its `R`/`BB` loop and `voc_ap`) on absolute pixel boxes,
    transcribed with the devkit's +1 left out, as in our continuous convention."""
    class_recs, npos = {}, 0
    for image in images:
        keep = image.gt_classes == label
        h, w = image.original_size_hw
        bbox = image.gt_boxes_yxyx[keep][:, [1, 0, 3, 2]] * [w, h, w, h]
        difficult = image.gt_is_difficult[keep]
        npos += int(np.sum(~difficult))
        class_recs[image.image_id] = {
            "bbox": bbox,
            "difficult": difficult,
            "det": [False] * len(bbox),
        }
    image_ids, confidence, boxes = [], [], []
    for image in images:
        keep = image.det_classes == label
        h, w = image.original_size_hw
        image_ids += [image.image_id] * int(keep.sum())
        confidence += list(image.det_scores[keep])
        boxes += list(image.det_boxes_yxyx[keep][:, [1, 0, 3, 2]] * [w, h, w, h])
    sorted_ind = np.argsort(-np.array(confidence))
    nd = len(image_ids)
    tp, fp = np.zeros(nd), np.zeros(nd)
    for d in range(nd):
        r = class_recs[image_ids[sorted_ind[d]]]
        bb = boxes[sorted_ind[d]]
        ovmax = -np.inf
        bbgt = r["bbox"]
        if bbgt.size > 0:
            ixmin = np.maximum(bbgt[:, 0], bb[0])
            iymin = np.maximum(bbgt[:, 1], bb[1])
            ixmax = np.minimum(bbgt[:, 2], bb[2])
            iymax = np.minimum(bbgt[:, 3], bb[3])
            iw = np.maximum(ixmax - ixmin, 0.0)
            ih = np.maximum(iymax - iymin, 0.0)
            inters = iw * ih
            uni = (
                (bb[2] - bb[0]) * (bb[3] - bb[1])
                + (bbgt[:, 2] - bbgt[:, 0]) * (bbgt[:, 3] - bbgt[:, 1])
                - inters
            )
            overlaps = inters / uni
            ovmax = np.max(overlaps)
            jmax = np.argmax(overlaps)
        if ovmax > 0.5:
            if not r["difficult"][jmax]:
                if not r["det"][jmax]:
                    tp[d] = 1.0
                    r["det"][jmax] = 1
                else:
                    fp[d] = 1.0
        else:
            fp[d] = 1.0
    fp, tp = np.cumsum(fp), np.cumsum(tp)
    rec = tp / float(npos)
    prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
    if use_07_metric:
        ap = 0.0
        for t in np.arange(0.0, 1.1, 0.1):
            p = 0 if np.sum(rec >= t) == 0 else np.max(prec[rec >= t])
            ap = ap + p / 11.0
        return ap
    mrec = np.concatenate(([0.0], rec, [1.0]))
    mpre = np.concatenate(([0.0], prec, [0.0]))
    for i in range(mpre.size - 1, 0, -1):
        mpre[i - 1] = np.maximum(mpre[i - 1], mpre[i])
    i = np.where(mrec[1:] != mrec[:-1])[0]
    return np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1])


def _random_images(rng, num_images=12, num_classes=3):
    """Crowded random scenes: jittered duplicates, misses, difficult boxes, false positives;
    distinct scores (no ties, whose order the reference leaves to the sort)."""
    images, scores = [], iter(rng.permutation(10_000) / 10_000)
    for image_id in range(num_images):
        gts, dets = [], []
        for _ in range(int(rng.integers(0, 6))):
            x1, y1 = rng.uniform(0, 70, size=2)
            box = [x1, y1, x1 + rng.uniform(10, 30), y1 + rng.uniform(10, 30)]
            label = int(rng.integers(1, num_classes + 1))
            gts.append((label, box, bool(rng.uniform() < 0.2)))
            for _ in range(int(rng.integers(0, 3))):
                dets.append((label, list(np.array(box) + rng.normal(0, 3, 4)), next(scores)))
        for _ in range(int(rng.integers(0, 3))):
            x1, y1 = rng.uniform(0, 80, size=2)
            label = int(rng.integers(1, num_classes + 1))
            dets.append((label, [x1, y1, x1 + 15, y1 + 15], next(scores)))
        images.append(make_image(image_id, gts=gts, dets=dets))
    return images


@pytest.mark.parametrize("seed", range(3))
def test_matches_a_transcription_of_voc_eval_on_random_scenes(seed):
    images = _random_images(np.random.default_rng(seed))
    metrics = compute_voc_metrics(images, ("a", "b", "c"))
    for label, name in enumerate(("a", "b", "c"), start=1):
        assert metrics.ap_area[name] == pytest.approx(_voc_eval_transcription(images, label, False))
        assert metrics.ap_11point[name] == pytest.approx(
            _voc_eval_transcription(images, label, True)
        )
    assert 0.1 < metrics.map_area < 0.95  # neither trivial nor empty
