"""One image decoder: a file read by `read_rgb` (predict, LiteRT calibration, the serving
client) gives the pixels, or the reason it is unreadable, that its bytes give the exported
`serve_image_bytes` signature."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image
from serving_helpers import write_unreadable_images

from efgrnet_tf.serving import image_bytes
from efgrnet_tf.serving.image_files import UnreadableImageError, read_rgb

SIDE = 24  # square, so the signature's resize to SIDE x SIDE leaves the pixels as decoded


def _bytes_signature_pixels(encoded: bytes) -> np.ndarray:
    """uint8 RGB `[SIDE, SIDE, 3]` the `serve_image_bytes` signature hands the model (mean 0)."""
    serve = image_bytes.serving_function(lambda images: images, SIDE, (0.0, 0.0, 0.0))
    (bgr,) = serve(tf.constant([encoded])).numpy()
    return bgr[..., ::-1].round().astype(np.uint8)


def _pixels() -> np.ndarray:
    rng = np.random.default_rng(5)
    return rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)


@pytest.mark.parametrize(
    ("file_name", "mode"),
    [
        ("rgb.png", "RGB"),
        ("grey.png", "L"),
        ("alpha.png", "RGBA"),
        ("palette.gif", "P"),
        ("rgb.bmp", "RGB"),
    ],
)
def test_lossless_files_decode_to_pils_rgb_in_both_callers(tmp_path, file_name, mode):
    path = tmp_path / file_name
    Image.fromarray(_pixels()).convert(mode).save(path)
    expected = np.asarray(Image.open(path).convert("RGB"))

    pixels = read_rgb(str(path))

    assert pixels.dtype == np.uint8
    np.testing.assert_array_equal(pixels, expected)
    np.testing.assert_array_equal(_bytes_signature_pixels(path.read_bytes()), expected)


def test_a_jpeg_file_gives_the_pixels_its_bytes_give_the_signature(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(_pixels()).save(path, quality=90)

    pixels = read_rgb(str(path))

    np.testing.assert_array_equal(pixels, _bytes_signature_pixels(path.read_bytes()))
    # Another JPEG decoder (PIL's) differs only by rounding in the colour conversion.
    pil = np.asarray(Image.open(path).convert("RGB")).astype(int)
    assert np.abs(pixels.astype(int) - pil).max() <= 8


@pytest.mark.parametrize("file_name", ["corrupt.png", "truncated.jpg", "text.jpg"])
def test_unreadable_bytes_fail_with_the_same_reason_in_both_callers(tmp_path, file_name):
    reasons = write_unreadable_images(tmp_path)
    path = tmp_path / file_name

    with pytest.raises(UnreadableImageError) as raised:
        read_rgb(str(path))
    reason = str(raised.value)
    assert reasons[file_name] in reason.lower()
    assert "{{" not in reason and "[Op:" not in reason  # TensorFlow's wrapping is gone
    with pytest.raises(tf.errors.InvalidArgumentError) as served:
        _bytes_signature_pixels(path.read_bytes())
    assert reason in served.value.message


def test_a_missing_file_is_unreadable_with_the_systems_reason(tmp_path):
    with pytest.raises(UnreadableImageError, match="No such file or directory"):
        read_rgb(str(tmp_path / "gone.png"))
