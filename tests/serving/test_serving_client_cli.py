"""`scripts/serving_client.py` end to end against stand-in TF Serving front ends."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest
from detection_asserts import assert_records_match
from fake_tf_serving import closed_port, rest_server
from serving_helpers import CLASS_NAMES, REPO_ROOT, run_python, write_unreadable_images

pytestmark = pytest.mark.slow

CLIENT = os.path.join(REPO_ROOT, "scripts", "serving_client.py")


def test_rest_client_prints_named_detections(
    loaded_export, export_dir, test_images, stock_tf_report
):
    labels = os.path.join(export_dir, "assets", "labels.txt")
    with rest_server(loaded_export, "efgrnet") as port:
        result = run_python(
            [
                CLIENT,
                f"--port={port}",
                "--host=127.0.0.1",
                f"--labels={labels}",
                "--score_threshold=0.0",
                *test_images[0],
            ],
            cwd=REPO_ROOT,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    # Every line, per image: a header, then one line per detection, checked against the same
    # image through the export in the stock-TF probe (its own pixel size for the boxes).
    lines = result.stdout.splitlines()
    names = dict(enumerate(CLASS_NAMES, start=1))
    for path, pixels, reference in zip(
        test_images[0], test_images[1], stock_tf_report["image_tensor"], strict=True
    ):
        count = int(reference["num_detections"][0])
        assert lines.pop(0) == f"{path}: {count} detections"
        records = [parse_detection_line(lines.pop(0)) for _ in range(count)]
        one_image = {name: np.asarray(value)[0] for name, value in reference.items()}
        # Printed with 3 decimals for scores and 1 for pixels.
        assert_records_match(records, one_image, pixels.shape[:2], names, 0.0, 6e-4, 0.06)
    assert lines == []


DETECTION_LINE = re.compile(
    r"^  (?P<name>.+) \((?P<id>\d+)\) (?P<score>[\d.]+)  \[(?P<box>[-\d., ]+)\] px$"
)


def parse_detection_line(line: str) -> dict:
    """`  circle (1) 0.873  [1.0, 2.0, 3.0, 4.0] px` -> a record like `detections.json`'s."""
    match = DETECTION_LINE.match(line)
    assert match, line
    return {
        "class_name": match["name"],
        "class_id": int(match["id"]),
        "score": float(match["score"]),
        "box_yxyx_abs": [float(v) for v in match["box"].split(", ")],
    }


def test_grpc_client_reports_an_unreachable_server(test_images):
    result = run_python(
        [
            CLIENT,
            "--protocol=grpc",
            "--host=127.0.0.1",
            f"--port={closed_port()}",
            "--timeout_s=5",
            test_images[0][0],
        ],
        cwd=REPO_ROOT,
    )
    assert result.returncode == 1
    assert "error: cannot reach TF Serving at 127.0.0.1" in result.stderr


def test_client_names_an_unreadable_image_and_its_reason(tmp_path):
    reasons = write_unreadable_images(tmp_path)
    result = run_python(
        [CLIENT, "--host=127.0.0.1", f"--port={closed_port()}", str(tmp_path / "text.jpg")],
        cwd=REPO_ROOT,
    )
    assert result.returncode == 1
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert line.startswith(f"error: {tmp_path / 'text.jpg'}: unreadable image: ")
    assert reasons["text.jpg"] in line.lower()
