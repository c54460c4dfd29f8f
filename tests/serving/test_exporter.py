"""Export layout: versions, refusal to overwrite, the labels asset, the kernel choice."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf
from detection_asserts import assert_same_detections
from serving_helpers import CLASS_NAMES, REPO_ROOT, run_export_script, run_python
from stock_tf_probe import graph_op_types
from tensorflow.core.protobuf import saved_model_pb2

from efgrnet_tf.serving.exporter import (
    ExportOptionsError,
    config_for_export,
    export_implementation,
    export_saved_model,
    next_version,
    version_dir,
)


def test_next_version_is_one_for_a_missing_or_empty_base(tmp_path):
    assert next_version(tmp_path / "missing") == 1
    assert next_version(tmp_path) == 1


def test_next_version_follows_the_largest_numeric_folder(tmp_path):
    for name in ("1", "3", "10", "7x", ".tmp-12-abc", "latest"):
        (tmp_path / name).mkdir()
    assert next_version(tmp_path) == 11


def test_version_dir_refuses_an_existing_version(tmp_path):
    (tmp_path / "2").mkdir()
    assert version_dir(tmp_path, 3) == os.path.join(tmp_path, "3")
    assert version_dir(tmp_path, None) == os.path.join(tmp_path, "3")
    with pytest.raises(FileExistsError, match="already exists"):
        version_dir(tmp_path, 2)


def test_export_refuses_to_overwrite_before_building_anything(small_cfg, tmp_path):
    (tmp_path / "1").mkdir()
    # The checkpoint does not exist either: FileExistsError proves the version check runs first.
    with pytest.raises(FileExistsError):
        export_saved_model(small_cfg, str(tmp_path / "no_checkpoint"), tmp_path, version=1)
    assert os.listdir(tmp_path) == ["1"]


def test_export_uses_a_stock_tf_kernel_unless_told_otherwise(small_cfg):
    assert export_implementation(None, jit_compile=False) == "crop_and_resize"
    assert export_implementation(None, jit_compile=True) == "pure_tf"
    for name in ("crop_and_resize", "pure_tf", "custom_op"):
        assert export_implementation(name, jit_compile=False) == name
        assert config_for_export(small_cfg, name).model.deform_conv_implementation == name
    with pytest.raises(ExportOptionsError, match="deform_conv_implementation"):
        config_for_export(small_cfg, "auto")


@pytest.mark.parametrize("implementation", ["crop_and_resize", "custom_op"])
def test_export_refuses_a_kernel_without_xla_under_jit_compile(implementation):
    with pytest.raises(ExportOptionsError, match=f"{implementation}' has no XLA kernel"):
        export_implementation(implementation, jit_compile=True)


@pytest.mark.slow
def test_export_writes_the_serving_layout_with_the_labels_asset(export_base):
    assert sorted(os.listdir(export_base)) == ["1"]
    version = os.path.join(export_base, "1")
    assert {"saved_model.pb", "variables", "assets"} <= set(os.listdir(version))
    with open(os.path.join(version, "assets", "labels.txt"), encoding="utf-8") as f:
        assert f.read() == "".join(f"{name}\n" for name in CLASS_NAMES)


@pytest.mark.slow
def test_export_saves_every_variable_of_the_model(export_dir, trained_model):
    model, _, _ = trained_model
    saved = tf.train.load_checkpoint(os.path.join(export_dir, "variables", "variables"))
    saved_values = sorted(
        _shape_and_digest(saved.get_tensor(key))
        for key in saved.get_variable_to_shape_map()
        if key.endswith("/.ATTRIBUTES/VARIABLE_VALUE")
    )
    assert len(saved_values) == len(model.variables)
    assert saved_values == sorted(_shape_and_digest(v.numpy()) for v in model.variables)


@pytest.mark.slow
def test_loaded_export_points_at_its_labels_asset(loaded_export, export_dir):
    asset_path = loaded_export.labels_asset.asset_path.numpy().decode()
    assert asset_path == os.path.join(export_dir, "assets", "labels.txt")


@pytest.mark.slow
def test_custom_op_export_puts_our_op_in_the_graph(small_cfg, trained_model, tmp_path):
    # The counterpart of the stock-ops test: with the compiled kernel requested, the graph
    # names EfgrnetDeformConv2D (so only a TF Serving that links our library can load it).
    path = export_saved_model(
        small_cfg, trained_model[1], tmp_path, deform_conv_implementation="custom_op"
    )
    assert path == os.path.join(tmp_path, "1")
    assert "EfgrnetDeformConv2D" in graph_op_types(path)


@pytest.mark.slow
def test_export_script_refuses_an_existing_version_with_a_readable_error(
    export_base, trained_model
):
    _, checkpoint_dir, config_path = trained_model
    result = run_python(
        [
            os.path.join(REPO_ROOT, "scripts", "export.py"),
            f"--config={config_path}",
            f"--checkpoint={checkpoint_dir}",
            f"--export_dir={export_base}",
            "--version=1",
        ],
        cwd=REPO_ROOT,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"export.py: error: export version {os.path.join(export_base, '1')} already exists; "
        "pass another --version or leave it out to get the next free one (2)"
    )


def xla_function_names(saved_model_dir: str) -> list[str]:
    """Names of the library functions marked `_XlaMustCompile` in a SavedModel."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    return [
        function.signature.name
        for meta_graph in saved_model.meta_graphs
        for function in meta_graph.graph_def.library.function
        if function.attr["_XlaMustCompile"].b
    ]


@pytest.mark.slow
def test_jit_compiled_export_detects_like_the_plain_one(
    small_cfg, trained_model, loaded_export, export_dir, test_images, tmp_path
):
    path = export_saved_model(small_cfg, trained_model[1], tmp_path, jit_compile=True)
    assert xla_function_names(path) and not xla_function_names(export_dir)
    # The default export samples with CropAndResize, which XLA cannot compile; this one gathers.
    assert "CropAndResize" in graph_op_types(export_dir)
    assert "CropAndResize" not in graph_op_types(path)
    image = test_images[1][0][None]
    jitted = tf.saved_model.load(path).signatures["serving_default"](images=image)
    plain = loaded_export.signatures["serving_default"](images=image)
    assert_same_detections(
        {name: value.numpy()[0] for name, value in jitted.items()},
        {name: value.numpy()[0] for name, value in plain.items()},
    )


def test_a_failed_save_leaves_neither_a_staging_folder_nor_a_version(
    small_cfg, trained_model, tmp_path, monkeypatch
):
    def failing_save(module, path, signatures):
        os.makedirs(os.path.join(path, "variables"))  # what a save interrupted midway leaves
        raise OSError("No space left on device")

    monkeypatch.setattr(tf.saved_model, "save", failing_save)
    base = tmp_path / "exports"
    with pytest.raises(OSError, match="No space left"):
        export_saved_model(small_cfg, trained_model[1], base)
    assert os.listdir(base) == []
    assert next_version(base) == 1


@pytest.mark.slow
def test_postprocess_overrides_are_baked_into_the_export(
    trained_model, stock_tf_report, test_images, tmp_path
):
    # A threshold in the widest gap among the plain export's 5 best scores: exactly `kept`
    # detections (1 to 4) survive it, fewer than max_detections.
    reference = {k: np.asarray(v)[0] for k, v in stock_tf_report["image_tensor"][0].items()}
    scores = reference["detection_scores"]
    kept = 1 + int(np.argmax(scores[:4] - scores[1:5]))
    threshold = float(scores[kept - 1] + scores[kept]) / 2
    assert scores[kept - 1] - scores[kept] > 1e-3, "the threshold needs a gap between scores"
    version_dir = run_export_script(
        "export",
        trained_model[2],
        trained_model[1],
        f"--export_dir={tmp_path}",
        f"--override=postprocess.score_threshold={threshold}",
        "--override=postprocess.max_detections=5",
    )
    loaded = tf.saved_model.load(version_dir)
    outputs = loaded.signatures["serving_default"](images=test_images[1][0][None])
    outputs = {name: value.numpy()[0] for name, value in outputs.items()}
    assert outputs["detection_boxes"].shape == (5, 4)
    assert int(outputs["num_detections"]) == kept
    expected = {name: value[:5] for name, value in reference.items() if name != "num_detections"}
    expected["num_detections"] = np.float32(kept)
    expected["detection_scores"] = np.where(np.arange(5) < kept, expected["detection_scores"], 0)
    expected["detection_classes"] = np.where(np.arange(5) < kept, expected["detection_classes"], 0)
    assert_same_detections(outputs, expected)


def _shape_and_digest(array: np.ndarray) -> tuple[tuple[int, ...], str]:
    """An array's shape and a short digest of its bytes, to compare variables as a multiset."""
    digest = hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()[:16]
    return tuple(array.shape), digest
