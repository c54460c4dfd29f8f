"""Draws boxes with class names and scores on images (prediction output, demos, augmentation).

Pure PIL/NumPy, no TensorFlow: boxes are `[ymin, xmin, ymax, xmax]` normalised to [0, 1], the
format of the detection outputs and of the data pipeline.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

# Distinct, saturated colours; class id k uses PALETTE[k % len(PALETTE)].
PALETTE = (
    (230, 25, 75),
    (60, 180, 75),
    (255, 225, 25),
    (0, 130, 200),
    (245, 130, 48),
    (145, 30, 180),
    (70, 240, 240),
    (240, 50, 230),
    (210, 245, 60),
    (0, 128, 128),
)


def class_color(class_id: int) -> tuple[int, int, int]:
    """The RGB colour boxes of `class_id` are drawn in."""
    return PALETTE[int(class_id) % len(PALETTE)]


def box_label(class_id: int, score: float | None, class_names: Mapping[int, str] | None) -> str:
    """`name: 0.87`, `name` without a score; the id stands in for a missing name."""
    name = (class_names or {}).get(int(class_id), str(int(class_id)))
    return name if score is None else f"{name}: {score:.2f}"


def draw_boxes(
    image: np.ndarray | Image.Image,
    boxes_yxyx: np.ndarray,
    class_ids: Sequence[int],
    scores: Sequence[float] | None = None,
    class_names: Mapping[int, str] | None = None,
    line_width: int = 2,
) -> Image.Image:
    """A copy of `image` with each box outlined and labelled in its class colour.

    A box covers the pixels `round(xmin * W) .. round(xmax * W) - 1` (likewise rows), so a box
    of the whole image outlines the border pixels. The label (`box_label`) sits on a filled
    strip just above the box, or inside its top edge when there is no room above.

    Args:
      image: uint8 `[H, W, 3]` RGB array or a PIL image (converted to RGB).
      boxes_yxyx: `[N, 4]` normalised `[ymin, xmin, ymax, xmax]`.
      class_ids: `[N]` 1-based class ids.
      scores: `[N]` scores shown after the name, or None for ground truth.
      class_names: `{class_id: name}`; ids without a name are shown as numbers.
      line_width: outline width in pixels, drawn inwards from the box edge.
    Returns:
      An RGB `PIL.Image.Image` of the input's size.
    """
    canvas = (image if isinstance(image, Image.Image) else Image.fromarray(image)).convert("RGB")
    canvas = canvas.copy()
    boxes = np.asarray(boxes_yxyx, np.float64).reshape(-1, 4)
    if len(class_ids) != len(boxes) or (scores is not None and len(scores) != len(boxes)):
        raise ValueError(
            f"got {len(boxes)} boxes, {len(class_ids)} class ids and "
            f"{'no' if scores is None else len(scores)} scores"
        )
    width, height = canvas.size
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default()
    for i, (ymin, xmin, ymax, xmax) in enumerate(boxes):
        left, right = round(xmin * width), round(xmax * width) - 1
        top, bottom = round(ymin * height), round(ymax * height) - 1
        if right < left or bottom < top:
            continue
        color = class_color(class_ids[i])
        draw.rectangle((left, top, right, bottom), outline=color, width=line_width)
        text = box_label(class_ids[i], None if scores is None else float(scores[i]), class_names)
        _draw_label(draw, font, text, left, top, color)
    return canvas


def _draw_label(draw, font, text: str, left: int, top: int, color) -> None:
    text_left, text_top, text_right, text_bottom = draw.textbbox((0, 0), text, font=font)
    text_width, text_height = text_right - text_left + 2, text_bottom - text_top + 2
    strip_top = top - text_height if top >= text_height else top
    draw.rectangle((left, strip_top, left + text_width, strip_top + text_height), fill=color)
    draw.text((left + 1 - text_left, strip_top + 1 - text_top), text, fill=(0, 0, 0), font=font)
