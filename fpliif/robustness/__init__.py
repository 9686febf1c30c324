"""``fpliif robustness``: faults and bad input, tried for real, with the figures written to a report.

    fpliif robustness                      # every family; writes results/robustness.md
    fpliif robustness --quick --only data  # a subset, fewer kills

Families, one module each (each case is run, never assumed; ``tests/test_robustness.py`` runs the
same code):

* ``interrupted`` (``interrupted.py``): ``fpliif train`` (a subprocess, deterministic CPU mode) is
  SIGKILLed at seeded random points and inside checkpoint writes, then resumed each time; the
  result must equal an uninterrupted run with the same seed, and every checkpoint left on disk
  must load.
* ``data`` (``damaged_data.py``; the cases in ``lapa_cases.py`` and ``face_cases.py``): small LaPa,
  Helen and CelebAMask-HQ trees (hand-made arrays) are damaged in 100+ ways; each case must end in
  a ``DataError`` naming the file, or with ``skip_bad`` in a recorded skip, and every other sample
  must keep exactly its true label.
* ``checkpoints`` (``checkpoints.py``): pickle payloads (with a marker file they would create),
  corrupt files and checkpoints for another label set or architecture must be refused with a
  clear message.
* ``predict`` (``odd_images.py``): odd image files through ``fpliif predict``: a correct output or
  a clear error.
* ``disk`` (``disk.py``, ``disk_real.py``): a full disk and a read-only output folder during
  training and evaluation. Faults at exact points are injected in-process; real ones fill up or
  remount read-only a small filesystem of our own under the running process, wherever this machine
  allows one to be mounted (a user + mount namespace, else as root); where it allows none, the
  report says that only the injected faults ran.
* ``notebooks`` (``notebooks.py``): a failing cell must stop the batch runner
  (``fpliif.runs.runner.run_notebooks`` and ``fpliif run``) with an error, keep the partly executed
  notebook and run nothing after it.

Real faults, not mocks, wherever they can be had: SIGKILL of a real ``fpliif train`` process (held
inside a write by an ``open()`` wrapper in the child so the kill lands there every time), a
filesystem that fills up or turns read-only, files really damaged on disk, pickle payloads that
really run when loaded unsafely (the control). What is injected in-process (an ``OSError`` at one
exact ``open``/``fsync``/``rename``) says so in the case name.

A case either passes, fails, is known to fail because of a listed bug not yet fixed
(``KNOWN_BUGS``; counted as failed), or does not apply here (with the reason). ``suite.py`` runs
the families and holds the command; ``report.py`` writes the report.
"""

from .common import Case, Family, SuiteResult
from .report import FIXED_BUGS, KNOWN_BUGS, render_report, write_report
from .suite import DEFAULT_OUT, FAMILIES, configure, run, run_family, run_suite

__all__ = [
    "DEFAULT_OUT",
    "FAMILIES",
    "FIXED_BUGS",
    "KNOWN_BUGS",
    "Case",
    "Family",
    "SuiteResult",
    "configure",
    "render_report",
    "run",
    "run_family",
    "run_suite",
    "write_report",
]
