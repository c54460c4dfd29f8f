"""Loader of the compiled deformable-convolution ops (`_deform_conv_ops.so`).

The shared library is built by `setup.py` from `custom_ops/deform_conv/` and registers two ops
(semantics and layouts: `custom_ops/README.md`):

- `EfgrnetDeformConv2D(input, offset, mask, kernel) -> output`
- `EfgrnetDeformConv2DGrad(input, offset, mask, kernel, grad_output)
  -> (grad_input, grad_offset, grad_mask, grad_kernel)`

with attributes `strides`, `padding`, `dilations` (each `[h, w]`), `deformable_groups` and
`use_mask`, and their sampling halves without the GEMMs, for bfloat16 on the CPU (CPU kernels
only):
- `EfgrnetDeformIm2Col(input, offset, mask, kernel) -> columns [N, Ho, Wo, kh*kw*C]`
- `EfgrnetDeformCol2Im(input, offset, mask, kernel, grad_columns)
  -> (grad_input, grad_offset, grad_mask)`
Loading the library also registers the gradients of `EfgrnetDeformConv2D` and
`EfgrnetDeformIm2Col`, so `tf.GradientTape` differentiates them with respect to all their
inputs (first order only).

Importing this module never fails: a source checkout without a build, or a library built against
another TensorFlow, makes `load_deform_conv_library()` return None and `library_load_error()`
say why, and `efgrnet_tf.ops.deform_conv2d` then falls back to its pure-TensorFlow twin.
"""

import functools
import os

import tensorflow as tf

LIBRARY_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_deform_conv_ops.so")


def load_deform_conv_library():
    """The op module returned by `tf.load_op_library`, or None when it cannot be loaded.

    The first call loads the library and registers the gradient; later calls return the cached
    result. The module exposes `efgrnet_deform_conv2d(input, offset, mask, kernel, strides,
    padding, dilations, deformable_groups, use_mask)` and `efgrnet_deform_conv2d_grad(...)`.
    """
    return _load()[0]


def library_load_error():
    """Why the library could not be loaded (a sentence), or None when it is loaded."""
    return _load()[1]


@functools.cache
def _load():
    """`(module, None)` after a successful load, `(None, reason)` otherwise."""
    if not os.path.exists(LIBRARY_PATH):
        return None, (
            f"{LIBRARY_PATH} does not exist; build it with `pip install --no-build-isolation -e .` "
            "or `python setup.py build_ext --inplace`"
        )
    try:
        library = tf.load_op_library(LIBRARY_PATH)
    except (tf.errors.OpError, OSError) as error:
        # NotFoundError: dlopen failed (e.g. built against another TensorFlow); AlreadyExists:
        # another copy of the library registered the ops first.
        return None, f"tf.load_op_library({LIBRARY_PATH}) failed: {error}"
    _register_gradient(library)
    return library, None


def _register_gradient(library):
    """Registers the gradients of EfgrnetDeformConv2D (EfgrnetDeformConv2DGrad) and of
    EfgrnetDeformIm2Col (EfgrnetDeformCol2Im)."""

    def _geometry_attrs(op):
        """The convolution attributes a forward op hands on to its gradient op."""
        names = ("strides", "padding", "dilations", "deformable_groups", "use_mask")
        return {name: op.get_attr(name) for name in names}

    @tf.RegisterGradient("EfgrnetDeformConv2D")
    def _deform_conv2d_grad(op, grad_output):
        use_mask = op.get_attr("use_mask")
        grad_input, grad_offset, grad_mask, grad_kernel = library.efgrnet_deform_conv2d_grad(
            input=op.inputs[0],
            offset=op.inputs[1],
            mask=op.inputs[2],
            kernel=op.inputs[3],
            grad_output=grad_output,
            **_geometry_attrs(op),
        )
        # Without a mask, input 2 is an empty placeholder: it has no gradient.
        return grad_input, grad_offset, grad_mask if use_mask else None, grad_kernel

    @tf.RegisterGradient("EfgrnetDeformIm2Col")
    def _deform_im2col_grad(op, grad_columns):
        use_mask = op.get_attr("use_mask")
        grad_input, grad_offset, grad_mask = library.efgrnet_deform_col2_im(
            input=op.inputs[0],
            offset=op.inputs[1],
            mask=op.inputs[2],
            kernel=op.inputs[3],
            grad_columns=grad_columns,
            **_geometry_attrs(op),
        )
        # The kernel is read for its shape only.
        return grad_input, grad_offset, grad_mask if use_mask else None, None
