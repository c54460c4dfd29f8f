"""Benchmarks the EFGRNet model against its SSD baseline, with a matmul as the machine's peak.

For every input size, the full EFGRNet and the SSD-baseline variant of the same backbone
(`feature_enrichment` and `cascade` off) are built with random weights and measured in this one
process: parameters, forward FLOPs per image (`efgrnet_tf.modeling.flops.count_flops`: convs
and matrix products, a deformable conv counted as the conv of its shape), median forward latency
at batch 1, throughput at batch 8 and the FLOP/s achieved there; a square float32 `tf.matmul`
gives the practical peak FLOP/s. It prints a table and the two targets of issue 3:
EFGRNet's FLOP/s >= 0.85 x the SSD baseline's, and >= 50% of the matmul peak at batch 8.

    python scripts/benchmark_model.py                         # VGG16, 320 and 512, full width
    python scripts/benchmark_model.py --sizes 128 --width_multiplier 0.25 --runs 3   # quick
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras
import tensorflow as tf

import efgrnet_tf
from efgrnet_tf.config import config_from_dict
from efgrnet_tf.modeling.flops import count_flops

SSD_BASELINE = {"feature_enrichment": False, "cascade": False}


def _parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[320, 512])
    parser.add_argument("--backbone", choices=["vgg16", "resnet101"], default="vgg16")
    parser.add_argument("--width_multiplier", type=float, default=1.0)
    parser.add_argument("--num_classes", type=int, default=21)
    parser.add_argument("--throughput_batch", type=int, default=8)
    parser.add_argument("--runs", type=int, default=10, help="timed runs per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs first")
    parser.add_argument("--matmul_size", type=int, default=4096)
    parser.add_argument(
        "--deform_conv_implementation", choices=["auto", "custom_op", "pure_tf"], default="auto"
    )
    parser.add_argument("--mixed_precision", action="store_true", help="mixed_float16 policy")
    parser.add_argument("--jit_compile", action="store_true", help="XLA-compile the forward")
    return parser.parse_args()


def _median_seconds(fn, runs, warmup):
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _matmul_peak(size, runs, warmup):
    """FLOP/s of a `[size, size] x [size, size]` float32 matmul (the practical peak)."""
    a = tf.random.normal([size, size])
    b = tf.random.normal([size, size])
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, b)[:1, :1]))
    seconds = _median_seconds(lambda: matmul().numpy(), runs, warmup)
    return 2.0 * size**3 / seconds


def _measure(cfg, args):
    """Params, FLOPs per image, latency at batch 1 and throughput/FLOP/s at the large batch."""
    keras.utils.clear_session()
    model = efgrnet_tf.build_model(cfg)
    size = cfg.model.image_size
    flops = count_flops(model, (1, size, size, 3))
    forward = tf.function(lambda x: model(x, training=False), jit_compile=args.jit_compile)

    def timed(batch):
        images = tf.random.normal([batch, size, size, 3], stddev=50.0)

        def run():
            # Fetching one value waits for the whole forward pass, on any device.
            outputs = forward(images)
            return outputs["class_logits"][0, 0, 0].numpy()

        return _median_seconds(run, args.runs, args.warmup)

    latency = timed(1)
    batch_seconds = timed(args.throughput_batch)
    return {
        "params": model.count_params(),
        "gflops": flops / 1e9,
        "latency_ms": 1e3 * latency,
        "images_per_s": args.throughput_batch / batch_seconds,
        "tflops_per_s": flops * args.throughput_batch / batch_seconds / 1e12,
    }


def main():
    args = _parse_args()
    if args.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    print(f"devices: {devices}  tensorflow {tf.__version__}  backbone {args.backbone}  "
          f"width {args.width_multiplier}  mixed precision {args.mixed_precision}  "
          f"jit {args.jit_compile}  deformable conv {args.deform_conv_implementation}")  # fmt: skip
    peak = _matmul_peak(args.matmul_size, args.runs, args.warmup)
    print(f"matmul {args.matmul_size}^3 float32 peak: {peak / 1e12:.3f} TFLOP/s\n")

    header = (
        f"{'model':<22}{'params (M)':>11}{'GFLOPs':>9}{'b1 ms':>9}"
        f"{f'b{args.throughput_batch} img/s':>11}{'TFLOP/s':>9}{'% peak':>8}"
    )
    print(header)
    print("-" * len(header))
    results = {}
    for size in args.sizes:
        for variant, fields in (("efgrnet", {}), ("ssd", SSD_BASELINE)):
            model_fields = dict(
                backbone=args.backbone,
                width_multiplier=args.width_multiplier,
                image_size=size,
                num_classes=args.num_classes,
                deform_conv_implementation=args.deform_conv_implementation,
                **fields,
            )
            cfg = config_from_dict({"model": model_fields})
            r = results[variant, size] = _measure(cfg, args)
            print(
                f"{f'{variant}_{args.backbone}_{size}':<22}{r['params'] / 1e6:>11.2f}"
                f"{r['gflops']:>9.2f}{r['latency_ms']:>9.1f}{r['images_per_s']:>11.2f}"
                f"{r['tflops_per_s']:>9.3f}{100 * r['tflops_per_s'] * 1e12 / peak:>7.1f}%"
            )
    print(f"\ntargets (at batch {args.throughput_batch}):")
    for size in args.sizes:
        efgrnet, ssd = results["efgrnet", size], results["ssd", size]
        vs_ssd = efgrnet["tflops_per_s"] / ssd["tflops_per_s"]
        vs_peak = efgrnet["tflops_per_s"] * 1e12 / peak
        print(
            f"  {size}: EFGRNet FLOP/s / SSD FLOP/s = {vs_ssd:.2f} (target >= 0.85: "
            f"{'met' if vs_ssd >= 0.85 else 'NOT met'}); EFGRNet FLOP/s / matmul peak = "
            f"{100 * vs_peak:.1f}% (target >= 50%: {'met' if vs_peak >= 0.5 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
