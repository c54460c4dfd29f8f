"""ImageNet backbone weights from local Keras weight files (nothing is ever downloaded).

VGG16: the file holds `keras.applications.VGG16(include_top=True)` weights (Keras's
`vgg16_weights_tf_dim_ordering_tf_kernels.h5` or any `.weights.h5` saved from that model).
conv1_1..conv5_3 are copied by layer name; the fully connected fc1/fc2 become SSD's fc-reduced
fc6/fc7 (`fc_reduced_vgg16_weights`). Keras's VGG16 expects BGR, mean-subtracted ("caffe")
input, which is this package's preprocessing.

ResNet-101: the file holds `keras.applications.ResNet101(include_top=False)` weights ("caffe"
preprocessing too); every layer of `backbones/resnet101.py` carries the Keras name it is copied
from.
"""

import os

import keras
import numpy as np

# SSD's `decimate` steps: fc6 [7, 7, 512, 4096] → every 3rd tap, every 4th unit; fc7 every 4th.
FC6_STEPS = (3, 3, None, 4)
FC7_STEPS = (4, 4)
VGG16_CONV_LAYERS = tuple(
    f"block{block}_conv{i}"
    for block, convs in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
    for i in range(1, convs + 1)
)


def decimate(array, steps):
    """SSD's `decimate`: keeps indices 0, s, 2s, ... of every axis with a step s (None = all).

    Args:
        array: NumPy array.
        steps: one int or None per axis.
    Returns:
        `array[::steps[0], ::steps[1], ...]`.
    """
    if len(steps) != array.ndim:
        raise ValueError(f"need one step per axis of a {array.shape} array, got {steps}")
    return array[tuple(slice(None, None, s) for s in steps)]


def fc_reduced_vgg16_weights(fc1_kernel, fc1_bias, fc2_kernel, fc2_bias):
    """Converts Keras VGG16's fc1/fc2 to SSD's dilated fc6 and 1x1 fc7 convolutions.

    Keras flattens pool5 `[7, 7, 512]` in (row, col, channel) order, so fc1's `[25088, 4096]`
    kernel reshapes to an HWIO conv kernel `[7, 7, 512, 4096]`.

    Args:
        fc1_kernel: `[25088, 4096]`; fc1_bias: `[4096]`; fc2_kernel: `[4096, 4096]` (in, out);
        fc2_bias: `[4096]`.
    Returns:
        dict `fc6` → `[kernel [3, 3, 512, 1024], bias [1024]]` (taps 0, 3, 6 of each axis,
        units 0, 4, ..., 4092; used with dilation 6), `fc7` → `[kernel [1, 1, 1024, 1024],
        bias [1024]]` (every 4th input and output unit).
    """
    fc6_kernel = decimate(np.reshape(fc1_kernel, (7, 7, 512, 4096)), FC6_STEPS)
    fc7_kernel = decimate(np.asarray(fc2_kernel), FC7_STEPS)[None, None]
    return {
        "fc6": [fc6_kernel, decimate(np.asarray(fc1_bias), (4,))],
        "fc7": [fc7_kernel, decimate(np.asarray(fc2_bias), (4,))],
    }


def load_pretrained_backbone(model, backbone, path):
    """Loads ImageNet weights from the local file `path` into `model`'s backbone layers.

    Args:
        model: a model from `build_model` (width multiplier 1).
        backbone: "vgg16" or "resnet101".
        path: Keras weights file (`.h5` or `.weights.h5`) of the matching
            `keras.applications` model (VGG16 with its top, ResNet101 without).
    Raises:
        FileNotFoundError: `path` does not exist.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"model.pretrained_backbone: weights file {path!r} does not exist (it is never "
            "downloaded; save keras.applications weights to a local file first)"
        )
    if backbone == "vgg16":
        reference = keras.applications.VGG16(include_top=True, weights=None)
        reference.load_weights(path)
        for name in VGG16_CONV_LAYERS:
            model.get_layer(name).set_weights(reference.get_layer(name).get_weights())
        converted = fc_reduced_vgg16_weights(
            *reference.get_layer("fc1").get_weights(), *reference.get_layer("fc2").get_weights()
        )
        for name, weights in converted.items():
            model.get_layer(name).set_weights(weights)
    elif backbone == "resnet101":
        reference = keras.applications.ResNet101(include_top=False, weights=None)
        reference.load_weights(path)
        for layer in reference.layers:
            if layer.weights:
                model.get_layer(layer.name).set_weights(layer.get_weights())
    else:
        raise ValueError(f"no pretrained weights for backbone {backbone!r}")
