"""Independent NumPy reference of the deformable convolution and its gradients.

Written from the semantics of torchvision.ops.deform_conv2d (docs/design.md, "Deformable
convolution") with explicit loops over samples, in float64, for small shapes only. Layouts:
inputs `[N, H, W, C]`, offsets `[N, Ho, Wo, 2 * G * kh * kw]` (dy, dx per tap), mask
`[N, Ho, Wo, G * kh * kw]`, kernel `[kh, kw, C, O]`, outputs `[N, Ho, Wo, O]`. Random inputs for
it: deform_conv_cases.py.

The gradients are derived by hand. For a sample at `(y, x)` strictly inside
`(-1, H) x (-1, W)`, with `y0 = floor(y)`, `x0 = floor(x)`, `ly = y - y0`, `lx = x - x0` and
corner values `v00 = v(y0, x0)`, `v01 = v(y0, x0 + 1)`, `v10 = v(y0 + 1, x0)`,
`v11 = v(y0 + 1, x0 + 1)` (0 outside the image):

    value    = (1-ly)(1-lx) v00 + (1-ly) lx v01 + ly (1-lx) v10 + ly lx v11
    d/dy     = -(1-lx) v00 - lx v01 + (1-lx) v10 + lx v11
    d/dx     = -(1-ly) v00 + (1-ly) v01 - ly v10 + ly v11
    d/dv(yc, xc) = the corner's weight

with the corners `floor(y)` and `floor(y) + 1` also at integer coordinates (torchvision's
convention). Outside that open range the value and its derivatives with respect to the inputs and
the mask are 0. The derivatives with respect to the offsets follow torchvision's backward kernel
(`get_coordinate_weight`), which applies only the per-corner test: they equal the formulas above
wherever some corner is in the image, so at exactly `y == -1` (or `x == -1`) the offset gradient
is the one-sided derivative from inside, not 0.
"""

import math

import numpy as np


def _inside(y, x, height, width):
    """Whether a sample at `(y, x)` has a value: the open range `(-1, H) x (-1, W)`."""
    return -1 < y < height and -1 < x < width


def _corners(y, x, height, width):
    """`(row, col, weight, d_weight/dy, d_weight/dx)` of the in-image corners of a sample."""
    y0 = math.floor(y)
    x0 = math.floor(x)
    ly = y - y0
    lx = x - x0
    corners = [
        (y0, x0, (1 - ly) * (1 - lx), -(1 - lx), -(1 - ly)),
        (y0, x0 + 1, (1 - ly) * lx, -lx, 1 - ly),
        (y0 + 1, x0, ly * (1 - lx), 1 - lx, -ly),
        (y0 + 1, x0 + 1, ly * lx, lx, ly),
    ]
    return [c for c in corners if 0 <= c[0] < height and 0 <= c[1] < width]


def deform_conv2d_reference(
    inputs,
    offsets,
    kernel,
    *,
    strides=(1, 1),
    padding=(0, 0),
    dilations=(1, 1),
    deformable_groups=1,
    mask=None,
    grad_outputs=None,
):
    """Forward pass and, given `grad_outputs`, the gradients of `sum(outputs * grad_outputs)`.

    Args:
        inputs, offsets, kernel, mask: NumPy arrays in the layouts of the module docstring.
        strides, padding, dilations: `(h, w)` int pairs.
        deformable_groups: G.
        grad_outputs: `[N, Ho, Wo, O]` upstream gradient, or None for the forward pass only.

    Returns:
        `outputs` (float64) when `grad_outputs` is None, else a dict with `outputs` and
        `grad_inputs`, `grad_offsets`, `grad_kernel` and `grad_mask` (None without a mask),
        each shaped like its argument.
    """
    inputs = np.asarray(inputs, np.float64)
    offsets = np.asarray(offsets, np.float64)
    kernel = np.asarray(kernel, np.float64)
    batch, height, width, channels = inputs.shape
    kh, kw, _, filters = kernel.shape
    sh, sw = strides
    ph, pw = padding
    dh, dw = dilations
    groups = deformable_groups
    group_channels = channels // groups
    taps = kh * kw
    out_height = (height + 2 * ph - (dh * (kh - 1) + 1)) // sh + 1
    out_width = (width + 2 * pw - (dw * (kw - 1) + 1)) // sw + 1
    modulation = (
        np.ones((batch, out_height, out_width, groups * taps))
        if mask is None
        else np.asarray(mask, np.float64)
    )

    # columns[n, oy, ox, k, c]: the (modulated) bilinear sample of channel c for tap k.
    columns = np.zeros((batch, out_height, out_width, taps, channels))
    for n, oy, ox, g, i, j in np.ndindex(batch, out_height, out_width, groups, kh, kw):
        k = i * kw + j
        channel_slice = slice(g * group_channels, (g + 1) * group_channels)
        y = oy * sh - ph + i * dh + offsets[n, oy, ox, g * 2 * taps + 2 * k]
        x = ox * sw - pw + j * dw + offsets[n, oy, ox, g * 2 * taps + 2 * k + 1]
        if not _inside(y, x, height, width):
            continue
        for row, col, weight, _, _ in _corners(y, x, height, width):
            columns[n, oy, ox, k, channel_slice] += weight * inputs[n, row, col, channel_slice]
        columns[n, oy, ox, k, channel_slice] *= modulation[n, oy, ox, g * taps + k]
    flat_kernel = kernel.reshape(taps * channels, filters)
    outputs = columns.reshape(batch, out_height, out_width, -1) @ flat_kernel
    if grad_outputs is None:
        return outputs

    grad_outputs = np.asarray(grad_outputs, np.float64)
    grad_kernel = (
        columns.reshape(-1, taps * channels).T @ grad_outputs.reshape(-1, filters)
    ).reshape(kernel.shape)
    grad_columns = (grad_outputs @ flat_kernel.T).reshape(columns.shape)
    grad_inputs = np.zeros_like(inputs)
    grad_offsets = np.zeros_like(offsets)
    grad_mask = np.zeros_like(modulation)
    for n, oy, ox, g, i, j in np.ndindex(batch, out_height, out_width, groups, kh, kw):
        k = i * kw + j
        channel_slice = slice(g * group_channels, (g + 1) * group_channels)
        dy_channel = g * 2 * taps + 2 * k
        y = oy * sh - ph + i * dh + offsets[n, oy, ox, dy_channel]
        x = ox * sw - pw + j * dw + offsets[n, oy, ox, dy_channel + 1]
        scale = modulation[n, oy, ox, g * taps + k]
        grad_sample = grad_columns[n, oy, ox, k, channel_slice]
        inside = _inside(y, x, height, width)
        for row, col, weight, d_weight_dy, d_weight_dx in _corners(y, x, height, width):
            corner = inputs[n, row, col, channel_slice]
            grad_offsets[n, oy, ox, dy_channel] += scale * d_weight_dy * corner @ grad_sample
            grad_offsets[n, oy, ox, dy_channel + 1] += scale * d_weight_dx * corner @ grad_sample
            if inside:
                grad_inputs[n, row, col, channel_slice] += scale * weight * grad_sample
                grad_mask[n, oy, ox, g * taps + k] += weight * corner @ grad_sample
    return {
        "outputs": outputs,
        "grad_inputs": grad_inputs,
        "grad_offsets": grad_offsets,
        "grad_kernel": grad_kernel,
        "grad_mask": None if mask is None else grad_mask,
    }
