"""Loop-based NumPy box references shared by the box and loss tests."""

import numpy as np


def iou_matrix(boxes_a_yxyx, boxes_b_yxyx):
    """`[N, M]` IoU of N boxes with M boxes, both `[ymin, xmin, ymax, xmax]`."""
    out = np.zeros((len(boxes_a_yxyx), len(boxes_b_yxyx)))
    for i, (y0, x0, y1, x1) in enumerate(boxes_a_yxyx):
        for j, (v0, u0, v1, u1) in enumerate(boxes_b_yxyx):
            ih = max(0.0, min(y1, v1) - max(y0, v0))
            iw = max(0.0, min(x1, u1) - max(x0, u0))
            union = (y1 - y0) * (x1 - x0) + (v1 - v0) * (u1 - u0) - ih * iw
            out[i, j] = ih * iw / union if union > 0 else 0.0
    return out
