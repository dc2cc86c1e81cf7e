"""The benchmark: every scenario, for shipload, dlt (defaults and without compression) and the
physical-limit references, each measurement in a fresh process, in one sitting.

    python bench/run.py                  # full sitting (writes bench/results/latest.json and the README tables)
    python bench/run.py --only staged    # the staged scenarios only (a group, or comma-separated scenarios)
    python bench/run.py --only memory    # the memory runs only: 1M nested records, made while loading
    python bench/run.py --runs 1 --n 5000 --no-readme   # a smoke run

It creates bench/.venv-dlt (dlt from PyPI) if missing, starts a PostgreSQL server and the local
Redshift endpoint of its own, and stops them at the end."""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(ROOT / "src"))

DLT_VENV = BENCH / ".venv-dlt"
DLT_SPEC = "dlt[duckdb,postgres,parquet,redshift,s3]==1.31.0"
SCENARIOS = {
    # scenario: (kinds, tools)
    "parquet": (("nested", "flat"), ("shipload", "dlt", "dlt-nocompress", "ref")),
    "jsonl": (("nested", "flat"), ("shipload", "dlt", "dlt-nocompress", "ref")),
    "postgres_insert": (("nested",), ("shipload", "dlt", "dlt-nocompress", "ref")),
    "postgres_copy": (("nested", "flat"), ("shipload", "dlt", "dlt-nocompress", "ref")),
    "duckdb": (("nested",), ("shipload", "dlt", "dlt-nocompress", "ref")),
    "redshift_insert": (("nested",), ("shipload", "dlt", "dlt-nocompress", "ref")),
    # staged: extract + normalize for the filesystem destination (local folder), and a whole run into the
    # local Redshift endpoint through S3 staging (dlt: its own staged Redshift path against the same endpoint)
    "filesystem_parquet": (("nested",), ("shipload", "dlt", "ref")),
    "filesystem_jsonl": (("nested",), ("shipload", "dlt", "dlt-nocompress", "ref")),
    "redshift_staged_parquet": (("nested",), ("shipload", "dlt", "ref")),
    "redshift_staged_jsonl": (("nested",), ("shipload", "dlt", "dlt-nocompress", "ref")),
    # Arrow input (bench/arrow.py): 2M rows x 6 columns as record batches, into DuckDB and staged parquet
    "duckdb_arrow": (("batches",), ("shipload", "dlt", "ref")),
    "redshift_staged_arrow": (("batches",), ("shipload", "dlt", "ref")),
}
#: --only accepts these names for groups of scenarios; each group has its own table in the README
GROUPS = {
    "main": ("parquet", "jsonl", "postgres_insert", "postgres_copy", "duckdb", "redshift_insert"),
    "staged": ("filesystem_parquet", "filesystem_jsonl", "redshift_insert", "redshift_staged_parquet",
               "redshift_staged_jsonl"),
    "arrow": ("duckdb_arrow", "redshift_staged_arrow"),
}
#: the memory runs (`--only memory`, and after a main sitting): shipload only, pages made while loading,
#: `--memory-n` records, one run each; time and peak RSS above the start, normalize worker included
MEMORY_SCENARIOS = ("duckdb", "postgres_insert", "postgres_copy", "redshift_staged_parquet")
#: the reference each scenario is held against
REFERENCE = {"parquet": "pyarrow from_pylist + parquet write", "jsonl": "orjson to jsonl",
             "postgres_insert": "hand-built multi-row INSERTs", "postgres_copy": "hand-flattened CSV, COPY FROM STDIN",
             "duckdb": "pyarrow + DuckDB CREATE TABLE AS", "redshift_insert": "hand-built multi-row INSERTs",
             "filesystem_parquet": "pyarrow from_pylist + parquet write", "filesystem_jsonl": "orjson to jsonl",
             "redshift_staged_parquet": "pyarrow parquet, boto3 upload, one COPY per table with a manifest",
             "redshift_staged_jsonl": "orjson jsonl.gz, boto3 upload, one COPY per table with a manifest",
             "duckdb_arrow": "pyarrow parquet write + DuckDB read_parquet",
             "redshift_staged_arrow": "pyarrow parquet, boto3 upload, one COPY with a manifest"}


def ensure_dlt() -> Path:
    python = DLT_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(DLT_VENV)], check=True)
    if subprocess.run([str(python), "-c", "import dlt, s3fs, psycopg2, pyarrow"], capture_output=True).returncode:
        subprocess.run([str(python), "-m", "pip", "install", "-q", DLT_SPEC], check=True)
    return python


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process, its reaped children and its live children (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own, parent = int(stat.parent.name), int(fields[1])
        if own == pid:
            total += sum(int(v) for v in fields[11:15]) / tick  # utime stime cutime cstime
        elif parent == pid:
            total += sum(int(v) for v in fields[11:13]) / tick
    return total


class Services:
    def __init__(self, work: Path) -> None:
        from shipload.local.endpoint import LocalEndpoint
        from shipload.local.postgres import PostgresServer

        self.pg = PostgresServer(work / "pg", "bench-pw")
        self.pg.stop(remove=True)  # a server left by an interrupted sitting
        self.pg.start()
        self.endpoint = LocalEndpoint(work / "rs")
        self.endpoint.down(remove_data=True)
        self.rs = self.endpoint.up()
        self.counter = 0

    def fresh_db(self, scenario: str) -> dict[str, str]:
        import psycopg2

        self.counter += 1
        name = f"b{self.counter}"
        if scenario.startswith("redshift"):
            rs = self.rs
            conn = psycopg2.connect(host=rs.redshift_host, port=rs.redshift_port, user=rs.username,
                                    password=rs.password, dbname=rs.database)
            url = f"postgresql://{rs.username}:{rs.password}@{rs.redshift_host}:{rs.redshift_port}/{name}"
        else:
            conn = psycopg2.connect(self.pg.url())
            url = self.pg.url(name)
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        conn.close()
        env = {"BENCH_DSN": url, "BENCH_DB": name}
        if scenario.startswith("redshift"):
            env.update(self.rs.env())
            env["DESTINATION__FILESYSTEM__BUCKET_URL"] = f"s3://{self.rs.bucket}/{name}"
            env["DESTINATION__REDSHIFT__CREDENTIALS__DATABASE"] = name
            env["DLT_REDSHIFT_URL"] = url
        else:
            env["DESTINATION__POSTGRES__CREDENTIALS"] = url
        return env

    def statement_sizes(self, db: str) -> list[int]:
        sizes = []
        with open(self.rs.statement_log, encoding="utf-8") as fh:
            for line in fh:
                if f'"db":"{db}"' in line and '"sql":"INSERT INTO' in line:
                    entry = json.loads(line)
                    if "_sl_" not in entry["sql"][:200]:
                        sizes.append(len(entry["sql"].encode("utf-8")))
        return sizes

    def endpoint_cpu(self) -> dict[str, float]:
        return {"proxy": tree_cpu(self.rs.pids["proxy"]), "postgres": tree_cpu(self.rs.pids["postgres"]),
                "s3": tree_cpu(self.rs.pids["s3"])}

    def stop(self) -> None:
        self.endpoint.down(remove_data=True)
        self.pg.stop(remove=True)


def measure(tool: str, scenario: str, kind: str, n: int, services: Services, dlt_python: Path, work: Path,
            lazy: bool = False) -> dict[str, Any]:
    workdir = work / f"{tool}-{scenario}-{kind}-{time.time_ns()}"
    env = dict(os.environ)
    env.pop("DATA_WRITER__DISABLE_COMPRESSION", None)
    if scenario.startswith(("postgres", "redshift")):
        env.update(services.fresh_db(scenario))
        if tool.startswith("dlt") and scenario.startswith("redshift"):
            env["DESTINATION__REDSHIFT__CREDENTIALS"] = env["DLT_REDSHIFT_URL"]
    python = str(dlt_python) if tool.startswith("dlt") else sys.executable
    if tool == "dlt-nocompress":
        env["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
    env["PYTHONPATH"] = str(ROOT / "src")
    script = BENCH / ("arrow.py" if scenario.endswith("_arrow") else "runner.py")
    args = [python, str(script), "--tool", tool.split("-")[0], "--scenario", scenario, "--kind", kind,
            "--workdir", str(workdir)] + (["--n", str(n)] if n else []) + (["--lazy"] if lazy else [])
    cpu_before = services.endpoint_cpu() if scenario.startswith("redshift") else None
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        lines = [line for line in done.stderr.strip().splitlines() if line and not line.startswith((" ", "WARNING"))]
        return {"tool": tool, "scenario": scenario, "kind": kind, "error": lines[-3:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["tool"] = tool
    if cpu_before is not None:
        time.sleep(0.5)  # the run's backends exit after its connections close
        after = services.endpoint_cpu()
        result["endpoint_cpu_s"] = {k: round(after[k] - cpu_before[k], 2) for k in after}
    if scenario == "redshift_insert" and tool == "shipload":
        sizes = services.statement_sizes(env["BENCH_DB"])
        big = [s for s in sizes if s > 1024 * 1024]
        result["statements"] = {"count": len(sizes), "avg_mb_of_full": round(statistics.mean(big) / 2**20, 2) if big else 0,
                                "max_mb": round(max(sizes) / 2**20, 2) if sizes else 0}
    subprocess.run(["rm", "-rf", str(workdir)])
    return result


def summarize(results: list[dict[str, Any]]) -> dict[str, Any]:
    groups: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in results:
        groups.setdefault((r["scenario"], r["kind"], r["tool"]), []).append(r)
    out: dict[str, Any] = {}
    for (scenario, kind, tool), rs in groups.items():
        ok = [r for r in rs if "seconds" in r]
        entry: dict[str, Any] = {"runs": len(rs), "errors": [r["error"] for r in rs if "error" in r]}
        if ok:
            secs = [r["seconds"] for r in ok]
            entry.update(median=statistics.median(secs), min=min(secs), max=max(secs),
                         rss_mb=statistics.median(r["peak_rss_mb"] for r in ok))
            if "statements" in ok[-1]:
                entry["statements"] = ok[-1]["statements"]
            if "cpu_s" in ok[-1]:  # the loader's own CPU (bench/arrow.py reports it)
                entry["cpu_s"] = statistics.median(r["cpu_s"] for r in ok)
            if "endpoint_cpu_s" in ok[-1]:
                entry["endpoint_cpu_s"] = {k: statistics.median(r["endpoint_cpu_s"][k] for r in ok)
                                           for k in ok[-1]["endpoint_cpu_s"]}
        out.setdefault(f"{scenario}/{kind}", {})[tool] = entry
    return out


def endpoint_table(summary: dict[str, Any]) -> str:
    """CPU the local endpoint spent per run (median): what the emulator, not the loader, costs."""
    lines = ["| scenario | tool | proxy CPU s | postgres CPU s | S3 server CPU s |", "| --- | --- | --- | --- | --- |"]
    for key, tools in summary.items():
        for tool, e in tools.items():
            cpu = e.get("endpoint_cpu_s")
            if cpu:
                lines.append(f"| {key} | {tool} | {cpu['proxy']:.2f} | {cpu['postgres']:.2f} | {cpu['s3']:.2f} |")
    return "\n".join(lines) if len(lines) > 2 else ""


def table(summary: dict[str, Any]) -> str:
    lines = [
        "| scenario | shipload s | dlt s | dlt no-compr. s | reference s | vs dlt | vs dlt no-compr. | vs reference | shipload RSS MB | dlt RSS MB |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(e: dict[str, Any] | None) -> str:
        if not e or "median" not in e:
            return "failed" if e and e.get("errors") else "–"
        return f"{e['median']:.2f} ({e['min']:.2f}–{e['max']:.2f})"

    for key, tools in summary.items():
        ours, dlt, dltn, ref = (tools.get(t) for t in ("shipload", "dlt", "dlt-nocompress", "ref"))

        def ratio(other: dict[str, Any] | None, inverse: bool = False, ours: dict[str, Any] | None = ours) -> str:
            if not ours or "median" not in ours or not other or "median" not in other:
                return "–"
            value = ours["median"] / other["median"] if inverse else other["median"] / ours["median"]
            return f"{value:.2f}x"

        lines.append(
            f"| {key} | {cell(ours)} | {cell(dlt)} | {cell(dltn)} | {cell(ref)} | {ratio(dlt)} faster | "
            f"{ratio(dltn)} faster | {ratio(ref, inverse=True)} of ref | {ours.get('rss_mb', '–') if ours else '–'} | "
            f"{dlt.get('rss_mb', '–') if dlt else '–'} |"
        )
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--n", type=int, default=0, help="records per run (default: 100k nested, 300k flat)")
    ap.add_argument("--only", help="comma-separated scenarios or groups (" + ", ".join(GROUPS) + ")")
    ap.add_argument("--memory-n", type=int, default=1_000_000, help="records for the memory run (0 skips it)")
    ap.add_argument("--no-readme", action="store_true")
    args = ap.parse_args()
    memory_only = (args.only or "").split(",") == ["memory"]
    dlt_python = Path(sys.executable) if memory_only else ensure_dlt()  # the memory runs are shipload's only
    work = BENCH / ".work"
    work.mkdir(parents=True, exist_ok=True)
    services = Services(work)
    for leftover in work.iterdir():
        if leftover.name not in ("pg", "rs"):
            subprocess.run(["rm", "-rf", str(leftover)])
    results: list[dict[str, Any]] = []
    started = time.time()
    names = (args.only or "main,staged,arrow").split(",")
    wanted = {s for name in names if name != "memory" for s in GROUPS.get(name, (name,))}
    unknown = wanted - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    chosen = {k: v for k, v in SCENARIOS.items() if k in wanted}
    try:
        for run in range(args.runs):
            for scenario, (kinds, tools) in chosen.items():
                for kind in kinds:
                    for tool in tools:
                        r = measure(tool, scenario, kind, args.n, services, dlt_python, work)
                        print(f"run {run + 1} {scenario}/{kind} {tool}: "
                              f"{r.get('seconds', 0):.2f}s cpu {r.get('cpu_s', '-')} rss {r.get('peak_rss_mb')} "
                              f"{r.get('endpoint_cpu_s', '')} {r.get('error', '')}", flush=True)
                        results.append(r)
        memory: list[dict[str, Any]] = []
        if args.memory_n and (memory_only or "main" in names):
            for scenario in MEMORY_SCENARIOS:
                r = measure("shipload", scenario, "nested", args.memory_n, services, dlt_python, work, lazy=True)
                print(f"memory run {scenario}: {r}", flush=True)
                memory.append(r)
    finally:
        services.stop()
    summary = summarize(results)
    report = {
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "minutes": round((time.time() - started) / 60, 1),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "runs": args.runs, "n": args.n or "default", "summary": summary, "memory": memory, "results": results,
    }
    (BENCH / "results").mkdir(exist_ok=True)
    stamp = (f"Measured {report['when']} on {report['machine']}, {args.runs} runs each (median, min–max), "
             f"one sitting of {report['minutes']} min.")
    complete = [g for g, members in GROUPS.items() if set(members) <= set(chosen)]
    # a sitting of whole groups replaces their results file and README table; any other goes to partial.json
    name = ("latest.json" if "main" in complete else f"{complete[0]}.json" if complete else
            "memory.json" if memory_only else "partial.json")
    (BENCH / "results" / name).write_text(json.dumps(report, indent=2, default=str))
    for group, members in GROUPS.items():
        part = {k: v for k, v in summary.items() if k.split("/")[0] in members}
        if not part:
            continue
        text = table(part)
        cpu = endpoint_table(part) if group in ("staged", "arrow") else ""
        if cpu:
            text += "\n\nWhat the local endpoint spent per run (proxy, PostgreSQL and S3 server CPU):\n\n" + cpu
        print(text)
        if group in complete and not args.no_readme:
            write_section(BENCH / "README.md", "results" if group == "main" else group, f"{stamp}\n\n{text}")

    if memory:
        text = memory_table(memory, args.memory_n)
        print(text)
        if not args.no_readme:
            when = f"Measured {report['when']} on {report['machine']}, one run each, {report['minutes']} min."
            write_section(BENCH / "README.md", "memory", f"{when}\n\n{text}")


def memory_table(runs: list[dict[str, Any]], n: int) -> str:
    lines = [f"{n:,} nested records end to end, pages made while loading (shipload, one run each):", "",
             "| scenario | seconds | peak RSS above start MB | of which normalize worker MB |",
             "| --- | --- | --- | --- |"]
    for r in runs:
        if "error" in r:
            lines.append(f"| {r['scenario']} | failed: {' '.join(r['error'])[:200]} | – | – |")
        else:
            lines.append(f"| {r['scenario']} | {r['seconds']:.1f} | {r['peak_rss_mb']} | {r.get('worker_rss_mb', '–')} |")
    return "\n".join(lines)


def write_section(readme: Path, name: str, text: str) -> None:
    """Replace the README's text between <!-- name:start --> and <!-- name:end -->."""
    body = readme.read_text()
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in body:
        body += f"\n{start}\n{end}\n"
    head, _, rest = body.partition(start)
    _, _, tail = rest.partition(end)
    readme.write_text(f"{head}{start}\n{text}\n{end}{tail}")


if __name__ == "__main__":
    main()
