"""A bad setting stops a command at start with one line naming the variable and the valid choices."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_with(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
        env=os.environ | env,
    )


@pytest.mark.parametrize(
    ("variable", "value", "choices"),
    [
        ("RAG_EMBEDDER", "usem4", ("'usem3'", "'e5'", "'sentence-transformers'")),
        ("RAG_LLM", "gpt", ("'extractive'", "'openai'", "'ollama'", "'huggingface'")),
    ],
)
@pytest.mark.parametrize("command", [("-m", "rag", "search", "x"), ("-m", "ingest")])
def test_a_bad_choice_is_one_line_naming_the_variable_and_the_choices(
    variable: str, value: str, choices: tuple[str, ...], command: tuple[str, ...]
) -> None:
    p = run_with({variable: value}, *command)
    assert p.returncode == 2, (p.stdout, p.stderr)
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1, p.stderr
    assert variable in lines[0] and repr(value) in lines[0]
    assert all(choice in lines[0] for choice in choices), lines[0]
    assert p.stdout == ""


@pytest.mark.parametrize("variable", ["CHROMA_PORT", "RAG_CHROMA_PORT"])
def test_a_bad_chroma_port_names_the_spelling_the_user_set(variable: str) -> None:
    p = run_with({variable: "eighty"}, "-m", "rag", "search", "x")
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: bad setting: {variable}='eighty'"), p.stderr


def test_the_prefix_is_required() -> None:
    # an unprefixed EMBEDDER is someone else's variable: it must not change ours
    p = run_with({"EMBEDDER": "usem4", "LLM": "gpt"}, "-m", "rag", "search", "LoRA")
    assert p.returncode == 2
    assert "run `python -m ingest`" in p.stderr and "bad setting" not in p.stderr
