"""SSD augmentation properties, checked on rendered rectangles of unique colours."""

import numpy as np
import pytest
import tensorflow as tf

from efgrnet_tf.config import AugmentationConfig, ConfigError, config_from_dict
from efgrnet_tf.data.augment.photometric import adjust_hsv, photometric_distort
from efgrnet_tf.data.augment.random_crop import sample_min_iou_crop
from efgrnet_tf.data.augment.train_transform import augment_for_training
from efgrnet_tf.data.preprocess import DEFAULT_MEAN_BGR, preprocess_for_eval

SIZE = 64
_COLOURS_RGB = np.array([[255, 0, 255], [0, 255, 255]], np.uint8)


def _rectangles_example(height=90, width=120):
    """Grey image with two solid rectangles (magenta, cyan) and their exact boxes."""
    image = np.full((height, width, 3), 128, np.uint8)
    boxes_px = np.array([[10, 15, 50, 70], [45, 60, 85, 110]])  # yxyx, exclusive max
    for colour, (y0, x0, y1, x1) in zip(_COLOURS_RGB, boxes_px, strict=True):
        image[y0:y1, x0:x1] = colour
    boxes = boxes_px / np.array([height, width, height, width], np.float64)
    return {
        "image": tf.constant(image),
        "boxes": tf.constant(boxes, tf.float32),
        "classes": tf.constant([1, 2], tf.int32),
        "is_difficult": tf.constant([False, True]),
        "is_crowd": tf.constant([False, False]),
        "image_id": tf.constant(3, tf.int64),
        "original_size_hw": tf.constant([height, width], tf.int32),
    }


def _geometric_only(**overrides):
    return AugmentationConfig(photometric=False, random_interpolation=False, **overrides)


def _rgb(preprocessed):
    return (preprocessed.numpy() + np.array(DEFAULT_MEAN_BGR))[..., ::-1]


@pytest.mark.parametrize("seed", range(24))
def test_boxes_follow_the_pixels_through_crop_expand_flip(seed):
    """Each surviving box covers its colour's pixels, and its colour fills the box interior."""
    out = augment_for_training(
        _rectangles_example(), tf.constant([seed, 7]), SIZE, DEFAULT_MEAN_BGR, _geometric_only()
    )
    rgb = _rgb(out["image"])
    boxes = out["boxes"].numpy()
    assert ((boxes >= 0) & (boxes <= 1)).all()
    for box, label in zip(boxes * SIZE, out["classes"].numpy(), strict=True):
        colour = _COLOURS_RGB[label - 1]
        # Mostly this colour: closer to it than any 50/50 blend with grey, the mean fill or the
        # other rectangle (all at L1 distance >= 382 from it).
        mostly = np.abs(rgb - colour).sum(axis=-1) < 180
        ys, xs = np.nonzero(mostly)
        cy, cx = ys + 0.5, xs + 0.5
        ymin, xmin, ymax, xmax = box
        # Those pixel centres lie inside the box (+- 1 pixel) and reach its edges: a pixel is
        # "mostly" the colour when more than 53% of it is (L1 < 180 of 382), so under an exact
        # box the outermost such centre lies at most 1 + 0.03 pixel inside the edge.
        reach = 1.05
        assert cy.min() >= ymin - 1 and cy.max() <= ymax + 1
        assert cx.min() >= xmin - 1 and cx.max() <= xmax + 1
        assert cy.min() <= ymin + reach and cy.max() >= ymax - reach
        assert cx.min() <= xmin + reach and cx.max() >= xmax - reach


def test_expand_places_the_image_on_a_mean_canvas_under_its_box():
    white = {
        **_rectangles_example(),
        "image": tf.fill([90, 120, 3], tf.constant(255, tf.uint8)),
        "boxes": tf.constant([[0.0, 0.0, 1.0, 1.0]]),
        "classes": tf.constant([1]),
        "is_difficult": tf.constant([False]),
        "is_crowd": tf.constant([False]),
    }
    config = _geometric_only(min_iou_crop=False, min_box_side=0.0)
    num_expanded = 0
    for s in range(12):
        out = augment_for_training(white, tf.constant([s, 1]), SIZE, DEFAULT_MEAN_BGR, config)
        rgb = _rgb(out["image"])
        box_px = out["boxes"].numpy()[0] * SIZE
        # The box is the image's footprint: whole output pixels, the numbers the pixels use.
        np.testing.assert_allclose(box_px, np.round(box_px), atol=1e-4)
        ymin, xmin, ymax, xmax = np.round(box_px).astype(int)
        num_expanded += (ymax - ymin) < SIZE
        np.testing.assert_allclose(rgb[ymin:ymax, xmin:xmax], 255.0, atol=1e-3)
        outside = np.ones([SIZE, SIZE], bool)
        outside[ymin:ymax, xmin:xmax] = False
        np.testing.assert_allclose(out["image"].numpy()[outside], 0.0, atol=1e-3)
    assert 0 < num_expanded < 12  # expand happens with probability 0.6


def test_flip_mirrors_boxes_half_of_the_time():
    example = _rectangles_example()
    config = _geometric_only(min_iou_crop=False, expand=False)
    mirrored = 0
    for s in range(12):
        out = augment_for_training(example, tf.constant([s, 2]), SIZE, DEFAULT_MEAN_BGR, config)
        boxes, original = out["boxes"].numpy(), example["boxes"].numpy()
        flipped = np.stack(
            [original[:, 0], 1 - original[:, 3], original[:, 2], 1 - original[:, 1]], 1
        )
        is_flipped = np.allclose(boxes, flipped, atol=1e-6)
        assert is_flipped or np.allclose(boxes, original, atol=1e-6)
        mirrored += is_flipped
    assert 0 < mirrored < 12


def test_too_small_boxes_are_dropped_with_their_labels():
    example = _rectangles_example()
    config = AugmentationConfig(
        min_iou_crop=False, photometric=False, random_interpolation=False, min_box_side=0.45
    )
    for seed in range(4):
        out = augment_for_training(example, tf.constant([seed, 0]), SIZE, DEFAULT_MEAN_BGR, config)
        # Box 0 is 40/90 high (< 0.45): dropped with its class and flags; box 1 is 40/90
        # too... so both go and the example falls back to the un-augmented original.
        np.testing.assert_allclose(out["boxes"], example["boxes"])
        assert out["classes"].numpy().tolist() == [1, 2]
        np.testing.assert_allclose(
            out["image"], preprocess_for_eval(example["image"], SIZE), atol=1e-4
        )

    config = AugmentationConfig(
        min_iou_crop=False, expand=False, photometric=False, min_box_side=0.42
    )
    out = augment_for_training(example, tf.constant([0, 0]), SIZE, DEFAULT_MEAN_BGR, config)
    # Box 0: 40/90 x 55/120 (shorter 0.444) kept; box 1: 40/90 x 50/120 (0.417) dropped.
    assert out["classes"].numpy().tolist() == [1]
    assert out["is_difficult"].numpy().tolist() == [False]


def test_a_box_whose_shorter_side_equals_min_box_side_is_dropped():
    """The authors keep sides > 0.01, strictly: a side of exactly `min_box_side` goes."""
    example = {
        **_rectangles_example(height=64, width=64),
        "boxes": tf.constant([[0.25, 0.25, 0.5, 0.75], [0.0, 0.0, 0.5, 0.5]]),
    }
    config = _geometric_only(min_iou_crop=False, expand=False, min_box_side=0.25)
    out = augment_for_training(example, tf.constant([0, 0]), SIZE, DEFAULT_MEAN_BGR, config)
    assert out["classes"].numpy().tolist() == [2]


def test_an_image_without_boxes_is_not_augmented():
    example = {
        **_rectangles_example(),
        "boxes": tf.zeros([0, 4]),
        "classes": tf.zeros([0], tf.int32),
        "is_difficult": tf.zeros([0], tf.bool),
        "is_crowd": tf.zeros([0], tf.bool),
    }
    config = AugmentationConfig(random_interpolation=False)
    expected = preprocess_for_eval(example["image"], SIZE)
    for seed in range(6):
        out = augment_for_training(example, tf.constant([seed, 4]), SIZE, DEFAULT_MEAN_BGR, config)
        np.testing.assert_allclose(out["image"], expected, atol=1e-4)
        assert out["boxes"].shape == (0, 4)


def test_crop_maps_boxes_to_the_window_and_keeps_those_centred_in_it():
    boxes = np.array([[0.2, 0.2, 0.6, 0.5], [0.5, 0.6, 0.9, 0.95]], np.float32)
    num_cropped = 0
    for s in range(30):
        window_tlhw, new_boxes, keep = sample_min_iou_crop(
            tf.constant([100, 100]), tf.constant(boxes), tf.constant([s, 3])
        )
        top, left, h, w = window_tlhw.numpy().astype(float)
        assert top >= 0 and left >= 0 and top + h <= 100 and left + w <= 100
        num_cropped += (h, w) != (100, 100)
        assert h * w >= 0.3**2 * 100 * 100 - 200  # scale >= 0.3 (floored sides)
        window = np.array([top, left, top + h, left + w])
        expected = np.clip((boxes * 100 - window[[0, 1, 0, 1]]) / [h, w, h, w], 0, 1)
        np.testing.assert_allclose(new_boxes, expected, atol=1e-5)
        centres = (boxes[:, :2] + boxes[:, 2:]) * 50
        inside = np.all((centres > window[:2]) & (centres < window[2:]), axis=1)
        np.testing.assert_array_equal(keep, inside)
        assert inside.any()
    assert num_cropped > 10


def test_photometric_distortion_stays_in_range_and_is_seeded():
    image = tf.random.stateless_uniform([8, 8, 3], [1, 2], 0, 255)
    outs = [photometric_distort(image, tf.constant([s, 0])) for s in (5, 5, 6)]
    for out in outs:
        assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 255.0
    np.testing.assert_array_equal(outs[0], outs[1])
    assert not np.array_equal(outs[0], outs[2])


@pytest.mark.parametrize(("saturation", "hue_shift"), [(0.6, 0.04), (1.4, -0.05), (3.0, 0.5)])
def test_closed_form_hsv_adjustment_matches_the_hsv_round_trip(saturation, hue_shift):
    image = tf.random.stateless_uniform([16, 16, 3], [3, 4], 0, 255)
    image = tf.concat([image, tf.fill([1, 16, 3], 77.0)], axis=0)  # grey pixels too
    hsv = tf.image.rgb_to_hsv(image / 255.0)
    reference = tf.image.hsv_to_rgb(
        tf.stack(
            [
                tf.math.floormod(hsv[..., 0] + hue_shift, 1.0),
                tf.clip_by_value(hsv[..., 1] * saturation, 0.0, 1.0),
                hsv[..., 2],
            ],
            axis=-1,
        )
    )
    out = adjust_hsv(image, tf.constant(saturation), tf.constant(hue_shift))
    np.testing.assert_allclose(out, reference * 255.0, atol=0.05)


@pytest.mark.parametrize("image_format", ["jpeg", "png"])
def test_encoded_images_give_the_same_result_as_decoded_ones(image_format):
    """Decoding only the crop window (JPEG) or decoding then slicing (PNG) changes nothing.

    Except pixel values at a JPEG window's last column: libjpeg's cropped decode upsamples the
    chroma there without the next column (a few levels, up to 1.5x after contrast).
    """
    decoded = _rectangles_example()
    encode = tf.io.encode_jpeg if image_format == "jpeg" else tf.io.encode_png
    encoded = {key: value for key, value in decoded.items() if key != "image"}
    encoded["image_encoded"] = encode(decoded["image"])
    decoded["image"] = tf.io.decode_image(encoded["image_encoded"], channels=3)
    config = AugmentationConfig()
    for seed in range(6):
        a = augment_for_training(decoded, tf.constant([seed, 9]), SIZE, DEFAULT_MEAN_BGR, config)
        b = augment_for_training(encoded, tf.constant([seed, 9]), SIZE, DEFAULT_MEAN_BGR, config)
        assert set(a) == set(b)
        for key in a:
            atol = 8.0 if key == "image" and image_format == "jpeg" else 0.0
            np.testing.assert_allclose(a[key], b[key], atol=atol, rtol=0, err_msg=key)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("expand_probability", 1.5),
        ("expand_max_ratio", 0.5),
        ("crop_max_rounds", -1),
        ("crop_min_scale", 0.0),
        ("hue_max_delta_degrees", 200.0),
    ],
)
def test_out_of_range_augmentation_fields_are_config_errors_naming_the_field(field, value):
    with pytest.raises(ConfigError, match=f"augmentation.*{field}"):
        config_from_dict({"data": {"augmentation": {field: value}}})
