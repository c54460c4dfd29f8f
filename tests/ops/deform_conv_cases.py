"""The deformable-convolution cases that the tests of tests/ops share, their random arrays, and
`deform_conv2d` run with its gradients.

One table, `CASES`: each test module parametrizes over the names it needs (`parametrize_cases`)
or picks one case by name.
"""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.ops import deform_conv2d, deform_conv_output_size


@dataclasses.dataclass(frozen=True)
class DeformConvCase:
    """One convolution: sizes (`size_hw` of the input image), attributes and random offsets.

    Offsets are uniform in `[-offset_range, offset_range]`, rounded when `integer_offsets`.
    """

    batch: int = 1
    size_hw: tuple[int, int] = (5, 6)
    channels: int = 2
    filters: int = 2
    kernel_hw: tuple[int, int] = (3, 3)
    strides: tuple[int, int] = (1, 1)
    padding: tuple[int, int] = (0, 0)
    dilations: tuple[int, int] = (1, 1)
    groups: int = 1
    offset_range: float = 6.0
    with_mask: bool = False
    integer_offsets: bool = False


CASES = {
    # Forward against the float64 reference (test_deform_conv.py).
    "3x3_plain": DeformConvCase(channels=3),
    "2x3_stride2_groups2_mask": DeformConvCase(
        batch=3, channels=4, filters=3, kernel_hw=(2, 3), strides=(2, 2), padding=(1, 1),
        groups=2, with_mask=True,
    ),
    "3x1_pad5_dil5": DeformConvCase(
        kernel_hw=(3, 1), strides=(1, 2), padding=(5, 0), dilations=(5, 1)
    ),
    "3x3_pad2_dil2_integer_offsets_batch5": DeformConvCase(
        batch=5, strides=(2, 1), padding=(2, 2), dilations=(2, 2), groups=2, with_mask=True,
        integer_offsets=True,
    ),
    "3x3_pad3_dil3_small_offsets": DeformConvCase(
        batch=3, size_hw=(6, 5), channels=4, filters=3, padding=(3, 4), dilations=(3, 4),
        offset_range=1.5, with_mask=True,
    ),
    # Gradients against the float64 reference (test_deform_conv_gradients.py).
    "3x3_stride1_pad1_mask": DeformConvCase(channels=3, padding=(1, 1), with_mask=True),
    "2x3_stride2_groups2": DeformConvCase(
        batch=3, channels=4, filters=3, kernel_hw=(2, 3), strides=(2, 2), padding=(0, 2),
        dilations=(2, 1), groups=2,
    ),
    "3x1_pad5_dil5_groups2_mask": DeformConvCase(
        kernel_hw=(3, 1), strides=(2, 1), padding=(5, 1), dilations=(5, 3), groups=2,
        with_mask=True,
    ),
    "3x3_pad4_dil4_integer_offsets_batch5": DeformConvCase(
        batch=5, strides=(2, 2), padding=(4, 3), dilations=(4, 3), with_mask=True,
        integer_offsets=True,
    ),
    "1x2_small_offsets_batch3": DeformConvCase(
        batch=3, size_hw=(6, 5), channels=3, filters=4, kernel_hw=(1, 2), strides=(1, 2),
        padding=(0, 1), offset_range=1.0,
    ),
    # bfloat16 against the float64 reference (test_deform_conv_bfloat16.py): enough channels
    # for the sums' rounding to show.
    "3x3_pad1_groups2_mask": DeformConvCase(
        batch=2, size_hw=(7, 9), channels=16, filters=8, padding=(1, 1), groups=2,
        offset_range=3.0, with_mask=True,
    ),
    "3x3_stride2_pad3_dil3": DeformConvCase(
        size_hw=(8, 7), channels=12, filters=5, strides=(2, 1), padding=(3, 3), dilations=(3, 3),
        offset_range=4.0,
    ),
}  # fmt: skip


def parametrize_cases(*names):
    """`pytest.mark.parametrize` over the argument `case`: the `CASES` of `names`, by name."""
    return pytest.mark.parametrize("case", [CASES[name] for name in names], ids=names)


def random_case(seed, case):
    """Random float32 `(inputs, offsets, kernel, mask, conv_args)` of `case` (a DeformConvCase).

    `mask` is None unless `case.with_mask`; `conv_args` holds `strides`, `padding`, `dilations`
    and `deformable_groups` for both `deform_conv2d` and `deform_conv2d_reference`.
    """
    rng = np.random.default_rng(seed)
    kh, kw = case.kernel_hw
    out_h, out_w = (
        deform_conv_output_size(*sizes)
        for sizes in zip(
            case.size_hw, case.kernel_hw, case.strides, case.padding, case.dilations, strict=True
        )
    )
    taps = kh * kw
    groups = case.groups
    inputs = rng.normal(size=(case.batch, *case.size_hw, case.channels)).astype(np.float32)
    offsets = rng.uniform(
        -case.offset_range, case.offset_range, (case.batch, out_h, out_w, 2 * groups * taps)
    )
    if case.integer_offsets:
        offsets = np.round(offsets)
    kernel = rng.normal(size=(kh, kw, case.channels, case.filters)).astype(np.float32)
    mask = (
        rng.uniform(0.0, 1.0, (case.batch, out_h, out_w, groups * taps)).astype(np.float32)
        if case.with_mask
        else None
    )
    conv_args = {
        "strides": case.strides,
        "padding": case.padding,
        "dilations": case.dilations,
        "deformable_groups": groups,
    }
    return inputs, offsets.astype(np.float32), kernel, mask, conv_args


def deform_conv2d_with_gradients(
    implementation, arrays, grad_outputs, conv_args, dtype=tf.float32, jit_compile=False
):
    """`(outputs, {name: gradient})` of `deform_conv2d`, as NumPy arrays of `dtype`.

    `arrays` maps `inputs`, `offsets`, `kernel` and optionally `mask` (absent or None: no mask)
    to arrays, converted to `dtype`; the gradients are those of the float32 sum of
    `outputs * grad_outputs` (an array broadcastable to the outputs `[N, Ho, Wo, O]`) with
    respect to each of them.
    """
    tensors = {
        name: tf.constant(value, dtype) for name, value in arrays.items() if value is not None
    }

    def loss_and_gradients(tensors):
        with tf.GradientTape() as tape:
            tape.watch(tensors)
            outputs = deform_conv2d(
                tensors["inputs"],
                tensors["offsets"],
                tensors["kernel"],
                mask=tensors.get("mask"),
                implementation=implementation,
                **conv_args,
            )
            loss = tf.reduce_sum(tf.cast(outputs, tf.float32) * tf.cast(grad_outputs, tf.float32))
        return outputs, tape.gradient(loss, tensors)

    if jit_compile:
        loss_and_gradients = tf.function(loss_and_gradients, jit_compile=True)
    outputs, gradients = loss_and_gradients(tensors)
    return outputs.numpy(), {name: tf.convert_to_tensor(g).numpy() for name, g in gradients.items()}
