"""`efgrnet-evaluate`: flag rules, config from flags, and a SavedModel evaluated end to end."""

import functools
import json
import os
import subprocess
import sys
import types

import pytest
import tensorflow as tf
from absl import app, flags
from evaluation_helpers import CLASS_NAMES, GROUND_TRUTH, eval_dataset, parsed_evaluate_flags

from efgrnet_tf.cli import evaluate as evaluate_cli
from efgrnet_tf.config import VocImageSetConfig
from efgrnet_tf.data import info as data_info
from efgrnet_tf.data import pipeline as data_pipeline
from efgrnet_tf.evaluation.evaluator import METRICS_FILE

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_script_refuses_checkpoint_and_saved_model_together(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(REPO, "scripts", "evaluate.py"), "--config=c.yaml",
         "--checkpoint=runs/a", "--saved_model=exports/b", f"--output_dir={tmp_path}"],
        capture_output=True, text=True, env={**os.environ, "PYTHONPATH": REPO}, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "Exactly one of (checkpoint, saved_model)" in result.stderr
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize(
    "args",
    [
        ("--config=c.yaml", "--output_dir=o"),  # neither model source
        ("--config=c.yaml", "--output_dir=o", "--checkpoint=a", "--saved_model=b"),
        ("--checkpoint=a", "--output_dir=o"),  # no config
    ],
)
def test_flag_rules(args):
    with pytest.raises(flags.IllegalFlagValueError):
        parsed_evaluate_flags(*args)


def test_config_from_flags_applies_overrides_then_split(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text(
        "data:\n  source: tfds\n  tfds:\n    train: [voc/2007:trainval]\n"
        "    eval: voc/2007:test\neval:\n  metric: voc\n"
    )
    flag_values = parsed_evaluate_flags(
        f"--config={path}", "--checkpoint=a", "--output_dir=o",
        "--override=eval.metric=coco", "--split=voc/2012:val",
    )  # fmt: skip
    cfg = evaluate_cli.config_from_flags(flag_values)
    assert cfg.eval.metric == "coco"
    assert cfg.data.tfds.eval == "voc/2012:val"
    assert flag_values.per_class is None  # default: the config decides


def test_split_replaces_the_image_set_of_a_voc_folder_and_is_refused_without_splits(tmp_path):
    voc = tmp_path / "voc.yaml"
    voc.write_text(
        "data:\n  source: voc_folder\n  voc_folder:\n"
        "    train: [{year_folder: VOC2007, image_set: trainval}]\n"
        "    eval: {year_folder: VOC2007, image_set: test}\n"
    )
    flags_of = functools.partial(
        parsed_evaluate_flags, "--checkpoint=a", "--output_dir=o", "--split=2007"
    )
    cfg = evaluate_cli.config_from_flags(flags_of(f"--config={voc}"))
    assert cfg.data.voc_folder.eval == VocImageSetConfig(year_folder="VOC2007", image_set="2007")
    synthetic = tmp_path / "synthetic.yaml"
    synthetic.write_text("data:\n  source: synthetic\n")
    with pytest.raises(app.UsageError, match=r"--split: data\.source synthetic"):
        evaluate_cli.config_from_flags(flags_of(f"--config={synthetic}"))


class _GroundTruthServing(tf.Module):
    """A stand-in export: `serving_default` takes uint8 RGB images like the real one and
    returns the ground truth of the image whose index it reads back from the pixels."""

    def __init__(self):
        super().__init__()
        batch = next(iter(eval_dataset(batch_size=len(GROUND_TRUTH))))
        self.boxes = tf.constant(batch["boxes"])
        self.classes = tf.constant(batch["classes"])

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 3], tf.uint8)])
    def serve(self, images):
        # The evaluator's image i is i - mean_bgr in BGR; back in RGB its blue channel is
        # i + 104 (the mean's blue component).
        index = tf.cast(images[:, 0, 0, 2], tf.int32) - 104
        classes = tf.gather(self.classes, index)
        return {
            "detection_boxes": tf.gather(self.boxes, index),
            "detection_scores": tf.cast(classes > 0, tf.float32),
            "detection_classes": tf.cast(tf.maximum(classes, 0), tf.float32),
            "num_detections": tf.reduce_sum(tf.cast(classes > 0, tf.float32), axis=1),
        }


def test_saved_model_evaluated_from_its_export_base_folder(tmp_path, monkeypatch):
    module = _GroundTruthServing()
    export_base = tmp_path / "export"
    tf.saved_model.save(
        module, str(export_base / "3"), signatures={"serving_default": module.serve}
    )
    # The data module is replaced by the in-memory split (its own tests cover the real one).
    monkeypatch.setattr(data_pipeline, "build_eval_dataset", lambda cfg: eval_dataset())
    monkeypatch.setattr(
        data_info,
        "dataset_info",
        lambda cfg: types.SimpleNamespace(
            class_names=CLASS_NAMES, category_ids=None, eval_annotation_file=None
        ),
    )
    config = tmp_path / "exp.yaml"
    config.write_text("model:\n  num_classes: 3\neval:\n  metric: both\n")
    output_dir = tmp_path / "eval"
    metrics = evaluate_cli.evaluate_from_flags(
        parsed_evaluate_flags(
            f"--config={config}", f"--saved_model={export_base}", f"--output_dir={output_dir}",
            "--noper_class",
        )
    )  # fmt: skip
    assert metrics["mAP_area"] == pytest.approx(1.0)
    assert metrics["AP"] == pytest.approx(1.0)
    assert not any("/" in name for name in metrics)
    assert json.loads((output_dir / METRICS_FILE).read_text()) == pytest.approx(metrics)
