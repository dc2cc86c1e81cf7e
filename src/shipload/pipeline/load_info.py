"""What a run did, as data and as a readable summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LoadInfo:
    pipeline_name: str
    destination: str
    dataset_name: str
    load_ids: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    started_at: float = 0.0
    elapsed: float = 0.0
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def has_data(self) -> bool:
        return bool(self.load_ids)

    def asdict(self) -> dict[str, Any]:
        return {
            "pipeline_name": self.pipeline_name, "destination": self.destination, "dataset_name": self.dataset_name,
            "load_ids": list(self.load_ids), "row_counts": dict(self.row_counts), "elapsed": self.elapsed,
            "steps": dict(self.steps),
        }

    def __str__(self) -> str:
        lines = [
            f"Pipeline {self.pipeline_name}: {len(self.load_ids)} package(s) loaded into {self.destination} "
            f"dataset {self.dataset_name} in {self.elapsed:.2f} s"
        ]
        for load_id in self.load_ids:
            lines.append(f"  load id {load_id}")
        if self.row_counts:
            width = max(len(t) for t in self.row_counts)
            for table, count in sorted(self.row_counts.items()):
                lines.append(f"  {table:<{width}}  {count:>10,} rows")
        else:
            lines.append("  no new data")
        if self.steps:
            lines.append("  " + ", ".join(f"{k} {v:.2f} s" for k, v in self.steps.items()))
        return "\n".join(lines)
