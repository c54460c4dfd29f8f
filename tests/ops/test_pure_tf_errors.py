"""Bad arguments to `deform_conv2d` raise errors that name the argument, before any kernel runs.

The checks are static and shared by both implementations, so they hold with or without the
compiled op; the last tests cover the choice of implementation itself.
"""

import logging
import re

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.ops import custom_op_library, deform_conv, deform_conv2d

# A valid call: 3x3 kernel, padding 1, one group: inputs [2, 5, 6, 4], offsets/mask [2, 5, 6, *].
VALID = {
    "inputs": np.zeros((2, 5, 6, 4), np.float32),
    "offsets": np.zeros((2, 5, 6, 18), np.float32),
    "kernel": np.zeros((3, 3, 4, 8), np.float32),
    "mask": np.zeros((2, 5, 6, 9), np.float32),
    "padding": 1,
}


def _call(implementation, **changes):
    args = {**VALID, **changes}
    return deform_conv2d(
        args.pop("inputs"),
        args.pop("offsets"),
        args.pop("kernel"),
        implementation=implementation,
        **args,
    )


BAD_ARGUMENTS = {
    "inputs_rank": ({"inputs": np.zeros((5, 6, 4), np.float32)}, "inputs must have rank 4"),
    "offsets_rank": ({"offsets": np.zeros((2, 30, 18), np.float32)}, "offsets must have rank 4"),
    "kernel_rank": ({"kernel": np.zeros((9, 4, 8), np.float32)}, "kernel must have rank 4"),
    "mask_rank": ({"mask": np.zeros((2, 5, 6, 9, 1), np.float32)}, "mask must have rank 4"),
    "integer_inputs": (
        {
            "inputs": np.zeros((2, 5, 6, 4), np.int32),
            "offsets": np.zeros((2, 5, 6, 18), np.int32),
            "kernel": np.zeros((3, 3, 4, 8), np.int32),
            "mask": None,
        },
        "inputs must be a float tensor",
    ),
    "offsets_dtype": (
        {"offsets": np.zeros((2, 5, 6, 18), np.float16)},
        "offsets must have the dtype of inputs",
    ),
    "kernel_dtype": ({"kernel": np.zeros((3, 3, 4, 8))}, "kernel must have the dtype of inputs"),
    "kernel_channels": (
        {"kernel": np.zeros((3, 3, 5, 8), np.float32)},
        "kernel input channels (5) must equal the inputs channels (4)",
    ),
    "groups_divide_channels": (
        {"deformable_groups": 3, "offsets": np.zeros((2, 5, 6, 54), np.float32), "mask": None},
        "deformable_groups (3) must divide the inputs channels (4)",
    ),
    "groups_positive": ({"deformable_groups": 0}, "deformable_groups must be a positive int"),
    "offsets_channels": (
        {"offsets": np.zeros((2, 5, 6, 9), np.float32)},
        "offsets must have 18 channels",
    ),
    "offsets_channels_for_groups": (
        {"deformable_groups": 2, "mask": np.zeros((2, 5, 6, 18), np.float32)},
        "offsets must have 36 channels for deformable_groups=2",
    ),
    "offsets_spatial": (
        {"offsets": np.zeros((2, 3, 4, 18), np.float32)},
        "offsets must have shape [N, Ho, Wo, 18] = [2, 5, 6, 18]",
    ),
    "offsets_batch": (
        {"offsets": np.zeros((3, 5, 6, 18), np.float32)},
        "offsets must have shape [N, Ho, Wo, 18]",
    ),
    "mask_channels": ({"mask": np.zeros((2, 5, 6, 18), np.float32)}, "mask must have 9 channels"),
    "mask_spatial": (
        {"mask": np.zeros((2, 5, 5, 9), np.float32)},
        "mask must have shape [N, Ho, Wo, 9] = [2, 5, 6, 9]",
    ),
    "strides_zero": ({"strides": 0}, "strides must be positive"),
    "strides_triple": ({"strides": (1, 1, 1)}, "strides must be an int or a pair of ints"),
    "strides_float": ({"strides": 1.0}, "strides must be an int or a pair of ints"),
    "dilations_negative": ({"dilations": (1, -2)}, "dilations must be positive"),
    "padding_negative": ({"padding": -1}, "padding must be non-negative"),
    "input_too_small": (
        {"padding": 0, "dilations": 3, "offsets": np.zeros((2, 1, 1, 18), np.float32)},
        "inputs spatial size 5 on axis 1 is smaller than the dilated kernel (7)",
    ),
}


@pytest.mark.parametrize("implementation", ["pure_tf", "custom_op"])
@pytest.mark.parametrize(("changes", "message"), BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_bad_argument_raises_value_error_naming_it(implementation, changes, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _call(implementation, **changes)


def test_unknown_implementation_is_rejected():
    with pytest.raises(ValueError, match="implementation must be one of"):
        _call("cuda")


def test_unknown_channel_count_is_rejected_when_tracing():
    @tf.function(input_signature=[tf.TensorSpec([2, 5, 6, None], tf.float32)])
    def convolve(inputs):
        return _call("pure_tf", inputs=inputs, mask=None)

    with pytest.raises(ValueError, match="inputs must have a static channel count"):
        convolve.get_concrete_function()


def test_dynamic_kernel_shape_is_rejected_when_tracing():
    @tf.function(input_signature=[tf.TensorSpec([3, 3, 4, None], tf.float32)])
    def convolve(kernel):
        return _call("pure_tf", kernel=kernel)

    with pytest.raises(ValueError, match=re.escape("kernel must have a static shape")):
        convolve.get_concrete_function()


@pytest.fixture
def without_library(monkeypatch):
    """Makes the op library look unavailable, and `"auto"` resolve afresh, for one test."""
    monkeypatch.setattr(custom_op_library, "load_deform_conv_library", lambda: None)
    monkeypatch.setattr(custom_op_library, "library_load_error", lambda: "no .so in this test")
    deform_conv._auto_implementation.cache_clear()
    yield
    deform_conv._auto_implementation.cache_clear()


def test_custom_op_without_library_raises_with_the_load_error(without_library):
    with pytest.raises(RuntimeError, match=re.escape("did not load: no .so in this test")):
        _call("custom_op")


def test_auto_without_library_falls_back_to_pure_tf(without_library):
    rng = np.random.default_rng(0)
    arrays = {
        "inputs": rng.normal(size=(2, 5, 6, 4)).astype(np.float32),
        "offsets": rng.uniform(-2, 2, (2, 5, 6, 18)).astype(np.float32),
        "kernel": rng.normal(size=(3, 3, 4, 8)).astype(np.float32),
    }

    outputs = _call("auto", **arrays)

    np.testing.assert_array_equal(outputs.numpy(), _call("pure_tf", **arrays).numpy())


def test_auto_logs_its_choice_once(without_library, caplog):
    caplog.set_level(logging.INFO, logger="absl")

    _call("auto")
    _call("auto")

    choices = [r for r in caplog.records if "deform_conv2d" in r.getMessage()]
    assert len(choices) == 1
    assert "no .so in this test" in choices[0].getMessage()
    assert "pure-TensorFlow" in choices[0].getMessage()
