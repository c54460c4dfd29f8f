"""Flags holding comma-separated whole numbers (`--sizes=320,512`), parsed into a list of ints.

absl's `DEFINE_list` gives strings; the benchmarks use these values as sizes, batches and thread
counts, so parsing them once here turns a typo into the one-line flag error of
efgrnet_tf/cli/launch.py instead of a failure deep inside a run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from absl import flags


class WholeNumbersParser(flags.ListParser):
    """Parses `"320,512"` (or a list) into `[320, 512]`; `length` fixes how many there are."""

    def __init__(self, length: int | None = None):
        super().__init__()
        self._length = length

    def parse(self, argument: str | Sequence[int]) -> list[int]:
        items = [str(item).strip() for item in super().parse(argument)]
        if not all(item.isdigit() for item in items):
            raise ValueError(f"takes whole numbers, comma-separated, not {','.join(items)!r}")
        if self._length is not None and len(items) != self._length:
            raise ValueError(f"takes {self._length} whole numbers, got {len(items)}")
        return [int(item) for item in items]

    def flag_type(self) -> str:
        return "comma-separated list of whole numbers"


def define_whole_numbers(
    name: str,
    default: Sequence[int],
    help_text: str,
    length: int | None = None,
    flag_values: flags.FlagValues = flags.FLAGS,
) -> flags.FlagHolder:
    """Defines `--name=A,B,...` of whole numbers (exactly `length` of them when given).

    The flag is filed under the calling module, as `flags.DEFINE_*` would, so that the tool's
    `--helpshort` (efgrnet_tf/cli/launch.py) lists it.
    """
    return flags.DEFINE(
        WholeNumbersParser(length),
        name,
        list(default),
        help_text,
        flag_values=flag_values,
        serializer=flags.CsvListSerializer(","),
        module_name=sys._getframe(1).f_globals["__name__"],
    )
