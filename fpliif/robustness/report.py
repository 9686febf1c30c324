"""The Markdown report of a suite run (``results/robustness.md``): figures per family, what pass
means, the evidence, every case, and the bugs the suite found."""

from __future__ import annotations

from pathlib import Path

from .common import SuiteResult, short

# Bugs found by this suite and not fixed yet. A case that fails only because of one of these counts
# as failed ("known"), not as an unexplained failure. When a fix lands, the case passes and its
# entry here can go.
KNOWN_BUGS: dict[str, str] = {}

# Found by this suite in its first run and fixed since (fpliif/fileio.py, engine/train.py,
# engine/checkpoint.py, engine/evaluate.py, engine/config.py); listed in the report.
FIXED_BUGS: dict[str, str] = {
    "K1": "a SIGKILL inside a checkpoint write left its temp file; stale temps are now removed at start",
    "K2": "best.pt was written after last.pt, so a kill between them lost that epoch's best for good",
    "K3": "log.jsonl was appended after last.pt: a kill lost or tore a line; it is now rebuilt from last.pt",
    "K4": "config.yaml was written in place; a kill left it truncated for `--resume`",
    "K5": "a read-only folder turned the clear checkpoint error into a bare OSError about the temp file",
    "K6": "evaluation results were written in place: a full disk truncated the earlier ones",
    "K7": "a failed log.jsonl append ended training with an OSError naming no file",
    "K8": "torch.save cut short by a full disk surfaced torch's internal message and left its temp file",
}


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _summary(result: SuiteResult, command: str) -> list[str]:
    """The header, the table of figures per family and the totals."""
    m = result.meta
    hw = m.get("hardware", {})
    fams = result.families
    tried = sum(f.tried for f in fams)
    passed = sum(f.count("pass") for f in fams)
    known = sum(f.count("known") for f in fams)
    unexpected = sum(len(f.unexpected) for f in fams)
    na = sum(f.count("n/a") for f in fams)
    lines = [
        "# Robustness under faults and bad input",
        "",
        f"Written by `{command}` (seed {result.seed}, {'quick' if result.quick else 'full'} suite) on "
        f"{m.get('time')}, commit `{m.get('commit')}`, {hw.get('cpu')} ({hw.get('cpu_count')} cores), "
        f"Python {hw.get('python')}, torch {m.get('versions', {}).get('torch')}. "
        f"The suite took {result.seconds:.0f} s. `tests/test_robustness.py` runs the same code in CI.",
        "",
        "| family | tried | passed | failed | of which known bugs | not applicable | time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for f in fams:
        failed = f.tried - f.count("pass")
        bugs = sorted({c.bug for c in f.cases if c.bug})
        kb = f"{f.count('known')} ({', '.join(bugs)})" if bugs else "0"
        lines.append(
            f"| {f.title} | {f.tried} | {f.count('pass')} | {failed} | {kb} | {f.count('n/a')} | "
            f"{f.seconds:.0f} s |"
        )
    lines.append(
        f"| **total** | **{tried}** | **{passed}** | **{tried - passed}** | **{known}** | **{na}** | "
        f"**{result.seconds:.0f} s** |"
    )
    lines += [
        "",
        f"Unexplained failures: **{unexpected}**. Failures explained by a known bug not yet fixed: "
        f"**{known}** (listed at the end; they pass once it is fixed). Not applicable here: {na} "
        "(reason given).",
        "",
    ]
    for f in fams:
        if f.caveat:
            lines += [f"**{f.title}**: {f.caveat}.", ""]
    return lines


def _family_sections(result: SuiteResult) -> list[str]:
    """Per family: what pass means, the evidence, and every case (folded)."""
    lines: list[str] = []
    for f in result.families:
        lines += [f"## {f.title}", "", f"**Pass means:** {f.pass_means}.", ""]
        if f.caveat:
            lines += [f"**Note:** {f.caveat}.", ""]
        if f.evidence:
            lines += ["**Evidence (nothing lost):**", ""] + [f"- {e}" for e in f.evidence] + [""]
        lines += [
            f"<details><summary>All {len(f.cases)} cases</summary>",
            "",
            "| case | result | what happened |",
            "|---|---|---|",
        ]
        for c in f.cases:
            status = {"pass": "pass", "fail": "**FAIL**", "known": f"fails: {c.bug}", "n/a": "n/a"}[c.status]
            lines.append(f"| {_cell(c.name)} | {status} | {_cell(short(c.detail, 400))} |")
        lines += ["", "</details>", ""]
    return lines


def _bugs(result: SuiteResult) -> list[str]:
    """The bugs this suite found: fixed ones, then those still open that explain failures here."""
    lines = [
        "## Bugs this suite found and that are fixed",
        "",
        "Its first run (2026-11-25: 273 cases, 18 failures) found these; every case above checks the fix.",
        "",
        "| id | bug |",
        "|---|---|",
        *(f"| {k} | {_cell(v)} |" for k, v in FIXED_BUGS.items()),
        "",
    ]
    cases = [c for f in result.families for c in f.cases]
    used = sorted({c.bug for c in cases if c.bug})
    if used:
        lines += [
            "## Known bugs (found by this suite, not yet fixed)",
            "",
            "| id | bug | cases |",
            "|---|---|---:|",
        ]
        for bug in used:
            lines.append(f"| {bug} | {_cell(KNOWN_BUGS[bug])} | {sum(c.bug == bug for c in cases)} |")
        lines.append("")
    return lines


def render_report(result: SuiteResult, command: str = "fpliif robustness") -> str:
    """The Markdown report: figures per family, what pass means, the evidence, every case."""
    return "\n".join(_summary(result, command) + _family_sections(result) + _bugs(result))


def write_report(result: SuiteResult, path: str | Path, command: str = "fpliif robustness") -> Path:
    from ..fileio import atomic_write

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, render_report(result, command))
