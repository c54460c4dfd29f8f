"""ImageNet backbone weights from local Keras or PyTorch weight files (nothing is downloaded).

VGG16: the file holds `keras.applications.VGG16(include_top=True)` weights (Keras's
`vgg16_weights_tf_dim_ordering_tf_kernels.h5` or any `.weights.h5` saved from that model).
conv1_1..conv5_3 are copied by layer name; the fully connected fc1/fc2 become SSD's fc-reduced
fc6/fc7 (`fc_reduced_vgg16_weights`). Keras's VGG16 expects BGR, mean-subtracted ("caffe")
input, which is this package's preprocessing.

Or SSD's `vgg16_reducedfc.pth` (the file the authors' configs name): the state_dict of SSD's
`vgg` ModuleList, conv1_1..conv5_3 at indices 0, 2, 5, ..., 28, fc6 (already reduced,
`[1024, 512, 3, 3]`) at 31 and fc7 (`[1024, 1024, 1, 1]`) at 33.

ResNet-101, `resnet_trunk` torchvision: torchvision's ImageNet `resnet101` `.pth` (`conv1.weight`,
`bn1.*`, `layer1.0.conv1.weight`, ...; `fc.*` ignored), as the authors' `_init_modules` loads
it. `resnet_trunk` keras_v1: `keras.applications.ResNet101(include_top=False)` weights ("caffe"
preprocessing too); every layer of that trunk carries the Keras name it is copied from.
`.pth` files are read with `torch.load(weights_only=True)` (no code runs) and assigned all or
none: a missing key, an unexpected key or a wrong shape is an error naming them all.
Each backbone's `BackboneSpec` names its two loaders; `load_pretrained_backbone` picks one by the
file's type.
"""

import os

import keras
import numpy as np

from efgrnet_tf.interop.resnet_keys import torchvision_trunk_key_map
from efgrnet_tf.interop.torch_files import assign_state_dict, read_state_dict
from efgrnet_tf.interop.vgg_keys import VGG16_CONV_LAYERS, ssd_vgg16_key_map

# SSD's `decimate` steps: fc6 [7, 7, 512, 4096] → every 3rd tap, every 4th unit; fc7 every 4th.
FC6_STEPS = (3, 3, None, 4)
FC7_STEPS = (4, 4)


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


def load_pretrained_backbone(model, path, spec):
    """Loads ImageNet weights from the local file `path` into `model` with `spec`'s loader.

    Args:
        model: a model from `build_model` (width multiplier 1).
        path: `model.pretrained_backbone`: a `.pth` (SSD's `vgg16_reducedfc.pth`, torchvision's
            `resnet101`) or a Keras weights file (`.h5` or `.weights.h5`) of the matching
            `keras.applications` model (VGG16 with its top, ResNet101 without).
        spec: the model's `BackboneSpec`; `.pth` files go to its `load_torch_weights`, every
            other file to its `load_keras_weights`.
    Raises:
        FileNotFoundError: the file does not exist.
        StateDictError: a `.pth` file that cannot be read, or whose keys or shapes do not
            match (naming every such key).
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f"model.pretrained_backbone: weights file {path!r} does not exist (it is never "
            "downloaded; save the weights to a local file first)"
        )
    if path.endswith(".pth"):
        spec.load_torch_weights(model, path)
    else:
        spec.load_keras_weights(model, path)


def load_ssd_vgg16_pth(model, path):
    """SSD's `vgg16_reducedfc.pth` → the VGG16 trunk (all keys or none)."""
    _assign_pth(ssd_vgg16_key_map(model), path)


def load_torchvision_resnet101_pth(model, path):
    """torchvision's ImageNet `resnet101` `.pth` → the torchvision trunk (`fc.*` ignored)."""
    _assign_pth(torchvision_trunk_key_map(model), path, ignored_prefixes=("fc.",))


def load_keras_vgg16(model, path):
    """Keras's VGG16 (include_top=True) weights → conv1_1..conv5_3 by name, fc1/fc2 → fc6/fc7."""
    reference = keras.applications.VGG16(include_top=True, weights=None)
    reference.load_weights(path)
    for name in VGG16_CONV_LAYERS:
        model.get_layer(name).set_weights(reference.get_layer(name).get_weights())
    converted = fc_reduced_vgg16_weights(
        *reference.get_layer("fc1").get_weights(), *reference.get_layer("fc2").get_weights()
    )
    for name, weights in converted.items():
        model.get_layer(name).set_weights(weights)


def load_keras_resnet101(model, path):
    """Keras's ResNet101 (include_top=False) weights → the keras_v1 trunk, layer by layer."""
    reference = keras.applications.ResNet101(include_top=False, weights=None)
    reference.load_weights(path)
    for layer in reference.layers:
        if layer.weights:
            model.get_layer(layer.name).set_weights(layer.get_weights())


def _assign_pth(targets, path, ignored_prefixes=()):
    source = f"model.pretrained_backbone {path!r}"
    assign_state_dict(targets, read_state_dict(path), source, ignored_prefixes)
