"""`scripts/predict.py` writes JSON detections and drawings; checkpoints predict like exports."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from detection_asserts import assert_records_match, assert_same_detections
from PIL import Image
from serving_helpers import CLASS_NAMES, REPO_ROOT, run_python, write_unreadable_images

from efgrnet_tf.serving.predictor import checkpoint_detector

pytestmark = pytest.mark.slow

NAMES = dict(enumerate(CLASS_NAMES, start=1))


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
        reference = {k: np.asarray(v)[0] for k, v in stock_tf_report["image_tensor"][index].items()}
        assert_records_match(entry["detections"], reference, (height, width), NAMES, 0.5)
        for record in entry["detections"]:
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


def run_predict(*args: str):
    return run_python([os.path.join(REPO_ROOT, "scripts", "predict.py"), *args], cwd=REPO_ROOT)


def test_predict_skips_unreadable_files_and_sub_folders_with_one_warning_each(export_dir, tmp_path):
    folder = tmp_path / "images"
    (folder / "sub").mkdir(parents=True)
    reasons = write_unreadable_images(folder)
    (folder / "notes.txt").write_text("not an image")
    Image.fromarray(np.full((48, 64, 3), 90, np.uint8)).save(folder / "good.png")
    output_dir = tmp_path / "out"
    result = run_predict(
        f"--saved_model_dir={export_dir}", f"--output_dir={output_dir}", str(folder)
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr
    entries = json.loads((output_dir / "detections.json").read_text())
    assert [e["file"] for e in entries] == [str(folder / "good.png")]
    warnings = [line for line in result.stderr.splitlines() if "skipping " in line]
    for name, reason in (*reasons.items(), ("notes.txt", "not a"), ("sub", "sub-folder")):
        (line,) = [w for w in warnings if f"skipping {folder / name}: " in w]
        assert reason in line.lower()
    assert len(warnings) == 5
    assert "predicted 1 images, skipped 5 files" in result.stderr
    assert len(json.loads((output_dir / "skipped.json").read_text())) == 5
    assert "writing detections scoring >= 0.3, drawing those >= 0.3" in result.stderr


def test_predict_from_a_config_and_checkpoint_matches_the_export(
    trained_model, stock_tf_report, test_images, tmp_path
):
    _, checkpoint_dir, config_path = trained_model
    output_dir = tmp_path / "out"
    result = run_predict(
        f"--config={config_path}",
        f"--checkpoint={checkpoint_dir}",
        f"--output_dir={output_dir}",
        "--score_threshold=0.2",
        "--draw_score_threshold=0.6",
        test_images[0][0],
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "writing detections scoring >= 0.2, drawing those >= 0.6" in result.stderr
    (entry,) = json.loads((output_dir / "detections.json").read_text())
    reference = {k: np.asarray(v)[0] for k, v in stock_tf_report["image_tensor"][0].items()}
    assert_records_match(entry["detections"], reference, (96, 160), NAMES, 0.2, 1e-4, 2e-2)


@pytest.mark.parametrize(
    ("model_flags", "message"),
    [
        (["--config={config}"], "give --saved_model_dir, or both --config and --checkpoint"),
        (
            ["--saved_model_dir={export}", "--checkpoint={checkpoint}"],
            "give either --saved_model_dir or --config/--checkpoint",
        ),
        (["--config={config}", "--checkpoint={missing}"], "{missing}"),
    ],
)
def test_predict_usage_errors_are_one_line_with_status_2(
    model_flags, message, trained_model, export_dir, test_images, tmp_path
):
    _, checkpoint_dir, config_path = trained_model
    names = {
        "config": config_path,
        "checkpoint": checkpoint_dir,
        "export": export_dir,
        "missing": str(tmp_path / "no_run"),
    }
    result = run_predict(
        *(flag.format(**names) for flag in model_flags),
        f"--output_dir={tmp_path / 'out'}",
        test_images[0][0],
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("predict.py: error: ") and message.format(**names) in last
    assert not (tmp_path / "out" / "detections.json").exists()
