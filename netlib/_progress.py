"""What :func:`netlib.fit` shows while it trains: a bar over epochs, or a line per epoch.

A terminal gets a tqdm bar that counts epochs (``epoch 3/10``) and shows the
last epoch's loss, validation loss and validation accuracy. Anywhere else (a
log file, CI, a pipe) a bar is a smear of carriage returns, so one plain
line per epoch is printed instead. Both go to stderr, like warnings, so
that stdout stays the program's own.
"""

from __future__ import annotations

import sys
import time


def _format(name: str, value, spec: str) -> str | None:
    return None if value is None else f"{name} {value:{spec}}"


class EpochReport:
    """The progress display of one ``fit`` run.

    ``progress`` (the bar) and ``verbose`` (lines) default to what suits
    stderr: the bar on a terminal, lines elsewhere; ``progress=False`` alone
    keeps the run silent (what scripts and pages that print their own
    results ask for).
    """

    def __init__(self, epochs: int, progress: bool | None, verbose: bool | None,
                 stream=None) -> None:
        self.stream = sys.stderr if stream is None else stream
        terminal = bool(getattr(self.stream, "isatty", lambda: False)())
        self.epochs = epochs
        self.lines = verbose if verbose is not None else (progress is None and not terminal)
        show_bar = progress if progress is not None else (terminal and not verbose)
        self.started = time.perf_counter()
        self.bar = None
        if show_bar:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=epochs, file=self.stream, leave=True, unit="epoch",
                            bar_format="epoch {n_fmt}/{total_fmt} |{bar}| "
                                       "[{elapsed}<{remaining}{postfix}]")

    def epoch_done(self, epoch, train_loss, train_accuracy, val_loss, val_accuracy) -> None:
        """Show the metrics of a finished epoch."""
        # Losses in 4 significant digits (they span decades), accuracies in 4 decimals.
        parts = [_format("loss", train_loss, ".4g"), _format("accuracy", train_accuracy, ".4f"),
                 _format("val_loss", val_loss, ".4g"),
                 _format("val_accuracy", val_accuracy, ".4f")]
        parts = [part for part in parts if part is not None]
        if self.bar is not None:
            self.bar.set_postfix_str(", ".join(parts), refresh=False)
            self.bar.update(1)
        if self.lines:
            seconds = time.perf_counter() - self.started
            print(f"epoch {epoch}/{self.epochs}  " + "  ".join(parts) + f"  ({seconds:.1f} s)",
                  file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
