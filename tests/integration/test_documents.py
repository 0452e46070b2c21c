"""The user's own documents beside the bank: `python -m rag eval --docs` over a small document set
written for the tests (tests/data/docs), and what search returns for its chunks."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rag.settings import Settings

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "tests/data/docs"
QUERIES = REPO / "tests/data/docs_queries.tsv"


def rag(*args: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"RAG_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "rag", *args], capture_output=True, text=True, timeout=600, cwd=REPO, env=env
    )


@pytest.fixture(scope="module")
def docs_index(bank_settings: Settings, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A scratch data dir holding the bank (copied from the shared index) and the document set, made
    by `eval --docs` itself; its report is returned with it."""
    scratch = tmp_path_factory.mktemp("docs-eval") / "data"
    shutil.copytree(bank_settings.data_dir, scratch)
    p = rag(
        "eval",
        "--docs",
        str(DOCS),
        "--doc-queries",
        str(QUERIES),
        "--scratch",
        str(scratch),
        "--misses",
        data_dir=scratch,
    )
    assert p.returncode == 0, p.stderr
    return scratch, p.stdout


def figures(report: str, name: str) -> dict[str, float]:
    line = next(x for x in report.splitlines() if x.strip().startswith(f"{name}:"))
    return {k: float(v) for k, v in re.findall(r"(R@1|R@5|MRR@10) ([0-9.]+)", line)}


def test_eval_over_a_folder_reports_figures_by_language(docs_index: tuple[Path, str]) -> None:
    _, report = docs_index
    assert re.search(r"^\s*all:\s+12 queries", report, re.M)
    assert re.search(r"^\s*zh:\s+5 queries", report, re.M) and re.search(r"^en\+mixed:\s+7 queries", report, re.M)
    assert "unanswerable questions answered: " in report and "/2" in report
    # every answerable question finds its file among the first five, and none is refused: the last
    # three ("DDP 为啥更快", …) the bank's model alone refuses, the document model answers
    assert figures(report, "all")["R@5"] == 1.0, report
    assert re.search(r"^\s*all:.*refused 0/12$", report, re.M), report
    assert "unanswerable questions answered: 0/2" in report, report


def test_a_document_hit_carries_its_heading_path_and_clean_text(docs_index: tuple[Path, str]) -> None:
    scratch, _ = docs_index
    p = rag("search", "ZeRO stage 2 切分梯度", "-k", "5", "--json", data_dir=scratch)
    assert p.returncode == 0, p.stderr
    docs = [h for h in json.loads(p.stdout)["hits"] if h["id"] is None]
    assert docs and docs[0]["source"].endswith("分布式训练.md")
    assert docs[0]["heading"] == "分布式训练 › DeepSpeed › ZeRO"
    assert "stage 2" in docs[0]["text"] and "![" not in docs[0]["text"] and "分布式训练 ›" not in docs[0]["text"]


def test_a_document_chunk_is_ranked_with_the_document_prior(docs_index: tuple[Path, str]) -> None:
    from rag.retrieval.fusion import DENSE_WEIGHT, DOC_PRIOR

    scratch, _ = docs_index
    p = rag("search", "ZeRO 把优化器状态切分到各张卡上", "-k", "10", "--json", data_dir=scratch)
    assert p.returncode == 0, p.stderr
    hits = json.loads(p.stdout)["hits"]
    assert any(h["id"] is None for h in hits) and any(h["id"] for h in hits)
    for h in hits:  # a document chunk's score carries the prior on top of its evidence, a bank entry's not
        evidence = DENSE_WEIGHT * h["dense"] + (1 - DENSE_WEIGHT) * h["lexical"]
        assert h["score"] == pytest.approx(evidence + (DOC_PRIOR if h["id"] is None else 0.0), abs=2e-4), h


def test_a_short_question_over_a_document_is_answered_citing_it(docs_index: tuple[Path, str]) -> None:
    scratch, _ = docs_index
    p = rag("ask", "How does PagedAttention in vLLM reduce memory fragmentation?", "--json", data_dir=scratch)
    assert p.returncode == 0, p.stderr
    answer = json.loads(p.stdout)
    assert not answer["refused"] and "[vllm.md › PagedAttention]" in answer["answer"]
    # the passage, not a heading: the excerpt starts with the section's text
    assert "fixed-size blocks" in answer["answer"]


def test_an_answer_from_a_long_section_continues_past_its_first_chunk(docs_index: tuple[Path, str]) -> None:
    scratch, _ = docs_index
    p = rag("ask", "训练后量化 PTQ 是怎么做的", "--json", data_dir=scratch)
    assert p.returncode == 0, p.stderr
    answer = json.loads(p.stdout)
    assert not answer["refused"] and "[quantization.md › 权重量化的几种做法]" in answer["answer"]
    # the section is two chunks; the passage joins the second (its last paragraph) to the first
    assert "缩放因子" in answer["answer"] and "反量化回 FP16" in answer["answer"]


def test_html_navigation_and_footer_are_not_indexed(docs_index: tuple[Path, str]) -> None:
    scratch, _ = docs_index
    p = rag("search", "KV Cache 显存占用 MQA GQA", "-k", "5", "--json", data_dir=scratch)
    assert p.returncode == 0, p.stderr
    html = [h for h in json.loads(p.stdout)["hits"] if h["source"].endswith("kv-cache.html")]
    assert html and html[0]["heading"] == "KV Cache › 显存占用"
    assert all("首页" not in h["text"] and "转载" not in h["text"] for h in html)
