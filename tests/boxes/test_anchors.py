"""Anchors: counts, hand-computed first cells, order level → row → column → ratio, clipping."""

import dataclasses
import math

import numpy as np
import pytest

from efgrnet_tf.boxes.anchors import generate_anchors, num_anchors
from efgrnet_tf.config import AnchorConfig

SQRT2 = math.sqrt(2.0)


@pytest.mark.parametrize("size, expected", [(320, 6375), (512, 16320)])
def test_anchor_counts_match_spec(size, expected):
    cfg = AnchorConfig()
    assert num_anchors(cfg, (size, size)) == expected
    assert generate_anchors(cfg, (size, size)).shape == (expected, 4)


def test_feature_maps_round_up_for_sizes_not_divisible_by_the_step():
    # 300 px: ceil(300/8)=38, ceil(300/16)=19, ceil(300/32)=10, ceil(300/64)=5.
    assert num_anchors(AnchorConfig(), (300, 300)) == 3 * (38**2 + 19**2 + 10**2 + 5**2)


def test_first_cells_at_320_by_hand():
    anchors = generate_anchors(AnchorConfig(), (320, 320)).numpy()
    s = 30 / 320
    c0, c1 = 0.5 * 8 / 320, 1.5 * 8 / 320
    expected = [
        [c0, c0, s, s],  # cell (0, 0), ratio 1
        [c0, c0, s * SQRT2, s / SQRT2],  # ratio 2: wide
        [c0, c0, s / SQRT2, s * SQRT2],  # ratio 1/2: tall
        [c1, c0, s, s],  # cell (0, 1): the column moves first
    ]
    np.testing.assert_allclose(anchors[:4], expected, rtol=1e-6)
    np.testing.assert_allclose(anchors[3 * 40], [c0, c1, s, s], rtol=1e-6)  # cell (1, 0)
    level2 = 3 * 40 * 40
    np.testing.assert_allclose(anchors[level2], [8 / 320, 8 / 320, 64 / 320, 64 / 320], rtol=1e-6)


def test_non_square_image_uses_height_for_y_and_width_for_x():
    cfg = AnchorConfig(min_sizes=(32.0,), steps=(64,), aspect_ratios=(1.0, 2.0), clip=False)
    anchors = generate_anchors(cfg, (128, 256)).numpy()  # 2 rows x 4 cols x 2 ratios
    assert anchors.shape == (16, 4)
    row, col = 1, 2
    expected_centre = [(col + 0.5) * 64 / 256, (row + 0.5) * 64 / 128]
    np.testing.assert_allclose(anchors[(row * 4 + col) * 2, :2], expected_centre, rtol=1e-6)
    np.testing.assert_allclose(anchors[1, 2:], [32 * SQRT2 / 256, 32 / SQRT2 / 128], rtol=1e-6)


def test_clipping_limits_the_centre_form_to_the_unit_square():
    unclipped = generate_anchors(dataclasses.replace(AnchorConfig(), clip=False), (320, 320))
    clipped = generate_anchors(AnchorConfig(), (320, 320)).numpy()
    wide_last_level = unclipped.numpy()[-2]  # 256 px * sqrt(2) wider than the image
    assert wide_last_level[2] == pytest.approx(256 * SQRT2 / 320)
    assert clipped[-2, 2] == 1.0
    assert clipped.min() >= 0.0 and clipped.max() <= 1.0
    np.testing.assert_allclose(clipped, np.clip(unclipped.numpy(), 0.0, 1.0))


def test_invalid_anchor_configs_raise():
    with pytest.raises(ValueError):
        AnchorConfig(min_sizes=(30.0,), steps=(8, 16))
    with pytest.raises(ValueError):
        AnchorConfig(aspect_ratios=(1.0, 0.0))
    with pytest.raises(ValueError):
        AnchorConfig(variances=(0.1, -0.2))
