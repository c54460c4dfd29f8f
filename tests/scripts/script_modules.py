"""Loads a file of `scripts/` as a module, for tests that call its functions in-process."""

import importlib.util
import os
import types

SCRIPTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts")


def load_script(name: str) -> types.ModuleType:
    """`scripts/<name>.py` executed as the module `efgrnet_<name>_script` (its flags defined)."""
    spec = importlib.util.spec_from_file_location(
        f"efgrnet_{name}_script", os.path.join(SCRIPTS, f"{name}.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
