"""The embedded synthetic shapes data set, rendered in the graph from a seed.

Each image is S x S (`data.synthetic.image_size`) with 0-10 objects of four classes
(`SHAPES_CLASS_NAMES`: circle, rectangle, triangle, cross) in solid colours that stand out from
the local background, sizes from ~12 pixels (radius `MIN_RADIUS_PIXELS`) to ~60% of the image,
random rotation (and aspect ratio for rectangles), on a background made of a colour gradient, a
few sinusoidal textures and pixel noise. Image `i` of a split depends only on
`(data.seed, split, i)`, so the data set is fixed by the seed, needs no storage, and any element
can be rendered on its own.

Occlusion rule (what makes the boxes exact): objects are drawn in order, later ones on top.
Going from the top object down, an object is kept only if at least `MIN_VISIBLE_FRACTION` of
its pixels and `MIN_VISIBLE_PIXELS` pixels stay visible under the kept objects above it;
otherwise it is not drawn at all. A kept object's box is the tight box of its *visible* pixels
(pixel i covers [i, i + 1) / S), so every box is tight around pixels of its colour.
"""

from __future__ import annotations

import math

import tensorflow as tf

from efgrnet_tf.data.label_maps import SHAPES_CLASS_NAMES

MAX_OBJECTS = 10
# Object radii are log-uniform in [MIN_RADIUS_PIXELS, MAX_RADIUS_FRACTION * S].
MIN_RADIUS_PIXELS = 6.0
MAX_RADIUS_FRACTION = 0.3
MIN_VISIBLE_FRACTION = 0.85
MIN_VISIBLE_PIXELS = 12
# Background textures and pixel noise: amplitudes drawn up to this many grey levels.
TEXTURE_AMPLITUDE = 21.0
NOISE_AMPLITUDE = 21.0
_SPLIT_SALT = {"train": 0, "eval": 1}


def example_seed(seed: int, split: str, index: tf.Tensor) -> tf.Tensor:
    """int64 `[2]` stateless seed of image `index` of `split` ("train" or "eval")."""
    base = tf.constant([seed, _SPLIT_SALT[split]], tf.int64)
    return tf.random.experimental.stateless_fold_in(base, tf.cast(index, tf.int64))


def render_shapes_scene(seed: tf.Tensor, image_size: int) -> dict[str, tf.Tensor]:
    """Renders one image and everything needed to check its annotations.

    Args:
      seed: int `[2]` stateless seed.
      image_size: side S in pixels.
    Returns:
      `image` uint8 `[S, S, 3]` RGB; `background` uint8 `[S, S, 3]` (the image without
      objects); `boxes` float32 `[n, 4]` yxyx normalised; `classes` int32 `[n]` (1-based, in
      `SHAPES_CLASS_NAMES` order); `colours` uint8 `[n, 3]`; `visible_masks` bool `[n, S, S]`,
      the pixels showing each object (disjoint); n in [0, 10].
    """
    seeds = tf.random.experimental.stateless_split(seed, num=4)
    size = float(image_size)
    background = _render_background(seeds[0], image_size)
    num_objects = tf.random.stateless_uniform([], seeds[1], 0, MAX_OBJECTS + 1, dtype=tf.int32)
    params = _sample_objects(seeds[2], image_size)
    all_masks = tf.map_fn(
        lambda object_params: _shape_mask(object_params, image_size),
        params,
        fn_output_signature=tf.TensorSpec([image_size, image_size], tf.bool),
    )
    masks = [all_masks[k] & (k < num_objects) for k in range(MAX_OBJECTS)]

    covered = tf.zeros([image_size, image_size], tf.bool)
    kept, visible = [None] * MAX_OBJECTS, [None] * MAX_OBJECTS
    for k in reversed(range(MAX_OBJECTS)):
        area = tf.reduce_sum(tf.cast(masks[k], tf.float32))
        visible_k = masks[k] & ~covered
        visible_area = tf.reduce_sum(tf.cast(visible_k, tf.float32))
        kept[k] = (visible_area >= MIN_VISIBLE_FRACTION * area) & (
            visible_area >= MIN_VISIBLE_PIXELS
        )
        visible[k] = visible_k & kept[k]
        covered |= masks[k] & kept[k]

    colours = _contrasting_colours(params["colour"], params["centre_yx"], background, size)
    # Which object shows at each pixel (MAX_OBJECTS = background); visible masks are disjoint.
    owner = tf.fill([image_size, image_size], MAX_OBJECTS)
    for k in range(MAX_OBJECTS):
        owner = tf.where(visible[k], k, owner)
    palette = tf.concat([colours, tf.zeros([1, 3])], axis=0)
    image = tf.where((owner < MAX_OBJECTS)[..., None], tf.gather(palette, owner), background)

    kept_index = tf.reshape(tf.where(tf.stack(kept)), [-1])
    visible_masks = tf.gather(tf.stack(visible), kept_index)
    return {
        "image": tf.cast(tf.round(image), tf.uint8),
        "background": tf.cast(tf.round(background), tf.uint8),
        "boxes": _tight_boxes(visible_masks, image_size),
        "classes": tf.gather(params["class"], kept_index) + 1,
        "colours": tf.cast(tf.gather(colours, kept_index), tf.uint8),
        "visible_masks": visible_masks,
    }


def render_shapes_example(seed: tf.Tensor, image_id: tf.Tensor, image_size: int) -> dict:
    """A decoded example (`records`) of the synthetic set; no object is difficult or crowd."""
    scene = render_shapes_scene(seed, image_size)
    num_boxes = tf.shape(scene["classes"])[0]
    return {
        "image": scene["image"],
        "boxes": scene["boxes"],
        "classes": scene["classes"],
        "is_difficult": tf.zeros([num_boxes], tf.bool),
        "is_crowd": tf.zeros([num_boxes], tf.bool),
        "image_id": tf.cast(image_id, tf.int64),
        "original_size_hw": tf.constant([image_size, image_size], tf.int32),
    }


def synthetic_dataset(split: str, num_images: int, seed: int, image_size: int):
    """Decoded examples 0..num_images-1 of `split` ("train" or "eval"), in index order."""

    def render(index):
        return render_shapes_example(example_seed(seed, split, index), index, image_size)

    dataset = tf.data.Dataset.range(num_images)
    return dataset.map(render, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)


def _render_background(seed: tf.Tensor, image_size: int) -> tf.Tensor:
    """float32 `[S, S, 3]` in [0, 255]: gradient + 3 sinusoidal textures + pixel noise."""
    seeds = tf.random.experimental.stateless_split(seed, num=8)
    size = float(image_size)
    y = (tf.range(image_size, dtype=tf.float32) + 0.5)[:, None, None] / size
    x = (tf.range(image_size, dtype=tf.float32) + 0.5)[None, :, None] / size
    start, end = tf.unstack(tf.random.stateless_uniform([2, 3], seeds[0], 0.0, 255.0))
    angle = tf.random.stateless_uniform([], seeds[1], 0.0, 2.0 * math.pi)
    t = (tf.cos(angle) * (x - 0.5) + tf.sin(angle) * (y - 0.5)) / math.sqrt(2.0) + 0.5
    image = start + (end - start) * t
    num_textures = 3
    frequency = tf.random.stateless_uniform([num_textures], seeds[2], 1.0, 16.0) * 2.0 * math.pi
    direction = tf.random.stateless_uniform([num_textures], seeds[3], 0.0, math.pi)
    phase = tf.random.stateless_uniform([num_textures], seeds[4], 0.0, 2.0 * math.pi)
    amplitude = tf.random.stateless_uniform(
        [num_textures, 3], seeds[5], -TEXTURE_AMPLITUDE, TEXTURE_AMPLITUDE
    )
    for i in range(num_textures):
        # sin(a x + b y + p) = sin(a x) cos(b y + p) + cos(a x) sin(b y + p): two outer products.
        a = frequency[i] * tf.cos(direction[i])
        b = frequency[i] * tf.sin(direction[i])
        wave = tf.sin(a * x) * tf.cos(b * y + phase[i]) + tf.cos(a * x) * tf.sin(b * y + phase[i])
        image += amplitude[i] * wave
    # Grey (luminance) noise: one draw per pixel, shared by the channels.
    noise_amplitude = tf.random.stateless_uniform([], seeds[6], 0.0, NOISE_AMPLITUDE)
    image += noise_amplitude * tf.random.stateless_uniform(
        [image_size, image_size, 1], seeds[7], -1.0, 1.0
    )
    return tf.clip_by_value(image, 0.0, 255.0)


def _sample_objects(seed: tf.Tensor, image_size: int) -> dict[str, tf.Tensor]:
    """Per-object parameters for `MAX_OBJECTS` candidates, in pixels and radians."""
    seeds = tf.random.experimental.stateless_split(seed, num=7)
    k = MAX_OBJECTS
    size = float(image_size)
    log_radius = tf.random.stateless_uniform(
        [k], seeds[0], math.log(MIN_RADIUS_PIXELS), math.log(MAX_RADIUS_FRACTION * size)
    )
    return {
        "class": tf.random.stateless_uniform(
            [k], seeds[1], 0, len(SHAPES_CLASS_NAMES), dtype=tf.int32
        ),
        "radius": tf.exp(log_radius),
        "centre_yx": tf.random.stateless_uniform([k, 2], seeds[2], 0.05 * size, 0.95 * size),
        "angle": tf.random.stateless_uniform([k], seeds[3], 0.0, math.pi),
        "aspect": tf.exp(tf.random.stateless_uniform([k], seeds[4], -math.log(2.0), math.log(2.0))),
        "thickness": tf.random.stateless_uniform([k], seeds[5], 0.2, 0.4),
        "colour": tf.random.stateless_uniform([k, 3], seeds[6], 0.0, 255.0),
    }


def _shape_mask(params: dict[str, tf.Tensor], image_size: int) -> tf.Tensor:
    """bool `[S, S]`: pixels whose centre lies inside one object (`params` of one object).

    The shape is evaluated only on the window that can contain it (every shape lies within
    1.6 radii of its centre), then padded to the image.
    """
    r = params["radius"]
    cy, cx = params["centre_yx"][0], params["centre_yx"][1]
    reach = 1.6 * r + 1.0
    y0 = tf.cast(tf.clip_by_value(tf.floor(cy - reach), 0.0, image_size), tf.int32)
    y1 = tf.cast(tf.clip_by_value(tf.math.ceil(cy + reach), 0.0, image_size), tf.int32)
    x0 = tf.cast(tf.clip_by_value(tf.floor(cx - reach), 0.0, image_size), tf.int32)
    x1 = tf.cast(tf.clip_by_value(tf.math.ceil(cx + reach), 0.0, image_size), tf.int32)
    y = (tf.cast(tf.range(y0, y1), tf.float32) + 0.5 - cy)[:, None]
    x = (tf.cast(tf.range(x0, x1), tf.float32) + 0.5 - cx)[None, :]
    cos, sin = tf.cos(params["angle"]), tf.sin(params["angle"])
    u = cos * x + sin * y
    v = -sin * x + cos * y
    au, av = tf.abs(u), tf.abs(v)

    circle = u * u + v * v <= r * r
    rectangle = (au <= r * tf.sqrt(params["aspect"])) & (av <= r / tf.sqrt(params["aspect"]))
    # Equilateral triangle, circumradius r: inside all three edges at distance r/2.
    triangle = tf.ones_like(circle)
    for j in range(3):
        normal = math.pi / 2.0 + 2.0 * math.pi * j / 3.0
        triangle &= u * math.cos(normal) + v * math.sin(normal) <= r / 2.0
    w = r * params["thickness"]
    cross = ((au <= r) & (av <= w)) | ((au <= w) & (av <= r))

    window = tf.gather(tf.stack([circle, rectangle, triangle, cross]), params["class"])
    padded = tf.pad(tf.cast(window, tf.uint8), [[y0, image_size - y1], [x0, image_size - x1]])
    return tf.cast(padded, tf.bool)


def _contrasting_colours(colours, centres_yx, background, size: float) -> tf.Tensor:
    """Replaces colours too close to the background at the object centre by a contrasting one."""
    index = tf.clip_by_value(tf.cast(centres_yx, tf.int32), 0, int(size) - 1)
    local = tf.gather_nd(background, index)  # [k, 3]
    too_close = tf.reduce_sum(tf.abs(colours - local), axis=-1, keepdims=True) < 150.0
    contrast = tf.where(local < 128.0, local + 110.0, local - 110.0)
    return tf.round(tf.where(too_close, contrast, colours))


def _tight_boxes(masks: tf.Tensor, image_size: int) -> tf.Tensor:
    """float32 `[n, 4]` yxyx normalised tight boxes of non-empty bool masks `[n, S, S]`."""
    size = float(image_size)

    def extent(any_along: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        first = tf.argmax(tf.cast(any_along, tf.int32), axis=-1)
        last = image_size - 1 - tf.argmax(tf.cast(tf.reverse(any_along, [-1]), tf.int32), axis=-1)
        return tf.cast(first, tf.float32) / size, tf.cast(last + 1, tf.float32) / size

    ymin, ymax = extent(tf.reduce_any(masks, axis=2))
    xmin, xmax = extent(tf.reduce_any(masks, axis=1))
    return tf.reshape(tf.stack([ymin, xmin, ymax, xmax], axis=-1), [-1, 4])
