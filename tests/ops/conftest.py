"""Fixtures of the op tests."""

import pytest

from efgrnet_tf.ops import custom_op_library


@pytest.fixture(scope="module")
def library():
    """The loaded op library (the module of `tf.load_op_library`); it must be built."""
    module = custom_op_library.load_deform_conv_library()
    assert module is not None, custom_op_library.library_load_error()
    return module
