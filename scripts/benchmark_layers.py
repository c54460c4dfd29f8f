"""Where the forward pass spends its time: TensorFlow-profiler op times summed per model part.

For each input size and precision, EFGRNet and its SSD baseline (`feature_enrichment` and
`cascade` off) are built with random weights; after warm-up, `--rounds` forward passes of a
batch are timed (the fastest counts as the wall time), then `--rounds` more run each under the
TensorFlow profiler. Each op keeps its shortest duration over those rounds (on a shared machine
any op may be descheduled in one round), and the op times are summed per part of the model,
named after the Keras layer whose name scope holds the op (FGRM layers split into their offset
conv, deformable conv, BN and the rest), with the part's FLOPs (`efgrnet_tf.modeling.flops`:
convs and matrix products) and the GFLOP/s it achieved. TensorFlow runs one op at a time here
(`--inter_op_threads=1`, each op still on all cores), so op times add up to about the wall time
instead of overlapping.

    python scripts/benchmark_layers.py                               # VGG16 320 and 512, b1
    python scripts/benchmark_layers.py --sizes=320 --precisions=mixed_bfloat16 --top=15
    python scripts/benchmark_layers.py --sizes=128 --width_multiplier=0.0625 --rounds=1  # quick
"""

import collections
import glob
import os
import re
import tempfile
import time

# First: loads TensorFlow without its C++ start-up lines (efgrnet_tf.cli.tf_startup).
from efgrnet_tf.cli import launch

# isort: split
import keras
import tensorflow as tf
from absl import app, flags
from tensorflow.tsl.profiler.protobuf import xplane_pb2

import efgrnet_tf
from efgrnet_tf.cli.whole_number_flags import define_whole_numbers
from efgrnet_tf.config import config_from_dict

# The per-op count behind `count_flops`, so that parts add up to the model's FLOPs.
from efgrnet_tf.modeling.flops import op_flops
from efgrnet_tf.modeling.precision import PRECISIONS
from efgrnet_tf.ops.deform_conv import IMPLEMENTATIONS

VARIANTS = (("efgrnet", {}), ("ssd", {"feature_enrichment": False, "cascade": False}))
# Parts of an FGRM layer worth their own row (sub-layer scopes); the rest is "other".
FGRM_PARTS = ("offset_conv", "deformable_conv", "bn")
# Model parts grouped into the modules of the paper (Fig. 2), by layer name.
MODULES = (
    ("backbone", re.compile(r"^(block\d|fc\d|conv\d_\d|pool\d|input_scale)")),
    ("MSCF", re.compile(r"^mscf")),
    ("objectness fusion", re.compile(r"^objectness_fusion")),
    ("objectness heads", re.compile(r"^objectness_(box|class)_head")),
    ("FGRM", re.compile(r"^fgrm")),
    ("heads", re.compile(r"^(box|class)_head")),
)


def part_of_op(op_name, layer_names):
    """The model part an op belongs to: its top-level layer (`fgrm1/deformable_conv` for an
    FGRM's sub-layers in `FGRM_PARTS`, `fgrm1/other` for its other ops), or "(model)".

    Op names look like `efgrnet_vgg16_320_1/fgrm1_1/deformable_conv_1/MatMul`: each scope is a
    layer name, made unique in the graph by a `_N` suffix.
    """
    scopes = op_name.split("/")
    layer = _layer_of_scope(scopes[1], layer_names) if len(scopes) > 2 else None
    if layer is None:
        return "(model)"
    if not layer.startswith("fgrm"):
        return layer
    sub_layer = _layer_of_scope(scopes[2], FGRM_PARTS) if len(scopes) > 3 else None
    return f"{layer}/{sub_layer or 'other'}"


def _layer_of_scope(scope, layer_names):
    """The name in `layer_names` that `scope` is (`name` or `name_N`), else None."""
    if scope in layer_names:
        return scope
    base = re.sub(r"_\d+$", "", scope)
    return base if base in layer_names else None


def module_of_part(part):
    """The module of the paper a part belongs to (`MODULES`), or "other"."""
    return next((module for module, pattern in MODULES if pattern.match(part)), "other")


# A TensorFlow op's event is named `op_name:OpType`; the runtime's own events (executor,
# thread pool, eager dispatch) are not.
_OP_EVENT = re.compile(r"^([^:\s]+):(\w+)$")


def op_microseconds(xspace):
    """`{op name: summed duration in µs}` of the TensorFlow ops in a profiler XSpace."""
    totals = collections.Counter()
    for plane in xspace.planes:
        if not plane.name.startswith("/host:"):
            continue
        for line in plane.lines:
            for event in line.events:
                op = _OP_EVENT.match(plane.event_metadata[event.metadata_id].name)
                if op:
                    totals[op.group(1)] += event.duration_ps / 1e6
    return totals


def _profiled_op_microseconds(call):
    """`op_microseconds` of one call of `call` under the TensorFlow profiler."""
    with tempfile.TemporaryDirectory() as logdir:
        tf.profiler.experimental.start(logdir)
        call()
        tf.profiler.experimental.stop()
        (path,) = glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True)
        xspace = xplane_pb2.XSpace()
        with open(path, "rb") as f:
            xspace.ParseFromString(f.read())
    return op_microseconds(xspace)


def shortest_op_microseconds(rounds):
    """`{op name: its shortest duration}` over `rounds` (`op_microseconds` dicts); an op
    missing from a round is left out."""
    names = set.intersection(*(set(times) for times in rounds))
    return {name: min(times[name] for times in rounds) for name in names}


def profile_model(model, images, rounds):
    """Wall time and per-part op time and FLOPs of `model`'s forward pass on `images`.

    Returns:
        `(wall_ms, parts, op_ms)`: the fastest of `rounds` timed calls, `{part: (ms, flops)}`
        of one forward pass (each op's shortest duration over `rounds` profiled calls), and
        `{part: {op name: ms}}`.
    """
    forward = tf.function(lambda x: model(x, training=False))
    layer_names = {layer.name for layer in model.layers}

    def call():
        # Fetching one value waits for the whole forward pass.
        return forward(images)["class_logits"][0, 0, 0].numpy()

    for _ in range(2):
        call()
    wall = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        call()
        wall = min(wall, time.perf_counter() - start)
    graph = forward.get_concrete_function(images).graph
    flops = collections.Counter()
    for op in graph.get_operations():
        flops[part_of_op(op.name, layer_names)] += op_flops(op)
    op_times = shortest_op_microseconds([_profiled_op_microseconds(call) for _ in range(rounds)])
    milliseconds = collections.Counter()
    op_ms = collections.defaultdict(dict)
    for name, microseconds in op_times.items():
        part = part_of_op(name, layer_names)
        milliseconds[part] += microseconds / 1e3
        op_ms[part][name] = microseconds / 1e3
    parts = {part: (milliseconds[part], flops[part]) for part in milliseconds | flops}
    return 1e3 * wall, parts, op_ms


def _print_model(title, wall_ms, parts, top):
    total_ms = sum(ms for ms, _ in parts.values())
    total_flops = sum(f for _, f in parts.values())
    print(
        f"{title}: wall {wall_ms:.1f} ms, op time {total_ms:.1f} ms "
        f"({total_ms / wall_ms:.2f}x wall), {total_flops / 1e9:.2f} GFLOPs, "
        f"{total_flops / total_ms / 1e6:.0f} GFLOP/s"
    )
    header = f"  {'part':<34}{'op ms':>9}{'% ops':>7}{'GFLOPs':>9}{'GFLOP/s':>9}"
    print(header)
    ranked = sorted(parts.items(), key=lambda item: -item[1][0])
    for part, (ms, part_flops) in ranked[: top or None]:
        rate = f"{part_flops / ms / 1e6:>9.0f}" if part_flops and ms else f"{'':>9}"
        print(f"  {part:<34}{ms:>9.1f}{100 * ms / total_ms:>6.1f}%{part_flops / 1e9:>9.2f}{rate}")
    modules = collections.defaultdict(lambda: [0.0, 0])
    for part, (ms, part_flops) in parts.items():
        modules[module_of_part(part)][0] += ms
        modules[module_of_part(part)][1] += part_flops
    print(f"  {'by module':<34}")
    for module, (ms, module_flops) in sorted(modules.items(), key=lambda item: -item[1][0]):
        rate = f"{module_flops / ms / 1e6:>9.0f}" if module_flops and ms else f"{'':>9}"
        print(
            f"    {module:<32}{ms:>9.1f}{100 * ms / total_ms:>6.1f}%"
            f"{module_flops / 1e9:>9.2f}{rate}"
        )
    return modules


def define_flags():
    """The script's flags; defined when it runs, so that tests import its helpers beside other
    benchmark scripts that define flags of the same names."""
    define_whole_numbers("sizes", [320, 512], "Model input sizes, comma-separated.")
    flags.DEFINE_integer("batch", 1, "Batch size.")
    flags.DEFINE_list(
        "precisions", ["float32", "mixed_bfloat16"], f"model.precision values, of {PRECISIONS}."
    )
    flags.register_validator(
        "precisions",
        lambda values: set(values) <= set(PRECISIONS),
        f"--precisions takes values of {PRECISIONS}",
    )
    flags.DEFINE_float("width_multiplier", 1.0, "model.width_multiplier.")
    flags.DEFINE_integer("num_classes", 21, "model.num_classes (with background).")
    flags.DEFINE_enum(
        "deform_conv_implementation",
        "auto",
        list(IMPLEMENTATIONS),
        "Deformable conv.",
    )
    flags.DEFINE_integer("rounds", 5, "Timed forward passes, then as many profiled ones.")
    flags.DEFINE_integer(
        "inter_op_threads", 1, "Ops TensorFlow runs at once (0: its default, one per core)."
    )
    flags.DEFINE_integer("top", 12, "Parts listed per model, slowest first (0: all).")
    flags.DEFINE_list("detail", [], "Parts whose ops are listed one by one (e.g. fgrm1/bn).")


def _print_ops(part, op_ms):
    """The ops of one part, slowest first, named below the part's scope."""
    print(f"  ops of {part}:")
    for name, ms in sorted(op_ms.items(), key=lambda item: -item[1]):
        print(f"    {'/'.join(name.split('/')[2:]):<58}{ms:>9.2f}")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    args = flags.FLAGS
    tf.config.threading.set_inter_op_parallelism_threads(args.inter_op_threads)
    print(
        f"tensorflow {tf.__version__}  {os.cpu_count()} CPUs  inter-op threads "
        f"{args.inter_op_threads or 'default'}  load average {os.getloadavg()[0]:.1f}  "
        f"batch {args.batch}  width "
        f"{args.width_multiplier}  deformable conv {args.deform_conv_implementation}  "
        f"{args.rounds} rounds"
    )
    for size in args.sizes:
        images = tf.random.normal([args.batch, size, size, 3], stddev=50.0)
        for precision in args.precisions:
            results = {}
            for variant, fields in VARIANTS:
                model_fields = dict(
                    image_size=size,
                    num_classes=args.num_classes,
                    width_multiplier=args.width_multiplier,
                    precision=precision,
                    deform_conv_implementation=args.deform_conv_implementation,
                    **fields,
                )
                model = efgrnet_tf.build_model(config_from_dict({"model": model_fields}))
                wall_ms, parts, op_ms = profile_model(model, images, args.rounds)
                title = f"{variant} {size} {precision} b{args.batch}"
                modules = _print_model(title, wall_ms, parts, args.top)
                for part in args.detail:
                    _print_ops(part, op_ms.get(part, {}))
                results[variant] = wall_ms, modules
                keras.utils.clear_session()
            (efgrnet_ms, _), (ssd_ms, _) = results["efgrnet"], results["ssd"]
            print(f"  EFGRNet / SSD wall: {efgrnet_ms / ssd_ms:.2f}\n")


if __name__ == "__main__":
    define_flags()
    launch.run_tool(main, [__name__])
