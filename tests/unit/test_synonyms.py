"""Synonym groups: the TSV file, and the tokens a chunk gains at index time."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import RagError
from rag.retrieval.synonyms import Synonyms, load_synonyms
from rag.retrieval.text import tokenize
from rag.settings import Settings

REPO = Path(__file__).resolve().parents[2]


def expand(syn: Synonyms, text: str) -> list[str]:
    return syn.expand(text, tokenize(text))


def test_load_parses_groups_and_skips_comments_and_blank_lines(tmp_path: Path) -> None:
    f = tmp_path / "s.tsv"
    content = (
        "# concept names\n\nRLHF\t基于人类反馈的强化学习\t人类反馈强化学习\n  # indented comment\nKV cache\t键值缓存\n"
    )
    f.write_text(content, encoding="utf-8")
    syn = load_synonyms(f)
    assert syn.groups == [("RLHF", "基于人类反馈的强化学习", "人类反馈强化学习"), ("KV cache", "键值缓存")]
    assert len(syn) == 2


def test_a_bom_and_empty_cells_are_ignored(tmp_path: Path) -> None:
    f = tmp_path / "s.tsv"
    f.write_bytes("\ufeffLoRA\t\t 低秩适配 \t\n".encode())
    assert load_synonyms(f).groups == [("LoRA", "低秩适配")]


def test_missing_file_means_no_synonyms(tmp_path: Path) -> None:
    syn = load_synonyms(tmp_path / "none.tsv")
    assert len(syn) == 0
    assert expand(syn, "RLHF 的缺点") == tokenize("RLHF 的缺点")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("RLHF\n", "s.tsv:1: a synonym group needs two or more different names"),
        ("RLHF | 人类反馈强化学习\n", "s.tsv:1: a synonym group needs two or more different names"),
        ("KV cache\tkv-cache\tKVCache\n", "s.tsv:1: a synonym group needs two or more different names"),
        ("LoRA\t低秩适配\n\nQLoRA\tlora\n", "s.tsv:3: 'lora' is already in the group on line 1"),
        ("# header\nRLHF\t的\n", "s.tsv:2: '的' has no searchable word"),
    ],
)
def test_bad_lines_name_file_and_line(tmp_path: Path, content: str, message: str) -> None:
    f = tmp_path / "s.tsv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(RagError, match=message):
        load_synonyms(f)


def test_spelling_variants_in_one_group_are_kept_once(tmp_path: Path) -> None:
    f = tmp_path / "s.tsv"
    f.write_text("decoder-only\tdecoder only\t仅解码器\n", encoding="utf-8")
    assert load_synonyms(f).groups == [("decoder-only", "仅解码器")]


def test_long_english_names_add_only_their_joined_forms() -> None:
    syn = Synonyms([("混合精度", "mixed precision")])
    out = expand(syn, "混合精度训练省显存")
    assert "mixedprecision" in out
    assert "precision" not in out  # "precision vs recall" must not match every mixed-precision chunk
    assert {"混合", "精度"} & set(expand(syn, "mixed precision training"))


def test_expand_adds_the_other_names_tokens_once() -> None:
    syn = Synonyms([("RLHF", "基于人类反馈的强化学习"), ("KV cache", "键值缓存")])
    text = "RLHF 的缺点：强化学习不稳定"
    out = expand(syn, text)
    assert out[: len(tokenize(text))] == tokenize(text)
    added = out[len(tokenize(text)) :]
    assert {"人类", "反馈"} <= set(added)
    assert "强化学习" not in added  # already in the text: its frequency stays as written
    assert len(added) == len(set(added))
    assert "缓存" not in out  # the KV cache group was not named


@pytest.mark.parametrize("text", ["kv-cache 怎么省显存", "KV Cache 怎么省显存", "kvcache 怎么省显存"])
def test_expand_ignores_case_spaces_and_hyphens(text: str) -> None:
    syn = Synonyms([("KV cache", "键值缓存")])
    assert "键值" in expand(syn, text)


def test_a_chinese_name_is_found_in_running_text() -> None:
    syn = Synonyms([("KV cache", "键值缓存")])
    assert "kvcache" in expand(syn, "推理时的键值缓存很占显存")


def test_ascii_names_match_whole_words_only() -> None:
    syn = Synonyms([("RM", "奖励模型")])
    assert "奖励模型" not in expand(syn, "RMSNorm 和 LayerNorm 的区别")
    assert "奖励模型" in expand(syn, "RM 怎么训练")


def test_longest_name_wins() -> None:
    syn = Synonyms([("RLHF", "基于人类反馈的强化学习"), ("RL", "强化学习")])
    # "强化学习" inside the longer name belongs to it, not to the RL group
    assert "rl" not in expand(syn, "基于人类反馈的强化学习")
    assert "rl" in expand(syn, "强化学习的奖励")


def test_no_groups_returns_the_tokens_as_given() -> None:
    tokens = ["lora", "权重"]
    assert Synonyms().expand("LoRA 权重", tokens) is tokens


def test_shipped_synonyms_file_loads() -> None:
    syn = load_synonyms(REPO / "corpus" / "synonyms.tsv")
    assert len(syn) >= 100


def test_settings_default_follows_the_corpus_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tmp_path / "mine"))
    assert Settings(_env_file=None).synonyms_path == tmp_path / "mine" / "synonyms.tsv"
    monkeypatch.setenv("RAG_SYNONYMS_FILE", str(tmp_path / "x.tsv"))
    settings = Settings(_env_file=None)
    assert settings.synonyms_path == settings.synonyms_file == tmp_path / "x.tsv"
