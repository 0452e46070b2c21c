"""`python -m ingest [PATH ...] [--rebuild]`: build or update the index."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ingest.pipeline import IngestInterrupted, ingest
from rag.errors import RagError
from rag.settings import get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description="Ingest files into the index.")
    parser.add_argument("paths", nargs="*", type=Path, help="files or folders (default: the corpus dir)")
    parser.add_argument("--rebuild", action="store_true", help="drop the index and build it again")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
        report = ingest(args.paths or None, settings, rebuild=args.rebuild)
    except IngestInterrupted as exc:
        print(f"\n{exc}", file=sys.stderr)
        return 130
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for source, reason in report.failed:
        print(f"failed: {source}: {reason}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
