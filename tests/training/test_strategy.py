"""Strategy selection by name."""

import pytest
import tensorflow as tf

from efgrnet_tf.training.strategy import create_strategy, is_chief, worker_id


def test_default_is_the_single_device_strategy():
    strategy = create_strategy("default")
    assert strategy.num_replicas_in_sync == 1
    assert is_chief(strategy)
    assert worker_id(strategy) == 0


def test_mirrored_without_gpus_mirrors_over_the_logical_cpus():
    strategy = create_strategy("mirrored")
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == len(tf.config.list_logical_devices("CPU")) == 2
    assert is_chief(strategy)


def test_multi_worker_without_tf_config_is_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG"):
        create_strategy("multi_worker_mirrored")


def test_unknown_name_is_refused():
    with pytest.raises(ValueError, match="unknown strategy 'tpu'"):
        create_strategy("tpu")
