"""`python -m rag` and `python -m ingest` as a user runs them: real processes on the shared bank index."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from rag.settings import Settings

REPO = Path(__file__).resolve().parents[2]
QUERY_FEATURES = {"dense", "score", "coverage", "unknown", "query_mass", "phrase", "peripheral", "example_gap"}
HIT_FIELDS = {
    "id",
    "question",
    "section",
    "source",
    "page",
    "heading",
    "score",
    "text",
    "dense",
    "lexical",
    "coverage",
    "phrase",
}


def run(*args: str, stdin: str | None = None, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
        env=os.environ.copy(),
    )


def test_search_json(use_bank_index: Settings) -> None:
    p = run("-m", "rag", "search", "LoRA 权重可以合并到原模型吗", "-k", "3", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc) == {"query", "searched", "relevance", "relevant", "features", "hits"}
    assert doc["query"] == doc["searched"] == "LoRA 权重可以合并到原模型吗"
    assert 0.0 <= doc["relevance"] <= 1.0 and doc["relevant"] is True
    # the query's relevance features are given once, by name, not repeated on every hit
    assert set(doc["features"]) == QUERY_FEATURES
    assert all(isinstance(v, float) for v in doc["features"].values())
    assert len(doc["hits"]) == 3
    assert all(set(h) == HIT_FIELDS for h in doc["hits"])
    hit = doc["hits"][0]
    assert hit["id"] == "Q083" and hit["page"] is None and isinstance(hit["score"], float)
    assert doc["features"]["score"] == hit["score"]  # the query's score feature is its top hit's


def test_search_json_shows_the_repaired_query_and_a_refusal(use_bank_index: Settings) -> None:
    typo = run("-m", "rag", "search", "知识裤问答的核心技术", "-k", "1", "--json")
    assert typo.returncode == 0, typo.stderr
    doc = json.loads(typo.stdout)
    assert (doc["query"], doc["searched"]) == ("知识裤问答的核心技术", "知识库问答的核心技术")

    off_topic = run("-m", "rag", "search", "红烧肉怎么做", "--json")
    assert off_topic.returncode == 0, off_topic.stderr
    doc = json.loads(off_topic.stdout)
    assert doc["relevant"] is False and doc["hits"], "nearest entries are still listed"


def test_search_stdin_one_json_line_per_query_in_order(use_bank_index: Settings) -> None:
    queries = ["GeGLU", "what is RoPE", "红烧肉怎么做", "", "Deep Norm 代码"]
    p = run("-m", "rag", "search", "--stdin", "-k", "2", stdin="\n".join(queries) + "\n")
    assert p.returncode == 0, p.stderr
    lines = [json.loads(x) for x in p.stdout.splitlines()]
    assert [d["query"] for d in lines] == queries
    assert lines[0]["hits"][0]["id"] == "Q171"
    assert lines[3] == {"query": "", "hits": [], "error": "empty query: type a question"}
    assert lines[4]["hits"][0]["id"] in {"Q163", "Q162"}
    assert all(set(d["features"]) == QUERY_FEATURES for d in lines if "error" not in d)


def test_human_output_and_section_filter(use_bank_index: Settings) -> None:
    p = run("-m", "rag", "search", "公式", "--section", "激活函数")
    assert p.returncode == 0, p.stderr
    assert "[Q16" in p.stdout or "[Q17" in p.stdout
    assert "十五、大模型激活函数篇" in p.stdout and "十四" not in p.stdout


def test_related_json(use_bank_index: Settings) -> None:
    p = run("-m", "rag", "related", "Q077", "--json")
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert set(doc) == {"query", "hits"} and doc["query"] == "Q077"
    ids = [h["id"] for h in doc["hits"]]
    assert len(ids) == 5 and "Q077" not in ids
    assert all(set(h) == HIT_FIELDS for h in doc["hits"])


@pytest.mark.slow
def test_eval_prints_figures(use_bank_index: Settings) -> None:
    # every eval query is searched, then answered: ~2 min on 2 shared cores
    p = run("-m", "rag", "eval", timeout=600)
    assert p.returncode == 0, p.stderr
    assert "R@1" in p.stdout and "R@5" in p.stdout and "MRR@10" in p.stdout
    assert "out-of-scope judged 'nothing relevant'" in p.stdout
    assert "answers (extractive): out-of-scope refused" in p.stdout


def test_calibrate_prints_the_fitted_model_and_its_tradeoff(use_bank_index: Settings, tmp_path: Path) -> None:
    tsv = tmp_path / "cal.tsv"
    tsv.write_text(
        "LoRA 权重能合并回原模型吗\tQ083\n旋转位置编码的优点\tQ146\n什么是 RMSNorm\tQ160\n"
        "红烧肉怎么做\t-\n明天上海天气\t-\n",
        encoding="utf-8",
    )
    p = run("-m", "rag", "calibrate", "--queries", str(tsv))
    assert p.returncode == 0, p.stderr
    assert "fitted on 5 queries (3 in scope, 2 out of scope)" in p.stdout
    assert "weights (dense, score, coverage, unknown, query_mass, phrase, peripheral, example_gap)" in p.stdout
    assert "in-scope refused" in p.stdout
    assert not (use_bank_index.data_dir / "relevance.json").exists()  # only --save writes


def test_calibrate_cv_prints_the_variants_table(use_bank_index: Settings, tmp_path: Path) -> None:
    # both classes in every training fold: 5 folds over 5 in-scope and 5 out-of-scope lines
    tsv = tmp_path / "cv.tsv"
    tsv.write_text(
        "LoRA 权重能合并回原模型吗\tQ083\n旋转位置编码的优点\tQ146\n什么是 RMSNorm\tQ160\n"
        "QLoRA 的特点\tQ081\nGeGLU 公式\tQ171\n"
        "红烧肉怎么做\t-\n明天上海天气\t-\n推荐一部电影\t-\n股票怎么买\t-\n如何学游泳\t-\n",
        encoding="utf-8",
    )
    p = run("-m", "rag", "calibrate", "--cv", "--splits", "1", "--queries", str(tsv))
    assert p.returncode == 0, p.stderr
    assert "cross-validation on 10 queries, 5 folds x 1 splits" in p.stdout
    assert "| features | out of scope accepted | in scope refused | accepted vs shipped (paired) |" in p.stdout
    rows = [line for line in p.stdout.splitlines() if line.startswith("| ") and "---" not in line][1:]
    labels = [row.split(" | ")[0].removeprefix("| ") for row in rows]
    assert "without the example gap" in labels
    assert "example gap with the bank's phrasings (shipped)" in labels
    assert {f"shipped without {n}" for n in QUERY_FEATURES - {"example_gap"}} <= set(labels)
    assert all(re.search(r"\| [\d.]+ % ± [\d.]+ \| [\d.]+ % ± [\d.]+ \|", row) for row in rows), rows
    assert "backward elimination from all features" in p.stdout and "kept: " in p.stdout
    assert not (use_bank_index.data_dir / "relevance.json").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("search", ""), "empty query"),
        (("search", "x", "-k", "0"), "k must be between"),
        (("search", "x", "-k", "many"), "k must be a whole number"),
        (("related", "Q999"), "unknown id Q999"),
        (("search", "x", "--section", "火星"), "unknown or ambiguous section"),
        (("eval", "--queries", "/nonexistent.tsv"), "no labelled queries at /nonexistent.tsv"),
        (("calibrate", "--queries", "/nonexistent.tsv"), "no labelled queries at /nonexistent.tsv"),
    ],
)
def test_errors_are_one_line_without_traceback(use_bank_index: Settings, args: tuple[str, ...], message: str) -> None:
    p = run("-m", "rag", *args)
    assert p.returncode != 0
    assert message in p.stderr
    assert "Traceback" not in p.stderr


def test_no_index_says_run_ingest() -> None:
    p = run("-m", "rag", "search", "LoRA")
    assert p.returncode == 2
    assert "run `python -m ingest`" in p.stderr and "Traceback" not in p.stderr


def test_default_path_never_imports_torch(use_bank_index: Settings) -> None:
    code = (
        "import sys\n"
        "from rag.cli import main\n"
        "main(['search', 'LoRA', '--json'])\n"
        "main(['related', 'Q001', '--json'])\n"
        "main(['ask', 'LoRA 的思路', '--json'])\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "assert 'sentence_transformers' not in sys.modules\n"
        "print('clean')\n"
    )
    p = run("-c", code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().endswith("clean")


@pytest.mark.slow
def test_bench_prints_figures(use_bank_index: Settings) -> None:
    p = run("-m", "rag", "bench", "--sizes", "300", "--queries", "10", timeout=600)
    assert p.returncode == 0, p.stderr
    for figure in (
        "corpus ingest:",
        "overhead",
        "search snapshot and its caches",
        "no-change re-ingest:",
        "CLI search, new process",
        "app cold start",
        "search at bank size",
        "practice grading, one answer: p50",
        "peak RSS:",
        "torch imported: False",
    ):
        assert figure in p.stdout, (figure, p.stdout)
    synthetic = re.search(r"search at (\d+) chunks: p50 ([\d.]+) ms", p.stdout)
    assert synthetic and int(synthetic.group(1)) > 300, p.stdout


def test_bench_serve_drives_a_real_server(use_bank_index: Settings) -> None:
    args = ("--serve", "--sizes", "", "--clients", "2", "--seconds", "2", "--workers", "2")
    p = run("-m", "rag", "bench", *args, timeout=600)
    assert p.returncode == 0, p.stderr
    for kind in ("search", "chat"):
        line = re.search(rf"bank {kind}: (\d+) requests, (\d+) errors, .* p95 (\d+) ms", p.stdout)
        assert line and int(line.group(1)) > 0 and line.group(2) == "0", p.stdout
    assert p.stdout.startswith("2 server process(es)"), p.stdout
    rss = re.search(r"bank server RSS: start (\d+) MB, after a quarter of the run \d+ MB, end (\d+) MB", p.stdout)
    assert rss and min(int(rss.group(1)), int(rss.group(2))) > 100, p.stdout  # a loaded index, measured
