"""SIGINT/SIGTERM during training: finish the step, checkpoint it, stop; a second SIGINT quits.

Ctrl-C sends SIGINT; Kubernetes, Slurm and cloud preemption send SIGTERM first. The handler only
records the signal, so the step in flight completes; the trainer then saves and raises
`TrainingInterrupted`. After the first signal SIGINT gets its default action back, so a second
Ctrl-C ends the process at once (without a checkpoint of the last step).
"""

from __future__ import annotations

import signal
import threading

from absl import logging

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TrainingInterrupted(Exception):
    """Training stopped on a signal after saving `checkpoint` at `step`.

    `signal_number` is None on a worker that stopped because another worker was signalled.
    """

    def __init__(self, signal_number: int | None, step: int, checkpoint: str):
        name = signal.Signals(signal_number).name if signal_number else "a signal to another worker"
        super().__init__(f"training interrupted by {name} at step {step}; saved {checkpoint}")
        self.signal_number = signal_number
        self.step = step
        self.checkpoint = checkpoint


class StopRequests:
    """While entered, records SIGINT/SIGTERM instead of dying; `signal_number` is the first one.

    Signal handlers can only be installed from the main thread; elsewhere (a trainer run in a
    helper thread) the signals keep their usual effect.
    """

    def __init__(self):
        self.signal_number: int | None = None
        self._previous = {}

    def __enter__(self) -> StopRequests:
        if threading.current_thread() is threading.main_thread():
            self._previous = {s: signal.signal(s, self._record) for s in STOP_SIGNALS}
        return self

    def __exit__(self, *exc_info) -> None:
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous = {}

    @property
    def requested(self) -> bool:
        """Whether a stop signal arrived."""
        return self.signal_number is not None

    def _record(self, signal_number: int, frame) -> None:
        del frame
        if self.signal_number is None:
            self.signal_number = signal_number
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        logging.warning(
            "%s received: finishing this step, then saving a checkpoint and stopping "
            "(Ctrl-C again quits at once, losing the steps since the last checkpoint)",
            signal.Signals(signal_number).name,
        )
