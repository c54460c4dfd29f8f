"""`scripts/benchmark_layers.py` charges every profiled op to the model part that runs it."""

import pytest
from script_modules import load_script, run_script
from tensorflow.tsl.profiler.protobuf import xplane_pb2

_LAYERS = {"block1_conv1", "conv8_2", "mscf", "objectness_fusion1", "fgrm1", "class_head1"}


@pytest.fixture(scope="module")
def benchmark():
    return load_script("benchmark_layers")


@pytest.mark.parametrize(
    ("op_name", "part"),
    [
        ("efgrnet_vgg16_320_1/block1_conv1_1/convolution", "block1_conv1"),
        ("efgrnet_vgg16_320_1/conv8_2_1/bn_1/batchnorm/mul", "conv8_2"),
        ("efgrnet_vgg16_320_1/mscf_1/stem_3x3_1/conv_1/convolution", "mscf"),
        ("efgrnet_vgg16_320_1/fgrm1_1/deformable_conv_1/MatMul", "fgrm1/deformable_conv"),
        ("efgrnet_vgg16_320_1/fgrm1_1/offset_conv_1/conv_1/convolution", "fgrm1/offset_conv"),
        ("efgrnet_vgg16_320_1/fgrm1_1/mul", "fgrm1/other"),
        ("efgrnet_vgg16_320_1/class_logits_1/concat", "(model)"),
        ("efgrnet_vgg16_320_1/Identity", "(model)"),
    ],
)
def test_an_op_belongs_to_the_layer_of_its_name_scope(benchmark, op_name, part):
    assert benchmark.part_of_op(op_name, _LAYERS) == part


@pytest.mark.parametrize(
    ("part", "module"),
    [
        ("block4_conv3", "backbone"),
        ("fc7", "backbone"),
        ("conv8_2", "backbone"),
        ("mscf", "MSCF"),
        ("objectness_fusion2", "objectness fusion"),
        ("objectness_class_head3", "objectness heads"),
        ("fgrm2/deformable_conv", "FGRM"),
        ("box_head4", "heads"),
        ("(model)", "other"),
    ],
)
def test_parts_group_into_the_papers_modules(benchmark, part, module):
    assert benchmark.module_of_part(part) == module


def test_op_times_come_from_op_events_only(benchmark):
    xspace = xplane_pb2.XSpace()
    plane = xspace.planes.add(name="/host:CPU")
    for metadata_id, name in enumerate(
        ("model/conv_1/Conv2D:_MklNativeConv2D", "ExecutorState::Process", "EagerExecute: f"), 1
    ):
        plane.event_metadata[metadata_id].name = name
    line = plane.lines.add(name="tf_Compute")
    for metadata_id, duration_us in ((1, 3.0), (2, 50.0), (1, 4.5), (3, 70.0)):
        line.events.add(metadata_id=metadata_id, duration_ps=int(duration_us * 1e6))

    assert benchmark.op_microseconds(xspace) == {"model/conv_1/Conv2D": pytest.approx(7.5)}


def test_each_op_keeps_its_shortest_round(benchmark):
    rounds = [{"a": 5.0, "b": 1.0, "c": 9.0}, {"a": 2.0, "b": 3.0}]

    assert benchmark.shortest_op_microseconds(rounds) == {"a": 2.0, "b": 1.0}


@pytest.mark.slow
def test_a_tiny_run_profiles_both_variants_and_sums_their_parts():
    completed = run_script(
        "benchmark_layers",
        "--sizes=128",
        "--width_multiplier=0.0625",
        "--precisions=float32",
        "--rounds=1",
        "--top=0",
    )

    out = completed.stdout
    assert completed.returncode == 0, out + completed.stderr
    assert "efgrnet 128 float32 b1: wall" in out and "ssd 128 float32 b1: wall" in out
    efgrnet_table = out[out.index("efgrnet 128") : out.index("ssd 128")]
    for part in ("mscf", "objectness_fusion1", "fgrm1/deformable_conv", "box_head4"):
        assert f"  {part} " in efgrnet_table
    assert "EFGRNet / SSD wall:" in out
