"""The training loop with a stand-in model: checkpoints, resume, NaN handling, replicas."""

import dataclasses
import logging
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorboard_events import read_scalars
from trainer_stand_ins import stand_in_components, stand_in_config, stand_in_losses

from efgrnet_tf.config import load_config
from efgrnet_tf.training.strategy import create_strategy
from efgrnet_tf.training.trainer import NonFiniteLossError, Trainer


def make_trainer(model_dir, strategy="default", loss_fn=None, **train_overrides):
    cfg = stand_in_config(**train_overrides)
    return Trainer(
        cfg, str(model_dir), create_strategy(strategy), stand_in_components(cfg, loss_fn)
    )


def checkpoint_steps(model_dir):
    state = tf.train.get_checkpoint_state(str(model_dir))
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]


def test_runs_all_epochs_and_checkpoints_every_n_steps_and_at_epoch_ends(tmp_path):
    # 16 examples / batch 4 = 4 steps per epoch, 2 epochs, checkpoint every 3 steps.
    trainer = make_trainer(tmp_path, keep_checkpoints=10)
    summary = trainer.train()
    assert summary["final_step"] == 8
    assert int(trainer.epoch.numpy()) == 2
    assert checkpoint_steps(tmp_path) == [3, 4, 6, 8]
    assert load_config(tmp_path / "config.yaml") == trainer.cfg


def test_tensorboard_gets_losses_learning_rate_and_speed_at_the_logged_steps(tmp_path, caplog):
    trainer = make_trainer(tmp_path)  # logs every 2 steps, 8 steps
    with caplog.at_level(logging.INFO, logger="absl"):
        summary = trainer.train()
    scalars = read_scalars(tmp_path / "train")
    assert set(scalars) == {
        "loss/first",
        "loss/second",
        "loss/total",
        "learning_rate",
        "images_per_second",
        "epoch",
    }
    for name in ("first", "second", "total"):
        steps, values = zip(*scalars[f"loss/{name}"], strict=True)
        assert steps == (2, 4, 6, 8)
        # The last step's losses are those train() returns; each step's, those of its log line.
        assert values[-1] == pytest.approx(summary[f"loss/{name}"], rel=1e-6)
        for step, value in zip(steps, values, strict=True):
            (line,) = [
                r.getMessage() for r in caplog.records if f"step {step}/8 " in r.getMessage()
            ]
            printed = float(re.search(rf"\b{name}=(\S+)", line).group(1))
            assert printed == pytest.approx(value, abs=5.1e-5)  # printed with 4 decimals
    first, second, total = (
        np.array(scalars[f"loss/{n}"])[:, 1] for n in ("first", "second", "total")
    )
    np.testing.assert_allclose(total, first + second, rtol=1e-6)
    # The rate of each logged step's own update (optimizer step = logged step - 1): warm-up
    # 0.01 -> 0.05 over 2 steps (0.03 at step 1), 0.05 to the end of epoch 0, then 0.02.
    assert dict(scalars["learning_rate"]) == pytest.approx({2: 0.03, 4: 0.05, 6: 0.02, 8: 0.02})
    assert dict(scalars["epoch"]) == pytest.approx({2: 0.5, 4: 1.0, 6: 1.5, 8: 2.0})
    assert [step for step, _ in scalars["images_per_second"]] == [2, 4, 6, 8]
    assert all(value > 0 for _, value in scalars["images_per_second"])


def test_every_nth_step_is_logged(tmp_path):
    trainer = make_trainer(tmp_path, epochs=6, log_every_steps=5)
    trainer.train()
    logged = read_scalars(tmp_path / "train")["loss/total"]
    assert [step for step, _ in logged] == [5, 10, 15, 20, 24]


def test_loss_falls_on_the_stand_in_problem(tmp_path):
    trainer = make_trainer(tmp_path, epochs=6, log_every_steps=1)
    trainer.train()
    totals = [total for _, total in read_scalars(tmp_path / "train")["loss/total"]]
    assert np.mean(totals[-4:]) < 0.5 * totals[0]


def test_resume_restores_step_epoch_learning_rate_and_weights(tmp_path):
    trained = make_trainer(tmp_path, epochs=1, checkpoint_every_steps=100)
    trained.train()
    # The next run of the same model_dir: 2 epochs, so 1 epoch (4 steps) is left.
    resumed = make_trainer(tmp_path, epochs=2)
    assert resumed.restore(require_checkpoint=True).endswith("ckpt-4")
    assert int(resumed.step.numpy()) == 4
    assert int(resumed.epoch.numpy()) == 1
    assert int(resumed.optimizer.iterations.numpy()) == 4
    # Epoch 1 is past the boundary: lr 0.02 (a fresh optimizer would say 0.01, warm-up start).
    assert resumed.learning_rate == pytest.approx(0.02)
    for restored, original in zip(resumed.model.weights, trained.model.weights, strict=True):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())
    assert resumed.train()["steps_this_run"] == 4


def test_adamw_runs_resume_with_their_moment_estimates(tmp_path):
    trained = make_trainer(tmp_path, epochs=1, optimizer="adamw", checkpoint_every_steps=100)
    trained.train()
    resumed = make_trainer(tmp_path, epochs=2, optimizer="adamw")
    resumed.restore(require_checkpoint=True)
    assert isinstance(resumed.optimizer, keras.optimizers.AdamW)
    moments = [v for v in trained.optimizer.variables if "momentum" in v.path]
    assert moments and any(np.any(v.numpy() != 0) for v in moments)
    for restored, original in zip(
        resumed.optimizer.variables, trained.optimizer.variables, strict=True
    ):
        np.testing.assert_array_equal(restored.numpy(), original.numpy())
    assert resumed.train()["steps_this_run"] == 4


def test_resume_flag_without_a_checkpoint_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        make_trainer(tmp_path).restore(require_checkpoint=True)


def test_nan_output_at_a_checkpoint_step_stops_before_that_checkpoint_is_saved(tmp_path):
    global_batch = stand_in_config().train.global_batch_size
    finite_losses = stand_in_losses(global_batch)
    step = tf.Variable(0)

    def nan_output_at_step_6(outputs, batch):
        # A diverged model: its output, hence the loss and every gradient, is NaN at step 6,
        # a checkpoint step (every 3 steps).
        step.assign_add(1)
        poison = tf.where(step == 6, np.nan, 0.0)
        return finite_losses({"prediction": outputs["prediction"] + poison}, batch)

    trainer = make_trainer(tmp_path, loss_fn=nan_output_at_step_6)
    with pytest.raises(NonFiniteLossError, match=r"non-finite loss at step 6.*ckpt-4"):
        trainer.train()
    # The NaN gradients reached the weights in memory; none of them reached the disk.
    assert not all(np.isfinite(w.numpy()).all() for w in trainer.model.weights)
    assert checkpoint_steps(tmp_path) == [3, 4]
    assert tf.train.latest_checkpoint(str(tmp_path)).endswith("ckpt-4")
    restored = make_trainer(tmp_path)
    restored.restore()
    assert int(restored.step.numpy()) == 4
    assert all(np.isfinite(w.numpy()).all() for w in restored.model.weights)


def test_mirrored_on_two_devices_matches_one_device_on_the_same_global_batch(tmp_path):
    # Synchronised BatchNorm: statistics over the global batch, as on one device.
    single = make_trainer(tmp_path / "single", "default", sync_batch_norm=True)
    mirrored = make_trainer(tmp_path / "mirrored", "mirrored", sync_batch_norm=True)
    assert mirrored.model.get_layer("block").bn.synchronized
    assert mirrored.strategy.num_replicas_in_sync == 2
    for _ in range(3):
        single_losses = single._train_step(single._iterator)
        mirrored_losses = mirrored._train_step(mirrored._iterator)
        for name in ("first", "second", "total"):
            np.testing.assert_allclose(
                float(mirrored_losses[name]), float(single_losses[name]), rtol=1e-5, atol=1e-7
            )
    for a, b in zip(single.model.weights, mirrored.model.weights, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


@pytest.fixture
def restore_dtype_policy():
    policy = keras.mixed_precision.global_policy()
    yield
    keras.mixed_precision.set_global_policy(policy)


def test_mixed_precision_computes_in_float16_with_a_loss_scale(tmp_path, restore_dtype_policy):
    trainer = make_trainer(tmp_path, mixed_precision=True, epochs=1)
    conv = trainer.model.get_layer("block").conv
    assert conv.compute_dtype == "float16"
    assert conv.kernel.dtype == "float32"
    assert isinstance(trainer.optimizer, keras.optimizers.LossScaleOptimizer)
    summary = trainer.train()
    assert np.isfinite(summary["loss/total"])
    assert int(trainer.optimizer.iterations.numpy()) == summary["final_step"] == 4


def test_without_sync_batch_norm_replicas_normalise_their_own_share(tmp_path):
    # The check above could not fail if the split did not matter: here it must.
    single = make_trainer(tmp_path / "single", "default")
    mirrored = make_trainer(tmp_path / "mirrored", "mirrored")
    assert not mirrored.model.get_layer("block").bn.synchronized
    single_total = float(single._train_step(single._iterator)["total"])
    mirrored_total = float(mirrored._train_step(mirrored._iterator)["total"])
    assert abs(single_total - mirrored_total) > 1e-4 * abs(single_total)


def test_a_mirrored_run_resumes_on_one_device_without_an_input_position(tmp_path):
    make_trainer(tmp_path, "mirrored", epochs=1, sync_batch_norm=True).train()
    resumed = make_trainer(tmp_path, "default", sync_batch_norm=True)
    assert resumed.restore().endswith("ckpt-4")
    assert int(resumed.step.numpy()) == 4
    assert resumed.train()["final_step"] == 8


def test_periodic_evaluation_runs_every_n_epochs_and_writes_eval_events(tmp_path):
    cfg = stand_in_config(epochs=4, eval_every_epochs=2)
    evaluated_at = []

    def evaluate(model):
        evaluated_at.append(int(trainer.step.numpy()))
        return {"AP50": 0.5, "note": "non-numeric values are not summarised"}

    components = dataclasses.replace(stand_in_components(cfg), evaluate=evaluate)
    trainer = Trainer(cfg, str(tmp_path), create_strategy("default"), components)
    trainer.train()
    assert evaluated_at == [8, 16]
    assert read_scalars(tmp_path / "eval") == {"metrics/AP50": [(8, 0.5), (16, 0.5)]}
