"""Fine-tuning: `train.init_checkpoint` starts a new run from another checkpoint's model weights.

The EFGRNet cases use the paper's model at 1/8 width and 64x64 inputs; the trainer cases use
the trainer tests' stand-in model (what is restored does not depend on the model).
"""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf
from trainer_stand_ins import stand_in_components, stand_in_config

from efgrnet_tf import build_model
from efgrnet_tf.config import config_from_dict, load_config
from efgrnet_tf.modeling.checkpoint_io import CheckpointError, model_weights_by_path
from efgrnet_tf.training.checkpointing import CHECKPOINT_PREFIX
from efgrnet_tf.training.init_checkpoint import initialize_from_checkpoint
from efgrnet_tf.training.strategy import create_strategy
from efgrnet_tf.training.trainer import Trainer

CLASS_HEAD_OUTPUTS = {
    f"class_head{level}/predict/{name}" for level in (1, 2, 3, 4) for name in ("kernel", "bias")
}


def tiny_efgrnet(seed, **model_fields):
    """The paper's model, narrowed; `seed` sets its initial weights."""
    model = {"image_size": 64, "width_multiplier": 0.125, "num_classes": 5, **model_fields}
    keras.utils.set_random_seed(seed)
    return build_model(config_from_dict({"model": model}))


def save_model_weights(model, folder):
    """A checkpoint holding `model`'s weights as training runs (and imports) store them."""
    checkpoint = tf.train.Checkpoint(model_weights=model_weights_by_path(model))
    manager = tf.train.CheckpointManager(
        checkpoint, str(folder), max_to_keep=1, checkpoint_name=CHECKPOINT_PREFIX
    )
    return manager.save()


def values_by_path(model):
    return {path: v.numpy() for path, v in model_weights_by_path(model).items()}


def test_another_class_count_reinitialises_only_the_class_heads_and_names_them(tmp_path, caplog):
    source = tiny_efgrnet(seed=1, num_classes=81)
    saved = save_model_weights(source, tmp_path)
    target = tiny_efgrnet(seed=2, num_classes=21)
    initial = values_by_path(target)

    with caplog.at_level(logging.INFO, logger="absl"):
        path, reinitialized = initialize_from_checkpoint(target, str(tmp_path))

    assert path == saved
    assert set(reinitialized) == CLASS_HEAD_OUTPUTS
    source_values = values_by_path(source)
    for variable_path, value in values_by_path(target).items():
        expected = initial if variable_path in CLASS_HEAD_OUTPUTS else source_values
        np.testing.assert_array_equal(value, expected[variable_path], err_msg=variable_path)
    # The seeds differ, so "copied" is not "left as built".
    kernel = "box_head1/predict/kernel"
    assert not np.array_equal(initial[kernel], source_values[kernel])
    log = "\n".join(r.getMessage() for r in caplog.records)
    for name in CLASS_HEAD_OUTPUTS:
        assert name in log


def test_same_model_copies_every_weight(tmp_path):
    source = tiny_efgrnet(seed=1)
    save_model_weights(source, tmp_path)
    target = tiny_efgrnet(seed=2)
    _, reinitialized = initialize_from_checkpoint(target, str(tmp_path))
    assert reinitialized == ()
    for (path, value), original in zip(
        values_by_path(target).items(), values_by_path(source).values(), strict=True
    ):
        np.testing.assert_array_equal(value, original, err_msg=path)


def test_any_other_difference_is_an_error_naming_the_variables_and_changes_nothing(tmp_path):
    # No cascade: no objectness heads or FGRMs, and the final heads read 64/128-channel features.
    save_model_weights(tiny_efgrnet(seed=1, cascade=False, num_classes=3), tmp_path)
    target = tiny_efgrnet(seed=2)
    initial = values_by_path(target)
    with pytest.raises(CheckpointError) as error:
        initialize_from_checkpoint(target, str(tmp_path))
    message = str(error.value)
    assert "train.init_checkpoint" in message
    assert "model variables not in it: ['objectness_box_head1/predict/kernel'" in message
    # A class head whose input differs is not a class-count change: it is named too.
    assert "class_head1/predict/kernel (3, 3, 32, 15) vs (3, 3, 64, 9)" in message
    assert "'class_head1/predict/bias" not in message
    for path, value in values_by_path(target).items():
        np.testing.assert_array_equal(value, initial[path], err_msg=path)


def test_a_missing_checkpoint_is_an_error(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint found in"):
        initialize_from_checkpoint(tiny_efgrnet(seed=1), str(tmp_path))


def make_trainer(model_dir, **train_overrides):
    cfg = stand_in_config(**train_overrides)
    return Trainer(cfg, str(model_dir), create_strategy("default"), stand_in_components(cfg))


def test_a_new_run_takes_the_weights_but_not_the_step_or_optimizer_state(tmp_path):
    source = make_trainer(tmp_path / "source", epochs=1)
    source.train()
    fine_tuned = make_trainer(tmp_path / "fine_tuned", init_checkpoint=str(tmp_path / "source"))

    assert fine_tuned.restore() is None
    for restored, original in zip(fine_tuned.model.weights, source.model.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), original.numpy(), err_msg=restored.path)
    assert int(fine_tuned.step.numpy()) == 0
    assert int(fine_tuned.optimizer.iterations.numpy()) == 0
    momentum = [v for v in fine_tuned.optimizer.variables if "momentum" in v.path]
    assert momentum and all(not np.any(v.numpy()) for v in momentum)
    assert fine_tuned.learning_rate == pytest.approx(0.01)  # the warm-up start of a new run
    assert fine_tuned.train()["final_step"] == 8
    recorded = load_config(tmp_path / "fine_tuned" / "config.yaml")
    assert recorded.train.init_checkpoint == str(tmp_path / "source")


def test_a_restart_resumes_its_own_checkpoint_and_ignores_the_init_checkpoint(tmp_path, caplog):
    source = make_trainer(tmp_path / "source", epochs=1)
    source.train()
    run = tmp_path / "fine_tuned"
    first = make_trainer(run, epochs=1, init_checkpoint=str(tmp_path / "source"))
    first.restore()
    first.train()
    # The restart names another init checkpoint (a compatible config change): still resumed.
    restarted = make_trainer(run, init_checkpoint=str(tmp_path / "source" / "ckpt-3"))
    with caplog.at_level(logging.INFO, logger="absl"):
        assert restarted.restore().endswith("ckpt-4")
    assert int(restarted.step.numpy()) == 4
    for restored, trained in zip(restarted.model.weights, first.model.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), trained.numpy(), err_msg=restored.path)
    log = "\n".join(r.getMessage() for r in caplog.records)
    assert "init_checkpoint" in log and "ignored" in log
    restarted.train()
    assert (run / "config-2.yaml").exists()
