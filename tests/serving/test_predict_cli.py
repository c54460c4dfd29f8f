"""`scripts/predict.py` writes JSON detections and drawings; checkpoints predict like exports."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from detection_asserts import assert_same_detections
from PIL import Image
from serving_helpers import CLASS_NAMES, REPO_ROOT, run_python

from efgrnet_tf.serving.predictor import checkpoint_detector

pytestmark = pytest.mark.slow


def test_predict_script_on_a_folder_writes_json_and_pngs(
    export_dir, test_images, stock_tf_report, tmp_path
):
    paths, pixels = test_images
    output_dir = tmp_path / "predictions"
    result = run_python(
        [
            os.path.join(REPO_ROOT, "scripts", "predict.py"),
            f"--saved_model_dir={export_dir}",
            f"--output_dir={output_dir}",
            "--score_threshold=0.5",
            os.path.dirname(paths[0]),
        ],
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open(output_dir / "detections.json") as f:
        entries = json.load(f)
    # The folder is listed in name order: square.png, then wide.png.
    assert [e["file"] for e in entries] == sorted(paths)
    for entry in entries:
        index = paths.index(entry["file"])
        height, width = pixels[index].shape[:2]
        assert entry["image_size_hw"] == [height, width]
        # The same image through the export in the stock-TF probe, thresholded here.
        reference = stock_tf_report["image_tensor"][index]
        count = int(reference["num_detections"][0])
        scores = np.array(reference["detection_scores"][0][:count])
        records = entry["detections"]
        assert len(records) == int((scores >= 0.5).sum()) > 0
        for record, score in zip(records, scores, strict=False):
            assert record["score"] == pytest.approx(score, abs=1e-5)
            assert record["class_name"] == CLASS_NAMES[record["class_id"] - 1]
            expected_abs = np.array(record["box_yxyx_normalized"]) * [height, width, height, width]
            np.testing.assert_allclose(record["box_yxyx_abs"], expected_abs, rtol=1e-6)
        drawing = np.asarray(Image.open(output_dir / os.path.basename(entry["file"])))
        assert drawing.shape == pixels[index].shape
        assert (drawing != pixels[index]).any()


def test_checkpoint_detector_matches_the_export(
    trained_model, small_cfg, loaded_export, test_images
):
    detector = checkpoint_detector(small_cfg, trained_model[1])
    assert detector.class_names == dict(enumerate(CLASS_NAMES, start=1))
    image = test_images[1][0]
    expected = loaded_export.signatures["serving_default"](images=image[None])
    assert_same_detections(
        detector(image), {name: value.numpy()[0] for name, value in expected.items()}
    )
