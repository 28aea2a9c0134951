"""Inference on image files with any trained model of this package (``mtsr-infer``) and export (``mtsr-export``).

Modules: ``loading`` (network + newest weights from an experiment folder), ``image_io`` (gray / RGB / RGBA, 8 / 16
bit), ``tiling`` (padding, tiles, receptive field), ``speed`` (BN folding, padded last conv, precision),
``methods`` (per-method functions and output files), ``runner`` (the loop over files).
"""
