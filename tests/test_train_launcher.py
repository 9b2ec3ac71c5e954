"""train.launcher: N processes started and stopped together; a failure is reported once, with its exit code."""

import subprocess
import sys
import textwrap
import time

from cnnlab.train.launcher import launch

FAIL_ON_RANK_1 = textwrap.dedent(
    """
    import os, sys, time
    if os.environ["RANK"] == "1":
        print("error: rank 1 could not go on", file=sys.stderr)
        sys.exit(2)
    time.sleep(60)  # rank 0 waits (as in a collective) until the launcher stops it
    """
)


def test_a_failing_rank_stops_the_others_and_is_reported_once(capfd):
    started = time.monotonic()
    assert launch(["-c", FAIL_ON_RANK_1], 2) == 2
    assert time.monotonic() - started < 30  # rank 0 was stopped, not waited for
    err = capfd.readouterr().err
    assert err.count("error: rank 1 could not go on") == 1


def test_a_killed_rank_is_named():
    code = subprocess.run(
        [
            sys.executable,
            "-c",
            "from cnnlab.train.launcher import launch; import sys; "
            "sys.exit(launch(['-c', 'import os, signal; os.kill(os.getpid(), signal.SIGKILL)'], 2))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert code.returncode == 1
    assert "was killed by SIGKILL (out of memory?)" in code.stderr and "Traceback" not in code.stderr
