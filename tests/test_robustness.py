"""The fault and bad-input suite (``fpliif robustness``) runs here, in CI, case by case.

Every case must pass, or fail only because of a bug listed in ``fpliif.robustness.KNOWN_BUGS`` (not
yet fixed), or not apply here (with the reason). The command writes the same figures to
``results/robustness.md``.
"""

from __future__ import annotations

import pytest

from fpliif.cli import main
from fpliif.robustness import FAMILIES, KNOWN_BUGS, Family, SuiteResult, disk_real, render_report, run_suite
from fpliif.robustness.common import tiny_synth
from fpliif.robustness.disk import train_args

pytestmark = pytest.mark.slow

# The least each family must try, so a broken generator cannot pass by trying nothing (disk: the
# injected cases; the real ones are required where the machine can mount a filesystem, below).
MINIMUM = {"interrupted": 15, "data": 100, "checkpoints": 25, "predict": 30, "disk": 12, "notebooks": 2}


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    return run_suite(workdir=tmp_path_factory.mktemp("robustness"), seed=0)


def _family(suite, name):
    return next(f for f in suite.families if f.name == name)


def _cases(suite, name, text):
    return [c for c in _family(suite, name).cases if text in c.name]


@pytest.mark.parametrize("name", FAMILIES)
def test_every_case_passes_or_is_a_known_bug(suite, name):
    fam = _family(suite, name)
    failures = "\n".join(f"{c.name}: {c.detail}" for c in fam.unexpected)
    assert not fam.unexpected, failures
    assert fam.tried >= MINIMUM[name], f"{name}: only {fam.tried} cases tried"
    for case in fam.cases:
        assert case.status in ("pass", "known", "n/a")
        assert case.status != "known" or case.bug in KNOWN_BUGS
        assert case.status != "n/a" or case.detail, "a case that does not apply must say why"


def test_interrupted_runs_end_identical_to_the_uninterrupted_one(suite):
    kills = _cases(suite, "interrupted", "every checkpoint on disk loads")
    assert len(kills) >= 5 and all(c.passed for c in kills), [c.detail for c in kills]
    finals = _cases(suite, "interrupted", "final last.pt equals")
    assert len(finals) == 2 and all(c.passed for c in finals), [c.detail for c in finals]
    (chain,) = _cases(suite, "interrupted", "A: resumed after")
    assert chain.passed, chain.detail


def test_damaged_data_never_yields_a_wrong_label(suite):
    fam = _family(suite, "data")
    assert fam.tried >= 100
    assert not [c for c in fam.cases if "SILENTLY WRONG" in c.detail]
    assert any("0 silently wrong labels" in e for e in fam.evidence)


def test_no_checkpoint_payload_ever_runs(suite):
    payloads = _cases(suite, "checkpoints", "pickle payload")
    assert len(payloads) >= 6 and all(c.passed for c in payloads), [c.detail for c in payloads]
    assert all("payload live" in c.detail for c in payloads)  # the control: each one would have run


def test_disk_faults_keep_the_last_good_checkpoint(suite):
    kept = _cases(suite, "disk", "last good checkpoint intact")
    assert all(c.passed for c in kept), [c.detail for c in kept]
    assert sum(c.passed for c in kept) >= 4, [c.detail for c in kept]


def test_disk_faults_are_real_where_the_machine_allows(suite):
    fam = _family(suite, "disk")
    if fam.caveat:
        pytest.skip(f"disk: {fam.caveat}")
    real = [c for c in fam.cases if c.name.startswith("real: ")]
    assert real and all(c.passed for c in real), [(c.name, c.status, c.detail) for c in real]
    for name, _, _ in disk_real.REAL_CASES:  # every real fault was tried, none is n/a
        assert any(c.name.startswith(name.split(" (")[0]) for c in real), name


def test_notebook_failures_stop_the_batch_run(suite):
    fam = _family(suite, "notebooks")
    assert fam.count("n/a") == 0 and fam.tried == 2 and all(c.passed for c in fam.cases), fam.cases


@pytest.mark.parametrize(
    "way", disk_real.WAYS[1:], ids=lambda way: f"{way.fs}-{'-'.join(way.prefix) or 'root'}"
)
def test_each_way_to_a_real_filesystem_gives_real_faults(way, tmp_path):
    """The fallbacks for machines without user namespaces: the same real faults on each filesystem
    this machine lets us mount (the suite itself uses the first of ``WAYS`` that works)."""
    why = way.missing()
    if why:
        pytest.skip(f"{way.how}: {why}")
    probe = tmp_path / "probe"
    (probe / "mnt").mkdir(parents=True)
    res = disk_real.run_controller(way, {"probe": True, "mount": str(probe / "mnt"), "size_mb": 8}, probe, 60)
    if not res.get("ok"):
        pytest.skip(f"{way.how}: not allowed here ({res.get('error')})")
    data = tiny_synth(tmp_path / "synth", 0)
    train = train_args(data)
    cases = [c for c in disk_real.REAL_CASES if c[1:] in {("train", "enospc-4k"), ("train", "erofs")}]
    fam = Family("disk", "", "")
    disk_real.run_real(fam, tmp_path, way, cases, train=train, ev=[], prior=tmp_path)
    assert len(fam.cases) == 5 and all(c.passed for c in fam.cases), [(c.name, c.detail) for c in fam.cases]


def test_a_machine_without_real_faults_says_so(monkeypatch):
    never = disk_real.Way("a filesystem nobody may mount", ("false",), "tmpfs", needs_root=False)
    monkeypatch.setattr(disk_real, "WAYS", (never,))
    way, why = disk_real.find_way()
    assert way is None and len(why) == 1
    fam = Family("disk", "Full disk and read-only folder", "...", caveat="only injected faults ran: because")
    text = render_report(SuiteResult([fam], 0, False, 1.0, {}))
    assert "only injected faults ran" in text.split("## ")[0]  # in the summary, not only in the section


def test_the_report_carries_the_figures(suite):
    text = render_report(suite)
    assert text.startswith("# Robustness") and "| **total** |" in text
    for fam in suite.families:
        assert fam.title in text
    assert "Unexplained failures: **0**" in text


def test_the_command_writes_the_report(tmp_path):
    out = tmp_path / "robustness.md"
    assert main(["robustness", "--only", "checkpoints", "--out", str(out)]) == 0
    text = out.read_text()
    assert "Untrusted checkpoints" in text and "fpliif robustness --only checkpoints" in text
