"""docs/custom_data.md, run as written: its configs and commands, on small data sets written here.

The configs and commands are read from the markdown itself, so the page and this test cannot
drift apart. Only the model and schedule are shrunk (`TINY_RUN`, merged into each config: 64x64
images, 1/8 width, 4 steps). The fine-tuning command runs last, from the VOC run of this test
standing in for the COCO model the page names (same network, another class count).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys

import numpy as np
import pytest
import yaml
from PIL import Image

pytestmark = pytest.mark.slow

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(REPO_ROOT, "docs", "custom_data.md")
TINY_RUN = {
    "model": {"image_size": 64, "width_multiplier": 0.125},
    "train": {
        "global_batch_size": 4,
        "epochs": 2,
        "warmup_epochs": 0,
        "lr_boundaries_epochs": [1.0, 1.5],
        "eval_every_epochs": 2,
        "log_every_steps": 1,
    },
    "eval": {"batch_size": 4},
}
# Listed out of id order, with gaps: training numbers them car=1, dog=2, kite=3.
COCO_CATEGORIES = [{"id": 11, "name": "kite"}, {"id": 3, "name": "car"}, {"id": 7, "name": "dog"}]
FINE_TUNING = "--init_checkpoint"


def doc_blocks(language: str) -> list[str]:
    """The fenced code blocks of docs/custom_data.md in `language`, in page order."""
    with open(DOC, encoding="utf-8") as f:
        text = f.read()
    return re.findall(rf"^```{language}\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def doc_configs() -> dict[str, str]:
    """`{file name: YAML text}` of the config blocks, named by their first line `# NAME`."""
    return {block.splitlines()[0].lstrip("# ").strip(): block for block in doc_blocks("yaml")}


def doc_commands(config_name: str) -> list[str]:
    """The shell commands of the page that use `config_name`, in page order."""
    lines = [line for block in doc_blocks("sh") for line in block.splitlines()]
    return [line for line in lines if f"--config {config_name} " in line]


def merged(base: dict, extra: dict) -> dict:
    out = dict(base)
    for key, value in extra.items():
        both_dicts = isinstance(value, dict) and isinstance(out.get(key), dict)
        out[key] = merged(out[key], value) if both_dicts else value
    return out


def write_image(path, rng, box_yxyx_px) -> None:
    """A 48x64 noise image with a bright rectangle at the box."""
    pixels = rng.integers(0, 80, (48, 64, 3), dtype=np.uint8)
    ymin, xmin, ymax, xmax = box_yxyx_px
    pixels[ymin:ymax, xmin:xmax] = 230
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)


def write_coco_data(root, rng) -> None:
    for split, count in (("train", 8), ("val", 4)):
        images, annotations = [], []
        for i in range(count):
            name = f"{split}_{i}.jpg"
            box = (8 + i, 10, 36, 40 + i)
            write_image(root / "my_data" / "images" / split / name, rng, box)
            images.append({"id": i + 1, "file_name": name, "height": 48, "width": 64})
            annotations.append(
                {
                    "id": i + 1,
                    "image_id": i + 1,
                    "category_id": COCO_CATEGORIES[i % 3]["id"],
                    "bbox": [box[1], box[0], box[3] - box[1], box[2] - box[0]],
                    "area": float((box[3] - box[1]) * (box[2] - box[0])),
                    "iscrowd": 0,
                }
            )
        path = root / "my_data" / "annotations" / f"instances_{split}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        categories = COCO_CATEGORIES
        path.write_text(
            json.dumps({"images": images, "annotations": annotations, "categories": categories})
        )


def write_voc_data(root, rng) -> None:
    for split, image_set, count in (("train", "trainval", 8), ("test", "test", 3)):
        folder = root / "my_voc" / split
        names = []
        for i in range(count):
            name = f"{split}{i:03d}"
            box = (6 + i, 8, 30, 44)
            write_image(folder / "JPEGImages" / f"{name}.jpg", rng, box)
            obj = ("Cat", "dog")[i % 2]
            (folder / "Annotations").mkdir(parents=True, exist_ok=True)
            (folder / "Annotations" / f"{name}.xml").write_text(
                f"<annotation><filename>{name}.jpg</filename><size><width>64</width>"
                "<height>48</height><depth>3</depth></size><object>"
                f"<name>{obj}</name><difficult>0</difficult><bndbox><xmin>{box[1] + 1}</xmin>"
                f"<ymin>{box[0] + 1}</ymin><xmax>{box[3]}</xmax><ymax>{box[2]}</ymax></bndbox>"
                "</object></annotation>"
            )
            names.append(name)
        (folder / "ImageSets" / "Main").mkdir(parents=True)
        (folder / "ImageSets" / "Main" / f"{image_set}.txt").write_text("\n".join(names) + "\n")


def run_doc_command(command: str, cwd) -> subprocess.CompletedProcess:
    """One command of the page in a fresh process, the tools found where pip installs them."""
    env = dict(os.environ, PYTHONPATH=REPO_ROOT, TF_CPP_MIN_LOG_LEVEL="2")
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        shlex.split(command), cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{command}\n{result.stderr[-4000:]}"
    assert "Traceback" not in result.stderr
    return result


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder with both data sets and the page's configs (shrunk by `TINY_RUN`)."""
    root = tmp_path_factory.mktemp("custom_data")
    rng = np.random.default_rng(0)
    write_coco_data(root, rng)
    write_voc_data(root, rng)
    for name, text in doc_configs().items():
        (root / name).write_text(yaml.safe_dump(merged(yaml.safe_load(text), TINY_RUN)))
    return root


def test_the_page_has_the_configs_and_commands_this_test_runs():
    assert set(doc_configs()) == {"my_coco.yaml", "my_voc.yaml"}
    commands = [c for block in doc_blocks("sh") for c in block.splitlines() if c.strip()]
    assert all(c.startswith("efgrnet-") for c in commands), commands
    # Every command uses one of the two configs, except predict, which reads the export.
    tools = [c.split()[0] for c in doc_commands("my_coco.yaml")]
    assert tools == [
        "efgrnet-train",
        "efgrnet-evaluate",
        "efgrnet-export",
        "efgrnet-evaluate",
        "efgrnet-train",
    ]
    assert [c for c in commands if FINE_TUNING in c] == doc_commands("my_coco.yaml")[-1:]
    assert len(commands) == 8


def test_coco_json_commands_train_evaluate_export_and_predict_with_the_datas_ids(workspace):
    commands = [c for block in doc_blocks("sh") for c in block.splitlines() if c.strip()]
    coco = [c for c in commands if "my_voc" not in c and FINE_TUNING not in c]
    outputs = [run_doc_command(command, workspace) for command in coco]

    run = workspace / "runs" / "my_coco"
    recorded = yaml.safe_load((run / "config.yaml").read_text())
    assert recorded["class_names"] == ["car", "dog", "kite"]
    assert recorded["model"]["num_classes"] == 4
    train_log = (run / "train.log").read_text()
    # The Python log lines from the first one of the run on (TensorFlow's C++ start-up lines
    # come before Python logging starts and are not copied).
    python_lines = [
        line
        for line in outputs[0].stderr.splitlines()
        if re.match(r"^[IWE]\d{4} \d\d:\d\d:\d\d\.\d{6} +\d+ \S+\.py:\d+\] ", line)
    ]
    first = next(i for i, line in enumerate(python_lines) if "training my_coco into" in line)
    assert len(python_lines) - first > 4  # the start, steps, checkpoints, evaluation
    assert all(line in train_log for line in python_lines[first:])
    assert "AP50" in json.loads((run / "eval" / "metrics.json").read_text())
    by_checkpoint = json.loads((run / "final_eval" / "metrics.json").read_text())
    by_export = json.loads((workspace / "exports" / "my_coco_eval" / "metrics.json").read_text())
    assert by_export["AP50"] == pytest.approx(by_checkpoint["AP50"], abs=0.05)

    assets = workspace / "exports" / "my_coco" / "1" / "assets"
    assert 'item {\n  id: 11\n  name: "kite"' in (assets / "label_map.pbtxt").read_text()
    entries = json.loads((workspace / "predictions" / "detections.json").read_text())
    assert len(entries) == 4
    detections = [d for entry in entries for d in entry["detections"]]
    names = {3: "car", 7: "dog", 11: "kite"}
    assert all(names[d["class_id"]] == d["class_name"] for d in detections)


def test_voc_folder_commands_train_and_evaluate_with_the_annotations_names(workspace):
    commands = [c for block in doc_blocks("sh") for c in block.splitlines() if "my_voc" in c]
    for command in commands:
        run_doc_command(command, workspace)
    run = workspace / "runs" / "my_voc"
    assert yaml.safe_load((run / "config.yaml").read_text())["class_names"] == ["cat", "dog"]
    metrics = json.loads((run / "final_eval" / "metrics.json").read_text())
    assert {"mAP_11point", "AP_11point/cat", "AP_11point/dog"} <= set(metrics), sorted(metrics)


def test_fine_tuning_command_starts_from_another_runs_weights_with_fresh_class_heads(workspace):
    # Runs after the two tests above: the VOC run (2 classes) stands in for the COCO model.
    (fine_tuning,) = [
        c for block in doc_blocks("sh") for c in block.splitlines() if FINE_TUNING in c
    ]
    source = shlex.split(fine_tuning)[shlex.split(fine_tuning).index(FINE_TUNING) + 1]
    shutil.copytree(workspace / "runs" / "my_voc", workspace / source)

    output = run_doc_command(fine_tuning, workspace)

    assert "another class count, so these keep their initial values" in output.stderr
    assert "class_head1/predict/kernel" in output.stderr
    run = workspace / "runs" / "my_coco_finetuned"
    assert yaml.safe_load((run / "config.yaml").read_text())["train"]["init_checkpoint"] == source
    assert any(name.startswith("ckpt-") for name in os.listdir(run))
