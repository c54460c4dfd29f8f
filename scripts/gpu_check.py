"""The GPU path in one run: op placement and tests, benchmarks, a short training, serving latency.

Run on a machine with an NVIDIA GPU after a CUDA build (`scripts/gpu_check.sh` does both):

    EFGRNET_BUILD_CUDA=1 pip install --no-build-isolation -e ".[test]"
    python scripts/gpu_check.py --out gpu_check_out               # ~8 minutes on one H100/H200
    python scripts/gpu_check.py --device cpu --quick --out out    # the same steps, tiny, on a CPU

Steps, each timed and recorded in `OUT/gpu_check.json` (its printed output in `OUT/<step>.log`):
1. `placement`: the compiled op's kernels run on the device (output placed there), and the custom
   op equals the pure-TF twin there on a large batch (grid limits), forward and every gradient.
2. `tests`: the deformable-conv tests (tests/ops, tests/layers) with the device visible, so the
   op tests run their float32/float16/bfloat16, gradient and empty-batch cases on it.
3. `benchmark_deform_conv`: custom op vs pure TF (eager, XLA) vs conv2d, float32 and float16,
   FGRM shapes at batch 1 and 32.
4. `benchmark_model`: EFGRNet vs SSD baseline at 320 and 512, batch-1 latency and batch-32
   throughput, float32 and mixed_float16, with and without XLA.
5. `training`: 100 steps of `coco_vgg16_320` (random weights with the demo's from-scratch recipe,
   synthetic images at 320) under
   `--strategy mirrored --mixed_precision`; images/s, and the loss must be finite and fall.
6. `serving`: export that run, then the SavedModel's `serving_default` latency at batch 1 on a
   480x640 uint8 image.
The exit status is 1 when any step failed; the others still run.
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COCO_320 = os.path.join(REPO_ROOT, "configs", "coco_vgg16_320.yaml")
SHAPES_CLASSES = "[circle, rectangle, triangle, cross]"
# The training step's run folder under OUT; the serving step exports it.
TRAIN_RUN = "train_run"


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="folder for gpu_check.json and step logs")
    parser.add_argument("--device", choices=("gpu", "cpu"), default="gpu")
    parser.add_argument(
        "--quick", action="store_true", help="tiny sizes and steps (the CPU test of this script)"
    )
    parser.add_argument("--steps", nargs="+", default=None, help="run only these steps")
    return parser.parse_args()


def _run_logged(name, command, out_dir, timeout_s):
    """Runs `command` from the repository root, its output to OUT/<name>.log; its exit status."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [REPO_ROOT, env.get("PYTHONPATH")]))
    with open(os.path.join(out_dir, f"{name}.log"), "a") as log:
        log.write(f"$ {' '.join(command)}\n")
        log.flush()
        try:
            completed = subprocess.run(
                command,
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=timeout_s,
                check=False,
            )
        except subprocess.TimeoutExpired:
            log.write(f"timed out after {timeout_s} s\n")
            return 124
    return completed.returncode


def _device_name(args):
    return "/GPU:0" if args.device == "gpu" else "/CPU:0"


def step_placement(args, out_dir):
    """The custom op runs on the device and equals pure TF there on a large batch."""
    from efgrnet_tf.ops import custom_op_library, deform_conv2d

    if custom_op_library.load_deform_conv_library() is None:
        raise RuntimeError(f"custom op library: {custom_op_library.library_load_error()}")
    batch, size, channels = (64, 8, 4) if args.quick else (2048, 16, 16)
    rng = np.random.default_rng(0)
    with tf.device(_device_name(args)):
        x = tf.constant(rng.normal(size=(batch, size, size, channels)), tf.float32)
        offsets = tf.constant(rng.uniform(-2, 2, (batch, size, size, 18)), tf.float32)
        kernel = tf.constant(rng.normal(size=(3, 3, channels, 8)) * 0.1, tf.float32)
        results = {}
        for implementation in ("custom_op", "pure_tf"):
            with tf.GradientTape() as tape:
                tape.watch([x, offsets, kernel])
                y = deform_conv2d(x, offsets, kernel, padding=1, implementation=implementation)
            results[implementation] = [y, *tape.gradient(y, [x, offsets, kernel])]
    placed = results["custom_op"][0].device
    if args.device.upper() not in placed.upper():
        raise RuntimeError(f"custom op output placed on {placed}, not on {args.device}")
    errors = {
        name: float(np.max(np.abs(a.numpy() - b.numpy())) / (np.max(np.abs(b.numpy())) + 1e-12))
        for name, a, b in zip(
            ("output", "grad_input", "grad_offsets", "grad_kernel"),
            results["custom_op"],
            results["pure_tf"],
            strict=True,
        )
    }
    if max(errors.values()) > 1e-4:
        raise RuntimeError(f"custom op differs from pure TF on batch {batch}: {errors}")
    return {"placed_on": placed, "batch": batch, "max_relative_error_vs_pure_tf": errors}


def step_tests(args, out_dir):
    """pytest over the deformable-conv tests (a small selection with --quick)."""
    selection = (
        ["tests/ops/test_deform_conv.py", "-k", "empty or float16"]
        if args.quick
        else ["tests/ops", "tests/layers"]
    )
    status = _run_logged("tests", [sys.executable, "-m", "pytest", "-q", *selection], out_dir, 420)
    if status != 0:
        raise RuntimeError(f"pytest exited {status} (see tests.log)")
    return {"selection": selection}


def step_benchmark_deform_conv(args, out_dir):
    """scripts/benchmark_deform_conv.py at batch 1 and 32 in float32 and float16."""
    script = os.path.join("scripts", "benchmark_deform_conv.py")
    runs = []
    batches, dtypes = ((1,), ("float32",)) if args.quick else ((1, 32), ("float32", "float16"))
    quick = ["--channel_divisor", "16", "--runs", "1", "--warmup", "0"] if args.quick else []
    for batch in batches:
        for dtype in dtypes:
            command = [
                sys.executable,
                script,
                "--device",
                args.device,
                "--batch",
                str(batch),
                "--dtype",
                dtype,
                *quick,
            ]
            status = _run_logged("benchmark_deform_conv", command, out_dir, 240)
            runs.append({"batch": batch, "dtype": dtype, "exit_status": status})
    if any(run["exit_status"] for run in runs):
        raise RuntimeError(f"benchmark failures: {runs}")
    return {"runs": runs}


def step_benchmark_model(args, out_dir):
    """scripts/benchmark_model.py, float32 / mixed_float16, with and without XLA."""
    script = os.path.join("scripts", "benchmark_model.py")
    if args.quick:
        sizes = ["--sizes=128", "--width_multiplier", "0.25", "--throughput_batch", "2"]
        sizes += ["--rounds", "1", "--matmul_size", "256"]
        variants = ([],)
    else:
        sizes = ["--sizes=320,512", "--throughput_batch", "32", "--rounds", "5"]
        variants = (
            [],
            ["--mixed_precision"],
            ["--jit_compile"],
            ["--mixed_precision", "--jit_compile"],
        )
    runs = []
    for extra in variants:
        status = _run_logged(
            "benchmark_model", [sys.executable, script, *sizes, *extra], out_dir, 300
        )
        runs.append({"flags": extra, "exit_status": status})
    if any(run["exit_status"] for run in runs):
        raise RuntimeError(f"benchmark failures: {runs}")
    return {"runs": runs}


def _training_overrides(args):
    size = 128 if args.quick else 320
    overrides = [
        "data.source=synthetic",
        f"data.synthetic.image_size={size}",
        "data.synthetic.train_size=256",
        "data.synthetic.eval_size=8",
        "model.num_classes=5",
        f"class_names={SHAPES_CLASSES}",
        "model.pretrained_backbone=''",
        # Random weights need the demo's from-scratch recipe (docs/design.md): with the paper's
        # SGD recipe and no ImageNet weights, float16 activations overflow within 10 steps.
        "model.vgg_batch_norm=true",
        "model.input_scale=0.017",
        "model.head_kernel_stddev=0.01",
        "train.optimizer=adamw",
        "train.weight_decay=0.0001",
        "train.base_learning_rate=0.001",
        "train.lr_boundaries_epochs=[]",
        "train.lr_values=[]",
        "train.epochs=1",
        f"train.steps_per_epoch={10 if args.quick else 100}",
        f"train.global_batch_size={2 if args.quick else 32}",
        "train.warmup_epochs=0.0",
        "train.log_every_steps=2",
        "train.checkpoint_every_steps=1000",
        "train.eval_every_epochs=0",
    ]
    if args.quick:
        overrides += [
            f"model.image_size={size}",
            "model.width_multiplier=0.25",
            "anchors.min_sizes=[12.0, 25.6, 51.2, 102.4]",
        ]
    return overrides


def _coco_320_command(args, script, *flags):
    """`scripts/SCRIPT --config coco_vgg16_320 FLAGS` with the check's training overrides."""
    command = [sys.executable, os.path.join("scripts", script), "--config", COCO_320, *flags]
    for override in _training_overrides(args):
        command += ["--override", override]
    return command


def _logged_scalars(model_dir, tag):
    """(step, value) of every `tag` scalar in the run's train/ TensorBoard events, step order."""
    values = []
    for path in glob.glob(os.path.join(model_dir, "train", "events.out.tfevents.*")):
        for record in tf.data.TFRecordDataset(path):
            event = tf.compat.v1.Event.FromString(record.numpy())
            for value in event.summary.value:
                if value.tag == tag:
                    values.append((event.step, float(tf.make_ndarray(value.tensor))))
    return sorted(values)


def step_training(args, out_dir):
    """100 steps of coco_vgg16_320 under mirrored + mixed precision; the loss falls."""
    model_dir = os.path.join(out_dir, TRAIN_RUN)
    command = _coco_320_command(
        args, "train.py", "--model_dir", model_dir, "--strategy", "mirrored", "--mixed_precision"
    )
    start = time.perf_counter()
    status = _run_logged("training", command, out_dir, 420)
    wall = time.perf_counter() - start
    if status != 0:
        raise RuntimeError(f"training exited {status} (see training.log)")
    losses = [value for _, value in _logged_scalars(model_dir, "loss/total")]
    speeds = [value for _, value in _logged_scalars(model_dir, "images_per_second")]
    if not losses or not np.all(np.isfinite(losses)):
        raise RuntimeError(f"loss not finite: {losses}")
    first, last = float(np.mean(losses[:2])), float(np.mean(losses[-2:]))
    if not last < first:
        raise RuntimeError(f"loss did not fall: {losses}")
    return {
        "wall_seconds": wall,
        "loss_first": first,
        "loss_last": last,
        "images_per_second_median": statistics.median(speeds) if speeds else None,
        "model_dir": model_dir,
    }


def step_serving(args, out_dir):
    """Exports the training run, then times `serving_default` at batch 1 (480x640 uint8)."""
    export_dir = os.path.join(out_dir, "export")
    command = _coco_320_command(
        args,
        "export.py",
        "--checkpoint",
        os.path.join(out_dir, TRAIN_RUN),
        "--export_dir",
        export_dir,
    )
    status = _run_logged("serving", command, out_dir, 300)
    if status != 0:
        raise RuntimeError(f"export exited {status} (see serving.log)")
    version = max(glob.glob(os.path.join(export_dir, "*")), key=lambda p: int(os.path.basename(p)))
    serve = tf.saved_model.load(version).signatures["serving_default"]
    image = tf.constant(np.random.default_rng(0).integers(0, 256, (1, 480, 640, 3)), tf.uint8)
    with tf.device(_device_name(args)):
        for _ in range(3):
            serve(images=image)["num_detections"].numpy()
        times = []
        for _ in range(5 if args.quick else 30):
            start = time.perf_counter()
            serve(images=image)["num_detections"].numpy()
            times.append(time.perf_counter() - start)
    return {"saved_model": version, "latency_ms_median": 1e3 * statistics.median(times)}


STEPS = {
    "placement": step_placement,
    "tests": step_tests,
    "benchmark_deform_conv": step_benchmark_deform_conv,
    "benchmark_model": step_benchmark_model,
    "training": step_training,
    "serving": step_serving,
}


def main():
    args = _parse_args()
    os.makedirs(args.out, exist_ok=True)
    gpus = tf.config.list_physical_devices("GPU")
    report = {
        "tensorflow": tf.__version__,
        "cuda_build": bool(tf.sysconfig.get_build_info().get("is_cuda_build", False)),
        "gpus": [gpu.name for gpu in gpus],
        "device": args.device,
        "quick": args.quick,
        "steps": {},
    }
    print(json.dumps({k: v for k, v in report.items() if k != "steps"}), flush=True)
    if args.device == "gpu" and not gpus:
        report["error"] = "--device gpu: TensorFlow sees no GPU"
    else:
        for name in args.steps or STEPS:
            start = time.perf_counter()
            try:
                result = {"ok": True, **STEPS[name](args, args.out)}
            except Exception as error:  # every step is reported; none stops the rest
                result = {"ok": False, "error": f"{type(error).__name__}: {error}"}
            result["seconds"] = round(time.perf_counter() - start, 1)
            report["steps"][name] = result
            print(f"{name}: {json.dumps(result)}", flush=True)
    with open(os.path.join(args.out, "gpu_check.json"), "w") as f:
        json.dump(report, f, indent=2)
    failed = "error" in report or not all(step["ok"] for step in report["steps"].values())
    print("gpu check:", "FAILED" if failed else "all steps passed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
