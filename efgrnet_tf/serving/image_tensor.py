"""The `serving_default` signature: a batch of uint8 images of any (common) size."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import tensorflow as tf

from efgrnet_tf.data.preprocess import preprocess_for_eval
from efgrnet_tf.serving.signature_names import IMAGE_TENSOR_SIGNATURE, INPUT_NAMES

DetectFn = Callable[[tf.Tensor], dict[str, tf.Tensor]]


def serving_function(
    detect: DetectFn, image_size: int, mean_bgr: Sequence[float]
) -> tf.types.experimental.ConcreteFunction:
    """A concrete function taking uint8 `images` `[batch, height, width, 3]` RGB.

    All images of a batch share one height and width (any values); each is resized to the
    `image_size` square and mean-subtracted by `preprocess_for_eval`, then `detect` runs.
    Boxes are normalised, so they hold for the input image as given.

    Args:
      detect: preprocessed float32 `[batch, S, S, 3]` -> the detections dict.
      image_size: S.
      mean_bgr: `cfg.data.mean_bgr`.
    """
    spec = tf.TensorSpec([None, None, None, 3], tf.uint8, name=INPUT_NAMES[IMAGE_TENSOR_SIGNATURE])

    @tf.function(input_signature=[spec])
    def serve(images):
        return detect(preprocess_for_eval(images, image_size, mean_bgr))

    return serve.get_concrete_function()
