"""ImageNet weight conversion and loading, on Keras models built with random weights and saved
to temporary files (nothing is downloaded)."""

import keras
import numpy as np
import pytest

import efgrnet_tf
from efgrnet_tf.config import config_from_dict
from efgrnet_tf.modeling.pretrained import decimate, fc_reduced_vgg16_weights

# Loading touches only the backbone; the SSD-baseline variant builds fastest around it.
_SSD = {"feature_enrichment": False, "cascade": False}


def test_decimate_keeps_every_step_th_index_from_zero():
    array = np.arange(7 * 10 * 3).reshape(7, 10, 3)
    result = decimate(array, (3, 4, None))
    assert result.shape == (3, 3, 3)
    for (i, j, c), value in np.ndenumerate(result):
        assert value == array[3 * i, 4 * j, c]
    with pytest.raises(ValueError, match="one step per axis"):
        decimate(array, (3, 4))


def test_fc_reduction_picks_ssd_entries_by_flat_index():
    # Every entry holds its own flat index, so a value says where it was taken from.
    fc1_kernel = np.arange(25088 * 4096, dtype=np.int32).reshape(25088, 4096)
    fc2_kernel = np.arange(4096 * 4096, dtype=np.int32).reshape(4096, 4096)
    fc1_bias, fc2_bias = np.arange(4096) + 1, np.arange(4096) + 2
    rng = np.random.default_rng(0)
    weights = fc_reduced_vgg16_weights(fc1_kernel, fc1_bias, fc2_kernel, fc2_bias)
    fc6_kernel, fc6_bias = weights["fc6"]
    fc7_kernel, fc7_bias = weights["fc7"]
    assert fc6_kernel.shape == (3, 3, 512, 1024) and fc7_kernel.shape == (1, 1, 1024, 1024)
    # Keras flattens pool5 [7, 7, 512] row-major: input unit (h * 7 + w) * 512 + c.
    for i, j, c, o in zip(*(rng.integers(0, n, 200) for n in (3, 3, 512, 1024)), strict=True):
        assert fc6_kernel[i, j, c, o] == fc1_kernel[((3 * i) * 7 + 3 * j) * 512 + c, 4 * o]
    for i, o in zip(*(rng.integers(0, 1024, (2, 200))), strict=True):
        assert fc7_kernel[0, 0, i, o] == fc2_kernel[4 * i, 4 * o]
    np.testing.assert_array_equal(fc6_bias, fc1_bias[0::4])
    np.testing.assert_array_equal(fc7_bias, fc2_bias[0::4])


def test_vgg16_imagenet_file_loads_into_the_fc_reduced_trunk(tmp_path):
    reference = keras.applications.VGG16(include_top=True, weights=None)
    path = str(tmp_path / "vgg16.weights.h5")
    reference.save_weights(path)
    cfg = config_from_dict(
        {"model": {"image_size": 64, "num_classes": 21, "pretrained_backbone": path, **_SSD}}
    )
    model = efgrnet_tf.build_model(cfg)

    for name in ("block1_conv1", "block3_conv3", "block5_conv3"):
        for ours, theirs in zip(
            model.get_layer(name).get_weights(),
            reference.get_layer(name).get_weights(),
            strict=True,
        ):
            np.testing.assert_array_equal(ours, theirs)
    fc1_kernel, fc1_bias = reference.get_layer("fc1").get_weights()
    fc6_kernel, fc6_bias = model.get_layer("fc6").get_weights()
    np.testing.assert_array_equal(fc6_kernel[1, 2, :, 5], fc1_kernel[(3 * 7 + 6) * 512 :][:512, 20])
    np.testing.assert_array_equal(fc6_bias, fc1_bias[::4])

    # Same trunk: our conv4_3 equals Keras's own layers applied to the same 64x64 image.
    images = np.random.default_rng(0).normal(scale=50, size=(1, 64, 64, 3)).astype(np.float32)
    ours = keras.Model(model.input, model.get_layer("block4_conv3").output)(images)
    theirs = images
    for layer in reference.layers[1:]:
        theirs = layer(theirs)
        if layer.name == "block4_conv3":
            break
    assert ours.shape == theirs.shape == (1, 8, 8, 512)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-5 * float(np.max(theirs)))


def test_resnet101_imagenet_file_loads_by_layer_name(tmp_path):
    reference = keras.applications.ResNet101(
        include_top=False, weights=None, input_shape=(64, 64, 3)
    )
    path = str(tmp_path / "resnet101.weights.h5")
    reference.save_weights(path)
    cfg = config_from_dict(
        {
            "model": {
                "backbone": "resnet101",
                "resnet_trunk": "keras_v1",
                "num_classes": 21,
                "image_size": 64,
                "pretrained_backbone": path,
                **_SSD,
            }
        }
    )
    model = efgrnet_tf.build_model(cfg)
    images = np.random.default_rng(0).normal(scale=50, size=(1, 64, 64, 3)).astype(np.float32)
    ours = keras.Model(model.input, model.get_layer("conv5_block3_out").output)(images)
    theirs = reference(images)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-4 * float(np.max(theirs)))


def _torchvision_resnet101_state(seed=0):
    """A torchvision-style `resnet101` state_dict (trunk of the reference + `fc.*`), random."""
    import torch

    from tests.interop.torch_resnet_reference import Extractor

    torch.manual_seed(seed)
    trunk = Extractor()
    for bn in (m for m in trunk.modules() if isinstance(m, torch.nn.BatchNorm2d)):
        torch.nn.init.uniform_(bn.running_var, 0.5, 2.0)
    state = {k: v for k, v in trunk.state_dict().items() if k.startswith(("conv1", "bn1", "layer"))}
    state.update({"fc.weight": torch.randn(1000, 2048), "fc.bias": torch.randn(1000)})
    return state


def _resnet_cfg(path):
    return config_from_dict(
        {
            "model": {
                "backbone": "resnet101",
                "image_size": 64,
                "num_classes": 21,
                "pretrained_backbone": path,
                **_SSD,
            }
        }
    )


def test_torchvision_resnet101_pth_lands_in_the_torchvision_trunk(tmp_path):
    import torch

    state = _torchvision_resnet101_state()
    path = str(tmp_path / "resnet101.pth")
    torch.save(state, path)
    model = efgrnet_tf.build_model(_resnet_cfg(path))
    np.testing.assert_array_equal(
        model.get_layer("layer3_0_conv2").kernel.numpy(),
        np.transpose(state["layer3.0.conv2.weight"].numpy(), (2, 3, 1, 0)),
    )
    np.testing.assert_array_equal(
        model.get_layer("layer4_0_downsample_bn").moving_variance.numpy(),
        state["layer4.0.downsample.1.running_var"].numpy(),
    )
    np.testing.assert_array_equal(model.get_layer("bn1").gamma.numpy(), state["bn1.weight"].numpy())


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda s: s.pop("layer2.1.bn3.running_mean"), "missing key 'layer2.1.bn3.running_mean'"),
        (lambda s: s.update(extra=s["bn1.bias"]), "unexpected key 'extra'"),
        (lambda s: s.update({"conv1.weight": s["conv1.weight"][:32]}), "shape of 'conv1.weight'"),
    ],
)
def test_a_bad_torchvision_file_names_the_key_and_assigns_nothing(tmp_path, edit, message):
    import torch

    state = _torchvision_resnet101_state()
    edit(state)
    path = str(tmp_path / "bad.pth")
    torch.save(state, path)
    with pytest.raises(ValueError, match=f"{path}.*{message}"):
        efgrnet_tf.build_model(_resnet_cfg(path))


def test_ssd_vgg16_reducedfc_pth_lands_in_the_vgg_trunk(tmp_path):
    import torch

    from efgrnet_tf.interop.vgg_keys import SSD_FC_INDICES, SSD_VGG16_INDICES

    channels = [64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512]
    generator = torch.Generator().manual_seed(0)
    state, cin = {}, 3
    for index, cout in zip(SSD_VGG16_INDICES, channels, strict=True):
        state[f"{index}.weight"] = torch.randn(cout, cin, 3, 3, generator=generator)
        state[f"{index}.bias"] = torch.randn(cout, generator=generator)
        cin = cout
    for name, shape in (("fc6", (1024, 512, 3, 3)), ("fc7", (1024, 1024, 1, 1))):
        state[f"{SSD_FC_INDICES[name]}.weight"] = torch.randn(shape, generator=generator)
        state[f"{SSD_FC_INDICES[name]}.bias"] = torch.randn(1024, generator=generator)
    path = str(tmp_path / "vgg16_reducedfc.pth")
    torch.save(state, path)
    cfg = config_from_dict(
        {"model": {"image_size": 64, "num_classes": 21, "pretrained_backbone": path, **_SSD}}
    )
    model = efgrnet_tf.build_model(cfg)
    np.testing.assert_array_equal(
        model.get_layer("block4_conv3").kernel.numpy(),
        np.transpose(state["21.weight"].numpy(), (2, 3, 1, 0)),
    )
    np.testing.assert_array_equal(model.get_layer("fc7").bias.numpy(), state["33.bias"].numpy())
    np.testing.assert_array_equal(
        model.get_layer("fc6").kernel.numpy(),
        np.transpose(state["31.weight"].numpy(), (2, 3, 1, 0)),
    )
