"""``mtsr-report``: a self-contained static HTML page (``OUT/index.html`` and its images) for one or more trained
experiments: a metrics table (ours, the baselines that ran, the paper's figure where the setting matches),
training curves, and per test image a before/after slider, zoomed crops and each method's own pictures.

Modules: ``records`` (what BasicSR logged: option dumps, test and validation metrics, losses), ``paper`` (the
papers' reported figures, ``paper_figures.yml``), ``images`` (8-bit pictures, bicubic, crops), ``plots``
(matplotlib figures), ``parts`` (one module per method: what its section shows), ``build`` (table and sections),
``page`` (fills ``template.html``), ``cli`` (the command).
"""
