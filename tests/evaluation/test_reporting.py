"""Metric tables and the JSON writer."""

import json

from efgrnet_tf.evaluation.reporting import format_metrics, split_per_class, write_json

METRICS = {"AP": 0.5, "AP/cat": 0.25, "AP/dog": 0.75, "mAP_area": 1 / 3, "AP_area/cat": 0.125,
           "num_images": 7}  # fmt: skip


def test_split_per_class_separates_summary_and_class_numbers():
    summary, per_class = split_per_class(METRICS)
    assert summary == {"AP": 0.5, "mAP_area": 1 / 3, "num_images": 7}
    assert per_class == {"cat": {"AP": 0.25, "AP_area": 0.125}, "dog": {"AP": 0.75}}


def test_format_metrics_tables():
    assert format_metrics(METRICS).splitlines() == [
        "metric       value",
        "----------  ------",
        "AP          0.5000",
        "mAP_area    0.3333",
        "num_images       7",
        "",
        "class      AP  AP_area",
        "-----  ------  -------",
        "cat    0.2500   0.1250",
        "dog    0.7500        -",
    ]
    assert "cat" not in format_metrics(METRICS, per_class=False)


def test_write_json_creates_the_folder(tmp_path):
    path = write_json(METRICS, str(tmp_path / "a" / "b" / "metrics.json"))
    with open(path) as f:
        assert json.load(f) == METRICS
