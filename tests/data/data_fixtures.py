"""Writers of the data tests' fixtures: tiny VOCdevkit trees, COCO json files and images."""

from __future__ import annotations

import io
import json
import pathlib

import numpy as np
import PIL.Image


def encode_image(pixels: np.ndarray, image_format: str = "JPEG", mode: str | None = None) -> bytes:
    """uint8 pixels -> file bytes (`mode` e.g. "L" or "RGBA" to convert first)."""
    image = PIL.Image.fromarray(pixels)
    if mode is not None:
        image = image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, image_format, **({"quality": 95} if image_format == "JPEG" else {}))
    return buffer.getvalue()


def solid_image(height: int, width: int, value: int = 100) -> np.ndarray:
    """uint8 `[height, width, 3]` of one grey value with a small gradient (not flat JPEG)."""
    ramp = np.linspace(0, 40, width, dtype=np.float32)[None, :, None]
    return np.clip(value + ramp + np.zeros((height, 1, 3)), 0, 255).astype(np.uint8)


def voc_xml(filename: str, size_hw: tuple[int, int] | None, objects: list[tuple]) -> str:
    """A VOC annotation; objects are `(name, xmin, ymin, xmax, ymax, difficult)`."""
    size = (
        f"<size><width>{size_hw[1]}</width><height>{size_hw[0]}</height><depth>3</depth></size>"
        if size_hw
        else ""
    )
    parts = [
        f"<object><name>{name}</name><difficult>{int(difficult)}</difficult><bndbox>"
        f"<xmin>{xmin}</xmin><ymin>{ymin}</ymin><xmax>{xmax}</xmax><ymax>{ymax}</ymax>"
        "</bndbox></object>"
        for name, xmin, ymin, xmax, ymax, difficult in objects
    ]
    return f"<annotation><filename>{filename}</filename>{size}{''.join(parts)}</annotation>"


def write_voc_tree(root: pathlib.Path, split: str, entries: list[dict]) -> pathlib.Path:
    """Writes a VOC year folder. Each entry: `name`, and optionally `image_bytes` (None = no
    image file), `xml` (text; None = no annotation file)."""
    for sub in ("Annotations", "JPEGImages", "ImageSets/Main"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for entry in entries:
        if entry.get("image_bytes") is not None:
            (root / "JPEGImages" / f"{entry['name']}.jpg").write_bytes(entry["image_bytes"])
        if entry.get("xml") is not None:
            (root / "Annotations" / f"{entry['name']}.xml").write_text(entry["xml"])
    names = "\n".join(entry["name"] for entry in entries)
    (root / "ImageSets" / "Main" / f"{split}.txt").write_text(names + "\n")
    return root


def write_coco(root: pathlib.Path, images: list[dict], annotations: list[dict], categories):
    """Writes `root/images/<file_name>` (entries with `pixels`) and `root/instances.json`."""
    (root / "images").mkdir(parents=True, exist_ok=True)
    for image in images:
        if "pixels" in image:
            (root / "images" / image["file_name"]).write_bytes(encode_image(image["pixels"]))
    entries = [{k: v for k, v in image.items() if k != "pixels"} for image in images]
    data = {"images": entries, "annotations": annotations, "categories": categories}
    (root / "instances.json").write_text(json.dumps(data))
    return root / "images", root / "instances.json"
