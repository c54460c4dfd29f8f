"""Benchmarks the EFGRNet model against its SSD baseline, with a matmul as the machine's peak.

For every input size, the full EFGRNet and the SSD-baseline variant of the same backbone
(`feature_enrichment` and `cascade` off) are built with random weights and measured in this one
process: parameters, forward FLOPs per image (`efgrnet_tf.modeling.flops.count_flops`: convs
and matrix products, a deformable conv counted as the conv of its shape), forward latency at
batch 1, throughput at batch 8 and the FLOP/s achieved there; a square float32 `tf.matmul`
gives the practical peak FLOP/s. It prints a table and the two targets of issue 3:
EFGRNet's FLOP/s >= 0.85 x the SSD baseline's, and >= 50% of the matmul peak at batch 8.

The timed calls are interleaved round by round (matmul, then each model at each batch size) and
each reports its fastest round, so load from other processes on a shared machine hits all
measurements alike instead of whichever happened to run during it.

    python scripts/benchmark_model.py                         # VGG16, 320 and 512, full width
    python scripts/benchmark_model.py --sizes=128 --width_multiplier=0.25 --rounds=2   # quick
"""

import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import keras
import tensorflow as tf
from absl import app, flags

import efgrnet_tf
from efgrnet_tf.config import config_from_dict
from efgrnet_tf.modeling.flops import count_flops
from efgrnet_tf.ops.deform_conv import IMPLEMENTATIONS

VARIANTS = (("efgrnet", {}), ("ssd", {"feature_enrichment": False, "cascade": False}))


flags.DEFINE_list("sizes", ["320", "512"], "Model input sizes, comma-separated.")
flags.register_validator(
    "sizes", lambda sizes: all(s.isdigit() for s in sizes), "--sizes takes whole numbers"
)
flags.DEFINE_enum("backbone", "vgg16", ["vgg16", "resnet101"], "Backbone.")
flags.DEFINE_float("width_multiplier", 1.0, "model.width_multiplier.")
flags.DEFINE_integer("num_classes", 21, "model.num_classes (with background).")
flags.DEFINE_integer("throughput_batch", 8, "Batch size of the throughput measurement.")
flags.DEFINE_integer("rounds", 5, "Timed rounds (the best one counts).")
flags.DEFINE_integer("matmul_size", 4096, "Side of the square matmul giving the peak.")
flags.DEFINE_enum(
    "deform_conv_implementation",
    "auto",
    list(IMPLEMENTATIONS),
    "Deformable conv.",
)
flags.DEFINE_bool("mixed_precision", False, "mixed_float16 policy.")
flags.DEFINE_bool("jit_compile", False, "XLA-compile the forward pass.")


def _seconds(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _matmul(size):
    """A call that runs a float32 `[size, size] x [size, size]` matmul and waits for it."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    product = tf.function(lambda: tf.matmul(a, b)[:1, :1])
    return lambda: product().numpy()


def _forward(forward, image_size, batch):
    """A call that runs `forward` on a random batch and waits for it."""
    images = tf.random.normal([batch, image_size, image_size, 3], stddev=50.0)
    # Fetching one value waits for the whole forward pass, on any device.
    return lambda: forward(images)["class_logits"][0, 0, 0].numpy()


def _benchmark_size(size, args):
    """Rows of the table for one input size: both variants, interleaved timings."""
    models, calls = {}, {}
    for variant, fields in VARIANTS:
        model_fields = dict(
            backbone=args.backbone,
            width_multiplier=args.width_multiplier,
            image_size=size,
            num_classes=args.num_classes,
            deform_conv_implementation=args.deform_conv_implementation,
            **fields,
        )
        model = models[variant] = efgrnet_tf.build_model(config_from_dict({"model": model_fields}))
        forward = tf.function(lambda x, m=model: m(x, training=False), jit_compile=args.jit_compile)
        for batch in (1, args.throughput_batch):
            calls[variant, batch] = _forward(forward, size, batch)
    calls["matmul"] = _matmul(args.matmul_size)
    for call in calls.values():  # warm-up: tracing, autotuning, first allocations
        call()
    best = {key: float("inf") for key in calls}
    for _ in range(args.rounds):
        for key, call in calls.items():
            best[key] = min(best[key], _seconds(call))
    peak = 2.0 * args.matmul_size**3 / best["matmul"]
    rows = {}
    for variant, model in models.items():
        flops = count_flops(model, (1, size, size, 3))
        batch_seconds = best[variant, args.throughput_batch]
        rows[variant] = {
            "params": model.count_params(),
            "gflops": flops / 1e9,
            "latency_ms": 1e3 * best[variant, 1],
            "images_per_s": args.throughput_batch / batch_seconds,
            "flops_per_s": flops * args.throughput_batch / batch_seconds,
            "peak": peak,
        }
    keras.utils.clear_session()
    return rows


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    args = flags.FLAGS
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    print(
        f"devices: {devices}  tensorflow {tf.__version__}  backbone {args.backbone}  "
        f"width {args.width_multiplier}  mixed precision {args.mixed_precision}  "
        f"jit {args.jit_compile}  deformable conv {args.deform_conv_implementation}  "
        f"best of {args.rounds} rounds"
    )
    b = args.throughput_batch
    header = (
        f"{'model':<22}{'params (M)':>11}{'GFLOPs':>9}{'b1 ms':>9}{f'b{b} img/s':>11}"
        f"{f'b{b} TFLOP/s':>13}{'matmul TFLOP/s':>16}{'% peak':>8}"
    )
    print(header)
    print("-" * len(header))
    targets = []
    for size in (int(size) for size in args.sizes):
        rows = _benchmark_size(size, args)
        for variant, r in rows.items():
            print(
                f"{f'{variant}_{args.backbone}_{size}':<22}{r['params'] / 1e6:>11.2f}"
                f"{r['gflops']:>9.2f}{r['latency_ms']:>9.1f}{r['images_per_s']:>11.2f}"
                f"{r['flops_per_s'] / 1e12:>13.3f}{r['peak'] / 1e12:>16.3f}"
                f"{100 * r['flops_per_s'] / r['peak']:>7.1f}%"
            )
        efgrnet, ssd = rows["efgrnet"], rows["ssd"]
        targets.append(
            (
                size,
                efgrnet["flops_per_s"] / ssd["flops_per_s"],
                efgrnet["flops_per_s"] / efgrnet["peak"],
            )
        )
    print(f"\ntargets (batch {b}):")
    for size, vs_ssd, vs_peak in targets:
        print(
            f"  {size}: EFGRNet FLOP/s / SSD FLOP/s = {vs_ssd:.2f} (target >= 0.85: "
            f"{'met' if vs_ssd >= 0.85 else 'NOT met'}); EFGRNet FLOP/s / matmul peak = "
            f"{100 * vs_peak:.1f}% (target >= 50%: {'met' if vs_peak >= 0.5 else 'NOT met'})"
        )


if __name__ == "__main__":
    launch.run_tool(main, [__name__])
