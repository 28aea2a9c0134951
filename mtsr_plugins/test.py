"""``mtsr-test -opt X.yml`` / ``python -m mtsr_plugins.test``: BasicSR's testing with all of its flags."""
from mtsr_plugins.launch import test_main

if __name__ == '__main__':
    test_main()
