"""One module per paper table or figure, named after the notebook that shows it.

``notebooks/table5_edge_weight.ipynb`` calls ``fpliif/tables/table5_edge_weight.py``, and so on
(``00_data_overview``, ``01_train_evaluate`` and ``02_ablations`` call ``data_overview``,
``train_evaluate`` and ``ablations``). A table's module has ``table(...)``, which lays out the
paper's numbers beside ours from evaluation or bench records with the caption text next to it,
and ``make(study)``, which gathers those records for a notebook's parameters
(``fpliif.runs.study.Study``); a figure's module makes the figure from the study's runs. What they
share (layouts, captions, ``show``) is ``common``.
"""
