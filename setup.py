"""Build of the deformable-convolution op library; the package metadata is in pyproject.toml.

`pip install --no-build-isolation -e .` (what the Makefile runs) and `pip install .` both run the
`build_ext` below, which compiles `custom_ops/deform_conv/` into
`efgrnet_tf/ops/_deform_conv_ops.so` with the compile and link flags of the installed TensorFlow
(`tf.sysconfig`: headers, C++17, the C++ ABI flag).

- The CPU kernels are always built. Their engine (`cpu_engine_*.cc`) is compiled three times on
  x86-64 (baseline, AVX2+FMA, AVX-512) and the library picks the best at run time, so one build
  is both fast and portable.
- The CUDA kernels are built when `nvcc` is found (PATH, $CUDA_HOME/bin or /usr/local/cuda/bin)
  and TensorFlow is a CUDA build; `EFGRNET_BUILD_CUDA=1` forces them (an error without nvcc),
  `EFGRNET_BUILD_CUDA=0` skips them. The CUDA runtime is linked statically, so the library also
  loads on machines without CUDA libraries. `EFGRNET_CUDA_ARCHS` overrides the target list.
- A compiler error fails the build with the compiler's message; there is no silent fallback.

Objects are cached in the build directory and recompiled when a source, a header or the flags
change.
"""

import glob
import os
import platform
import shlex
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext
from setuptools.errors import CompileError, LinkError

SOURCE_DIR = os.path.join("custom_ops", "deform_conv")
LIBRARY_NAME = "efgrnet_tf.ops._deform_conv_ops"

# Per-file flags of the engine variants (x86-64 only; cpu_engine.cc dispatches on CPUID).
ISA_FLAGS = {
    "cpu_engine_avx2.cc": ["-mavx2", "-mfma"],
    "cpu_engine_avx512.cc": [
        "-mavx2",
        "-mfma",
        "-mavx512f",
        "-mavx512dq",
        "-mavx512bw",
        "-mavx512vl",
    ],
}
# Compiled only into CUDA builds: the GPU op kernels (g++) and the kernels themselves (nvcc).
GPU_HOST_SOURCES = ("deform_conv_gpu_kernels.cc",)
CUDA_SUFFIX = ".cu.cc"
# Objects live here rather than in build_temp, which editable installs make a fresh temporary
# directory each time: `make test` then relinks instead of recompiling everything.
OBJECT_CACHE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "build", "deform_conv")
# nvcc 13 supports sm_75 and newer; SASS for A100 and H100 plus PTX that newer GPUs JIT-compile.
DEFAULT_CUDA_ARCHS = "80;90"

CXX_FLAGS = [
    "-O3",
    "-fPIC",
    "-DNDEBUG",
    "-fvisibility=hidden",
    # Vectorised reductions (`#pragma omp simd reduction`) without OpenMP's runtime.
    "-fopenmp-simd",
    # TensorFlow's and Eigen's headers are noisy with recent GCC.
    "-Wno-deprecated-declarations",
    "-Wno-interference-size",
]


def _log(message):
    print(f"efgrnet-tf build: {message}", flush=True)


def _tensorflow_flags():
    """(compile flags, link flags) of the installed TensorFlow, and whether it is a CUDA build."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return (
        tf.sysconfig.get_compile_flags(),
        tf.sysconfig.get_link_flags(),
        bool(tf.sysconfig.get_build_info().get("is_cuda_build", False)),
    )


def _find_nvcc():
    candidates = [shutil.which("nvcc")]
    if os.environ.get("CUDA_HOME"):
        candidates.append(os.path.join(os.environ["CUDA_HOME"], "bin", "nvcc"))
    candidates.append("/usr/local/cuda/bin/nvcc")
    for candidate in candidates:
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def _cuda_plan(tf_is_cuda_build):
    """The nvcc to use, or None with the reason the build is CPU-only."""
    request = os.environ.get("EFGRNET_BUILD_CUDA", "").strip()
    if request == "0":
        return None, "EFGRNET_BUILD_CUDA=0"
    nvcc = _find_nvcc()
    if request == "1":
        if nvcc is None:
            raise CompileError("EFGRNET_BUILD_CUDA=1 but nvcc was not found (PATH, CUDA_HOME)")
        return nvcc, None
    if nvcc is None:
        return None, "nvcc not found on PATH, in $CUDA_HOME/bin or /usr/local/cuda/bin"
    if not tf_is_cuda_build:
        return None, "the installed TensorFlow is not a CUDA build"
    return nvcc, None


def _cuda_root(nvcc):
    """The toolkit directory of `nvcc`, as nvcc itself reports it (it may be a wrapper script)."""
    dryrun = subprocess.run(
        [nvcc, "--dryrun", "-x", "cu", "-c", os.devnull], capture_output=True, text=True
    )
    for line in (dryrun.stdout + dryrun.stderr).splitlines():
        if line.startswith("#$ TOP="):
            return os.path.realpath(line.split("=", 1)[1].strip())
    return os.path.dirname(os.path.dirname(os.path.realpath(nvcc)))


def _cuda_library_dir(nvcc):
    """Directory of libcudart_static.a in the toolkit that `nvcc` belongs to."""
    root = _cuda_root(nvcc)
    candidates = [os.path.join(root, "lib64"), os.path.join(root, "lib")]
    candidates += glob.glob(os.path.join(root, "targets", "*", "lib"))
    for directory in candidates:
        if os.path.exists(os.path.join(directory, "libcudart_static.a")):
            return directory
    raise LinkError(f"libcudart_static.a not found under {root} (needed next to {nvcc})")


def _nvcc_version(nvcc):
    output = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    release = [line for line in output.splitlines() if "release" in line]
    return release[-1].split("release")[-1].strip() if release else "(unknown version)"


def _run(command, what):
    """Runs a compiler command; its output becomes the error message when it fails."""
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise CompileError(
            f"{what} failed (exit {result.returncode}):\n{shlex.join(command)}\n"
            f"{result.stdout}{result.stderr}"
        )


class BuildDeformConvOps(build_ext):
    """Compiles the op library with g++ (and nvcc) using TensorFlow's flags."""

    def get_ext_filename(self, fullname):
        # tf.load_op_library loads a plain shared library, not a Python extension module, so
        # the name carries no Python ABI tag.
        return os.path.join(*fullname.split(".")) + ".so"

    def build_extension(self, ext):
        tf_compile, tf_link, tf_is_cuda_build = _tensorflow_flags()
        nvcc, cpu_only_reason = _cuda_plan(tf_is_cuda_build)
        if nvcc is None:
            _log(f"building CPU-only deformable conv ({cpu_only_reason})")
        else:
            _log(f"building CUDA kernels with nvcc {_nvcc_version(nvcc)} ({nvcc})")

        cxx = os.environ.get("CXX", "g++")
        cxx_flags = [*tf_compile, *CXX_FLAGS]
        is_x86_64 = platform.machine().lower() in ("x86_64", "amd64")

        jobs = []  # (source, object, command)
        for source in ext.sources:
            name = os.path.basename(source)
            if name in ISA_FLAGS and not is_x86_64:
                continue
            if (name in GPU_HOST_SOURCES or name.endswith(CUDA_SUFFIX)) and nvcc is None:
                continue
            obj = os.path.join(OBJECT_CACHE_DIR, name + ".o")
            if name.endswith(CUDA_SUFFIX):
                command = [nvcc, *self._nvcc_flags(tf_compile), "-c", source, "-o", obj]
            else:
                command = [cxx, *cxx_flags, *ISA_FLAGS.get(name, []), "-c", source, "-o", obj]
            jobs.append((source, obj, command))

        self._compile_all(jobs, ext.depends)

        # AVX objects last: of the few std:: templates they instantiate besides their renamed
        # Eigen, the linker keeps the first copy, built with baseline flags by another object
        # (e.g. the baseline engine), so no AVX code runs outside the variant the CPU supports.
        objects = sorted(
            (obj for _, obj, _ in jobs), key=lambda o: os.path.basename(o)[:-2] in ISA_FLAGS
        )
        link = [cxx, "-shared", *objects, "-o", self.get_ext_fullpath(ext.name)]
        if nvcc is not None:
            # Before TensorFlow's library, which exports CUDA runtime stubs of its own: the
            # linker must resolve our CUDA calls from the static runtime, not bind them to those.
            # --exclude-libs keeps the runtime's symbols private to this library.
            link += [f"-L{_cuda_library_dir(nvcc)}", "-l:libcudart_static.a", "-ldl", "-lrt"]
            link.append("-Wl,--exclude-libs,libcudart_static.a")
        link += [*tf_link, "-lpthread", "-Wl,--as-needed"]
        os.makedirs(os.path.dirname(self.get_ext_fullpath(ext.name)), exist_ok=True)
        _log(f"linking {self.get_ext_fullpath(ext.name)}")
        try:
            _run(link, "linking the op library")
        except CompileError as error:
            raise LinkError(str(error)) from None

    def _nvcc_flags(self, tf_compile):
        archs = os.environ.get("EFGRNET_CUDA_ARCHS", DEFAULT_CUDA_ARCHS).split(";")
        gencode = [f"-gencode=arch=compute_{a},code=sm_{a}" for a in archs]
        gencode.append(f"-gencode=arch=compute_{archs[-1]},code=compute_{archs[-1]}")
        # The .cu.cc files use no TensorFlow headers; only the ABI flag must match.
        abi = [flag for flag in tf_compile if flag.startswith("-D_GLIBCXX_USE_CXX11_ABI")]
        return [
            "-x",
            "cu",
            "-std=c++17",
            "-O3",
            "-DNDEBUG",
            *abi,
            "-Xcompiler",
            "-fPIC,-fvisibility=hidden",
            *gencode,
        ]

    def _compile_all(self, jobs, depends):
        """Compiles the out-of-date objects, `parallel` (default: all CPUs) at a time."""
        stale = []
        for source, obj, command in jobs:
            previous = _read_text(obj + ".cmd")
            inputs = [source, *depends]
            if (
                self.force
                or previous != shlex.join(command)
                or not os.path.exists(obj)
                or os.path.getmtime(obj) < max(os.path.getmtime(p) for p in inputs)
            ):
                stale.append((source, obj, command))
        workers = self.parallel if isinstance(self.parallel, int) else os.cpu_count() or 1
        _log(f"compiling {len(stale)} of {len(jobs)} sources ({workers} at a time)")

        def compile_one(job):
            source, obj, command = job
            os.makedirs(os.path.dirname(obj), exist_ok=True)
            _log(f"compiling {source}")
            _run(command, f"compiling {source}")
            with open(obj + ".cmd", "w") as handle:
                handle.write(shlex.join(command))

        with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
            for future in [pool.submit(compile_one, job) for job in stale]:
                future.result()


def _read_text(path):
    """Contents of the file at `path`, or None when it does not exist."""
    if not os.path.exists(path):
        return None
    with open(path) as handle:
        return handle.read()


def _sources():
    return sorted(glob.glob(os.path.join(SOURCE_DIR, "*.cc")))


def _depends():
    headers = ("*.h", "*.inc", "*.cuh")
    return sorted(p for pattern in headers for p in glob.glob(os.path.join(SOURCE_DIR, pattern)))


setup(
    ext_modules=[Extension(LIBRARY_NAME, sources=_sources(), depends=_depends())],
    cmdclass={"build_ext": BuildDeformConvOps},
)
