"""The compiled op library: it loads, registers both ops, links no CUDA runtime dynamically,
infers static shapes, accepts half/bfloat16 and empty batches, and its CPU engine variants agree
with the baseline build.

Numerical correctness against the NumPy reference is in test_deform_conv*.py (both
implementations); here the float32 result of the same op is the reference.
"""

import functools
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf
from tensorflow.python.framework import op_def_registry

from efgrnet_tf.ops import custom_op_library

ATTRS = dict(strides=[2, 1], padding=[1, 2], dilations=[1, 2], deformable_groups=2)


def _case(rng, batch=2, use_mask=True):
    """Inputs for ATTRS: 7x9 image, 4 channels, 3x2 kernel, 5 outputs -> 4x11 output."""
    out_h, out_w = 4, 11
    tensors = {
        "input": rng.normal(size=(batch, 7, 9, 4)),
        "offset": rng.uniform(-3, 3, (batch, out_h, out_w, 2 * 2 * 6)),
        "mask": rng.uniform(0, 1, (batch, out_h, out_w, 2 * 6)) if use_mask else np.zeros([0]),
        "kernel": rng.normal(size=(3, 2, 4, 5)),
        "grad_output": rng.normal(size=(batch, out_h, out_w, 5)),
    }
    return {name: tf.constant(value, tf.float32) for name, value in tensors.items()}


def _forward_and_grads(library, tensors, dtype, use_mask=True):
    """Output and the four gradients of the op in `dtype`, as float32 NumPy arrays."""
    cast = {name: tf.cast(value, dtype) for name, value in tensors.items()}
    output = library.efgrnet_deform_conv2d(
        cast["input"], cast["offset"], cast["mask"], cast["kernel"], use_mask=use_mask, **ATTRS
    )
    grads = library.efgrnet_deform_conv2d_grad(
        cast["input"],
        cast["offset"],
        cast["mask"],
        cast["kernel"],
        cast["grad_output"],
        use_mask=use_mask,
        **ATTRS,
    )
    return [tf.cast(t, tf.float32).numpy() for t in (output, *grads)]


def test_library_loads_and_registers_both_ops(library):
    assert custom_op_library.library_load_error() is None
    assert custom_op_library.load_deform_conv_library() is library  # cached
    forward = op_def_registry.get("EfgrnetDeformConv2D")
    grad = op_def_registry.get("EfgrnetDeformConv2DGrad")
    assert [arg.name for arg in forward.input_arg] == ["input", "offset", "mask", "kernel"]
    assert [arg.name for arg in grad.output_arg] == [
        "grad_input",
        "grad_offset",
        "grad_mask",
        "grad_kernel",
    ]
    attrs = {attr.name for attr in forward.attr}
    assert {"strides", "padding", "dilations", "deformable_groups", "use_mask", "T"} <= attrs


def test_missing_or_broken_library_gives_none_and_a_reason(monkeypatch, tmp_path):
    # The uncached loader, so the real library stays loaded for the other tests.
    load = custom_op_library._load.__wrapped__
    monkeypatch.setattr(custom_op_library, "LIBRARY_PATH", str(tmp_path / "missing.so"))
    library, reason = load()
    assert library is None
    assert "does not exist" in reason
    broken = tmp_path / "broken.so"
    broken.write_bytes(b"not an ELF file")
    monkeypatch.setattr(custom_op_library, "LIBRARY_PATH", str(broken))
    library, reason = load()
    assert library is None
    assert "failed" in reason


@pytest.mark.skipif(
    shutil.which("readelf") is None or shutil.which("nm") is None, reason="needs binutils"
)
def test_library_carries_its_cuda_runtime_statically():
    """No CUDA shared library is needed, and no CUDA runtime call is left for another library
    (TensorFlow exports CUDA runtime stubs) to resolve: it loads without CUDA installed and
    does not depend on TensorFlow's CUDA version."""
    path = custom_op_library.LIBRARY_PATH
    dynamic = subprocess.run(
        ["readelf", "--dynamic", path], capture_output=True, text=True, check=True
    ).stdout
    needed = [line.split("[")[-1].rstrip("]") for line in dynamic.splitlines() if "NEEDED" in line]
    assert "libtensorflow_framework.so.2" in needed
    assert not [name for name in needed if "cuda" in name or "cublas" in name], needed
    undefined = subprocess.run(
        ["nm", "--dynamic", "--undefined-only", path], capture_output=True, text=True, check=True
    ).stdout.split()
    assert not [symbol for symbol in undefined if symbol.lstrip("_").startswith("cuda")]


def test_shape_inference_gives_static_output_and_gradient_shapes(library):
    specs = [
        tf.TensorSpec([None, 9, 11, 4], tf.float32),
        tf.TensorSpec([None, 5, 6, 18], tf.float32),
        tf.TensorSpec([0], tf.float32),
        tf.TensorSpec([3, 3, 4, 7], tf.float32),
    ]
    attrs = dict(strides=[2, 2], padding=[1, 1], dilations=[1, 1], deformable_groups=1)

    @tf.function(input_signature=specs)
    def forward(x, offset, mask, kernel):
        return library.efgrnet_deform_conv2d(x, offset, mask, kernel, **attrs)

    # Ho = (9 + 2 - 3) // 2 + 1 = 5, Wo = (11 + 2 - 3) // 2 + 1 = 6
    assert forward.get_concrete_function().structured_outputs.shape.as_list() == [None, 5, 6, 7]

    @tf.function(input_signature=[*specs, tf.TensorSpec([None, 5, 6, 7], tf.float32)])
    def backward(x, offset, mask, kernel, grad_output):
        return library.efgrnet_deform_conv2d_grad(x, offset, mask, kernel, grad_output, **attrs)

    shapes = [t.shape.as_list() for t in backward.get_concrete_function().structured_outputs]
    assert shapes == [[None, 9, 11, 4], [None, 5, 6, 18], [0], [3, 3, 4, 7]]


@pytest.mark.parametrize(
    ("dtype", "tolerance"), [(tf.float16, 2e-2), (tf.bfloat16, 1e-1)], ids=["half", "bfloat16"]
)
def test_half_and_bfloat16_agree_with_float32(library, dtype, tolerance):
    tensors = _case(np.random.default_rng(1))
    # The reference is float32 on the same low-precision inputs, so only the accumulation and
    # the final rounding can differ.
    rounded = {name: tf.cast(tf.cast(value, dtype), tf.float32) for name, value in tensors.items()}
    want = _forward_and_grads(library, rounded, tf.float32)
    got = _forward_and_grads(library, tensors, dtype)
    for name, g, w in zip(["output", "input", "offset", "mask", "kernel"], got, want, strict=True):
        scale = np.abs(w).max()
        np.testing.assert_allclose(g, w, atol=tolerance * scale, err_msg=name)


def test_empty_batch_gives_empty_output_and_gradients(library):
    tensors = _case(np.random.default_rng(2), batch=0)
    output, grad_input, grad_offset, grad_mask, grad_kernel = _forward_and_grads(
        library, tensors, tf.float32
    )
    assert output.shape == (0, 4, 11, 5)
    assert grad_input.shape == (0, 7, 9, 4)
    assert grad_offset.shape == (0, 4, 11, 24)
    assert grad_mask.shape == (0, 4, 11, 12)
    np.testing.assert_array_equal(grad_kernel, np.zeros((3, 2, 4, 5)))


def test_without_mask_the_mask_gradient_is_empty_and_tape_skips_it(library):
    tensors = _case(np.random.default_rng(3), use_mask=False)
    *_, grad_mask, _ = _forward_and_grads(library, tensors, tf.float32, use_mask=False)
    assert grad_mask.shape == (0,)
    sources = [tensors["input"], tensors["offset"], tensors["mask"], tensors["kernel"]]
    with tf.GradientTape() as tape:
        tape.watch(sources)
        output = library.efgrnet_deform_conv2d(*sources, use_mask=False, **ATTRS)
    grads = tape.gradient(output, sources, output_gradients=tensors["grad_output"])
    assert grads[2] is None
    assert all(g is not None for i, g in enumerate(grads) if i != 2)


_VARIANT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import tensorflow as tf
    from efgrnet_tf.ops.custom_op_library import load_deform_conv_library
    library = load_deform_conv_library()
    rng = np.random.default_rng(4)
    args = [rng.normal(size=(3, 6, 7, 8)), rng.uniform(-3, 3, (3, 6, 7, 36)),
            rng.uniform(0, 1, (3, 6, 7, 18)), rng.normal(size=(3, 3, 8, 16))]
    args = [tf.constant(a, tf.float32) for a in args]
    attrs = dict(padding=[1, 1], deformable_groups=2, use_mask=True)
    out = library.efgrnet_deform_conv2d(*args, **attrs)
    grads = library.efgrnet_deform_conv2d_grad(*args, tf.ones_like(out), **attrs)
    json.dump([t.numpy().ravel().tolist() for t in (out, *grads)], sys.stdout)
    """
)


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as handle:
            line = next(line for line in handle if line.startswith("flags"))
    except (OSError, StopIteration):
        return set()
    return set(line.split(":", 1)[1].split())


# The vector variants (cpu_engine.cc) and the CPU flags each needs, fastest first.
VECTOR_ENGINES = {
    "avx512": {"avx512f", "avx512dq", "avx512bw", "avx512vl"},
    "avx2": {"avx2", "fma"},
}
SUPPORTED_VECTOR_ENGINES = [isa for isa, flags in VECTOR_ENGINES.items() if flags <= _cpu_flags()]


@pytest.mark.parametrize("isa", SUPPORTED_VECTOR_ENGINES)
def test_each_vector_engine_variant_agrees_with_the_baseline(library, isa):
    """Each instruction-set variant the CPU supports (forced by EFGRNET_CPU_ENGINE) matches the
    baseline build up to rounding, and really ran: its FMA rounding differs from the
    baseline's in the last bits, which a selection ignoring the variable would not give."""
    del library  # the subprocesses load their own copy
    got, want = _run_engine(isa), _run_engine("baseline")
    for name, g, w in zip(["output", "input", "offset", "mask", "kernel"], got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-4, err_msg=name)
    bitwise_equal = all(np.array_equal(g, w) for g, w in zip(got, want, strict=True))
    assert not bitwise_equal, f"the baseline's very numbers: EFGRNET_CPU_ENGINE={isa} did not run"


def test_the_default_engine_is_the_fastest_variant_the_cpu_supports(library):
    del library
    fastest = SUPPORTED_VECTOR_ENGINES[0] if SUPPORTED_VECTOR_ENGINES else "baseline"
    for got, want in zip(_run_engine(""), _run_engine(fastest), strict=True):
        np.testing.assert_array_equal(got, want)


@functools.cache
def _run_engine(engine):
    """Output and gradients of _VARIANT_SCRIPT in a fresh process using CPU engine `engine`
    ("" for the default choice)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    env["EFGRNET_CPU_ENGINE"] = engine
    result = subprocess.run(
        [sys.executable, "-c", _VARIANT_SCRIPT], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return [np.array(values) for values in json.loads(result.stdout)]
