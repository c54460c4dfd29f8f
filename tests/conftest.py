"""Test session set-up: quiet TensorFlow logs and two logical CPU devices for strategy tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest
import tensorflow as tf

from efgrnet_tf.ops import custom_op_library
from efgrnet_tf.training.strategy import create_strategy

# Two logical CPUs let MirroredStrategy tests run on one machine; the default strategy uses the
# first. This must happen before any op runs, hence at conftest import.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


@pytest.fixture(params=("pure_tf", "crop_and_resize", "custom_op"))
def implementation(request):
    """Each implementation; the custom op must be built (`pip install -e .`) for its cases."""
    if request.param == "custom_op":
        assert custom_op_library.load_deform_conv_library() is not None, (
            f"the custom op library did not load: {custom_op_library.library_load_error()}"
        )
    return request.param


@pytest.fixture(scope="session")
def two_replica_strategy():
    """The process' one MirroredStrategy over the two logical CPUs.

    Tests share it because two MirroredStrategy instances over the same devices in one process
    reuse collective-op keys and fail with shape mismatches.
    """
    strategy = create_strategy("mirrored")
    assert strategy.num_replicas_in_sync == 2
    return strategy


@pytest.fixture(scope="session")
def trained_ci_run(tmp_path_factory):
    """The demo model trained once per session on the CI schedule (see `trained_ci_run.py`)."""
    from trained_ci_run import train_ci_run

    return train_ci_run(str(tmp_path_factory.mktemp("trained_ci_run")))
