"""`saved_model_cli show --all` documents both signatures with the promised dtypes and shapes."""

from __future__ import annotations

import os
import re
import sys

import pytest
from serving_helpers import MAX_DETECTIONS, REPO_ROOT, run_python

pytestmark = pytest.mark.slow

_SIGNATURE = re.compile(r"^signature_def\['(?P<name>[^']+)'\]:$", re.MULTILINE)
_TENSOR = re.compile(
    r"(?P<kind>inputs|outputs)\['(?P<name>[^']+)'\] tensor_info:\s*"
    r"dtype: (?P<dtype>\w+)\s*shape: (?P<shape>[^\n]+)"
)


def parse_signatures(text: str) -> dict[str, dict[str, dict[str, tuple[str, str]]]]:
    """`{signature: {"inputs"|"outputs": {name: (dtype, shape)}}}` from the CLI's output."""
    starts = list(_SIGNATURE.finditer(text))
    signatures = {}
    for match, following in zip(starts, [*starts[1:], None], strict=True):
        block = text[match.end() : following.start() if following else len(text)]
        tensors = {"inputs": {}, "outputs": {}}
        for tensor in _TENSOR.finditer(block):
            tensors[tensor["kind"]][tensor["name"]] = (tensor["dtype"], tensor["shape"].strip())
        signatures[match["name"]] = tensors
    return signatures


def test_saved_model_cli_lists_both_signatures(export_dir):
    cli = os.path.join(os.path.dirname(sys.executable), "saved_model_cli")
    result = run_python([cli, "show", "--all", "--dir", export_dir], cwd=REPO_ROOT, with_repo=False)
    assert result.returncode == 0, result.stderr[-2000:]
    signatures = parse_signatures(result.stdout)
    k = MAX_DETECTIONS
    outputs = {
        "detection_boxes": ("DT_FLOAT", f"(-1, {k}, 4)"),
        "detection_scores": ("DT_FLOAT", f"(-1, {k})"),
        "detection_classes": ("DT_FLOAT", f"(-1, {k})"),
        "num_detections": ("DT_FLOAT", "(-1)"),
    }
    assert signatures["serving_default"] == {
        "inputs": {"images": ("DT_UINT8", "(-1, -1, -1, 3)")},
        "outputs": outputs,
    }
    assert signatures["serve_image_bytes"] == {
        "inputs": {"encoded_images": ("DT_STRING", "(-1)")},
        "outputs": outputs,
    }
