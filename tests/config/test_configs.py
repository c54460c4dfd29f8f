"""Every experiment YAML in configs/ loads; the loader's errors name the key and the file;
overrides and `base:` chains work."""

import pathlib

import pytest

from efgrnet_tf.config import ConfigError, load_config
from efgrnet_tf.data.label_maps import COCO_CLASS_NAMES, VOC_CLASS_NAMES

CONFIGS = pathlib.Path(__file__).resolve().parents[2] / "configs"
ALL_YAML = sorted(CONFIGS.rglob("*.yaml"))
# The paper's experiments (VOC or COCO from tfds), as opposed to the synthetic-data configs.
PAPER_YAML = [p for p in ALL_YAML if load_config(p).data.source == "tfds"]


def test_the_paper_configs_exist():
    names = {p.relative_to(CONFIGS).as_posix() for p in ALL_YAML}
    assert {
        "voc_vgg16_320.yaml",
        "voc_vgg16_512.yaml",
        "coco_vgg16_320.yaml",
        "coco_vgg16_512.yaml",
        "coco_resnet101_512.yaml",
        "ablations/coco_vgg16_320_ssd.yaml",
        "ablations/coco_vgg16_320_fe.yaml",
        "ablations/coco_vgg16_320_cascade.yaml",
        "ablations/voc_vgg16_320_offsets_dhdw.yaml",
        "ablations/voc_vgg16_320_offsets_all.yaml",
        "ablations/voc_vgg16_320_offsets_features.yaml",
        "ablations/voc_vgg16_320_offsets_dilated.yaml",
    } <= names


@pytest.mark.parametrize("path", ALL_YAML, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_every_config_loads_and_is_named_after_its_file(path):
    cfg = load_config(path)
    assert cfg.name == path.stem
    assert len(cfg.class_names) == cfg.model.num_classes - 1


@pytest.mark.parametrize("path", PAPER_YAML, ids=lambda p: p.relative_to(CONFIGS).as_posix())
def test_voc_and_coco_configs_follow_the_paper_recipe(path):
    cfg = load_config(path)
    if cfg.name.startswith("voc"):
        assert cfg.class_names == VOC_CLASS_NAMES
        assert cfg.data.tfds.train == ("voc/2007:trainval", "voc/2012:trainval")
        assert cfg.data.tfds.eval == "voc/2007:test"
        assert (cfg.train.epochs, cfg.train.lr_boundaries_epochs) == (250, (150.0, 200.0))
        assert cfg.eval.metric == "voc"
    else:
        assert cfg.eval.metric == "coco"
        assert cfg.class_names == COCO_CLASS_NAMES
        assert cfg.data.tfds.train == ("coco/2017:train",)
        assert cfg.data.tfds.eval == "coco/2017:validation"
        assert cfg.train.epochs == 160
        assert cfg.train.lr_boundaries_epochs == (90.0, 110.0, 130.0, 150.0)
        assert cfg.train.lr_values == pytest.approx((2e-3, 4e-4, 4e-5, 4e-6))
        assert cfg.eval.metric == "coco"
    assert cfg.train.global_batch_size == 32
    assert cfg.train.base_learning_rate == pytest.approx(4e-3)
    assert cfg.train.warmup_epochs == 5.0
    assert cfg.train.warmup_start_learning_rate == pytest.approx(1e-6)
    assert cfg.anchors.min_sizes == (30.0, 64.0, 128.0, 256.0)
    if cfg.name.startswith("voc"):
        # The authors' VOC evaluation: 50 per class and no per-image cap.
        assert cfg.postprocess.max_detections == 20 * cfg.postprocess.max_detections_per_class


def test_the_authors_code_config_sets_every_switch_that_differs_from_ours():
    ours = load_config(CONFIGS / "coco_vgg16_320.yaml")
    authors = load_config(CONFIGS / "deviations/coco_vgg16_320_authors_code.yaml")
    switches = {
        "loss.ignore_crowd_boxes": (True, False),
        "loss.filter_negatives_from_all_final_losses": (True, False),
        "loss.negatives_without_positives_scope": ("image", "batch"),
        "postprocess.clip_boxes": (True, False),
        # 50 per class, no per-image cap: 80 x 50.
        "postprocess.max_detections": (100, 4000),
    }
    for key, (our_value, their_value) in switches.items():
        section, field = key.split(".")
        assert getattr(getattr(ours, section), field) == our_value, key
        assert getattr(getattr(authors, section), field) == their_value, key
    assert authors.loss.negatives_for_images_without_positives == 3 * 15
    assert authors.postprocess.max_detections_per_class == 50


def test_ablation_configs_switch_exactly_their_modules():
    full = load_config(CONFIGS / "coco_vgg16_320.yaml")
    expected = {
        "ssd": (False, False),
        "fe": (True, False),
        "cascade": (False, True),
    }
    for suffix, (fe, cascade) in expected.items():
        cfg = load_config(CONFIGS / f"ablations/coco_vgg16_320_{suffix}.yaml")
        assert (cfg.model.feature_enrichment, cfg.model.cascade) == (fe, cascade)
        assert cfg.train == full.train and cfg.data == full.data
    for suffix, source in (("dhdw", "b1_dhdw"), ("all", "b1_all"), ("features", "features"),
                           ("dilated", "none")):  # fmt: skip
        cfg = load_config(CONFIGS / f"ablations/voc_vgg16_320_offsets_{suffix}.yaml")
        assert cfg.model.fgrm_offsets == source


def _write(path, text):
    path.write_text(text)
    return path


def test_unknown_key_is_an_error_naming_key_and_file(tmp_path):
    path = _write(tmp_path / "bad.yaml", "model:\n  num_clases: 21\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml.*model\.num_clases"):
        load_config(path)


def test_wrong_type_is_an_error_naming_key_and_file(tmp_path):
    path = _write(tmp_path / "bad_type.yaml", "model:\n  image_size: big\n")
    with pytest.raises(ConfigError, match=r"bad_type\.yaml.*model\.image_size"):
        load_config(path)


def test_invalid_model_value_is_an_error_naming_the_file(tmp_path):
    path = _write(tmp_path / "bad_value.yaml", "model:\n  image_size: 300\n")
    with pytest.raises(ConfigError, match=r"bad_value\.yaml.*multiple of 64"):
        load_config(path)


def test_overrides_replace_values_and_are_validated():
    path = CONFIGS / "voc_vgg16_320.yaml"
    cfg = load_config(path, ["model.image_size=512", "model.fgrm_offsets=none"])
    assert (cfg.model.image_size, cfg.model.fgrm_offsets) == (512, "none")
    with pytest.raises(ConfigError, match=r"model\.fgrm_offsets"):
        load_config(path, ["model.fgrm_offsets=b2"])


def test_base_chains_merge_sections_and_later_files_win(tmp_path):
    (tmp_path / "sub").mkdir()
    _write(tmp_path / "root.yaml", "name: root\nmodel:\n  num_classes: 5\n  image_size: 128\n")
    _write(tmp_path / "mid.yaml", "base: root.yaml\nname: mid\nmodel:\n  image_size: 256\n")
    leaf = _write(tmp_path / "sub" / "leaf.yaml", "base: ../mid.yaml\nname: leaf\n")
    cfg = load_config(leaf)
    assert (cfg.name, cfg.model.num_classes, cfg.model.image_size) == ("leaf", 5, 256)


def test_unknown_key_in_a_base_file_names_that_file(tmp_path):
    _write(tmp_path / "broken_base.yaml", "train:\n  epochz: 3\n")
    leaf = _write(tmp_path / "leaf.yaml", "base: broken_base.yaml\n")
    with pytest.raises(ConfigError, match=r"broken_base\.yaml.*train\.epochz"):
        load_config(leaf)
