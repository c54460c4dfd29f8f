"""Drawn boxes land on the pixels the normalised coordinates name, in the class colour."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from efgrnet_tf.visualization import box_label, class_color, draw_boxes, place_labels


def is_color(pixels: np.ndarray, color) -> np.ndarray:
    return np.all(pixels == np.array(color, np.uint8), axis=-1)


def test_box_outline_is_on_the_named_pixels():
    # [0.2, 0.2, 0.6, 0.6] on 100 x 200 covers rows 20..59 and columns 40..119.
    image = np.zeros((100, 200, 3), np.uint8)
    drawn = np.asarray(draw_boxes(image, [[0.2, 0.2, 0.6, 0.6]], [3], line_width=1))
    color = class_color(3)
    for y, x in [(59, 40), (59, 119), (40, 40), (40, 119), (59, 80), (20, 119)]:
        assert tuple(drawn[y, x]) == color, (y, x)
    assert not drawn[21:59, 41:119].any()  # inside the outline
    assert not drawn[60:].any() and not drawn[:, 120:].any()  # below and right of the box
    assert drawn.shape == image.shape and not image.any()  # the input is left alone


def test_label_strip_sits_above_the_box_with_name_and_score():
    # Box rows 50..89, columns 50..149 on a white image; the label "cat: 0.88" goes on a
    # class-coloured strip ending at row 50, starting at column 50, with black text.
    image = np.full((100, 200, 3), 255, np.uint8)
    drawn = np.asarray(draw_boxes(image, [[0.5, 0.25, 0.9, 0.75]], [1], [0.875], {1: "cat"}))
    assert tuple(drawn[49, 50]) == class_color(1)
    strip = drawn[30:50, 50:150]
    assert (strip.max(axis=-1) < 80).any()  # dark text (anti-aliased, so not pure black)
    assert is_color(strip, class_color(1)).sum() > 100
    assert (drawn[:25] == 255).all()  # a one-line label is far shorter than 25 rows
    assert box_label(1, 0.875, {1: "cat"}) == "cat: 0.88"
    assert box_label(7, None, {1: "cat"}) == "7"


def test_label_moves_inside_when_the_box_touches_the_top():
    image = Image.fromarray(np.zeros((50, 50, 3), np.uint8))
    drawn = np.asarray(draw_boxes(image, [[0.0, 0.0, 1.0, 1.0]], [2], [0.5], line_width=1))
    color = class_color(2)
    assert tuple(drawn[0, 0]) == color and tuple(drawn[49, 49]) == color
    # Without a label the interior would be black; the strip fills the top rows inside.
    assert is_color(drawn[2:8, 1:30], color).mean() > 0.3
    assert not drawn[20:49, 1:49].any()


def test_mismatched_lengths_are_rejected():
    with pytest.raises(ValueError, match="2 boxes, 1 class ids"):
        draw_boxes(np.zeros((4, 4, 3), np.uint8), np.zeros((2, 4)), [1])


def rectangles_overlap(a, b) -> bool:
    """Whether two inclusive `(left, top, right, bottom)` rectangles share a pixel."""
    return a[0] <= b[2] and b[0] <= a[2] and a[1] <= b[3] and b[1] <= a[3]


def test_labels_of_overlapping_boxes_do_not_cover_each_other():
    # Three boxes sharing their top-left region: all labels would sit above the same corner.
    boxes = [(40, 40, 120, 100), (42, 41, 110, 90), (45, 44, 130, 95)]
    strips = place_labels(boxes, [(60, 12)] * 3, (200, 150))
    assert strips[0] == (40, 28, 99, 39)  # the first (best) keeps the spot above its box
    for i in range(3):
        left, top, right, bottom = strips[i]
        assert left >= 0 and right < 200 and top >= 0 and bottom < 150
        assert right - left + 1 == 60 and bottom - top + 1 == 12
        for j in range(i):
            assert not rectangles_overlap(strips[i], strips[j]), (i, j, strips)


def test_drawn_labels_of_two_overlapping_boxes_stay_apart():
    # Two boxes with the same top-left corner (rows 60.., columns 40..) on a black image. Drawn
    # on one spot, the second label would hide the first; both must show as strips: rows where
    # the class colour fills much of columns 42..99 (right of the boxes' left edges).
    image = np.zeros((120, 160, 3), np.uint8)
    boxes = [[0.5, 0.25, 0.9, 0.75], [0.5, 0.25, 0.8, 0.6]]
    drawn = np.asarray(draw_boxes(image, boxes, [1, 2], [0.9, 0.8], {1: "cat", 2: "dog"}))
    for class_id in (1, 2):
        filled = is_color(drawn[:, 42:100], class_color(class_id)).sum(axis=1)
        strip_rows = np.nonzero(filled >= 15)[0]
        assert len(strip_rows) >= 8, (class_id, strip_rows)


def test_labels_fit_the_image_when_boxes_touch_its_edges():
    strips = place_labels([(150, 0, 199, 99), (0, 80, 50, 99)], [(60, 12), (40, 12)], (200, 100))
    assert strips[0] == (140, 0, 199, 11)  # shifted left, inside below the top edge
    assert strips[1] == (0, 68, 39, 79)  # above its box
