"""`import_torch_checkpoint` / `efgrnet-import-pytorch`: every tensor of the authors' VGG16
state_dict accounted for, every problem named in one error, nothing half-imported, only networks
the authors' code defines, and a run folder in the format training writes.

Models are built at 64x64 (variables do not depend on the input size); the state_dicts come from
the torch reference with torch's default initialisation.
"""

import io
import sys

import numpy as np
import pytest
import tensorflow as tf
import torch

import efgrnet_tf
from efgrnet_tf.config import config_from_dict, load_config
from efgrnet_tf.interop.torch_files import MissingPyTorchError, StateDictError, read_state_dict
from efgrnet_tf.interop.torch_modules import UnsupportedVariantError
from efgrnet_tf.interop.vgg_keys import vgg_key_map
from efgrnet_tf.modeling.checkpoint_io import restore_model_weights
from efgrnet_tf.training.import_pytorch import import_torch_checkpoint, load_torch_checkpoint
from tests.cli.test_cli_conventions import assert_one_line_error, run_script
from tests.interop.key_map_asserts import assert_maps_one_to_one
from tests.interop.torch_resnet_reference import ResNetEFGRNet
from tests.interop.torch_vgg_reference import VGGEFGRNet

COCO_CLASSES = 81
VOC_CLASSES = 21


def _cfg(**model):
    return config_from_dict(
        {"name": "coco_like", "model": {"image_size": 64, "num_classes": COCO_CLASSES, **model}}
    )


def _state(network):
    return {
        k: v.numpy()
        for k, v in network.state_dict().items()
        if not k.endswith("num_batches_tracked")
    }


@pytest.fixture(scope="module")
def coco_network():
    torch.manual_seed(0)
    return VGGEFGRNet(COCO_CLASSES)


@pytest.fixture(scope="module")
def coco_model_and_cfg():
    cfg = _cfg()
    return efgrnet_tf.build_model(cfg), cfg


def _save(state, path):
    torch.save({k: torch.as_tensor(v) for k, v in state.items()}, path)
    return str(path)


def _weights(model):
    return [np.array(v) for v in model.weights]


@pytest.mark.parametrize(
    ("refine", "model", "num_tensors"),
    [(True, {}, 210), (False, {"cascade": False}, 154)],
    ids=["efgrnet", "feature_enrichment_only"],
)
def test_every_authors_tensor_maps_to_one_variable_of_the_same_shape(refine, model, num_tensors):
    cfg = _cfg(**model)
    ours = efgrnet_tf.build_model(cfg)
    state = _state(VGGEFGRNet(COCO_CLASSES, refine=refine))
    assert len(state) == num_tensors
    assert_maps_one_to_one(vgg_key_map(ours, cfg), state, ours)


def test_missing_unexpected_and_misshapen_keys_are_named_in_one_error(
    coco_network, coco_model_and_cfg, tmp_path
):
    model, cfg = coco_model_and_cfg
    state = _state(coco_network)
    del state["extractor.Norm3.bn.running_var"]
    state["extractor.Norm5.conv.weight"] = state["extractor.Norm4.conv.weight"]
    state["dcn_convs.2.weight"] = state["dcn_convs.2.weight"][:128]
    path = _save(state, tmp_path / "edited.pth")
    before = _weights(model)
    with pytest.raises(StateDictError) as error:
        load_torch_checkpoint(model, cfg, path)
    message = str(error.value)
    for fragment in (
        path,
        "config 'coco_like'",
        "3 differences",
        "missing key 'extractor.Norm3.bn.running_var'",
        "unexpected key 'extractor.Norm5.conv.weight'",
        "shape of 'dcn_convs.2.weight': (128, 256, 3, 3) does not fit",
    ):
        assert fragment in message
    for old, new in zip(before, _weights(model), strict=True):
        np.testing.assert_array_equal(old, new)


def test_a_voc_file_into_a_coco_config_names_every_class_head_tensor(coco_model_and_cfg, tmp_path):
    model, cfg = coco_model_and_cfg
    path = _save(_state(VGGEFGRNet(VOC_CLASSES)), tmp_path / "voc.pth")
    with pytest.raises(StateDictError, match="8 differences") as error:
        load_torch_checkpoint(model, cfg, path)
    for level in range(4):
        assert f"shape of 'odm_conf.{level}.weight': ({3 * VOC_CLASSES}, 256, 3, 3)" in str(
            error.value
        )
        assert f"shape of 'odm_conf.{level}.bias': ({3 * VOC_CLASSES},)" in str(error.value)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"model": {"fgrm_offsets": "b1_dhdw"}}, "model.fgrm_offsets"),
        ({"model": {"fgrm_offset_bn_relu": False}}, "model.fgrm_offset_bn_relu"),
        ({"model": {"vgg_batch_norm": True}}, "model.vgg_batch_norm"),
        ({"model": {"input_scale": 0.5}}, "model.input_scale"),
        ({"model": {"feature_enrichment": False}}, "model.feature_enrichment"),
        ({"model": {"fgrm_dilations": [2, 2, 2, 2]}}, "model.fgrm_dilations"),
        ({"anchors": {"min_sizes": [20.0, 64.0, 128.0, 256.0]}}, "anchors.min_sizes"),
    ],
)
def test_a_network_the_authors_never_defined_is_refused_naming_the_field(
    overrides, field, tmp_path
):
    raw = {"name": "variant", "model": {"image_size": 64, "num_classes": COCO_CLASSES}}
    for section, values in overrides.items():
        raw.setdefault(section, {}).update(values)
    path = tmp_path / "any.pth"
    path.write_bytes(b"")
    with pytest.raises(UnsupportedVariantError, match=f"{field}=.*need") as error:
        import_torch_checkpoint(config_from_dict(raw), str(path), str(tmp_path / "out"))
    assert "config 'variant'" in str(error.value)
    assert not (tmp_path / "out").exists()


def test_a_file_that_needs_code_to_load_is_refused_in_one_line(coco_model_and_cfg, tmp_path):
    model, cfg = coco_model_and_cfg
    path = str(tmp_path / "pickled_numpy.pth")
    torch.save({"model": {"arm_loc.0.bias": torch.zeros(12)}, "anchors": np.zeros(3)}, path)
    with pytest.raises(StateDictError, match="Unsupported global") as error:
        load_torch_checkpoint(model, cfg, path)
    assert path in str(error.value) and "\n" not in str(error.value)


def test_a_legacy_file_of_cuda_tensors_as_the_authors_saved_it_reads_on_a_cpu(tmp_path):
    # PyTorch 0.4.1 under torch.set_default_tensor_type('torch.cuda.FloatTensor') (the authors'
    # train_coco.py) pickles each storage as `torch.cuda.FloatStorage` at location "cuda:0";
    # this rewrites a CPU legacy file into that form (the same opcodes, other names).
    saved = io.BytesIO()
    values = torch.arange(6.0).reshape(2, 3)
    torch.save(
        {"model": {"module.odm_conf.0.bias": values}, "epoch": 250},
        saved,
        _use_new_zipfile_serialization=False,
    )
    data = saved.getvalue()
    assert data.count(b"ctorch\nFloatStorage\n") == 1 and data.count(b"X\x03\0\0\0cpu") == 1
    data = data.replace(b"ctorch\nFloatStorage\n", b"ctorch.cuda\nFloatStorage\n")
    path = tmp_path / "cuda_legacy.pth"
    path.write_bytes(data.replace(b"X\x03\0\0\0cpu", b"X\x06\0\0\0cuda:0"))
    state = read_state_dict(str(path))
    assert list(state) == ["odm_conf.0.bias"]
    np.testing.assert_array_equal(state["odm_conf.0.bias"], values.numpy())


def test_reading_a_pth_without_pytorch_is_a_user_error_saying_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` raises ImportError
    with pytest.raises(MissingPyTorchError, match=r"'authors.pth' needs PyTorch: pip install"):
        read_state_dict("authors.pth")


def test_a_non_empty_output_dir_is_refused(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "notes.txt").write_text("keep")
    with pytest.raises(FileExistsError, match="not empty"):
        import_torch_checkpoint(_cfg(), str(tmp_path / "any.pth"), str(tmp_path / "out"))


def test_the_import_is_a_training_run_folder_that_restores_the_authors_tensors(
    coco_network, tmp_path
):
    state = _state(coco_network)
    path = _save(state, tmp_path / "authors.pth")
    output_dir = tmp_path / "run"
    cfg = _cfg(pretrained_backbone="/weights/vgg16_reducedfc.pth")
    checkpoint = import_torch_checkpoint(cfg, path, str(output_dir))

    assert checkpoint == str(output_dir / "ckpt-0")
    saved = load_config(output_dir / "config.yaml")
    assert saved.model.pretrained_backbone == ""
    assert saved.model == _cfg().model
    names = {name.split("/")[0] for name, _ in tf.train.list_variables(checkpoint)}
    assert {"model_weights", "optimizer", "step", "epoch"} <= names
    model = efgrnet_tf.build_model(saved)
    restore_model_weights(model, str(output_dir))
    np.testing.assert_array_equal(
        model.get_layer("block1_conv1").kernel.numpy(),
        np.transpose(state["extractor.vgg.0.weight"], (2, 3, 1, 0)),
    )
    np.testing.assert_array_equal(
        model.get_layer("fgrm3").bn.moving_variance.numpy(), state["bn_layers.2.running_var"]
    )
    np.testing.assert_array_equal(
        model.get_layer("class_head4").predict.bias.numpy(), state["odm_conf.3.bias"]
    )


def test_a_resnet_checkpoint_imports_through_the_same_path(tmp_path):
    torch.manual_seed(0)
    state = _state(ResNetEFGRNet(COCO_CLASSES))
    path = _save(state, tmp_path / "resnet.pth")
    cfg = _cfg(backbone="resnet101")
    model = efgrnet_tf.build_model(cfg)
    load_torch_checkpoint(model, cfg, path)
    np.testing.assert_array_equal(
        model.get_layer("smooth1").kernel.numpy(),
        np.transpose(state["extractor.smooth1.weight"], (2, 3, 1, 0)),
    )
    np.testing.assert_array_equal(
        model.get_layer("class_head4").predict.bias.numpy(), state["odm_conf.3.1.bias"]
    )


def test_the_cli_reports_a_voc_file_into_a_coco_config_in_one_line(tmp_path):
    config = tmp_path / "coco_like.yaml"
    config.write_text(f"name: coco_like\nmodel:\n  image_size: 64\n  num_classes: {COCO_CLASSES}\n")
    path = _save(_state(VGGEFGRNet(VOC_CLASSES)), tmp_path / "voc.pth")
    result = run_script(
        "import_pytorch",
        f"--config={config}",
        f"--torch_checkpoint={path}",
        f"--output_dir={tmp_path / 'out'}",
    )
    assert_one_line_error(result, path, "8 differences", "odm_conf.3.bias")
    assert not (tmp_path / "out").exists()
