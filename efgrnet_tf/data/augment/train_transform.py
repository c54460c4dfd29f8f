"""The training transform: decoded example -> augmented, preprocessed model input.

Order as in the authors' `preproc` (`data/data_augment.py`, docs/design.md "Training
augmentation"): min-IoU crop -> photometric distortion -> expand with mean fill -> horizontal
flip -> resize with a random interpolation -> BGR mean subtraction -> drop boxes whose shorter
side is not above `min_box_side`.

For speed the crop is resized straight to its place in the S x S output (`expand.py`), and the
photometric distortion and the mean subtraction run on that resized footprint rather than on
the full-resolution crop: the distortions are per-pixel, so this differs from the reference
order only where the resize blends neighbouring pixels, and the expand fill stays exactly the
mean (0 after subtraction). The flip is applied to the S x S output, which equals flipping the
canvas before resizing.
"""

from __future__ import annotations

import tensorflow as tf

from efgrnet_tf.config.data import AugmentationConfig
from efgrnet_tf.data.augment.expand import (
    boxes_into_footprint,
    pad_to_output,
    sample_expand_footprint,
)
from efgrnet_tf.data.augment.flip import random_horizontal_flip
from efgrnet_tf.data.augment.photometric import photometric_distort
from efgrnet_tf.data.augment.random_crop import sample_min_iou_crop
from efgrnet_tf.data.augment.resize import random_interpolation_resize
from efgrnet_tf.data.preprocess import preprocess_for_eval, subtract_mean_bgr
from efgrnet_tf.data.records import ANNOTATION_KEYS, decode_image_rgb, decode_image_window


def augment_for_training(
    example: dict[str, tf.Tensor],
    seed: tf.Tensor,
    image_size: int,
    mean_bgr: tuple[float, float, float],
    config: AugmentationConfig,
) -> dict[str, tf.Tensor]:
    """Augments one example (`..records`) and preprocesses it for the model.

    The example is either decoded (`image`) or encoded (`image_encoded` and
    `original_size_hw`); an encoded JPEG is decoded only inside the crop window.
    As in the authors' `preproc`, an image without boxes is not augmented, and when every box
    is cropped away or ends no longer than `min_box_side` on its shorter side, the original
    image with all its boxes is used instead, un-augmented: resized (with a random
    interpolation when `random_interpolation`) and mean-subtracted. So an annotated image never
    turns into a background-only sample.

    Args:
      example: `image` uint8 `[H, W, 3]` RGB (or `image_encoded`, string), `boxes` `[n, 4]`
        yxyx normalised, `classes`, `is_difficult`, `is_crowd` `[n]`, `image_id`,
        `original_size_hw` int32 `[2]`.
      seed: int `[2]` stateless seed of this example.
      image_size: side S of the model input.
      mean_bgr: the data set mean in B, G, R order (the expand canvas is this mean).
      config: which augmentations are on; `enabled=False` gives evaluation preprocessing.
    Returns:
      The example with `image` float32 `[S, S, 3]` BGR, mean subtracted (and without
      `image_encoded`), and the per-box fields reduced to the surviving boxes (boxes yxyx
      normalised to the output).
    """
    encoded = "image_encoded" in example
    passthrough = {key: value for key, value in example.items() if key != "image_encoded"}

    def full_image():
        return decode_image_rgb(example["image_encoded"]) if encoded else example["image"]

    if not config.enabled:
        return {**passthrough, "image": preprocess_for_eval(full_image(), image_size, mean_bgr)}
    seeds = tf.random.experimental.stateless_split(seed, num=6)

    def unaugmented():
        resized = random_interpolation_resize(
            full_image(), [image_size, image_size], seeds[5], config.random_interpolation
        )
        image = tf.ensure_shape(resized, [image_size, image_size, 3])
        return {**passthrough, "image": subtract_mean_bgr(image, mean_bgr)}

    def augment():
        image_hw = tf.cast(example["original_size_hw"], tf.int32)
        boxes = example["boxes"]
        keep = tf.ones([tf.shape(boxes)[0]], tf.bool)
        window = tf.stack([0, 0, image_hw[0], image_hw[1]])
        if config.min_iou_crop:
            window, boxes, keep = sample_min_iou_crop(
                image_hw,
                boxes,
                seeds[0],
                config.crop_min_ious,
                config.crop_min_scale,
                max_rounds=config.crop_max_rounds,
            )
        if encoded:
            image = decode_image_window(example["image_encoded"], window)
        else:
            image = example["image"][
                window[0] : window[0] + window[2], window[1] : window[1] + window[3]
            ]
        if config.expand:
            footprint = sample_expand_footprint(
                image_size,
                seeds[1],
                config.expand_max_ratio,
                config.expand_probability,
                config.expand_aspect_jitter,
            )
        else:
            footprint = tf.constant([0, 0, image_size, image_size], tf.int32)
        image = random_interpolation_resize(
            image, footprint[2:] - footprint[:2], seeds[2], config.random_interpolation
        )
        if config.photometric:
            image = photometric_distort(
                image,
                seeds[3],
                config.hue_max_delta_degrees,
                config.contrast_before_hsv,
                config.channel_swap,
            )
        image = pad_to_output(subtract_mean_bgr(image, mean_bgr), footprint, image_size)
        boxes = boxes_into_footprint(boxes, footprint, image_size)
        if config.horizontal_flip:
            image, boxes = random_horizontal_flip(image, boxes, seeds[4])
        shorter_side = tf.minimum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
        keep &= shorter_side > config.min_box_side

        augmented = dict(passthrough)
        augmented["image"] = image
        augmented["boxes"] = boxes
        for key in ANNOTATION_KEYS:
            augmented[key] = tf.boolean_mask(augmented[key], keep)
        # No box left: the authors' code trains on the original.
        return tf.cond(tf.reduce_any(keep), lambda: augmented, unaugmented)

    # An image without boxes is not augmented (nor is the augmentation computed).
    return tf.cond(tf.shape(example["boxes"])[0] > 0, augment, unaugmented)
