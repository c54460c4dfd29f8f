"""Float32 against bfloat16 (`model.precision` mixed_bfloat16 and bfloat16), all measured in
this process.

For each input size and batch: the EFGRNet forward with each deformable conv (custom op, pure
TF, crop_and_resize), the SSD baseline's forward, and the SavedModel `serving_default` path
(uint8 images of `--serving_image_hw`, preprocessing, forward, decoding and NMS; the export's
default crop_and_resize deformable conv), each in float32, mixed_bfloat16 and bfloat16 (the same
outputs as mixed_bfloat16, weights stored in bfloat16), with random weights. With `--xla` the
pure-TF forward, the SSD forward and `serving_default` are also measured XLA-compiled
(`jit_compile=True`; the export of `efgrnet-export --jit_compile`, whose deformable conv is pure
TF); the custom op and crop_and_resize have no XLA kernel. Timed calls are interleaved round by
round and each keeps its fastest round, so load from other processes hits all rows alike. It
prints the table, each bfloat16 precision / float32, EFGRNet / SSD and XLA / plain ratios, and
the targets of issue 14. On a CPU without AMX-BF16 or AVX512-BF16 (and without a GPU) it says so
and measures float32 only: bfloat16 there is emulated and slower than float32.

    python scripts/benchmark_precision.py                       # VGG16 320, batch 1 and 8
    python scripts/benchmark_precision.py --sizes=320,512 --rounds=3 --xla   # docs/performance.md
    python scripts/benchmark_precision.py --sizes=128 --width_multiplier=0.25 --rounds=1  # quick
"""

import os
import tempfile
import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import keras
import tensorflow as tf
from absl import app, flags

import efgrnet_tf
from efgrnet_tf.cli.whole_number_flags import define_whole_numbers
from efgrnet_tf.config import config_from_dict
from efgrnet_tf.data.classes import label_map
from efgrnet_tf.modeling.precision import native_bfloat16_support
from efgrnet_tf.serving.export_module import DetectionExportModule

F32, MIXED_BF16, BF16 = "float32", "mixed_bfloat16", "bfloat16"
PRECISIONS = (F32, MIXED_BF16, BF16)
CUSTOM_OP = "efgrnet custom_op"
PURE_TF = "efgrnet pure_tf"
CROP_AND_RESIZE = "efgrnet crop_and_resize"
SSD = "ssd"
# (row name, model fields): the models whose forward passes are compared in each precision.
FORWARDS = (
    (CUSTOM_OP, {"deform_conv_implementation": "custom_op"}),
    (PURE_TF, {"deform_conv_implementation": "pure_tf"}),
    (CROP_AND_RESIZE, {"deform_conv_implementation": "crop_and_resize"}),
    (SSD, {"feature_enrichment": False, "cascade": False}),
)
# Rows that `--xla` measures XLA-compiled too, as `f"{row}{XLA}"` (stock ops only).
XLA_ROWS = (PURE_TF, SSD)
XLA = " xla"
SERVING = "serving_default"
# Issue 14's targets at batch 1: (what, numerator row, denominator row, limit). bfloat16 is
# the precision to serve in (mixed_bfloat16's outputs, its weights stored in bfloat16).
TARGETS = (
    ("bf16 / f32 forward", (BF16, CUSTOM_OP), (F32, CUSTOM_OP), 0.23),
    ("bf16 / f32 serving_default", (BF16, SERVING), (F32, SERVING), 0.25),
    ("EFGRNet / SSD, f32", (F32, CUSTOM_OP), (F32, "ssd"), 1.40),
    ("EFGRNet / SSD, bf16", (BF16, CUSTOM_OP), (BF16, "ssd"), 1.40),
)


define_whole_numbers("sizes", [320], "Model input sizes, comma-separated.")
define_whole_numbers("batches", [1, 8], "Batch sizes, comma-separated.")
flags.DEFINE_float("width_multiplier", 1.0, "model.width_multiplier.")
flags.DEFINE_integer("num_classes", 21, "model.num_classes (with background).")
flags.DEFINE_integer("rounds", 3, "Timed rounds (the best one counts).")
define_whole_numbers(
    "serving_image_hw", [480, 640], "Height,width of the serving_default images.", length=2
)
flags.DEFINE_bool("skip_serving", False, "Forward passes only.")
flags.DEFINE_bool(
    "xla", False, "Also time the pure-TF and SSD forwards and serving_default XLA-compiled."
)


def _config(size, precision, fields, args):
    model = dict(
        image_size=size,
        num_classes=args.num_classes,
        width_multiplier=args.width_multiplier,
        precision=precision,
        **fields,
    )
    return config_from_dict({"model": model})


def _forward_call(forward, size, batch):
    """A call that runs `forward` on a random batch and waits for it."""
    images = tf.random.normal([batch, size, size, 3], stddev=50.0)
    return lambda: forward(images)["class_logits"][0, 0, 0].numpy()


def _serving_calls(model, cfg, export_dir, batches, image_hw, jit_compile):
    """`{batch: call}` running the SavedModel `serving_default` of `model` built from `cfg`,
    exported with the forward pass XLA-compiled or not."""
    module = DetectionExportModule(model, cfg, label_map(cfg), jit_compile=jit_compile)
    tf.saved_model.save(module, export_dir, signatures=module.signatures())
    serve = tf.saved_model.load(export_dir).signatures[SERVING]
    calls = {}
    for batch in batches:
        images = tf.cast(tf.random.uniform([batch, *image_hw, 3], 0, 256, tf.int32), tf.uint8)
        calls[batch] = lambda images=images: serve(images=images)["num_detections"].numpy()
    return calls


def _seconds(call):
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def benchmark_size(size, precisions, args, workdir):
    """`{(precision, row, batch): best seconds}` for one input size."""
    jit_choices = (False, True) if args.xla else (False,)
    calls = {}
    for precision in precisions:
        models = {}
        for row, fields in FORWARDS:
            model = models[row] = efgrnet_tf.build_model(_config(size, precision, fields, args))
            for jit in jit_choices if row in XLA_ROWS else (False,):
                forward = tf.function(
                    lambda x, model=model: model(x, training=False), jit_compile=jit
                )
                for batch in args.batches:
                    calls[precision, row + XLA * jit, batch] = _forward_call(forward, size, batch)
        if args.skip_serving:
            continue
        for jit in jit_choices:
            # The exporter's deformable conv: crop_and_resize, pure TF under XLA.
            row = PURE_TF if jit else CROP_AND_RESIZE
            cfg = _config(size, precision, dict(FORWARDS)[row], args)
            export_dir = os.path.join(workdir, f"{precision}_{size}{'_xla' * jit}")
            serving = _serving_calls(
                models[row], cfg, export_dir, args.batches, args.serving_image_hw, jit
            )
            for batch, call in serving.items():
                calls[precision, SERVING + XLA * jit, batch] = call
    for call in calls.values():  # warm-up: tracing, oneDNN primitive creation, allocations
        call()
    best = {key: float("inf") for key in calls}
    for _ in range(args.rounds):
        for key, call in calls.items():
            best[key] = min(best[key], _seconds(call))
    keras.utils.clear_session()
    return best


def _print_size(size, best, precisions, args):
    rows = [row for row, _ in FORWARDS] + ([] if args.skip_serving else [SERVING])
    if args.xla:
        rows = [
            variant
            for row in rows
            for variant in (row, row + XLA)
            if variant not in (CUSTOM_OP + XLA, CROP_AND_RESIZE + XLA)
        ]
    header = f"{'size ' + str(size):<22}" + "".join(
        f"{f'{p} b{b} ms':>22}" for p in precisions for b in args.batches
    )
    short = {MIXED_BF16: "mixbf16", BF16: "bf16"}
    header += "".join(f"{f'{short[p]}/f32 b{b}':>15}" for p in precisions[1:] for b in args.batches)
    print(header)
    print("-" * len(header))
    for row in rows:
        line = f"{row:<22}" + "".join(
            f"{1e3 * best[p, row, b]:>22.1f}" for p in precisions for b in args.batches
        )
        line += "".join(
            f"{best[p, row, b] / best[F32, row, b]:>15.2f}"
            for p in precisions[1:]
            for b in args.batches
        )
        print(line)
    for what, numerator, denominator, limit in TARGETS:
        if (*numerator, 1) not in best or (*denominator, 1) not in best:
            continue
        ratio = best[(*numerator, 1)] / best[(*denominator, 1)]
        verdict = "met" if ratio <= limit else "NOT met"
        print(f"  {size} b1 {what}: {ratio:.2f} (target <= {limit:.2f}: {verdict})")
    for row in (PURE_TF, SERVING) if args.xla else ():
        for precision in precisions:
            ratios = [
                f"b{b} {best[precision, row + XLA, b] / best[precision, row, b]:.2f}"
                for b in args.batches
                if (precision, row, b) in best
            ]
            if ratios:
                print(f"  {size} XLA / plain, {row}, {precision}: {', '.join(ratios)}")
    print()


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    args = flags.FLAGS
    tf.get_logger().setLevel("ERROR")  # one trace per batch size is expected, not a warning
    support = native_bfloat16_support()
    precisions = PRECISIONS if support else PRECISIONS[:1]
    print(
        f"tensorflow {tf.__version__}  {os.cpu_count()} CPUs  width {args.width_multiplier}  "
        f"best of {args.rounds} rounds"
    )
    if support:
        print(f"bfloat16 support: {support}")
    else:
        print("bfloat16 support: none (no AMX-BF16 or AVX512-BF16, no GPU): bfloat16 rows skipped")
    with tempfile.TemporaryDirectory() as workdir:
        for size in args.sizes:
            _print_size(size, benchmark_size(size, precisions, args, workdir), precisions, args)


if __name__ == "__main__":
    launch.run_tool(main, [__name__])
