"""`model.precision`: the dtype policy `build_model` uses, and the CPU's bfloat16 flags."""

import typing

import keras
import numpy as np
import pytest
import tensorflow as tf

import efgrnet_tf
from efgrnet_tf.config import ConfigError, config_from_dict
from efgrnet_tf.config.model import ModelConfig
from efgrnet_tf.modeling.checkpoint_io import model_weights_by_path, restore_model_weights
from efgrnet_tf.modeling.precision import (
    PRECISIONS,
    cpu_bfloat16_flags,
    dtype_policy_scope,
    inference_precision,
)
from efgrnet_tf.training.components import efgrnet_components
from efgrnet_tf.training.strategy import create_strategy
from efgrnet_tf.training.trainer import Trainer
from efgrnet_tf.user_errors import UserInputError

TINY = {"image_size": 128, "num_classes": 3, "width_multiplier": 0.0625}


@pytest.fixture(scope="module")
def bfloat16_model():
    cfg = config_from_dict({"model": {**TINY, "precision": "mixed_bfloat16"}})
    return efgrnet_tf.build_model(cfg)


def test_bfloat16_model_computes_convs_in_bfloat16_with_float32_variables(bfloat16_model):
    convs = [
        layer
        for layer in bfloat16_model._flatten_layers()
        if isinstance(layer, keras.layers.Conv2D)
    ]
    assert convs
    assert {v.dtype for v in bfloat16_model.variables} == {"float32"}
    # Every conv but the heads' final ones, which compute in float32 for the losses.
    bf16 = [layer for layer in convs if layer.compute_dtype == "bfloat16"]
    assert len(bf16) > len(convs) // 2
    assert all(layer.compute_dtype == "float32" for layer in convs if layer.name == "predict")


def test_bfloat16_model_outputs_are_float32(bfloat16_model):
    images = np.random.default_rng(0).normal(0, 50, (1, 128, 128, 3)).astype(np.float32)
    outputs = bfloat16_model(images, training=False)
    assert {name: value.dtype for name, value in outputs.items()} == {
        name: tf.float32 for name in outputs
    }


def test_building_leaves_the_global_policy_alone(bfloat16_model):
    assert keras.mixed_precision.global_policy().name == "float32"
    with dtype_policy_scope("mixed_float16"):
        assert keras.mixed_precision.global_policy().name == "mixed_float16"
    assert keras.mixed_precision.global_policy().name == "float32"


def test_train_mixed_precision_is_the_mixed_float16_precision():
    cfg = config_from_dict({"train": {"mixed_precision": True}})
    assert cfg.model.precision == "mixed_float16"
    cfg = config_from_dict({"model": {"precision": "mixed_float16"}})
    assert cfg.train.mixed_precision is True


def test_unknown_precision_is_a_config_error_naming_the_field():
    with pytest.raises(ConfigError, match=r"model\.precision"):
        config_from_dict({"model": {"precision": "bf16"}})


def _weights_checkpoint(model, prefix):
    """Writes `model`'s weights as training does (`model_weights/<path>`); returns the path."""
    return tf.train.Checkpoint(model_weights=model_weights_by_path(model)).write(prefix)


def _randomized(model, seed):
    """Gives every weight random values, BatchNorm statistics included (the initial ones are
    exact in bfloat16 and would hide a rounding of the statistics)."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = rng.uniform(0.5, 1.5, variable.shape) * rng.choice([-1, 1], variable.shape)
        if "variance" in variable.path:
            value = np.abs(value)
        variable.assign(value.astype(np.float32) * (0.05 if "kernel" in variable.path else 1.0))


@pytest.mark.parametrize("vgg_batch_norm", [False, True])
def test_bfloat16_stores_weights_in_bfloat16_and_computes_like_mixed_bfloat16(
    tmp_path, vgg_batch_norm
):
    model_cfg = {**TINY, "vgg_batch_norm": vgg_batch_norm}
    mixed = efgrnet_tf.build_model(
        config_from_dict({"model": {**model_cfg, "precision": "mixed_bfloat16"}})
    )
    _randomized(mixed, seed=0)
    checkpoint = _weights_checkpoint(mixed, str(tmp_path / "ckpt"))
    model = efgrnet_tf.build_model(
        config_from_dict({"model": {**model_cfg, "precision": "bfloat16"}})
    )

    restore_model_weights(model, checkpoint)

    dtypes = {v.path: v.dtype for v in model.weights}
    assert dtypes["block1_conv1/kernel"] == "bfloat16"
    statistics = [p for p in dtypes if "moving_" in p or "gamma" in p or "beta" in p]
    assert statistics and all(dtypes[p] == "float32" for p in statistics)
    predicts = [p for p in dtypes if "/predict/" in p]
    assert predicts and all(dtypes[p] == "float32" for p in predicts)
    images = np.random.default_rng(1).normal(0, 50, (2, 128, 128, 3)).astype(np.float32)
    expected = mixed(images, training=False)
    outputs = model(images, training=False)
    for name, value in outputs.items():
        assert value.dtype == tf.float32
        np.testing.assert_array_equal(value.numpy(), expected[name].numpy(), err_msg=name)


def test_training_in_bfloat16_is_refused_naming_the_precision_to_use(tmp_path):
    cfg = config_from_dict({"model": {**TINY, "num_classes": 5, "precision": "bfloat16"}})
    with pytest.raises(UserInputError, match=r"precision=bfloat16 .* train in mixed_bfloat16"):
        Trainer(cfg, str(tmp_path), create_strategy("default"), efgrnet_components(cfg))
    assert not any(tmp_path.iterdir())


def test_cpu_bfloat16_flags_reads_the_cpuinfo_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 amx_tile amx_bf16\n")
    assert cpu_bfloat16_flags(cpuinfo) == ("amx_bf16", "avx512_bf16")
    cpuinfo.write_text("flags\t\t: fpu avx2 avx512f\n")
    assert cpu_bfloat16_flags(cpuinfo) == ()
    assert cpu_bfloat16_flags(tmp_path / "missing") == ()


def test_the_config_offers_exactly_the_precisions_the_model_builds():
    offered = typing.get_args(typing.get_type_hints(ModelConfig)["precision"])
    assert set(offered) == set(PRECISIONS)


def test_inference_precision_is_bfloat16_for_mixed_bfloat16_and_the_precision_otherwise():
    assert inference_precision("mixed_bfloat16") == "bfloat16"
    for precision in ("float32", "bfloat16", "mixed_float16"):
        assert inference_precision(precision) == precision
