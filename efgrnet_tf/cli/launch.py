"""Starts every command-line tool the same way: its own flags in `--helpshort`, expected user
errors as one line on stderr with exit status 2, Ctrl-C as a clean exit.

Set `--verbosity=1` (`-v 1`) or the environment variable `EFGRNET_TRACEBACK=1` to get the full
traceback of an expected error instead of its one line.
"""

from __future__ import annotations

import logging as std_logging
import os
import signal
import sys
from collections.abc import Callable, Iterable, Sequence

from absl import app, flags, logging

from efgrnet_tf.config.loader import ConfigError
from efgrnet_tf.user_errors import UserInputError

EXIT_USER_ERROR = 2
TRACEBACK_VARIABLE = "EFGRNET_TRACEBACK"
# TensorFlow's checkpoint writer logs this at INFO on every save.
_CHECKPOINT_NOISE = "Sharding callback duration"


# Expected user errors: reported in one line, exit status 2.
USER_ERRORS = (
    UserInputError,
    ConfigError,
    app.UsageError,
    flags.Error,
    FileNotFoundError,
    FileExistsError,
    NotADirectoryError,
    IsADirectoryError,
    PermissionError,
)


def interrupted_exit_status(signal_number: int) -> int:
    """The shell's status for a process stopped by `signal_number`: 130 for SIGINT, 143 SIGTERM."""
    return 128 + signal_number


def wants_traceback() -> bool:
    """Whether `--verbosity>=1` or EFGRNET_TRACEBACK asks for tracebacks of expected errors."""
    verbose = flags.FLAGS.is_parsed() and flags.FLAGS["verbosity"].value >= 1
    return verbose or os.environ.get(TRACEBACK_VARIABLE, "") not in ("", "0")


def fail(message: str) -> None:
    """Prints `<program>: error: <message>` as one line on stderr and exits with status 2."""
    program = os.path.basename(sys.argv[0])
    one_line = " ".join(str(message).split())
    print(f"{program}: error: {one_line}", file=sys.stderr)
    sys.exit(EXIT_USER_ERROR)


def run_tool(main: Callable[[list[str]], int | None], flag_modules: Iterable[str]) -> None:
    """`app.run(main)` with this project's conventions (see the module docstring).

    Args:
      main: the tool's `main(argv)`; its return value is the exit status.
      flag_modules: names of the modules whose flags are the tool's own (its module, and
        `efgrnet_tf.cli.config_flags` when it uses `--config`); `--helpshort` lists them.
    """
    _make_key_flags_of_main(flag_modules)
    app.run(_reporting_errors(main), flags_parser=_parse_flags)


def copy_log_to_file(path: str) -> std_logging.Handler:
    """From now on, also appends each log line the console shows to the text file `path`.

    The lines keep absl's console format; TensorFlow's per-save checkpoint line is left out
    below `--verbosity=1`, as on the console. Returns the handler (on the root logger).
    """
    handler = std_logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.PythonFormatter())
    handler.addFilter(_HideCheckpointNoise())
    std_logging.getLogger().addHandler(handler)
    return handler


def _make_key_flags_of_main(modules: Iterable[str]) -> None:
    """Lists the flags of `modules` under `sys.argv[0]`, the module `--helpshort` shows.

    absl files a flag under the module that defined it; only `python -m <module>` makes that
    module the main one, while console scripts and `scripts/*.py` are wrappers around it.
    """
    by_module = flags.FLAGS.flags_by_module_dict()
    for module in modules:
        for flag in by_module.get(module, []):
            flags.FLAGS.register_key_flag_for_module(sys.argv[0], flag)


def _parse_flags(argv: Sequence[str]) -> list[str]:
    try:
        return flags.FLAGS(list(argv))
    except flags.Error as e:
        fail(f"{e} (--helpshort lists the flags)")


class _HideCheckpointNoise(std_logging.Filter):
    """Drops TensorFlow's per-save "Sharding callback duration" line below `--verbosity=1`."""

    def filter(self, record: std_logging.LogRecord) -> bool:
        if str(record.msg).startswith(_CHECKPOINT_NOISE):
            return flags.FLAGS["verbosity"].value >= 1
        return True


def _reporting_errors(main: Callable[[list[str]], int | None]) -> Callable[[list[str]], int]:
    def reporting_main(argv: list[str]) -> int:
        logging.get_absl_logger().addFilter(_HideCheckpointNoise())
        try:
            return main(argv) or 0
        except USER_ERRORS as e:
            if wants_traceback():
                raise
            fail(str(e))
        except KeyboardInterrupt:
            print("interrupted", file=sys.stderr)
            return interrupted_exit_status(signal.SIGINT)

    return reporting_main
