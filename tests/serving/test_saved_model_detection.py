"""SavedModel detection helpers: finding the export folder."""

import pytest

from efgrnet_tf.serving.saved_model_detection import resolve_saved_model_dir


def test_resolve_saved_model_dir_takes_a_version_or_the_newest_of_a_base(tmp_path):
    for version in ("1", "10"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "saved_model.pb").write_bytes(b"")
    (tmp_path / "11").mkdir()  # an unfinished export: no saved_model.pb
    assert resolve_saved_model_dir(str(tmp_path)) == f"{tmp_path}/10"
    assert resolve_saved_model_dir(str(tmp_path / "1")) == str(tmp_path / "1")
    with pytest.raises(FileNotFoundError, match="no SavedModel"):
        resolve_saved_model_dir(str(tmp_path / "11"))
