"""`scripts/serving_client.py` end to end against stand-in TF Serving front ends."""

from __future__ import annotations

import os

import pytest
from fake_tf_serving import closed_port, rest_server
from serving_helpers import CLASS_NAMES, REPO_ROOT, run_python

pytestmark = pytest.mark.slow

CLIENT = os.path.join(REPO_ROOT, "scripts", "serving_client.py")


def test_rest_client_prints_named_detections(loaded_export, export_dir, test_images):
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
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{test_images[0][0]}: ") and "detections" in lines[0]
    assert any(name in result.stdout for name in CLASS_NAMES)


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
