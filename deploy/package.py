"""`make package`: the deployable SAM template and zip of a stage, into build/ (or --out).

1. writes `.chalice/policy-<stage>-<function>.json` for every function of every stage
   (`deploy.policy`; unchanged files stay);
2. imports the app with a placeholder ARN for each table stream, so that the handlers app.py
   registers only when a stream ARN is set (the outbox's) are packaged with their event sources;
3. writes the merge template (`deploy.template`) and runs
   `chalice package --stage <stage> --merge-template <it> <out>`;
4. checks the result (every placeholder replaced by a `GetAtt`, every merged function real),
   takes out of the zip what the Lambda Python runtime already has (boto3, botocore and their
   dependencies, which pynamodb would otherwise ship: ~16 MB) and what only builds argon2's
   bindings (cffi's Python half, pycparser), and adds compiled bytecode: Lambda's code folder
   is read-only, so without it every cold start compiles every module it imports;
5. writes the optional web-hosting template (`deploy.web_hosting`) as web-hosting.json.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import py_compile
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.core.config import stream_variable
from deploy import policy, tables, web_hosting
from deploy.stage import PROJECT_DIR, Stage
from deploy.template import Function, StreamSource, merge_template, placeholder_stream_arn

# In the Lambda Python runtime: boto3 and what it depends on.
RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "urllib3",
                    "six")
# Needed only to build argon2's compiled bindings: cffi parses C declarations with pycparser at
# build time, and the bindings load just cffi's `_cffi_backend` extension at run time.
BUILD_ONLY = ("cffi", "pycparser")
KEEP = ("_cffi_backend.",)


@dataclass(frozen=True)
class Package:
    """What `package()` wrote."""

    template: Path
    zip: Path
    merge_template: Path
    removed_bytes: int
    bytecode_files: int
    web_hosting: Path


def _package_environment(stage: Stage) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "DYNAMODB_ENDPOINT_URL"}
    env.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    for model in tables.table_models():
        if tables.stream_view_type(model):
            entity = tables.entity(model)
            env[stream_variable(entity)] = placeholder_stream_arn(stage, entity)
    return env


def discover(stage: Stage) -> tuple[list[Function], list[StreamSource]]:
    """The functions and stream sources Chalice will package. It imports the app, so it runs in
    a process of its own (`--discover`) whose environment has the placeholder stream ARNs."""
    from chalice.cli.factory import CLIFactory
    from chalice.deploy import models as chalice_models
    from chalice.deploy.appgraph import ApplicationGraphBuilder, DependencyBuilder

    config = CLIFactory(str(PROJECT_DIR)).create_config_obj(chalice_stage_name=stage.name)
    graph = ApplicationGraphBuilder().build(config, stage.name)
    resources = DependencyBuilder().build_dependencies(graph)
    functions = {r.resource_name: Function(r.resource_name, r.function_name)
                 for r in resources if isinstance(r, chalice_models.LambdaFunction)}
    streams = [StreamSource(r.resource_name, r.stream_arn, functions[r.lambda_function.resource_name])
               for r in resources if isinstance(r, chalice_models.DynamoDBEventSource)]
    return sorted(functions.values(), key=lambda f: f.resource_name), streams


def _discover_in_subprocess(stage: Stage, env: dict[str, str]) -> tuple[list[Function],
                                                                         list[StreamSource]]:
    listing = subprocess.run([sys.executable, "-m", "deploy.package", "--stage", stage.name,
                              "--discover"], cwd=PROJECT_DIR, env=env, check=True,
                             capture_output=True, text=True)
    found = json.loads(listing.stdout.strip().splitlines()[-1])
    functions = {name: Function(name, deployed) for name, deployed in found["functions"]}
    streams = [StreamSource(name, arn, functions[function]) for name, arn, function in found["streams"]]
    return sorted(functions.values(), key=lambda f: f.resource_name), streams


def _check(template_path: Path, merged: dict[str, Any]) -> None:
    text = template_path.read_text()
    if "000000000000" in text:
        raise SystemExit(f"{template_path}: a placeholder stream ARN was left in the template")
    resources = json.loads(text)["Resources"]
    for logical_id in merged["Resources"]:
        if "Type" not in resources.get(logical_id, {}):  # a merged part that matched nothing
            raise SystemExit(f"{template_path}: merged {logical_id} matches no Chalice resource")


def slim_zip(path: Path, distributions: tuple[str, ...] = RUNTIME_PROVIDED + BUILD_ONLY,
             keep: tuple[str, ...] = KEEP) -> int:
    """Remove the files of these distributions (as their RECORDs list them) but those starting
    with `keep`, and any bytecode (a local __pycache__ Chalice copied; add_bytecode makes it
    anew); bytes saved."""
    wanted = {name.lower().replace("-", "_") for name in distributions}
    before = path.stat().st_size
    with zipfile.ZipFile(path) as source:
        drop = {name for name in source.namelist() if name.endswith(".pyc")}
        for name in source.namelist():
            folder, _, leaf = name.partition("/")
            if leaf == "RECORD" and folder.endswith(".dist-info"):
                dist = folder[:-len(".dist-info")].rsplit("-", 1)[0].lower().replace("-", "_")
                if dist in wanted:
                    for line in source.read(name).decode().splitlines():
                        member = line.split(",", 1)[0]
                        if member and not member.startswith(keep):
                            drop.add(member)
                    drop.add(name)
        slim = path.with_suffix(".slim.zip")
        with zipfile.ZipFile(slim, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as target:
            for info in source.infolist():
                if info.filename not in drop:
                    target.writestr(info, source.read(info.filename), compress_type=zipfile.ZIP_DEFLATED,
                                    compresslevel=9)
    slim.replace(path)
    return before - path.stat().st_size


def add_bytecode(path: Path, runtime: str) -> int:
    """Add `__pycache__/*.pyc` next to every module (hash-based, unchecked: the code folder never
    changes), if this interpreter is the runtime's version; the number of files compiled."""
    if runtime != f"python{sys.version_info.major}.{sys.version_info.minor}":
        print(f"not adding bytecode: the functions run {runtime}, this is {sys.version.split()[0]}")
        return 0
    compiled = 0
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(path, "a", compresslevel=9) as archive:
        present = set(archive.namelist())
        for name in sorted(present):
            if not name.endswith(".py"):
                continue
            target = importlib.util.cache_from_source(name)
            if target in present:
                continue
            source = Path(scratch) / name
            source.parent.mkdir(parents=True, exist_ok=True)
            source.write_bytes(archive.read(name))
            pyc = Path(scratch) / target
            try:
                py_compile.compile(str(source), cfile=str(pyc), dfile=name, doraise=True,
                                   invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
            except py_compile.PyCompileError:
                continue  # e.g. a module for another Python version; it is compiled when imported
            archive.write(pyc, target, compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
            compiled += 1
    return compiled


def package(stage_name: str, out_dir: Path, write_policies: bool = True,
            quiet: bool = False) -> Package:
    """Package a stage into out_dir (sam.json, deployment.zip, merge-template.json, and the web
    app's web-hosting.json); the policy
    files are brought up to date first (or, with write_policies=False, must be)."""
    stage = Stage(stage_name)
    if write_policies:
        for written in policy.write_policies():
            print(f"updated {written.relative_to(PROJECT_DIR)}")
    elif policy.stale_policies():
        raise SystemExit("the .chalice/policy-*.json files are out of date: run make policies")
    env = _package_environment(stage)
    functions, streams = _discover_in_subprocess(stage, env)
    merged = merge_template(stage, functions, streams)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        merge_path = Path(scratch) / f"merge-{stage.name}.json"
        merge_path.write_text(json.dumps(merged, indent=2) + "\n")
        chalice = Path(sys.executable).with_name("chalice")
        subprocess.run([str(chalice), "package", "--stage", stage.name, "--merge-template",
                        str(merge_path), str(out_dir)], cwd=PROJECT_DIR, env=env, check=True,
                       stdout=subprocess.DEVNULL if quiet else None)
        kept = out_dir / "merge-template.json"
        kept.write_text(merge_path.read_text())
    template, archive = out_dir / "sam.json", out_dir / "deployment.zip"
    _check(template, merged)
    removed = slim_zip(archive)
    runtimes = {r["Properties"]["Runtime"] for r in json.loads(template.read_text())["Resources"].values()
                if r["Type"] == "AWS::Serverless::Function"}
    compiled = add_bytecode(archive, runtimes.pop()) if len(runtimes) == 1 else 0
    hosting = out_dir / "web-hosting.json"
    hosting.write_text(json.dumps(web_hosting.web_hosting_template(), indent=2) + "\n")
    return Package(template, archive, kept, removed, compiled, hosting)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.package", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", default=str(PROJECT_DIR / "build"))
    parser.add_argument("--check-policies", action="store_true",
                        help="fail if a policy file is out of date instead of writing it")
    parser.add_argument("--discover", action="store_true",
                        help="only print the functions and stream sources Chalice would package")
    args = parser.parse_args(argv)
    if args.discover:
        functions, streams = discover(Stage(args.stage))
        print(json.dumps({"functions": [[f.resource_name, f.function_name] for f in functions],
                          "streams": [[s.resource_name, s.stream_arn, s.function.resource_name]
                                      for s in streams]}))
        return 0
    result = package(args.stage, Path(args.out).resolve(), write_policies=not args.check_policies)
    size = result.zip.stat().st_size
    print(f"{result.template}\n{result.zip} ({size / 1e6:.2f} MB with the bytecode of "
          f"{result.bytecode_files} modules; {result.removed_bytes / 1e6:.1f} MB left out: "
          "boto3/botocore are in the Lambda runtime)")
    print(f"{result.web_hosting} (optional: the web app on S3 + CloudFront)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
