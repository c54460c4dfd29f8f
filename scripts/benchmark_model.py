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
    python scripts/benchmark_model.py --sizes 128 --width_multiplier 0.25 --rounds 2   # quick
"""

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

import efgrnet_tf
from efgrnet_tf.config import config_from_dict
from efgrnet_tf.modeling.flops import count_flops

VARIANTS = (("efgrnet", {}), ("ssd", {"feature_enrichment": False, "cascade": False}))


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 512])
    parser.add_argument("--backbone", choices=["vgg16", "resnet101"], default="vgg16")
    parser.add_argument("--width_multiplier", type=float, default=1.0)
    parser.add_argument("--num_classes", type=int, default=21)
    parser.add_argument("--throughput_batch", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (best one counts)")
    parser.add_argument("--matmul_size", type=int, default=4096)
    parser.add_argument(
        "--deform_conv_implementation", choices=["auto", "custom_op", "pure_tf"], default="auto"
    )
    parser.add_argument("--mixed_precision", action="store_true", help="mixed_float16 policy")
    parser.add_argument("--jit_compile", action="store_true", help="XLA-compile the forward")
    return parser.parse_args()


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


def main():
    args = _parse_args()
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
    for size in args.sizes:
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
    main()
