"""``mtsr-train -opt X.yml`` / ``python -m mtsr_plugins.train``: BasicSR's training with all of its flags."""
from mtsr_plugins.launch import train_main

if __name__ == '__main__':
    train_main()
