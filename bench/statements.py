"""The statement parsers' cost (`python -m bench.statements`; not part of `make bench`).

1. Parse time of a generated 5,000-line statement in each format (CSV, MT940, camt.053): the
   median of RUNS parses (CPU time of this process), as lines/s, and the file's size.
2. What the libraries of a format add to the first file of it in a Lambda: the CPU time of
   importing mt940 and defusedxml in a fresh interpreter that has already imported the app
   (medians of IMPORT_RUNS; bytecode compiled beforehand, as the deployed zip carries it).
3. Their share of the deployment zip: their files' compressed size, bytecode included, as
   deploy.package adds it.
"""
from __future__ import annotations

import importlib.util
import io
import os
import py_compile
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, timedelta
from pathlib import Path

from chalicelib.statements.parse import parse

PROJECT_DIR = Path(__file__).resolve().parent.parent
LINES, RUNS, IMPORT_RUNS = 5000, 5, 9
LIBRARIES = ("mt940", "defusedxml")


def _entries(count: int) -> list[tuple[date, int, str, str]]:
    """(booked, signed minor units, payer, text) of `count` lines: most credits with a reference."""
    rng = random.Random(5000)
    start = date(2026, 1, 1)
    return [(start + timedelta(days=n % 28),
             rng.choice([1, 1, 1, -1]) * rng.randint(100, 9_999_999),
             f"Payer {n}", f"Invoice PR-{n:04d}-X9M6 thank you for the service, order {n}")
            for n in range(count)]


def _money(minor: int) -> str:
    return f"{abs(minor) // 100}.{abs(minor) % 100:02d}"


def csv_file(count: int = LINES) -> bytes:
    rows = [f'{booked.isoformat()},"{text}",{"-" if minor < 0 else ""}{_money(minor)},EUR,{payer}'
            for booked, minor, payer, text in _entries(count)]
    return ("Date,Description,Amount,Currency,Payer\n" + "\n".join(rows) + "\n").encode()


def mt940_file(count: int = LINES) -> bytes:
    lines = [":20:BENCH", ":25:DE89370400440532013000", ":28C:1/1", ":60F:C251231EUR0,00"]
    total = 0
    for booked, minor, payer, text in _entries(count):
        total += minor
        mark = "D" if minor < 0 else "C"
        lines += [f":61:{booked:%y%m%d%m%d}{mark}{_money(minor).replace('.', ',')}NTRFNONREF",
                  f":86:166?00GUTSCHRIFT?20{text[:27]}?21{text[27:54]}?22{text[54:]}?32{payer}"]
    lines.append(f":62F:{'D' if total < 0 else 'C'}260131EUR{_money(total).replace('.', ',')}")
    return ("\n".join(lines) + "\n-\n").encode()


def camt_file(count: int = LINES) -> bytes:
    entries = "".join(
        f'<Ntry><Amt Ccy="EUR">{_money(minor)}</Amt><CdtDbtInd>{"DBIT" if minor < 0 else "CRDT"}'
        f"</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{booked}</Dt></BookgDt><NtryDtls>"
        f"<TxDtls><Refs><EndToEndId>E2E-{n}</EndToEndId></Refs><RltdPties><Dbtr><Pty><Nm>{payer}"
        f"</Nm></Pty></Dbtr></RltdPties><RmtInf><Ustrd>{text}</Ustrd></RmtInf></TxDtls>"
        f"</NtryDtls></Ntry>" for n, (booked, minor, payer, text) in enumerate(_entries(count)))
    return ('<?xml version="1.0" encoding="UTF-8"?><Document xmlns="urn:iso:std:iso:20022:tech:'
            'xsd:camt.053.001.08"><BkToCstmrStmt><Stmt><Acct><Id><IBAN>DE89370400440532013000'
            f"</IBAN></Id></Acct>{entries}</Stmt></BkToCstmrStmt></Document>").encode()


def parse_rate(name: str, data: bytes) -> tuple[float, int]:
    """Median CPU seconds of one parse, and the lines read."""
    lines = len(parse(name, data).lines)  # warm: the format's libraries are imported
    times = []
    for _ in range(RUNS):
        started = time.process_time()
        parse(name, data)
        times.append(time.process_time() - started)
    return statistics.median(times), lines


def import_cost(module: str, cache: str) -> float:
    """Median CPU seconds of `import module` in a fresh interpreter that imported the app."""
    script = ("import time, app; t = time.process_time(); import {m}; "
              "print(time.process_time() - t)").format(m=module)
    env = {**os.environ, "JWT_SECRET": "x" * 40, "AWS_DEFAULT_REGION": "us-east-1",
           "PYTHONPYCACHEPREFIX": cache}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    run = [sys.executable, "-c", script]
    subprocess.run(run, cwd=PROJECT_DIR, env=env, check=True, capture_output=True)  # compiles
    return statistics.median(float(subprocess.run(run, cwd=PROJECT_DIR, env=env, check=True,
                                                  capture_output=True, text=True).stdout)
                             for _ in range(IMPORT_RUNS))


def zip_cost(package: str) -> tuple[int, int]:
    """(compressed bytes with bytecode, files) of a package as the deployment zip holds it."""
    folder = Path(importlib.util.find_spec(package).origin).parent
    buffer = io.BytesIO()
    files = 0
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(buffer, "w",
                                                               zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                archive.write(path, path.relative_to(folder.parent))
                files += 1
                if path.suffix == ".py":
                    compiled = Path(tmp) / f"{files}.pyc"
                    py_compile.compile(str(path), cfile=str(compiled), doraise=True)
                    archive.write(compiled, f"{path.relative_to(folder.parent)}c")
    return len(buffer.getvalue()), files


def main() -> None:
    print(f"Parse time of {LINES:,}-line statements (median of {RUNS}, CPU):")
    files = (("CSV", "bench.csv", csv_file()), ("MT940", "bench.sta", mt940_file()),
             ("camt.053", "bench.xml", camt_file()))
    for label, name, data in files:
        seconds, lines = parse_rate(name, data)
        assert lines == LINES, (label, lines)
        print(f"  {label:9} {len(data) / 1e6:5.2f} MB  {seconds * 1000:6.0f} ms  "
              f"{lines / seconds:9,.0f} lines/s")
    print(f"First import after `import app` (median of {IMPORT_RUNS} fresh interpreters, CPU):")
    with tempfile.TemporaryDirectory(prefix="pycache-") as cache:
        for module in ("mt940", "defusedxml.ElementTree"):
            print(f"  {module:24} {import_cost(module, cache) * 1000:6.1f} ms")
    print("In the deployment zip (compressed, with bytecode):")
    for package in LIBRARIES:
        size, files = zip_cost(package)
        print(f"  {package:24} {size / 1000:6.1f} kB  ({files} files)")


if __name__ == "__main__":
    main()
