"""`scripts/export_litert.py` reports a mistake in the int8 calibration flags as one line with
exit status 2, before building any model."""

from __future__ import annotations

import os

import pytest
from serving_helpers import REPO_ROOT, run_python, write_unreadable_images

CONFIG = os.path.join(REPO_ROOT, "configs", "shapes_vgg16_128.yaml")


def export_litert(tmp_path, *flags):
    return run_python(
        [
            os.path.join(REPO_ROOT, "scripts", "export_litert.py"),
            f"--config={CONFIG}",
            f"--checkpoint={tmp_path}",
            f"--output={tmp_path / 'model.tflite'}",
            *flags,
        ],
        cwd=str(tmp_path),
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--quantize=int8"], "--quantize int8 needs --representative_images"),
        (["--quantize=int8", "--representative_images=."], "holds no JPEG/PNG/BMP image"),
    ],
)
def test_int8_calibration_mistakes_are_one_line_errors(tmp_path, flags, message):
    result = export_litert(tmp_path, *flags)

    assert result.returncode == 2, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    assert last_line.startswith("export_litert.py: error: ") and message in last_line
    assert "Traceback" not in result.stderr
    assert not os.path.exists(tmp_path / "model.tflite")


def test_an_unreadable_calibration_image_is_a_one_line_error_naming_it(tmp_path):
    folder = tmp_path / "calibration"
    folder.mkdir()
    reasons = write_unreadable_images(folder)
    result = export_litert(tmp_path, "--quantize=int8", f"--representative_images={folder}")

    assert result.returncode == 2, result.stderr
    last_line = result.stderr.strip().splitlines()[-1]
    first = sorted(reasons)[0]  # read in name order
    assert f"{folder / first}: unreadable image: " in last_line
    assert reasons[first] in last_line.lower()
    assert "Traceback" not in result.stderr
