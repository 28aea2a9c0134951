"""spandrel is optional: importing the package does not import it; install() without it names the extra."""
import subprocess
import sys

from spandrel_helpers import REPO_ROOT

WITHOUT_SPANDREL = """
import sys
import mtsr_plugins, mtsr_plugins.spandrel_arches as arches
assert 'spandrel' not in sys.modules, 'importing mtsr_plugins imported spandrel'
sys.modules['spandrel'] = None  # import spandrel now raises ImportError, as where it is not installed
try:
    arches.install()
except ImportError as err:
    print('ImportError:', err)
"""


def test_package_works_without_spandrel_and_install_names_the_extra():
    proc = subprocess.run([sys.executable, '-c', WITHOUT_SPANDREL], cwd=REPO_ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout
    lines = [line for line in proc.stdout.splitlines() if line.startswith('ImportError')]
    assert lines == ["ImportError: spandrel is not installed: pip install 'mtsr-plugins[spandrel]'"], proc.stdout
