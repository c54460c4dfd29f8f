"""Run folder configs: every (re)start's config kept; an incompatible restart refused."""

import pytest
import tensorflow as tf
from trainer_stand_ins import stand_in_config

from efgrnet_tf.config import load_config
from efgrnet_tf.training.run_folder import (
    IncompatibleRestartError,
    check_restart,
    newest_recorded_config,
    record_config,
)


def _with_checkpoint(folder):
    tf.train.CheckpointManager(
        tf.train.Checkpoint(step=tf.Variable(3, dtype=tf.int64)), str(folder), max_to_keep=1
    ).save()


def test_restart_with_another_class_count_or_optimizer_is_refused_naming_the_fields(tmp_path):
    record_config(stand_in_config(), str(tmp_path))
    _with_checkpoint(tmp_path)
    changed = stand_in_config(optimizer="adamw")
    changed = changed.__class__(**{**changed.__dict__, "model": changed.model.__class__(
        **{**changed.model.__dict__, "num_classes": 7})})  # fmt: skip
    with pytest.raises(IncompatibleRestartError) as error:
        check_restart(changed, str(tmp_path))
    message = str(error.value)
    assert "model.num_classes" in message and "train.optimizer 'sgd' -> 'adamw'" in message
    assert "--init_checkpoint" in message


def test_compatible_restart_is_recorded_next_to_the_first_config(tmp_path):
    first = stand_in_config()
    record_config(first, str(tmp_path))
    _with_checkpoint(tmp_path)
    longer = stand_in_config(epochs=5)
    check_restart(longer, str(tmp_path))
    assert record_config(longer, str(tmp_path)) == str(tmp_path / "config-2.yaml")
    assert load_config(tmp_path / "config.yaml") == first
    assert load_config(tmp_path / "config-2.yaml") == longer
    assert record_config(longer, str(tmp_path)) == str(tmp_path / "config-2.yaml")


def test_restart_with_another_init_checkpoint_is_compatible(tmp_path):
    # The run resumes from its own checkpoints; which weights it started from no longer matters.
    record_config(stand_in_config(init_checkpoint="/runs/coco"), str(tmp_path))
    _with_checkpoint(tmp_path)
    restart = stand_in_config(init_checkpoint="/runs/coco_imported/ckpt-1")
    check_restart(restart, str(tmp_path))
    assert record_config(restart, str(tmp_path)) == str(tmp_path / "config-2.yaml")


def test_a_worker_reading_the_run_folder_while_the_chief_records_its_config_sees_no_config(
    tmp_path, monkeypatch
):
    # The other workers of a multi-worker run check the run folder while the chief writes
    # config.yaml: they must find no config, not a half-written one.
    import efgrnet_tf.config.loader as loader

    seen_while_writing = []
    dump = loader.yaml.safe_dump

    def dump_and_look(data, stream, **kwargs):
        dump(data, stream, **kwargs)
        seen_while_writing.append(newest_recorded_config(str(tmp_path)))

    monkeypatch.setattr(loader.yaml, "safe_dump", dump_and_look)
    record_config(stand_in_config(), str(tmp_path))
    assert seen_while_writing == [None]
    assert newest_recorded_config(str(tmp_path)) == stand_in_config()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]
