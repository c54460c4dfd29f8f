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
    strip placed by `place_labels`: just above the box when there is room, else inside or
    below it, never on a label drawn before it (boxes come best first, so the best keep the
    spot above).

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
    outlines, texts = [], []
    for i, (ymin, xmin, ymax, xmax) in enumerate(boxes):
        left, right = round(xmin * width), round(xmax * width) - 1
        top, bottom = round(ymin * height), round(ymax * height) - 1
        if right < left or bottom < top:
            continue
        outlines.append((i, (left, top, right, bottom)))
        texts.append(
            box_label(class_ids[i], None if scores is None else float(scores[i]), class_names)
        )
    for i, outline in outlines:
        draw.rectangle(outline, outline=class_color(class_ids[i]), width=line_width)
    text_boxes = [draw.textbbox((0, 0), text, font=font) for text in texts]
    label_sizes = [(r - x + 2, b - y + 2) for x, y, r, b in text_boxes]
    strips = place_labels([o for _, o in outlines], label_sizes, (width, height))
    for (i, _), text, (x, y, _, _), strip in zip(outlines, texts, text_boxes, strips, strict=True):
        draw.rectangle(strip, fill=class_color(class_ids[i]))
        draw.text((strip[0] + 1 - x, strip[1] + 1 - y), text, fill=(0, 0, 0), font=font)
    return canvas


def place_labels(
    boxes_ltrb: Sequence[tuple[int, int, int, int]],
    label_sizes_wh: Sequence[tuple[int, int]],
    image_size_wh: tuple[int, int],
) -> list[tuple[int, int, int, int]]:
    """Where the label of each box goes: `(left, top, right, bottom)`, inclusive pixels.

    Labels are placed in order, each at the first spot that stays in the image and overlaps
    no label placed before it: above the box (left-aligned, touching its top edge), inside
    below the top edge, below the box, inside above the bottom edge, then rows ever farther
    from the box. When every row is taken, the label goes above the box (or at the image's
    top) anyway. Labels are shifted left to fit the image's width.

    Args:
      boxes_ltrb: pixel boxes `(left, top, right, bottom)`, inclusive.
      label_sizes_wh: `(width, height)` of each label in pixels.
      image_size_wh: `(W, H)`.
    """
    image_width, image_height = image_size_wh
    placed = np.zeros((0, 4), np.int64)
    strips = []
    for (left, top, _, bottom), (width, height) in zip(boxes_ltrb, label_sizes_wh, strict=True):
        x = max(0, min(left, image_width - width))
        near = (top - height, top, bottom + 1, bottom - height + 1)
        rows = range(0, image_height - height + 1, max(1, height // 2))
        farther = sorted(rows, key=lambda y, above=near[0]: abs(y - above))
        candidates = [y for y in (*near, *farther) if 0 <= y <= image_height - height]
        chosen = max(0, near[0])
        for y in candidates:
            if not _overlaps_any((x, y, x + width - 1, y + height - 1), placed):
                chosen = y
                break
        strip = (x, chosen, x + width - 1, chosen + height - 1)
        placed = np.vstack([placed, strip])
        strips.append(strip)
    return strips


def _overlaps_any(rect: tuple[int, int, int, int], others: np.ndarray) -> bool:
    """Whether inclusive `rect` shares a pixel with any row of `others` `[n, 4]`."""
    left, top, right, bottom = rect
    return bool(
        np.any(
            (others[:, 0] <= right)
            & (left <= others[:, 2])
            & (others[:, 1] <= bottom)
            & (top <= others[:, 3])
        )
    )
