"""One run per experiment folder: a second one is refused naming the first, a killed run leaves no stale lock."""
import signal
import subprocess
import sys

import pytest

from mtsr_plugins.checks.errors import FolderInUse
from mtsr_plugins.utils.run_lock import lock_path, lock_run

HOLD = ('import sys, time; from mtsr_plugins.utils.run_lock import lock_run; '
        "lock_run(sys.argv[1], 'experiments', 'demo'); print('held', flush=True); time.sleep(60)")


def test_a_second_process_is_refused_until_the_first_is_killed(tmp_path):
    holder = subprocess.Popen([sys.executable, '-c', HOLD, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == 'held'
        with pytest.raises(FolderInUse, match=rf"name: 'experiments/demo' is in use by process {holder.pid} \("):
            lock_run(str(tmp_path), 'experiments', 'demo')
        assert sorted(p.name for p in (tmp_path / 'experiments').iterdir()) == ['.demo.lock']  # nothing else made
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # the OS dropped the lock with the killed process: no stale lock to remove by hand
    assert lock_run(str(tmp_path), 'experiments', 'demo') == lock_path(str(tmp_path), 'experiments', 'demo')
    assert lock_run(str(tmp_path), 'experiments', 'demo')  # taking it again in the same process is fine
