"""Bad inputs to the compiled ops raise InvalidArgumentError naming the offending argument.

The ops are called directly (eager), so these are the kernels' own checks; the same checks run
in the shape functions when a graph is built (last test).
"""

import numpy as np
import pytest
import tensorflow as tf

GOOD_ATTRS = dict(strides=[1, 1], padding=[1, 1], dilations=[1, 1], deformable_groups=2)


def _zeros(*shape):
    return tf.zeros(shape, tf.float32)


def _good_inputs():
    """A valid masked call: 5x6 image, 4 channels, 3x3 kernel, 2 groups -> 5x6 output."""
    return dict(
        input=_zeros(2, 5, 6, 4),
        offset=_zeros(2, 5, 6, 36),
        mask=_zeros(2, 5, 6, 18),
        kernel=_zeros(3, 3, 4, 8),
    )


# (case id, changed inputs, changed attrs, words the message must contain)
BAD_FORWARD_CASES = [
    ("input rank", dict(input=_zeros(5, 6, 4)), {}, ["`input`", "rank 4"]),
    ("offset rank", dict(offset=_zeros(2, 5, 6, 36, 1)), {}, ["`offset`", "rank 4"]),
    ("kernel rank", dict(kernel=_zeros(3, 3, 4)), {}, ["`kernel`", "rank 4"]),
    ("mask rank", dict(mask=_zeros(2, 5, 18)), {}, ["`mask`", "rank 4"]),
    ("kernel in-channels", dict(kernel=_zeros(3, 3, 5, 8)), {}, ["`kernel`", "in_channels"]),
    ("groups divide channels", {}, dict(deformable_groups=3), ["`input`", "divisible"]),
    ("offset channels", dict(offset=_zeros(2, 5, 6, 18)), {}, ["`offset`", "channels", "36"]),
    ("offset height", dict(offset=_zeros(2, 4, 6, 36)), {}, ["`offset`", "height"]),
    ("offset width", dict(offset=_zeros(2, 5, 7, 36)), {}, ["`offset`", "width"]),
    ("offset batch", dict(offset=_zeros(3, 5, 6, 36)), {}, ["`offset`", "batch"]),
    ("mask channels", dict(mask=_zeros(2, 5, 6, 9)), {}, ["`mask`", "channels", "18"]),
    ("mask spatial", dict(mask=_zeros(2, 5, 5, 18)), {}, ["`mask`", "width"]),
    ("zero stride", {}, dict(strides=[0, 1]), ["`strides`", "positive"]),
    ("negative dilation", {}, dict(dilations=[1, -2]), ["`dilations`", "positive"]),
    ("negative padding", {}, dict(padding=[-1, 0]), ["`padding`", "non-negative"]),
    ("three strides", {}, dict(strides=[1, 1, 1]), ["`strides`", "2 values"]),
    (
        "empty output",
        dict(input=_zeros(2, 1, 6, 4)),
        dict(padding=[0, 1]),
        ["output size must be positive"],
    ),
    ("mask without use_mask", {}, dict(use_mask=False), ["`mask`", "empty"]),
]


@pytest.mark.parametrize(
    ("changes", "attr_changes", "words"),
    [case[1:] for case in BAD_FORWARD_CASES],
    ids=[case[0] for case in BAD_FORWARD_CASES],
)
def test_bad_forward_inputs_raise_invalid_argument(library, changes, attr_changes, words):
    inputs = {**_good_inputs(), **changes}
    attrs = {**GOOD_ATTRS, "use_mask": True, **attr_changes}
    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        library.efgrnet_deform_conv2d(**inputs, **attrs)
    for word in words:
        assert word in error.value.message


def test_good_inputs_pass_the_same_checks(library):
    """The cases above differ from a valid call only in the named argument."""
    output = library.efgrnet_deform_conv2d(**_good_inputs(), **GOOD_ATTRS, use_mask=True)
    assert output.shape == (2, 5, 6, 8)


# (op, its per-pixel gradient input, that input's valid shape, dtype): [N, Ho, Wo, O] and
# [N, Ho, Wo, kh * kw * C] for _good_inputs().
GRADIENT_OPS = [
    ("efgrnet_deform_conv2d_grad", "grad_output", (2, 5, 6, 8), tf.float32),
    ("efgrnet_deform_col2_im", "grad_columns", (2, 5, 6, 36), tf.bfloat16),
]


@pytest.mark.parametrize(
    ("op", "argument", "good_shape", "dtype"), GRADIENT_OPS, ids=[op[1] for op in GRADIENT_OPS]
)
@pytest.mark.parametrize(
    ("axis", "word"), [(0, "batch"), (1, "height"), (2, "width"), (3, "channels"), (4, "rank 4")]
)
def test_gradient_ops_check_their_per_pixel_input(
    library, op, argument, good_shape, dtype, axis, word
):
    shape = list(good_shape)
    if axis < 4:
        shape[axis] += 1
    else:
        shape.append(1)
    inputs = {name: tf.cast(value, dtype) for name, value in _good_inputs().items()}
    call = getattr(library, op)
    call(**inputs, **{argument: tf.zeros(good_shape, dtype)}, **GOOD_ATTRS, use_mask=True)

    with pytest.raises(tf.errors.InvalidArgumentError) as error:
        call(**inputs, **{argument: tf.zeros(shape, dtype)}, **GOOD_ATTRS, use_mask=True)

    assert f"`{argument}`" in error.value.message
    assert word in error.value.message


def test_gradient_op_checks_the_forward_inputs(library):
    with pytest.raises(tf.errors.InvalidArgumentError, match="`offset` channels"):
        library.efgrnet_deform_conv2d_grad(
            **{**_good_inputs(), "offset": _zeros(2, 5, 6, 35)},
            grad_output=_zeros(2, 5, 6, 8),
            **GOOD_ATTRS,
            use_mask=True,
        )


def test_shape_function_reports_the_same_error_when_tracing(library):
    @tf.function
    def forward(offset):
        inputs = {**_good_inputs(), "offset": offset}
        return library.efgrnet_deform_conv2d(**inputs, **GOOD_ATTRS, use_mask=True)

    with pytest.raises(ValueError, match="`offset` channels must be 2 \\* deformable_groups"):
        forward(tf.constant(np.zeros((2, 5, 6, 30), np.float32)))
