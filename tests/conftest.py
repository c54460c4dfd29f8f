"""Test session set-up: quiet TensorFlow logs and two logical CPU devices for strategy tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

# Two logical CPUs let MirroredStrategy tests run on one machine; the default strategy uses the
# first. This must happen before any op runs, hence at conftest import.
_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
