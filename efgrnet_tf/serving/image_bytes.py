"""The `serve_image_bytes` signature: a batch of encoded JPEG/PNG (GIF, BMP, WebP) images."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from efgrnet_tf.data.preprocess import preprocess_for_eval
from efgrnet_tf.data.records import decode_image_rgb
from efgrnet_tf.serving.signature_names import IMAGE_BYTES_SIGNATURE, INPUT_NAMES

DetectFn = Callable[[tf.Tensor], dict[str, tf.Tensor]]


def decode_and_preprocess(encoded_image: tf.Tensor, image_size: int, mean_bgr: Sequence[float]):
    """One encoded image (scalar string) -> float32 `[S, S, 3]` preprocessed.

    Decoded by `decode_image_rgb`, as the data pipeline and `efgrnet-predict` decode image files
    (grey images are expanded, alpha dropped, the first frame of a GIF kept); bytes it cannot
    decode fail with its reason, e.g. TensorFlow's `Unknown image file format`.
    """
    return preprocess_for_eval(decode_image_rgb(encoded_image), image_size, mean_bgr)


def serving_function(
    detect: DetectFn, image_size: int, mean_bgr: Sequence[float]
) -> tf.types.experimental.ConcreteFunction:
    """A concrete function taking `encoded_images`, a string `[batch]` of encoded images.

    The images of a batch may differ in size: each is decoded and preprocessed on its own
    (`tf.map_fn`), then the batch goes through `detect`. Boxes are normalised to each input
    image.

    Args:
      detect: preprocessed float32 `[batch, S, S, 3]` -> the detections dict.
      image_size: S.
      mean_bgr: `cfg.data.mean_bgr`.
    """
    spec = tf.TensorSpec([None], tf.string, name=INPUT_NAMES[IMAGE_BYTES_SIGNATURE])

    @tf.function(input_signature=[spec])
    def serve(encoded_images):
        images = tf.map_fn(
            lambda encoded: decode_and_preprocess(encoded, image_size, mean_bgr),
            encoded_images,
            fn_output_signature=tf.TensorSpec([image_size, image_size, 3], tf.float32),
        )
        return detect(images)

    return serve.get_concrete_function()
