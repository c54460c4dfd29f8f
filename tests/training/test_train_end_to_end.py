"""`efgrnet-train` end to end: flags -> a run folder with checkpoints, configs, TensorBoard
events and the periodic evaluation's `eval/metrics.json`, on a tiny synthetic experiment."""

import json
import os
import subprocess
import sys

import pytest
import tensorflow as tf
from tensorboard_events import read_scalars

from efgrnet_tf.config import load_config
from efgrnet_tf.evaluation.coco_metrics import COCO_METRIC_NAMES

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# 8 training images in batches of 4: 2 steps per epoch; 4 evaluation images.
TINY_EXPERIMENT = """\
name: tiny_end_to_end
model:
  image_size: 64
  width_multiplier: 0.125
data:
  source: synthetic
  synthetic:
    image_size: 64
    train_size: 8
    eval_size: 4
train:
  global_batch_size: 4
  epochs: 3
  eval_every_epochs: 1
  checkpoint_every_steps: 100
  log_every_steps: 1
eval:
  metric: both
  batch_size: 4
"""


@pytest.mark.slow
def test_train_cli_writes_a_run_folder_with_periodic_evaluations(tmp_path):
    config_path = tmp_path / "tiny.yaml"
    config_path.write_text(TINY_EXPERIMENT)
    model_dir = tmp_path / "run"
    env = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    env["TF_CPP_MIN_LOG_LEVEL"] = "2"
    result = subprocess.run(
        [
            sys.executable,
            os.path.join(REPO_ROOT, "scripts", "train.py"),
            f"--config={config_path}",
            f"--model_dir={model_dir}",
            "--override=train.epochs=2",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-5000:]

    # The run's config: the file, the override, and the classes the data named.
    recorded = load_config(model_dir / "config.yaml")
    assert recorded.train.epochs == 2
    assert recorded.class_names == ("circle", "rectangle", "triangle", "cross")
    assert recorded.model.num_classes == 5
    assert tf.train.latest_checkpoint(str(model_dir)).endswith("ckpt-4")

    # Evaluated after each epoch (steps 2 and 4); metrics.json holds the last evaluation.
    metrics = json.loads((model_dir / "eval" / "metrics.json").read_text())
    assert metrics["num_images"] == 4
    assert {*COCO_METRIC_NAMES, "mAP_11point", "mAP_area"} <= set(metrics)
    assert all(0.0 <= metrics[name] <= 1.0 for name in ("AP50", "mAP_area"))
    eval_scalars = read_scalars(model_dir / "eval")
    assert [step for step, _ in eval_scalars["metrics/AP50"]] == [2, 4]
    assert eval_scalars["metrics/AP50"][-1][1] == pytest.approx(metrics["AP50"])
    assert (model_dir / "eval" / "coco_results.json").exists()
    assert [step for step, _ in read_scalars(model_dir / "train")["loss/total"]] == [1, 2, 3, 4]
