"""`efgrnet-train` flags -> config."""

import pytest

from efgrnet_tf.cli.train import config_from_flags
from efgrnet_tf.config import ConfigError


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "experiment.yaml"
    path.write_text("name: cli_test\ntrain:\n  epochs: 3\n  global_batch_size: 8\n")
    return str(path)


def test_overrides_apply_in_order_on_top_of_the_file(config_file):
    cfg = config_from_flags(
        config_file, ["train.epochs=5", "train.epochs=7", "model.num_classes=5"]
    )
    assert cfg.train.epochs == 7
    assert cfg.train.global_batch_size == 8
    assert cfg.model.num_classes == 5


def test_dedicated_flags_win_over_overrides(config_file):
    cfg = config_from_flags(
        config_file,
        ["train.mixed_precision=false"],
        mixed_precision=True,
        pretrained_backbone="/weights/vgg16: imagenet.h5",
        init_checkpoint="/runs/coco: 320/ckpt-7",
    )
    assert cfg.train.mixed_precision is True
    assert cfg.model.pretrained_backbone == "/weights/vgg16: imagenet.h5"
    assert cfg.train.init_checkpoint == "/runs/coco: 320/ckpt-7"


def test_unset_dedicated_flags_keep_the_config_values(config_file):
    cfg = config_from_flags(config_file, ["train.mixed_precision=true"])
    assert cfg.train.mixed_precision is True
    assert cfg.model.pretrained_backbone == ""
    assert cfg.train.init_checkpoint == ""


def test_unknown_override_key_is_refused(config_file):
    with pytest.raises(ConfigError, match=r"unknown key train\.epoch\b"):
        config_from_flags(config_file, ["train.epoch=3"])
