"""Synonym groups: parsing, index-time expansion, and their effect on real retrieval."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import RagError
from rag.settings import Settings
from rag.synonyms import Synonyms, load_synonyms
from rag.text import tokenize

REPO = Path(__file__).resolve().parent.parent


def expand(syn: Synonyms, text: str) -> list[str]:
    return syn.expand(text, tokenize(text))


def test_load_parses_groups_and_skips_comments(tmp_path: Path) -> None:
    f = tmp_path / "s.tsv"
    content = "# concept names\n\nRLHF\t基于人类反馈的强化学习\t人类反馈强化学习\nKV cache\t键值缓存\n"
    f.write_text(content, encoding="utf-8")
    syn = load_synonyms(f)
    assert syn.groups == [("RLHF", "基于人类反馈的强化学习", "人类反馈强化学习"), ("KV cache", "键值缓存")]


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
        ("RLHF\t的\n", "s.tsv:1: '的' has no searchable word"),
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
    out = expand(syn, "RLHF 的缺点：强化学习不稳定")
    assert out[: len(tokenize("RLHF 的缺点：强化学习不稳定"))] == tokenize("RLHF 的缺点：强化学习不稳定")
    added = out[len(tokenize("RLHF 的缺点：强化学习不稳定")) :]
    assert {"人类", "反馈"} <= set(added)
    assert "强化学习" not in added  # already in the text: its frequency stays as written
    assert "缓存" not in out  # the KV cache group was not named


@pytest.mark.parametrize("text", ["kv-cache 怎么省显存", "KV Cache 怎么省显存", "kvcache 怎么省显存"])
def test_expand_ignores_case_spaces_and_hyphens(text: str) -> None:
    syn = Synonyms([("KV cache", "键值缓存")])
    assert "键值" in expand(syn, text)


def test_ascii_names_match_whole_words_only() -> None:
    syn = Synonyms([("RM", "奖励模型")])
    assert "奖励模型" not in expand(syn, "RMSNorm 和 LayerNorm 的区别")
    assert "奖励模型" in expand(syn, "RM 怎么训练")


def test_longest_name_wins() -> None:
    syn = Synonyms([("RLHF", "基于人类反馈的强化学习"), ("RL", "强化学习")])
    # "强化学习" inside the longer name belongs to it, not to the RL group
    assert "rl" not in expand(syn, "基于人类反馈的强化学习")


def test_shipped_synonyms_file_loads() -> None:
    syn = load_synonyms(REPO / "corpus" / "synonyms.tsv")
    assert len(syn) >= 100


def test_settings_default_follows_the_corpus_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAG_CORPUS_DIR", str(tmp_path / "mine"))
    monkeypatch.delenv("RAG_SYNONYMS_FILE", raising=False)
    assert Settings().synonyms_file == tmp_path / "mine" / "synonyms.tsv"
    monkeypatch.setenv("RAG_SYNONYMS_FILE", str(tmp_path / "x.tsv"))
    assert Settings().synonyms_file == tmp_path / "x.tsv"


def test_full_name_finds_the_entry_written_as_an_abbreviation(retriever) -> None:
    """Q125 says "RLHF"; the user spells it out. Without the synonyms the entry's question and
    问法 share none of the query's topical words, and the query is judged out of scope."""
    hits = retriever.search("人类反馈强化学习在实践中有哪些不足", k=5, bank_only=True)
    assert hits[0].id == "Q125"
    assert hits[0].coverage > 0.3
    assert retriever.is_relevant(hits)


def test_without_synonyms_the_full_name_is_not_covered(bank_settings: Settings, embeddings, tmp_path: Path) -> None:
    from rag.retriever import Retriever

    empty = tmp_path / "none.tsv"
    r = Retriever(bank_settings.model_copy(update={"synonyms": empty}), embeddings=embeddings)
    hits = r.search("人类反馈强化学习在实践中有哪些不足", k=5, bank_only=True)
    assert hits[0].coverage < 0.1  # the words are only in the note, not in what the entry is about


def test_query_word_the_index_lacks_falls_back_to_its_parts(retriever) -> None:
    """The bank writes 实践 and 词表; a user's 在实践中 / 词表扩增 are matched through their parts
    instead of counting as topics the index lacks."""
    assert "在实践中" not in retriever.bm25.vocab
    terms = retriever._query_terms("RLHF 在实践中的不足")
    assert "实践" in terms
    assert "在实践中" not in terms
    hits = retriever.search("RLHF 在实践中的不足", k=3, bank_only=True)
    assert hits[0].unknown == 0.0
