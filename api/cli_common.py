"""What every ``scout`` sub-command shares: the consoles, the common options, error handling."""

from __future__ import annotations

from functools import wraps
from pathlib import Path
from typing import Callable, Optional

import typer
from rich.console import Console

from api.errors import EXIT_INTERRUPTED, exit_code
from indexer.errors import ScoutError
from indexer.settings import LIBRARY_ENV, EncoderOptions, default_library_dir

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

LibraryOpt = typer.Option(
    None, "--library", "-L", envvar=LIBRARY_ENV,
    help=f"Library folder (default: ${LIBRARY_ENV} or ~/.local/share/scout/library).",
)
DeviceOpt = typer.Option("auto", "--device", help="auto, cpu, cuda or cuda:N.")
ThreadsOpt = typer.Option(None, "--threads", help="CPU threads for the model (default: all).")
CacheOpt = typer.Option(None, "--cache-dir", envvar="SCOUT_MODEL_CACHE",
                        help="Where model weights are looked for (Hugging Face cache layout).")
PrecisionOpt = typer.Option("fp32", "--text-precision",
                            help="Query encoder precision: fp32, int8 or bf16 (see BENCHMARKS.md).")
DownloadOpt = typer.Option(False, "--allow-download", envvar="SCOUT_ALLOW_DOWNLOAD",
                           help="Let open_clip download missing weights (needs network).")


def library_path(library: Optional[Path]) -> Path:
    return Path(library) if library else default_library_dir()


def encoder_options(device: str, threads: Optional[int], cache_dir: Optional[Path], allow_download: bool,
                    text_precision: str = "fp32") -> EncoderOptions:
    return EncoderOptions(device=device, threads=threads, cache_dir=cache_dir,
                          allow_download=allow_download, text_precision=text_precision)


def handles_errors(command: Callable) -> Callable:
    """Turn ScoutError into a two-line message and its exit code; Ctrl-C into exit 130."""

    @wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ScoutError as exc:
            err.print(f"[bold red]error:[/] {exc.message}", highlight=False)
            if exc.hint:
                err.print(f"[yellow]hint:[/] {exc.hint}", highlight=False)
            raise typer.Exit(exit_code(exc)) from None
        except KeyboardInterrupt:
            err.print("interrupted: finished work is saved; run the same command to resume.")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper


class ProgressBar:
    """The one progress bar of the command line (on stderr, off when it is not a terminal):
    ``label``, a bar, ``done/total unit``, a free-text detail and the elapsed time. Commands wrap
    it in a callback that turns their own progress events into :meth:`update` calls."""

    def __init__(self, label: str, unit: str = "", total: int = 0):
        from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

        self.progress = Progress(SpinnerColumn(), TextColumn(f"[bold]{label}[/]"), BarColumn(),
                                 TextColumn("{task.completed}/{task.total}" + (f" {unit}" if unit else "")),
                                 TextColumn("{task.fields[detail]}"), TimeElapsedColumn(),
                                 console=err, disable=not err.is_terminal)
        self.task = self.progress.add_task(label, total=total, detail="")

    def __enter__(self):
        self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        return self.progress.__exit__(*exc)

    def update(self, completed: int, detail: str, total: int | None = None) -> None:
        self.progress.update(self.task, completed=completed, detail=detail,
                             **({} if total is None else {"total": total}))
