"""The two record formats every source produces, and the graph ops that move between them.

An *encoded record* (what a source yields, cheap to shuffle and shard):
  - `image_encoded`: string scalar, the JPEG/PNG/BMP/GIF file bytes;
  - `boxes`: float32 `[n, 4]`, `[ymin, xmin, ymax, xmax]` normalised to [0, 1];
  - `classes`: int32 `[n]`, 1-based (0 = background is never a label);
  - `is_difficult`, `is_crowd`: bool `[n]`;
  - `image_id`: int64 scalar;
  - `source_file` (sources that read files): string scalar, the image's path, named in warnings.

A *decoded example* (docs/design.md, the input of augmentation and evaluation preprocessing):
the same fields with `image_encoded` replaced by `image` (uint8 `[H, W, 3]`, RGB) and with
`original_size_hw` (int32 `[2]`, the decoded image's height and width) added.
"""

from __future__ import annotations

import tensorflow as tf

ANNOTATION_KEYS = ("boxes", "classes", "is_difficult", "is_crowd")


def decode_image_rgb(image_encoded: tf.Tensor) -> tf.Tensor:
    """Decodes image bytes to uint8 `[H, W, 3]` RGB.

    Grayscale images are replicated to three channels and the alpha channel of RGBA/PNG images
    is dropped (`channels=3`). Raises `InvalidArgumentError` at run time on corrupt data; the
    pipelines skip such records, naming them (`efgrnet_tf.data.skip_failures`).
    """
    image = tf.io.decode_image(image_encoded, channels=3, expand_animations=False)
    return tf.ensure_shape(image, [None, None, 3])


def decode_record(record: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Encoded record -> decoded example (decodes the image, records its size)."""
    example = {key: value for key, value in record.items() if key != "image_encoded"}
    example["image"] = decode_image_rgb(record["image_encoded"])
    example["original_size_hw"] = tf.shape(example["image"])[:2]
    return example


def decode_image_window(image_encoded: tf.Tensor, window: tf.Tensor) -> tf.Tensor:
    """Decodes only a window of image bytes (JPEG: `decode_and_crop_jpeg`), uint8 RGB.

    Args:
      image_encoded: string scalar, JPEG/PNG/BMP/GIF bytes.
      window: int32 `[4]` `[top, left, height, width]` in pixels, inside the image.
    Returns:
      uint8 `[height, width, 3]`, the pixels of decoding then slicing, except that a JPEG's
      last window column can differ by a few levels (libjpeg upsamples the chroma there
      without the column beyond the window).
    """

    def decode_jpeg_window():
        return tf.image.decode_and_crop_jpeg(image_encoded, window, channels=3)

    def decode_then_slice():
        image = decode_image_rgb(image_encoded)
        return image[window[0] : window[0] + window[2], window[1] : window[1] + window[3]]

    image = tf.cond(tf.io.is_jpeg(image_encoded), decode_jpeg_window, decode_then_slice)
    return tf.ensure_shape(image, [None, None, 3])


def image_size_from_header(image_encoded: tf.Tensor) -> tf.Tensor:
    """int32 `[2]` height and width of encoded image bytes.

    Reads only the header of a JPEG or PNG (the big-endian width and height of the IHDR chunk at
    bytes 16-23); other formats are decoded.
    """

    def png_size():
        header = tf.cast(
            tf.io.decode_raw(tf.strings.substr(image_encoded, 16, 8), tf.uint8), tf.int32
        )
        width = header[0] * 2**24 + header[1] * 2**16 + header[2] * 2**8 + header[3]
        height = header[4] * 2**24 + header[5] * 2**16 + header[6] * 2**8 + header[7]
        return tf.stack([height, width])

    is_png = tf.strings.substr(image_encoded, 0, 8) == b"\x89PNG\r\n\x1a\n"
    return tf.case(
        [
            (tf.io.is_jpeg(image_encoded), lambda: tf.io.extract_jpeg_shape(image_encoded)[:2]),
            (is_png, png_size),
        ],
        default=lambda: tf.shape(decode_image_rgb(image_encoded))[:2],
    )


def with_size_from_header(record: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Encoded record + `original_size_hw` from the image header; the image stays encoded."""
    out = dict(record)
    out["original_size_hw"] = image_size_from_header(record["image_encoded"])
    return out


def clip_and_drop_degenerate(example: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Clips `boxes` (yxyx normalised) to [0, 1] and drops boxes with no area left.

    Sources that can name a file warn about such boxes when they index it; this is the graph
    safety net for sources whose boxes arrive already normalised (tfds, TFRecord).
    """
    boxes = tf.clip_by_value(example["boxes"], 0.0, 1.0)
    keep = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
    out = dict(example)
    out["boxes"] = boxes
    for key in ANNOTATION_KEYS:
        out[key] = tf.boolean_mask(out[key], keep)
    return out


def without_difficult(example: dict[str, tf.Tensor]) -> dict[str, tf.Tensor]:
    """Drops the boxes flagged `is_difficult` with their per-box fields (any record format).

    The authors train VOC with `keep_difficult=False`: difficult objects are no targets and do
    not constrain the crop; an image left without boxes is then trained un-augmented.
    """
    keep = ~example["is_difficult"]
    out = dict(example)
    for key in ANNOTATION_KEYS:
        out[key] = tf.boolean_mask(example[key], keep)
    return out


def pad_annotations(example: dict[str, tf.Tensor], max_boxes: int) -> dict[str, tf.Tensor]:
    """Pads (or truncates) the per-box fields to exactly `max_boxes` rows.

    Padded rows: boxes 0, classes -1, flags False. Boxes beyond `max_boxes` are dropped (the
    first `max_boxes` are kept) and a warning naming the image id goes to stderr.
    """
    num_boxes = tf.shape(example["classes"])[0]

    def warn():
        tf.print(
            "efgrnet_tf.data: WARNING image_id",
            example["image_id"],
            "has",
            num_boxes,
            "boxes; keeping the first",
            max_boxes,
            "(raise data.max_boxes to keep all)",
            output_stream=tf.compat.v1.logging.warning,
        )
        return tf.constant(True)

    truncated = tf.cond(num_boxes > max_boxes, warn, lambda: tf.constant(False))
    pad_values = {"boxes": 0.0, "classes": -1, "is_difficult": False, "is_crowd": False}
    out = dict(example)
    with tf.control_dependencies([truncated]):
        for key, pad_value in pad_values.items():
            value = example[key][:max_boxes]
            padding = [[0, max_boxes - tf.shape(value)[0]]] + [[0, 0]] * (value.shape.rank - 1)
            padded = tf.pad(value, padding, constant_values=pad_value)
            out[key] = tf.ensure_shape(padded, [max_boxes, *value.shape[1:]])
    return out
