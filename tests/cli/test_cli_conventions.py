"""Every command-line tool: `--helpshort` lists its own flags, expected user errors are one line
on stderr with exit status 2 (no traceback, no TensorFlow start-up lines)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
import tensorflow as tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY_MODEL = "model:\n  image_size: 64\n  width_multiplier: 0.125\n  num_classes: 5\n"


def run_script(name: str, *args: str, env_extra=None) -> subprocess.CompletedProcess:
    """`scripts/<name>.py ARGS` in a fresh process, as a user would start it: no
    TF_CPP_MIN_LOG_LEVEL, the repository importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "TF_CONFIG")}
    env["PYTHONPATH"] = REPO_ROOT
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, "scripts", f"{name}.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def assert_helpshort_lists(result: subprocess.CompletedProcess, own_flags) -> str:
    """`--helpshort` output lists each of `own_flags` (`--name`) with its help; returns it."""
    text = result.stdout + result.stderr
    for flag in own_flags:
        assert re.search(rf"^  --(\[no\])?{flag[2:]}: ", text, re.MULTILINE), text
    return text


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 2; the error is the last stderr line and the only one saying `error:`
    (log lines may precede it); no traceback, no TensorFlow C++ start-up line."""
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if "error:" in line] == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr
    assert not any(line.startswith(("I0000", "E0000", "WARNING: All log")) for line in lines)
    for fragment in fragments:
        assert fragment in lines[-1]


@pytest.mark.parametrize(
    ("script", "own_flags"),
    [
        (
            "train",
            [
                "--model_dir",
                "--config",
                "--override",
                "--strategy",
                "--resume",
                "--init_checkpoint",
            ],
        ),
        ("export", ["--export_dir", "--checkpoint", "--config", "--version"]),
        ("import_pytorch", ["--config", "--override", "--torch_checkpoint", "--output_dir"]),
    ],
)
def test_helpshort_lists_the_tools_own_flags_with_help(script, own_flags):
    text = assert_helpshort_lists(run_script(script, "--helpshort"), own_flags)
    assert "Run folder" in text or "TF Serving" in text  # the help texts, not only names


def test_config_key_typo_is_one_line_and_exit_status_2(tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text("name: typo\n")
    result = run_script(
        "train", f"--config={config}", f"--model_dir={tmp_path / 'run'}", "--override=train.epoch=3"
    )
    assert_one_line_error(result, "unknown key train.epoch")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()


def test_traceback_on_request(tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text("name: typo\nmodel:\n  num_clases: 3\n")
    result = run_script(
        "train",
        f"--config={config}",
        f"--model_dir={tmp_path / 'run'}",
        env_extra={"EFGRNET_TRACEBACK": "1"},
    )
    assert result.returncode != 0
    assert "Traceback" in result.stderr and "unknown key model.num_clases" in result.stderr


def test_missing_flag_is_one_line(tmp_path):
    result = run_script("export", f"--export_dir={tmp_path}")
    assert_one_line_error(result, "--config", "--helpshort")


@pytest.fixture
def tiny_config(tmp_path):
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY_MODEL)
    return str(path)


def test_export_of_a_missing_checkpoint_is_one_line_and_leaves_nothing(tmp_path, tiny_config):
    empty_run = tmp_path / "run"
    empty_run.mkdir()
    base = tmp_path / "exports"
    result = run_script(
        "export", f"--config={tiny_config}", f"--checkpoint={empty_run}", f"--export_dir={base}"
    )
    assert_one_line_error(result, f"no checkpoint found in {empty_run}")
    assert not base.exists() or not os.listdir(base)


def test_export_of_a_garbage_checkpoint_is_one_line_and_leaves_no_tmp_folder(tmp_path, tiny_config):
    run = tmp_path / "run"
    run.mkdir()
    (run / "ckpt-1.index").write_bytes(b"not a checkpoint")
    (run / "ckpt-1.data-00000-of-00001").write_bytes(b"garbage")
    (run / "checkpoint").write_text('model_checkpoint_path: "ckpt-1"\n')
    base = tmp_path / "exports"
    result = run_script(
        "export", f"--config={tiny_config}", f"--checkpoint={run}", f"--export_dir={base}"
    )
    assert_one_line_error(result, f"cannot read checkpoint {run / 'ckpt-1'}")
    assert not base.exists() or not os.listdir(base)


def _save_checkpoint_of_another_model(folder) -> None:
    """Saves `folder/ckpt-1` in the trainer's format with one weight no EFGRNet model has."""
    weights = {"dense/kernel": tf.Variable(tf.zeros([2, 2]))}
    checkpoint = tf.train.Checkpoint(model_weights=weights)
    tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=1).save()


def _assert_names_the_variables_of_another_model(result, checkpoint_words) -> None:
    """One error line: `checkpoint_words` (how the tool names the checkpoint) do not fit, every
    model variable is missing from it and its one weight is unknown to the model."""
    assert_one_line_error(
        result,
        f"{checkpoint_words} does not fit the model of this config",
        "210 model variables not in it: ['block1_conv1/kernel'",
        "1 unknown to the model: ['dense/kernel']",
    )


def test_evaluate_with_a_checkpoint_of_another_config_names_the_variables(tmp_path, tiny_config):
    run = tmp_path / "run"
    _save_checkpoint_of_another_model(run)
    result = run_script(
        "evaluate",
        f"--config={tiny_config}",
        f"--checkpoint={run}",
        f"--output_dir={tmp_path / 'eval'}",
    )
    _assert_names_the_variables_of_another_model(result, str(run / "ckpt-1"))


def test_train_from_an_init_checkpoint_of_another_model_names_the_variables(tmp_path, tiny_config):
    source = tmp_path / "source"
    _save_checkpoint_of_another_model(source)
    result = run_script(
        "train",
        f"--config={tiny_config}",
        f"--model_dir={tmp_path / 'run'}",
        f"--init_checkpoint={source}",
        "--override=data.synthetic.image_size=64",
        "--override=train.global_batch_size=2",
        "--override=train.steps_per_epoch=1",
        "--override=train.epochs=1",
    )
    _assert_names_the_variables_of_another_model(
        result, f"train.init_checkpoint {source / 'ckpt-1'}"
    )
    assert not list((tmp_path / "run").glob("ckpt-*"))


def test_training_in_the_inference_precision_is_one_line_and_leaves_no_run(tmp_path):
    config = tmp_path / "exp.yaml"
    config.write_text(TINY_MODEL)
    run_dir = tmp_path / "run"
    result = run_script(
        "train", f"--config={config}", f"--model_dir={run_dir}", "--precision=bfloat16"
    )
    assert_one_line_error(result, "model.precision=bfloat16", "train in mixed_bfloat16")
    assert not run_dir.exists()


def test_xla_export_with_crop_and_resize_is_one_line_and_leaves_nothing(tmp_path, tiny_config):
    base = tmp_path / "exports"
    result = run_script(
        "export",
        f"--config={tiny_config}",
        f"--checkpoint={tmp_path}",
        f"--export_dir={base}",
        "--jit_compile",
        "--deform_conv_implementation=crop_and_resize",
    )
    assert_one_line_error(result, "'crop_and_resize' has no XLA kernel", "'pure_tf'")
    assert not base.exists()
