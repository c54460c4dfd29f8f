"""The authors' VGG16 EFGRNet, saved by PyTorch in every way their checkpoints come, imports into
a model that computes their function: a float32 PyTorch reference with their state_dict keys,
random weights and BatchNorm statistics, compared output by output in inference mode.

320x320, batch 1, 5 classes; one reference forward for all formats (the weights are the same).
"""

import numpy as np
import pytest
import torch

import efgrnet_tf
from efgrnet_tf.config import config_from_dict
from efgrnet_tf.training.import_pytorch import load_torch_checkpoint
from tests.interop.torch_reference_modules import (
    OUTPUTS,
    randomize,
    refine_and_predict,
    swap_dy_dx,
)
from tests.interop.torch_vgg_reference import VGGEFGRNet

IMAGE_SIZE = 320
NUM_CLASSES = 5
# max |ours - theirs| / max |theirs|: measured 3e-5 (B1, C1) and 1e-4 to 3e-4 (B2, C2), float32
# on both sides; a swapped (dy, dx) or zeroed FGRM offsets give 0.79 to 0.99.
TOLERANCE = 2e-3
FINAL_OUTPUTS = ("box_deltas", "class_logits")
# (file name, torch's legacy format of PyTorch < 1.6, DataParallel's `module.`, the authors'
# training-checkpoint dict): each choice both ways.
FORMATS = (
    ("zip_bare.pth", False, False, False),
    ("zip_module_training.pth", False, True, True),
    ("legacy_module_bare.pth", True, True, False),
    ("legacy_training.pth", True, False, True),
)


@pytest.fixture(scope="module")
def reference():
    """(torch network, NCHW images, its outputs, its extractor's four sources), the network with
    random weights and BN statistics."""
    torch.manual_seed(0)
    network = VGGEFGRNet(NUM_CLASSES)
    generator = torch.Generator().manual_seed(1)
    images = 50.0 * torch.randn(1, 3, IMAGE_SIZE, IMAGE_SIZE, generator=generator)
    randomize(network, images, offset_bn_scale=3.0, offset_bn_shift=2.0, objectness_logit_scale=0.2)
    with torch.no_grad():
        return network, images, network(images), network.extractor(images)


@pytest.fixture(scope="module")
def torch_files(reference, tmp_path_factory):
    """`{file name: path}`: the reference's weights saved in each of `FORMATS`."""
    folder = tmp_path_factory.mktemp("torch_files")
    state = reference[0].state_dict()
    paths = {}
    for name, legacy, module_prefix, training in FORMATS:
        saved = {("module." if module_prefix else "") + k: v for k, v in state.items()}
        if training:
            optimizer = torch.optim.SGD(reference[0].parameters(), lr=4e-3, momentum=0.9)
            saved = {
                "epoch": 160,
                "size": "320",
                "batch_size": 32,
                "model": saved,
                "optimizer": optimizer.state_dict(),
            }
        paths[name] = str(folder / name)
        torch.save(saved, paths[name], _use_new_zipfile_serialization=not legacy)
    return paths


@pytest.fixture(scope="module")
def model_and_cfg():
    cfg = config_from_dict(
        {"name": "vgg_reference", "model": {"image_size": IMAGE_SIZE, "num_classes": NUM_CLASSES}}
    )
    return efgrnet_tf.build_model(cfg), cfg


@pytest.fixture(scope="module")
def ours(reference, model_and_cfg, torch_files):
    """`{file name: our model's outputs}` after importing that file into a zeroed model."""
    model, cfg = model_and_cfg
    images = np.transpose(reference[1].numpy(), (0, 2, 3, 1))
    outputs = {}
    for name, path in torch_files.items():
        for variable in model.weights:
            variable.assign(np.zeros(variable.shape, variable.dtype))
        load_torch_checkpoint(model, cfg, path)
        outputs[name] = {k: np.asarray(v) for k, v in model(images, training=False).items()}
    return outputs


def _relative_errors(ours, theirs, names=OUTPUTS):
    return {
        k: float(np.max(np.abs(ours[k] - theirs[k].numpy())) / np.max(np.abs(theirs[k].numpy())))
        for k in names
    }


def test_the_reference_exercises_the_objectness_map_and_the_offsets(reference):
    objectness, offsets = reference[2]["objectness_map"], reference[2]["offsets"]
    assert float(objectness.min()) < 0.1 and float(objectness.max()) > 0.95
    assert float(((objectness > 0.1) & (objectness < 0.9)).float().mean()) > 0.3
    assert float(offsets.mean()) > 2.0 and float((offsets > 1.0).float().mean()) > 0.5


@pytest.mark.parametrize("name", [f[0] for f in FORMATS])
def test_every_torch_format_imports_the_authors_function(name, ours, reference):
    errors = _relative_errors(ours[name], reference[2])
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize(
    "mutation", [swap_dy_dx, torch.zeros_like], ids=["swapped_dy_dx", "zeroed_offsets"]
)
def test_wrong_fgrm_offsets_fail_the_tolerance(mutation, ours, reference):
    network, _, _, sources = reference
    with torch.no_grad():
        mutated = refine_and_predict(network, sources, offset_mutation=mutation)
    errors = _relative_errors(ours[FORMATS[0][0]], mutated, FINAL_OUTPUTS)
    assert min(errors.values()) > 50 * TOLERANCE, errors


def test_the_feature_enrichment_only_network_imports_the_authors_function(tmp_path):
    """Their `MODEL.REFINE` off: `arm_loc`/`arm_conf` are our single-stage heads (at 128x128)."""
    torch.manual_seed(0)
    network = VGGEFGRNet(NUM_CLASSES, refine=False)
    images = 50.0 * torch.randn(1, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    randomize(network, images)
    with torch.no_grad():
        theirs = network(images)
    path = str(tmp_path / "feature_enrichment_only.pth")
    torch.save(network.state_dict(), path)
    cfg = config_from_dict(
        {
            "name": "vgg_fe_reference",
            "model": {"image_size": 128, "num_classes": NUM_CLASSES, "cascade": False},
        }
    )
    model = efgrnet_tf.build_model(cfg)
    load_torch_checkpoint(model, cfg, path)
    outputs = model(np.transpose(images.numpy(), (0, 2, 3, 1)), training=False)
    errors = _relative_errors({k: np.asarray(v) for k, v in outputs.items()}, theirs, FINAL_OUTPUTS)
    assert max(errors.values()) < TOLERANCE, errors
