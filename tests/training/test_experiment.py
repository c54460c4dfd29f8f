"""`train_experiment`: periodic evaluation is handed in by the caller, never dropped silently."""

import pytest

from efgrnet_tf.config.loader import load_config
from efgrnet_tf.training.experiment import train_experiment


def test_periodic_evaluation_without_an_evaluator_is_refused_before_training(tmp_path):
    cfg = load_config("configs/shapes_vgg16_128.yaml", ["train.eval_every_epochs=1"])
    with pytest.raises(ValueError, match=r"train\.eval_every_epochs .* evaluate_model"):
        train_experiment(cfg, str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
