"""Normalize: one extracted package in, one load package (typed load files per table) out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from shipload.exceptions import TerminalError
from shipload.extract.extractor import read_pages
from shipload.normalize.arrow_input import ArrowNormalizer
from shipload.normalize.relational import RelationalNormalizer
from shipload.normalize.table_page import TablePageNormalizer
from shipload.normalize.text_size import TextPolicy
from shipload.packages.storage import JobFileName, LoadPackage, PipelineStorage
from shipload.schema.hints import apply_hints
from shipload.schema.schema import Schema
from shipload.utils.faults import crash_point
from shipload.utils.files import read_json, remove_tree, write_json
from shipload.utils.ids import new_file_id
from shipload.writers.base import WriterPool
from shipload.writers.registry import writer_class
from shipload.writers.sql_frames import write_sql_job

DEFAULT_MAX_NESTING = 1000


class Normalizer:
    def __init__(
        self,
        storage: PipelineStorage,
        choose_format: Any,
        writer_options: dict[str, Any] | None = None,
        max_rows_per_file: int = 1_000_000,
        max_bytes_per_file: int = 128 * 1024 * 1024,
        text_policy: TextPolicy | None = None,
    ) -> None:
        self.storage = storage
        self.choose_format = choose_format  # callable(Table) -> file format name
        self.writer_options = writer_options or {}
        self.max_rows_per_file = max_rows_per_file
        self.max_bytes_per_file = max_bytes_per_file
        self.text_policy = text_policy

    def normalize(self, extracted: Path, live_schema: Schema) -> tuple[LoadPackage, Schema, dict[str, int]]:
        """Write the load package for `extracted`; returns it, the evolved schema and row counts."""
        load_id = extracted.name
        schema = live_schema.clone()
        hints = read_json(extracted / "hints.json", {})
        for table_name, entry in hints.items():
            apply_hints(schema, table_name, entry["hints"], entry["resource"])
        work = self.storage.folder("normalize", "new") / load_id
        remove_tree(work)
        package = LoadPackage(work)
        package.ensure_layout()
        pool = WriterPool(
            work / "new_jobs",
            lambda table: writer_class(self.choose_format(schema, table)),
            self.max_rows_per_file,
            self.max_bytes_per_file,
            self.writer_options,
        )
        pages = TablePageNormalizer(schema, load_id, self.text_policy)
        flatteners: dict[str, RelationalNormalizer] = {}
        for path in sorted((extracted / "pages").iterdir()):
            root = path.name.split(".", 1)[0]
            if schema.tables.get(root) is not None and schema.tables[root].file_format == "sql":
                self._sql_job(path, work / "new_jobs", root)
                continue
            flattener = flatteners.get(root)
            if flattener is None:
                flattener = flatteners[root] = self._flattener(schema, root)
            for page in read_pages(path):
                tables, root_ids = flattener.normalize_page(page)
                dropped: set[str] = set()
                for table_name, (columns, n) in tables.items():
                    is_root = table_name == root
                    parent = None if is_root else flattener.parent_of[table_name]
                    done = pages.process(table_name, parent, columns, n, root_ids if is_root else None, dropped)
                    if done is not None:
                        cols, kept = done
                        pool.write(schema.tables[table_name], cols, kept)
                crash_point("normalize.page")
        arrow_dir = extracted / "arrow"
        if arrow_dir.exists():
            arrow = ArrowNormalizer(schema, load_id, pages)
            for path in sorted(arrow_dir.iterdir()):
                arrow.normalize_file(path, pool)
        pool.close()
        schema.bump_version()
        state = read_json(extracted / "package_state.json", {})
        state["row_counts"] = pool.row_counts
        state["schema_version_hash"] = schema.version_hash
        state["new_tables"] = sorted(pages.new_tables)
        state["replace_tables"] = sorted(
            t for t in hints if t in schema.tables and schema.write_disposition(t) == "replace"
        )
        package.save_state(state)
        write_json(work / "schema.json", schema.to_dict())
        target = self.storage.folder("load", "normalized") / load_id
        os.replace(work, target)
        crash_point("normalize.renamed")
        remove_tree(extracted)
        return LoadPackage(target), schema, pool.row_counts

    @staticmethod
    def _sql_job(pages: Path, folder: Path, table: str) -> None:
        """A resource with file_format="sql" yields SQL statements: one job file, one transaction."""
        statements: list[str] = []
        for page in read_pages(pages):
            for item in page:
                if not isinstance(item, str):
                    raise TerminalError(f"resource {table!r} has file_format 'sql': items must be SQL strings, got {item!r:.100}")
                statements.append(item)
        write_sql_job(folder / JobFileName(table, new_file_id(), 0, "sql").name, statements)

    def _flattener(self, schema: Schema, root: str) -> RelationalNormalizer:
        table = schema.tables.get(root)
        max_nesting = table.max_nesting if table is not None and table.max_nesting is not None else DEFAULT_MAX_NESTING
        json_columns = {
            t.name: {c.name for c in t.columns.values() if c.data_type == "json"}
            for t in schema.tables.values()
        }
        with_root_id = table is not None and table.write_disposition == "merge"
        content_ids = with_root_id and table.merge_strategy == "scd2"
        return RelationalNormalizer(schema.naming, root, max_nesting, json_columns, with_root_id, content_ids)
