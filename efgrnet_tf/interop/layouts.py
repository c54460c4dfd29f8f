"""How one tensor of a PyTorch state_dict becomes the value of one Keras variable.

A backbone's key map (`vgg_keys`, `resnet_keys`) pairs every torch key with a `TensorTarget`;
the importer converts and assigns them all or none.
"""

from __future__ import annotations

import dataclasses
import enum

import keras
import numpy as np


class Layout(enum.Enum):
    """The layout change from a torch tensor to its Keras variable."""

    CONV_KERNEL = "conv_kernel"  # torch OIHW -> Keras HWIO
    LINEAR_KERNEL = "linear_kernel"  # torch [out, in] -> Keras [in, out]
    AS_IS = "as_is"  # biases and BatchNorm vectors: the same array


@dataclasses.dataclass(frozen=True)
class TensorTarget:
    """The Keras variable a torch tensor is assigned to, and the layout change on the way."""

    variable: keras.Variable
    layout: Layout = Layout.AS_IS


# torch BatchNorm2d parameter/buffer name -> Keras BatchNormalization variable name.
BATCH_NORM_NAMES = {
    "weight": "gamma",
    "bias": "beta",
    "running_mean": "moving_mean",
    "running_var": "moving_variance",
}


def to_keras(array: np.ndarray, layout: Layout) -> np.ndarray:
    """`array` (a torch tensor's values) in the layout of its Keras variable."""
    if layout is Layout.CONV_KERNEL:
        return np.transpose(array, (2, 3, 1, 0))
    if layout is Layout.LINEAR_KERNEL:
        return np.transpose(array, (1, 0))
    return array
