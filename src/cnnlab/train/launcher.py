"""``cnnlab train --nproc N``: N training processes on this machine, started and stopped together.

This is what ``torchrun --standalone`` does on one machine, with what a command line owes its user:

- the launcher hosts the job's rendezvous store (a ``TCPStore`` on a free loopback port: no port
  race) and starts N copies of the command with torchrun's environment (``RANK``, ``LOCAL_RANK``,
  ``WORLD_SIZE``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``, and
  ``TORCHELASTIC_USE_AGENT_STORE`` so that the processes join the launcher's store);
- each process runs in its own process group and dies with the launcher (Linux ``PR_SET_PDEATHSIG``),
  so a launcher killed by any means leaves no orphan behind;
- Ctrl-C or SIGTERM to the launcher stops every process (SIGTERM, then SIGKILL after a grace period:
  a process waiting inside a collective cannot react sooner) and the launcher exits 130; the run
  folder stays consistent (every file is written atomically) and ``--resume`` continues it;
- when one process fails the others are stopped and its exit code is returned; rank 0 writes to the
  terminal as it runs, the other ranks' stderr is kept and shown only when one of them failed first,
  so a mistake is printed once and the launcher adds no traceback of its own.

Example:
    >>> import sys
    >>> launch(["-c", "import os; assert os.environ['WORLD_SIZE'] == '2'"], 2)
    0
    >>> launch(["-c", "import os, sys; sys.exit(3 if os.environ['RANK'] == '1' else 0)"], 2)
    3
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

__all__ = ["GRACE_SECONDS", "LAUNCHER_ENV", "launch", "watch_launcher"]

#: Seconds between SIGTERM and SIGKILL when the processes are stopped.
GRACE_SECONDS = 5.0
#: Set in every process this launcher starts (its value is the launcher's pid): the process then
#: speaks for itself on stderr (which is kept), stays silent on an interruption the launcher reports,
#: and exits when the launcher is gone.
LAUNCHER_ENV = "CNNLAB_LAUNCHER_PID"
_INTERRUPTED = 130  # what a process stopped by the launcher exits with (cnnlab's entry point)


def launch(args: Sequence[str], nproc: int) -> int:
    """Run ``python ARGS...`` in ``nproc`` processes that form one job; returns the job's exit code.

    Each process gets ``OMP_NUM_THREADS = cores // nproc`` unless the variable is already set,
    so that N processes do not fight over the same cores.

    Returns:
        0 when every process succeeded, else the exit code of the first that failed (1 for one
        killed by a signal).

    Raises:
        KeyboardInterrupt: on Ctrl-C (or SIGTERM, which ``cnnlab``'s entry point turns into it), after
            every process has been stopped.
    """
    from torch.distributed import TCPStore

    store = TCPStore("127.0.0.1", 0, nproc, True, timeout=timedelta(minutes=30), wait_for_workers=False)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    env.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(store.port),
        TORCHELASTIC_USE_AGENT_STORE="True",
        WORLD_SIZE=str(nproc),
        LOCAL_WORLD_SIZE=str(nproc),
        GROUP_RANK="0",
        **{LAUNCHER_ENV: str(os.getpid())},
    )
    with tempfile.TemporaryDirectory(prefix="cnnlab-ranks-") as logs:
        processes: list[subprocess.Popen] = []
        errors: list = []
        try:
            for rank in range(nproc):
                # Rank 0 talks to the terminal; the others' stderr is kept for when they fail first.
                stderr = None if rank == 0 else open(Path(logs) / f"rank{rank}.err", "w+b")  # noqa: SIM115
                errors.append(stderr)
                processes.append(
                    subprocess.Popen(
                        [sys.executable, *args],
                        env=env | {"RANK": str(rank), "LOCAL_RANK": str(rank)},
                        stderr=stderr,
                        **_OWN_GROUP,
                    )
                )
            return _wait(processes, errors)
        finally:
            _stop(processes)
            for handle in errors:
                if handle is not None:
                    handle.close()
            del store


def _wait(processes: list[subprocess.Popen], errors: list) -> int:
    """Poll until all succeed or one fails; then stop the rest and report the failure once."""
    while True:
        codes = [p.poll() for p in processes]
        failed = next((rank for rank, code in enumerate(codes) if code not in (None, 0)), None)
        if failed is not None:
            break
        if all(code == 0 for code in codes):
            return 0
        time.sleep(0.05)
    _stop(processes)
    first = processes[0].returncode
    if first not in (0, _INTERRUPTED) and first > 0:
        return first  # rank 0 failed on its own and said why on the terminal: the others' copies add nothing
    code = processes[failed].returncode
    if errors[failed] is not None:
        errors[failed].seek(0)
        sys.stderr.write(errors[failed].read().decode(errors="replace"))
        sys.stderr.flush()
    if code < 0:
        name = signal.Signals(-code).name
        hint = " (out of memory?)" if -code == signal.SIGKILL else ""
        print(f"error: training process {failed} was killed by {name}{hint}", file=sys.stderr)
        return 1
    return code


def _stop(processes: list[subprocess.Popen]) -> None:
    """SIGTERM every running process (and its group), SIGKILL what is left after the grace period, reap all."""
    running = [p for p in processes if p.poll() is None]
    for p in running:
        _signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + GRACE_SECONDS
    for p in running:
        try:
            p.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            _signal_group(p, signal.SIGKILL)
    for p in processes:
        p.wait()


# Each process in a group of its own: a terminal's Ctrl-C reaches the launcher only, which stops them in order.
_OWN_GROUP: dict = {"process_group": 0} if os.name == "posix" else {}


def _signal_group(process: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        if os.name == "posix":
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)
    except ProcessLookupError:
        pass


def watch_launcher() -> None:
    """In a process started by :func:`launch`: die with the launcher (Linux), and exit now if it is already gone."""
    launcher = os.environ.get(LAUNCHER_ENV, "")
    if not launcher.isdigit():
        return
    if sys.platform.startswith("linux"):
        import ctypes

        pr_set_pdeathsig = 1
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != int(launcher):  # the launcher died before the line above took effect
        os._exit(130)
