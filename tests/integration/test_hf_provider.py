"""The `huggingface` provider's real code path: a tiny Llama built here (random weights, no download)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answering.chain import Answerer
from rag.errors import RagError
from rag.retrieval.retriever import Retriever
from rag.settings import get_settings


def tiny_model(path: Path) -> Path:
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    torch.manual_seed(0)
    # no citation-shaped token in the vocabulary: whatever it generates cites nothing
    words = ["<unk>", "<s>", "</s>", "LoRA", "RoPE", "的", "是", "。", "合并", "权重", "模型"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="<unk>", bos_token="<s>", eos_token="</s>", pad_token="</s>"
    )
    fast.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}assistant:"
    fast.save_pretrained(path)
    config = LlamaConfig(
        vocab_size=len(words),
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=8192,
    )
    LlamaForCausalLM(config).save_pretrained(path)
    return path


@pytest.mark.slow
def test_huggingface_local_model_answers_with_sources(
    retriever: Retriever, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("transformers")
    model_dir = tiny_model(tmp_path / "tiny-llama")
    monkeypatch.setenv("RAG_LLM", "huggingface")
    monkeypatch.setenv("RAG_LLM_MODEL", str(model_dir))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    get_settings.cache_clear()
    answerer = Answerer(retriever, get_settings())
    stream = answerer.start("LoRA 权重可以合并到原模型吗")
    text = "".join(stream)
    result = stream.result()
    assert result.error is None, result.error
    assert result.mode == "huggingface" and not result.refused
    assert text.strip() and result.citations[0].id == "Q083"
    # random weights cite nothing valid: the answer lists its sources instead
    assert result.answer.rstrip().endswith(" ".join(f"[{c.label}]" for c in result.citations))


def test_huggingface_needs_a_local_directory(
    retriever: Retriever, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RAG_LLM", "huggingface")
    monkeypatch.setenv("RAG_LLM_MODEL", str(tmp_path / "missing"))
    get_settings.cache_clear()
    with pytest.raises(RagError, match="local model directory"):
        Answerer(retriever, get_settings())
