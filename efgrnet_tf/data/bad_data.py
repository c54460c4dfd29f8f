"""Accounting for bad records found while a source indexes its files.

Every problem is logged once, naming the file and the reason; `report()` logs the totals when
the index is complete, so skipped records are counted, never silently dropped. Corrupt image
data that only shows when the pipeline decodes it is skipped there, with a warning naming the
file (`efgrnet_tf.data.skip_failures`).
"""

from __future__ import annotations

import dataclasses
import logging

logger = logging.getLogger("efgrnet_tf.data")


class BadRecord(Exception):
    """A record that cannot be used; the message is the reason shown to the user."""


@dataclasses.dataclass
class BadDataLog:
    """Collects skipped records and repaired annotations of one indexing pass.

    Attributes:
      source: what is being indexed (e.g. `VOC2007/trainval`), used in every message.
      skipped: `(file, reason)` of each skipped record, in the order found.
      repaired: `(file, what was done)` of each record kept after a fix (e.g. a dropped box).
    """

    source: str
    skipped: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    repaired: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    def skip(self, path: str, reason: str) -> None:
        """Records (and warns about) a record left out of the data set."""
        self.skipped.append((path, reason))
        logger.warning("%s: skipping %s: %s", self.source, path, reason)

    def repair(self, path: str, what: str) -> None:
        """Records (and warns about) a record kept after its annotations were fixed."""
        self.repaired.append((path, what))
        logger.warning("%s: %s: %s", self.source, path, what)

    def report(self, num_kept: int) -> None:
        """Logs the totals: records kept, skipped and repaired."""
        message = "%s: %d records kept, %d skipped, %d repaired"
        args = (self.source, num_kept, len(self.skipped), len(self.repaired))
        if self.skipped or self.repaired:
            logger.warning(message, *args)
        else:
            logger.info(message, *args)
