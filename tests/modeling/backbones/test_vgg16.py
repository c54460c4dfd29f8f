"""VGG16 trunk + extras: source strides and channels, pool3 rounding, optional BN."""

import keras
import numpy as np

from efgrnet_tf.modeling.backbones.vgg16 import vgg16_features


def _features_model(size, **kwargs):
    images = keras.Input((size, size, 3))
    return keras.Model(images, vgg16_features(images, **kwargs))


def test_sources_have_strides_8_to_64_and_the_paper_channels():
    model = _features_model(128, width_multiplier=0.25)
    shapes = {name: tuple(t.shape[1:]) for name, t in model.output.items()}
    assert shapes == {
        "conv4_3": (16, 16, 128),
        "fc7": (8, 8, 256),
        "conv8_2": (4, 4, 64),
        "conv9_2": (2, 2, 64),
    }
    fc6 = model.get_layer("fc6")
    assert fc6.dilation_rate == (6, 6) and fc6.kernel_size == (3, 3) and fc6.use_bias
    assert model.get_layer("fc7").kernel_size == (1, 1)
    pool5 = model.get_layer("pool5")
    assert pool5.pool_size == (3, 3) and pool5.strides == (1, 1)


def test_pool3_rounds_up_like_ceil_mode():
    # 36 → 18 → 9 → pool3 gives ceil(9 / 2) = 5 (floor mode would give 4).
    model = _features_model(36, width_multiplier=0.125)
    assert model.output["conv4_3"].shape[1:3] == (5, 5)


def test_vgg_batch_norm_switch_adds_bn_after_every_trunk_conv():
    plain = _features_model(64, width_multiplier=0.125)
    with_bn = _features_model(64, width_multiplier=0.125, vgg_batch_norm=True)
    plain_names = {layer.name for layer in plain.layers}
    bn_names = {layer.name for layer in with_bn.layers if layer.name.endswith("_bn")}
    assert "block1_conv1_bn" in bn_names and "fc7_bn" in bn_names and len(bn_names) == 15
    assert not any(name.endswith("_bn") for name in plain_names)
    assert not with_bn.get_layer("block1_conv1").use_bias
    x = np.random.default_rng(0).normal(size=(2, 64, 64, 3)).astype(np.float32)
    assert np.all(np.isfinite(with_bn(x, training=True)["conv9_2"]))
