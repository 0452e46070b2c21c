"""End to end in a real headless browser: `streamlit run app.py` on loopback, Debian's chromium driven by
playwright. Skips (saying why) where /usr/bin/chromium is not installed."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from rag.settings import Settings
from tests.support.servers import free_port, serving

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="/usr/bin/chromium is missing: apt-get install -y chromium fonts-noto-cjk"
    ),
]


@pytest.fixture
def streamlit_app(use_bank_index: Settings, tmp_path: Path) -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        "app.py",
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
    ]
    url = f"http://127.0.0.1:{port}"
    with serving(cmd, f"{url}/_stcore/health", tmp_path / "streamlit.log", cwd=REPO, env=os.environ.copy()):
        yield url


@contextmanager
def browser_page(height: int = 1000) -> Iterator:
    """A page of a fresh headless chromium, closed afterwards."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
        )
        try:
            yield browser.new_page(viewport={"width": 1400, "height": height})
        finally:
            browser.close()


def test_chinese_question_streams_a_cited_answer_in_chromium(streamlit_app: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(streamlit_app)
            box = page.get_by_test_id("stChatInputTextArea")
            expect(box).to_be_visible(timeout=120_000)  # the first page load also loads the index
            box.fill("LoRA 训练完的权重可以合并回原模型吗？")
            box.press("Enter")
            card = page.get_by_test_id("stExpander").filter(has_text="[Q083]")
            expect(card.first).to_be_visible(timeout=90_000)
            expect(page.get_by_text("merge_and_unload").first).to_be_visible()
            card.first.click()  # open the citation card: the note renders, formulas included
            expect(page.locator(".katex").first).to_be_visible(timeout=30_000)
            shot = tmp_path / "chat.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 20_000
            if os.environ.get("RAG_SCREENSHOT_DIR"):  # to look at it by hand
                shutil.copy(shot, Path(os.environ["RAG_SCREENSHOT_DIR"]) / "chat.png")
        finally:
            browser.close()


def test_the_knowledge_page_lists_the_bank_in_chromium(streamlit_app: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with browser_page() as page:
        page.goto(f"{streamlit_app}/knowledge")
        expect(page.get_by_role("heading", name="知识库")).to_be_visible(timeout=120_000)
        expect(page.get_by_text("corpus/question_bank/05-peft.md").first).to_be_visible(timeout=30_000)
        expect(page.get_by_text("题库 ·").first).to_be_visible()
        page.screenshot(path=str(tmp_path / "knowledge.png"), full_page=True)
        assert (tmp_path / "knowledge.png").stat().st_size > 20_000


def test_one_practice_round_in_chromium(streamlit_app: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect

    with browser_page(height=1100) as page:
        page.goto(f"{streamlit_app}/practice")
        expect(page.get_by_role("heading", name="模拟面试")).to_be_visible(timeout=120_000)
        page.get_by_test_id("stSlider").get_by_role("slider").focus()
        for _ in range(4):  # 5 -> 1 question
            page.keyboard.press("ArrowLeft")
        page.get_by_role("button", name="开始练习").click()
        box = page.get_by_label("你的回答")
        expect(box).to_be_visible(timeout=60_000)
        box.fill("它的核心思路是先给出定义和公式，再讲优缺点；我会结合训练和推理两个阶段说明，并举 LLaMA 的例子。")
        page.get_by_role("button", name="提交").click()
        expect(page.get_by_text("得分").first).to_be_visible(timeout=60_000)
        expect(page.get_by_text("参考笔记").first).to_be_visible()
        shot = tmp_path / "practice.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 20_000
        if os.environ.get("RAG_SCREENSHOT_DIR"):
            shutil.copy(shot, Path(os.environ["RAG_SCREENSHOT_DIR"]) / "practice.png")
        page.get_by_role("button", name="查看本轮结果").click()
        expect(page.get_by_text("本轮结束").first).to_be_visible(timeout=30_000)
