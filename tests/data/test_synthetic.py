"""The synthetic shapes set: fixed by its seed, boxes tight around the drawn pixels."""

import numpy as np
import tensorflow as tf

from efgrnet_tf.data import synthetic
from efgrnet_tf.data.label_maps import SHAPES_CLASS_NAMES

SIZE = 96


_render = tf.function(lambda seed: synthetic.render_shapes_scene(seed, SIZE))


def _scene(seed, index, split="train"):
    scene = _render(synthetic.example_seed(seed, split, index))
    return {key: value.numpy() for key, value in scene.items()}


def test_class_names_are_the_shapes_configs_names():
    assert SHAPES_CLASS_NAMES == ("circle", "rectangle", "triangle", "cross")


def test_same_seed_same_image_and_splits_differ():
    a, b = _scene(0, 3), _scene(0, 3)
    np.testing.assert_array_equal(a["image"], b["image"])
    np.testing.assert_array_equal(a["boxes"], b["boxes"])
    assert not np.array_equal(a["image"], _scene(0, 3, "eval")["image"])
    assert not np.array_equal(a["image"], _scene(1, 3)["image"])


def test_boxes_are_the_tight_boxes_of_each_objects_visible_pixels():
    num_objects = []
    sides = []
    for index in range(12):
        scene = _scene(5, index)
        masks, boxes, image = scene["visible_masks"], scene["boxes"], scene["image"]
        num_objects.append(len(boxes))
        assert len(boxes) <= 10 and set(scene["classes"]) <= {1, 2, 3, 4}
        # The drawn pixels: where the image differs from its background.
        drawn = np.any(image != scene["background"], axis=-1)
        assert not np.any(drawn & ~masks.any(axis=0))
        assert not np.any(masks.sum(axis=0) > 1)  # visible masks are disjoint
        for mask, box, colour in zip(masks, boxes, scene["colours"], strict=True):
            assert np.all(image[mask] == colour)
            ys, xs = np.nonzero(mask)
            tight = np.array([ys.min(), xs.min(), ys.max() + 1, xs.max() + 1]) / SIZE
            np.testing.assert_allclose(box, tight, atol=1e-6)
            sides.append(min(box[2] - box[0], box[3] - box[1]) * SIZE)
    assert max(num_objects) >= 5 and min(num_objects) <= 3
    assert min(sides) < 12 and max(sides) > 40  # tiny and large objects


def test_dataset_elements_are_decoded_examples():
    dataset = synthetic.synthetic_dataset("eval", num_images=3, seed=0, image_size=SIZE)
    examples = list(dataset)
    assert [int(e["image_id"]) for e in examples] == [0, 1, 2]
    first = examples[0]
    assert first["image"].dtype == tf.uint8 and first["image"].shape == (SIZE, SIZE, 3)
    assert first["original_size_hw"].numpy().tolist() == [SIZE, SIZE]
    np.testing.assert_allclose(first["boxes"], _scene(0, 0, "eval")["boxes"], atol=1e-6)
