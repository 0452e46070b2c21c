"""Markdown structure: heading paths, blocks that are never cut, and the residue that is dropped."""

from __future__ import annotations

from langchain_core.documents import Document

from ingest.chunking import chunk_documents, document_title, pack_section
from ingest.structure import Block, Section, clean_line, sections

NOTE = """# 分布式训练

[返回目录](../README.md)

## DeepSpeed

![ds.png](../img/ds.png)
ZeRO 把优化器状态、梯度和参数切分到各张卡上。<br>
[![Star](https://img.shields.io/x.svg)](https://example.com)

### ZeRO-3

```python
# 这不是标题
engine, opt, _, _ = deepspeed.initialize(model=model)
```

| stage | 切分 |
| --- | --- |
| 1 | 优化器状态 |

## Accelerate
用 [accelerate](https://github.com/huggingface/accelerate) 启动多卡训练。[](https://empty.example)
"""


def test_sections_carry_their_heading_path_and_clean_blocks() -> None:
    got = [(s.heading, [(b.kind, b.text) for b in s.blocks]) for s in sections(NOTE)]
    assert got == [
        ("分布式训练 › DeepSpeed", [("text", "ZeRO 把优化器状态、梯度和参数切分到各张卡上。")]),
        (
            "分布式训练 › DeepSpeed › ZeRO-3",
            [
                (
                    "code",
                    "```python\n# 这不是标题\nengine, opt, _, _ = deepspeed.initialize(model=model)\n```",
                ),
                ("table", "| stage | 切分 |\n| --- | --- |\n| 1 | 优化器状态 |"),
            ],
        ),
        ("分布式训练 › Accelerate", [("text", "用 accelerate 启动多卡训练。")]),
    ]


def test_a_text_fence_is_prose_and_is_cleaned() -> None:
    md = "# T\n```text\n编码器把输入编码成向量<br>\n解码器逐步生成输出\n```\n"
    assert [(b.kind, b.text) for b in sections(md)[0].blocks] == [
        ("text", "编码器把输入编码成向量\n解码器逐步生成输出")
    ]


def test_clean_line() -> None:
    assert clean_line("见 ![图](a.png) 和 [文档](http://x) <b>加粗</b>&nbsp;") == "见  和 文档 加粗"


def test_blocks_are_packed_whole_and_a_long_code_block_keeps_its_fence() -> None:
    code = "```python\n" + "\n".join(f"x{i} = compute({i})  # 第 {i} 步" for i in range(60)) + "\n```"
    section = Section(("A",), [Block("text", "短段落一。"), Block("text", "短段落二。"), Block("code", code)])
    pieces = pack_section(section, size=200, overlap=20)
    assert pieces[0].startswith("短段落一。\n\n短段落二。")
    code_pieces = [p for p in pieces if "compute" in p]
    assert len(code_pieces) > 1
    for p in code_pieces:
        body = p.split("\n\n")[-1]
        assert body.startswith("```python\n") and body.endswith("\n```")
    joined = "".join(p for p in pieces)
    assert all(f"x{i} = compute({i})" in joined for i in range(60))  # nothing lost


def test_a_block_up_to_one_and_a_half_chunks_stays_whole() -> None:
    table = "\n".join(f"| {i} | 值 {i} |" for i in range(30))
    assert len(table) < 300 * 1.5
    pieces = pack_section(Section(("T",), [Block("table", table)]), size=300, overlap=30)
    assert pieces == [table]


def test_chunks_start_with_the_title_and_heading_path() -> None:
    docs = [Document(page_content=NOTE, metadata={"page": 0, "format": "markdown"})]
    chunks = chunk_documents(docs, "notes/分布式.md", "h", 400, 60)
    headings = [c.metadata["heading"] for c in chunks]
    assert headings[0] == "分布式 › 分布式训练 › DeepSpeed"
    assert all(c.text.startswith(c.metadata["heading"] + "\n") for c in chunks)
    assert not any("png" in c.text or "<br>" in c.text or "返回目录" in c.text for c in chunks)


def test_plain_text_has_no_heading_path() -> None:
    docs = [Document(page_content="第一句。第二句。", metadata={"page": 2, "format": "text"})]
    (chunk,) = chunk_documents(docs, "paper.pdf", "h", 400, 60)
    assert chunk.metadata["heading"] == "" and chunk.text == "第一句。第二句。" and chunk.metadata["page"] == 2


def test_document_title() -> None:
    assert document_title("notes/DeepSpeed.md") == "DeepSpeed"
    assert document_title("/home/u/faq/langchain/README.md") == "langchain"


def test_a_heading_that_names_the_file_is_not_repeated() -> None:
    md = "# FAQ_Of_LLM_Interview\n正文。"
    docs = [Document(page_content=md, metadata={"page": 0, "format": "markdown"})]
    (chunk,) = chunk_documents(docs, "faq_of_llm_interview/README.md", "h", 400, 60)
    assert chunk.metadata["heading"] == "FAQ_Of_LLM_Interview"


def test_placeholders_in_angle_brackets_and_inline_code_are_kept() -> None:
    # a YOLO label line and a vocabulary note: placeholders, not HTML
    assert clean_line("`<class_id> <x_center> <y_center> <width> <height>`") == (
        "`<class_id> <x_center> <y_center> <width> <height>`"
    )
    assert clean_line("词表里 <PAD>=0、<UNK>=1，<div>正文</div>") == "词表里 <PAD>=0、<UNK>=1，正文"
    assert clean_line("句子以 <s> 开头、</s> 结尾<aside>，见下</aside>") == "句子以 <s> 开头、</s> 结尾，见下"
    assert clean_line("用 `![x](y)` 插图，![图](a.png)<br/>") == "用 `![x](y)` 插图，"
