"""Knowledge-base page: upload files, see what is indexed, delete a source, re-ingest corpus/."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ingest.loaders import SUFFIXES
from ingest.pipeline import IngestReport
from rag.errors import RagError
from ui.common import get_assistant

assistant = get_assistant()


def ingest_with_status(paths: list[Path] | None, label: str) -> IngestReport:
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)
        report = assistant.ingest_paths(paths, progress=lambda d, t: bar.progress(d / max(t, 1)))
        status.update(label=report.summary(), state="error" if report.failed else "complete")
    return report


st.title("知识库")
st.markdown(
    f"上传你自己的资料（{'、'.join(s.lstrip('.') for s in SUFFIXES)}，单个文件不超过 "
    f"{assistant.settings.max_upload_mb} MB），回答时会以 `[文件名 p.页码]` 引用。"
)

files = st.file_uploader("上传文件", type=[s.lstrip(".") for s in SUFFIXES], accept_multiple_files=True, key="uploads")
if st.button("导入", disabled=not files, type="primary"):
    saved, problems = [], []
    for f in files or []:
        try:
            saved.append(assistant.save_upload(f.name, f.getvalue()))
        except RagError as exc:
            problems.append(str(exc))
    if saved:
        report = ingest_with_status(saved, f"正在导入 {len(saved)} 个文件…")
        for source, reason in report.failed:
            problems.append(f"{source.rsplit('/', 1)[-1]}: {reason}")
            Path(source).resolve().unlink(missing_ok=True)  # keep no upload the index does not hold
        if report.added or report.updated:
            st.success(f"已导入：{', '.join(s.rsplit('/', 1)[-1] for s in report.added + report.updated)}")
    for p in problems:
        st.error(p)

st.subheader("已索引的资料")
for info in assistant.sources():
    c1, c2, c3 = st.columns([6, 2, 2])
    label = {"bank": "题库", "corpus": "corpus", "upload": "上传", "other": "外部"}[info.kind]
    c1.markdown(f"`{info.source}`")
    c2.caption(f"{label} · {info.chunks} 块")
    if info.deletable and c3.button("删除", key=f"del-{info.source}"):
        n = assistant.delete_source(info.source)
        st.toast(f"已删除 {info.source}（{n} 块）")
        st.rerun()

st.divider()
if st.button("重新导入 corpus/"):
    report = ingest_with_status(None, "正在重新导入 corpus/…")
    for source, reason in report.failed:
        st.error(f"{source}: {reason}")
