"""Image files read into pixels with the decoder the data pipeline and `serve_image_bytes` use.

`efgrnet-predict` and the LiteRT calibration read files here, so an image file gives the same
pixels and, when it is unreadable, the same reason as its bytes sent to an exported model.
"""

from __future__ import annotations

import re

import numpy as np
import tensorflow as tf

from efgrnet_tf.data.records import decode_image_rgb


class UnreadableImageError(Exception):
    """An image file that cannot be read or decoded."""


def read_rgb(path: str) -> np.ndarray:
    """The uint8 `[H, W, 3]` RGB pixels of an image file.

    Decoded by `decode_image_rgb`, the decoder of the data pipeline and of the
    `serve_image_bytes` signature, so a file gives the pixels its bytes give a served model.

    Raises:
      UnreadableImageError: the file cannot be read, or its bytes cannot be decoded (no
        JPEG/PNG/GIF/BMP/WebP, corrupt, truncated); the message is the reason the decoder
        gives the signature too, e.g. `Unknown image file format. ...`.
    """
    try:
        with open(path, "rb") as f:
            encoded = f.read()
        return decode_image_rgb(tf.constant(encoded)).numpy()
    except OSError as e:
        raise UnreadableImageError(e.strerror or str(e)) from e
    except tf.errors.InvalidArgumentError as e:
        raise UnreadableImageError(_op_error_reason(e.message)) from e


def _op_error_reason(message: str) -> str:
    """A TensorFlow op error's message without the function-node prefix and op suffix."""
    return re.sub(r"^\{\{[^}]*\}\}\s*|\s*\[Op:.*$", "", message, flags=re.DOTALL)
