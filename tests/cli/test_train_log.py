"""`train.log`: the run folder's text copy of the log lines the console shows."""

from __future__ import annotations

import logging as std_logging
import re

import pytest
from absl import logging

from efgrnet_tf.cli import launch


@pytest.fixture
def log_file(tmp_path):
    verbosity = logging.get_verbosity()
    logging.set_verbosity(logging.INFO)
    path = tmp_path / "train.log"
    handler = launch.copy_log_to_file(str(path))
    yield path
    std_logging.getLogger().removeHandler(handler)
    handler.close()
    logging.set_verbosity(verbosity)


def test_log_lines_are_appended_in_the_console_format(log_file):
    log_file.write_text("earlier run\n")
    logging.info("step %d, loss %.2f", 3, 1.25)
    logging.warning("skipping %s", "a.png")
    std_logging.getLogger("tensorflow").warning("a TensorFlow python log line")
    lines = log_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "earlier run"
    # absl's format: level letter, date, time, thread, file:line] message.
    absl_line = r"^{}\d{{4}} \d\d:\d\d:\d\d\.\d{{6}} +\d+ test_train_log\.py:\d+\] {}$"
    assert re.match(absl_line.format("I", re.escape("step 3, loss 1.25")), lines[1]), lines
    assert re.match(absl_line.format("W", "skipping a.png"), lines[2]), lines
    assert lines[3].endswith("] a TensorFlow python log line")
    assert len(lines) == 4


def test_the_per_save_checkpoint_line_stays_out_as_on_the_console(log_file):
    logging.info("Sharding callback duration: 12")
    logging.info("saved checkpoint ckpt-5")
    text = log_file.read_text(encoding="utf-8")
    assert "Sharding" not in text and "saved checkpoint ckpt-5" in text
