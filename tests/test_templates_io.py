"""Template model rules, the shipped built-ins, and the JSON files teams share."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from app.templates.builtin import load_builtins
from app.templates.io import SCHEMA_VERSION, export_text, parse_text, plan_import
from app.templates.model import Output, Template, TemplateError, slugify, unique_slug

REQUIRED_JOBS = {"whiteboard-to-plan": "image", "receipt-to-table": "image",
                 "chart-to-data": "image", "screenshot-to-code": "image",
                 "screen-recording-diagnostics": "video", "action-timeline": "video"}


def sample(slug: str = "mine", **changes: object) -> Template:
    base = Template(slug=slug, name="Mine", icon="🔧", prompt="Line one\nLine two",
                    effort="medium", media="image", output=Output("table"))
    return replace(base, **changes)  # type: ignore[arg-type]


def doc(*templates: dict[str, object], version: object = SCHEMA_VERSION) -> str:
    return json.dumps({"format": "stepdesk-templates", "schema_version": version,
                       "templates": list(templates)})


def test_builtins_cover_the_guide_jobs_with_sensible_settings() -> None:
    builtins = {t.slug: t for t in load_builtins()}
    assert len(builtins) >= 8
    for slug, media in REQUIRED_JOBS.items():
        assert builtins[slug].media == media
        assert builtins[slug].pinned
    assert all(t.builtin for t in builtins.values())
    assert [t.position for t in builtins.values()] == list(range(len(builtins)))
    assert builtins["receipt-to-table"].effort == "low"
    assert builtins["receipt-to-table"].output == Output("table")
    assert builtins["screenshot-to-code"].effort == "high"
    assert builtins["screenshot-to-code"].output == Output("code", "html")
    assert builtins["action-timeline"].output.kind == "timeline"
    assert "mm:ss" in builtins["action-timeline"].prompt
    assert "| Item | Qty | Unit price | Total |" in builtins["receipt-to-table"].prompt
    assert any(t.media == "either" for t in builtins.values())
    assert len({t.name for t in builtins.values()}) == len(builtins)


def test_compose_and_media_checks() -> None:
    template = sample(prompt="Do the job.")
    assert template.compose("") == "Do the job."
    assert template.compose("  in French  ") == "Do the job.\n\nin French"
    assert template.media_problem(["image", "image"]) is None
    assert template.media_problem([]) == "The mine template needs an image."
    assert template.media_problem(["image", "video"]) == \
        "The mine template works on images, not videos."
    either = sample(media="either")
    assert either.media_problem(["video"]) is None
    assert either.media_problem([]) == "The mine template needs an image or a video."


def test_export_then_parse_round_trip_keeps_everything_but_builtin_flags() -> None:
    templates = [sample(pinned=True), sample("code", output=Output("code", "python"),
                                             effort="high", media="either", icon="")]
    text = export_text([*templates, load_builtins()[0]])
    data = json.loads(text)
    assert data["schema_version"] == SCHEMA_VERSION
    assert data["templates"][0]["prompt"] == ["Line one", "Line two"]  # diffable lines
    parsed = parse_text(text.encode("utf-8"))
    assert parsed[:2] == templates
    assert parsed[2] == replace(load_builtins()[0], builtin=False, position=0)


def test_prompt_may_be_one_string() -> None:
    [template] = parse_text(doc({"slug": "a", "name": "A", "prompt": "one", "effort": "low",
                                 "media": "video", "output": {"kind": "timeline"}}))
    assert template == Template("a", "A", "", "one", "low", "video", Output("timeline"))


GOOD = {"slug": "a", "name": "A", "prompt": "p", "effort": "low", "media": "image",
        "output": {"kind": "table"}}


@pytest.mark.parametrize(("text", "reason"), [
    ("{not json", "not valid JSON (Expecting property name enclosed in double quotes at "
                  "line 1, column 2)"),
    ("[]", "not a Step Desk template file"),
    (json.dumps({"format": "other", "schema_version": 1, "templates": []}),
     "not a Step Desk template file"),
    (doc(GOOD, version=SCHEMA_VERSION + 1), "written by a newer Step Desk (schema version 2"),
    (doc(GOOD, version="1"), "no valid schema_version"),
    (doc(GOOD, version=True), "no valid schema_version"),
    (json.dumps({"format": "stepdesk-templates", "schema_version": 1}), "no \"templates\" list"),
    (doc(GOOD, GOOD), "Template 2 (a): the slug 'a' appears twice"),
    (doc({**GOOD, "effort": "max"}), "Template 1 (a): the effort must be one of low, medium, "
                                     "high (got 'max')"),
    (doc({**GOOD, "slug": "Bad Slug"}), "the slug must be lowercase letters"),
    (doc({**GOOD, "media": "audio"}), "the media must be one of image, video, either"),
    (doc({**GOOD, "output": {"kind": "pdf"}}), "the output kind must be one of"),
    (doc({**GOOD, "output": {"kind": "table", "language": "py"}}), "only for code output"),
    (doc({**GOOD, "promt": "typo"}), "Template 1 (a) has an unknown field 'promt'"),
    (doc({k: v for k, v in GOOD.items() if k != "prompt"}), "Template 1 (a) has no 'prompt'"),
    (doc({**GOOD, "prompt": "  "}), "the prompt must be 1 to 20,000 characters"),
    (doc({**GOOD, "name": "two\nlines"}), "the name must be one line"),
    (doc({**GOOD, "pinned": "yes"}), "'pinned' must be true or false"),
    (doc({**GOOD, "icon": "a very long icon"}), "the icon must be an emoji"),
    (doc("x"), "Template 1 is not an object"),
    (b"\xff\xfe{}", "not UTF-8"),
])
def test_malformed_files_are_refused_with_a_reason(text: str | bytes, reason: str) -> None:
    with pytest.raises(TemplateError) as info:
        parse_text(text)
    assert reason in str(info.value)


def test_plan_import_renames_clashes_with_a_suffix() -> None:
    incoming = [sample("receipt-to-table"), sample("mine"), sample("mine-2"), sample("new")]
    plan = plan_import(incoming, {"receipt-to-table", "mine", "mine-2"}, first_position=5)
    assert [t.slug for t in plan.templates] == ["receipt-to-table-2", "mine-3", "mine-2-2", "new"]
    assert plan.renamed == (("receipt-to-table", "receipt-to-table-2"), ("mine", "mine-3"),
                            ("mine-2", "mine-2-2"))
    assert [t.position for t in plan.templates] == [5, 6, 7, 8]
    assert not any(t.builtin for t in plan.templates)


def test_slug_helpers() -> None:
    assert slugify("Receipt → Table!") == "receipt-table"
    assert slugify("日本") == "template"
    long = "x" * 48
    assert unique_slug(long, {long}) == "x" * 46 + "-2"
    assert unique_slug("a", set()) == "a"


def test_templates_and_results_never_import_qt() -> None:
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [*(root / "app/templates").rglob("*.py"), *(root / "app/results").rglob("*.py"),
             root / "app/cli/templates.py"]
    for file in files:
        for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            assert not any(n.startswith(("PySide6", "qasync", "app.ui")) for n in names), file
