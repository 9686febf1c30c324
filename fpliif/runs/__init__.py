"""Profiles, data, training runs, evaluations and the notebook runner (``fpliif run``).

* ``profiles``: ``PARAMS`` (every notebook parameter and what it means) and ``load_profile``;
* ``study``: ``Study``, what a notebook's parameters name: data (``data_refs``), run specs, runs
  and evaluations, each made once;
* ``datasets``, ``training``, ``records``: the idempotent ``ensure_*`` helpers: a SynthFaces set,
  a prepared CelebAMask-HQ folder or a subset; a finished training run (``launch``: through
  ``torchrun``); an evaluation or bench record. Each returns what is already there when it
  matches the request and makes it otherwise, so a notebook runs alone and a rerun is cheap;
* ``notebooks``, ``runner``, ``manifest``, ``plan``, ``cli``: the notebooks' order and parameters
  cells, the papermill runner, ``manifest.json``, the dry run and the ``fpliif run`` command.

The tables and figures made from them are ``fpliif.tables``.
"""
