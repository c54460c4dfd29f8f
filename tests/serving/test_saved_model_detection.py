"""SavedModel detection helpers: undoing the eval preprocessing, finding the export folder."""

import numpy as np
import pytest

from efgrnet_tf.data.preprocess import subtract_mean_bgr
from efgrnet_tf.serving.saved_model_detection import resolve_saved_model_dir, restore_uint8_rgb


@pytest.mark.parametrize("mean_bgr", [(104.0, 117.0, 123.0), (0.5, 200.0, 3.0)])
def test_restore_uint8_rgb_inverts_the_data_modules_mean_subtraction(mean_bgr):
    rgb = np.random.default_rng(0).integers(0, 256, size=(2, 5, 7, 3), dtype=np.uint8)
    restored = restore_uint8_rgb(subtract_mean_bgr(rgb, mean_bgr), mean_bgr).numpy()
    assert restored.dtype == np.uint8
    np.testing.assert_array_equal(restored, rgb)


def test_restore_uint8_rgb_rounds_and_clips_resized_values():
    mean_bgr = (10.0, 20.0, 30.0)
    # BGR minus mean of the RGB pixels (0.4, 127.6, 300.0) -> rounded and clipped RGB.
    images_bgr = np.array([[[[300.0 - 10.0, 127.6 - 20.0, 0.4 - 30.0]]]], np.float32)
    np.testing.assert_array_equal(restore_uint8_rgb(images_bgr, mean_bgr), [[[[0, 128, 255]]]])


def test_resolve_saved_model_dir_takes_a_version_or_the_newest_of_a_base(tmp_path):
    for version in ("1", "10"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "saved_model.pb").write_bytes(b"")
    (tmp_path / "11").mkdir()  # an unfinished export: no saved_model.pb
    assert resolve_saved_model_dir(str(tmp_path)) == f"{tmp_path}/10"
    assert resolve_saved_model_dir(str(tmp_path / "1")) == str(tmp_path / "1")
    with pytest.raises(FileNotFoundError, match="no SavedModel"):
        resolve_saved_model_dir(str(tmp_path / "11"))
