#!/usr/bin/env python3
"""Every examples/*.yaml must pass docs/policy.schema.json and `swarmwall check`
(without warnings), and the schema must refuse an unknown key in every
mapping of the examples (additionalProperties: false everywhere).

Usage: check_examples.py SCHEMA EXAMPLES_DIR SWARMWALL
Needs python3-jsonschema (>= 4, draft 2020-12) and python3-yaml.
"""
import copy
import glob
import json
import os
import re
import subprocess
import sys

import jsonschema
import yaml


class Yaml12Loader(yaml.SafeLoader):
    """PyYAML reads YAML 1.1, where `on`, `yes`, `no` are booleans and 10:10
    is a number; swarmwall (yaml-cpp) and editors read YAML 1.2's core schema:
    only true/false are booleans, only plain decimal/0x/0o numbers are ints."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers
            if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
                           "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789"))


def construct_int12(loader, node):
    text = loader.construct_scalar(node)
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 0) if text.startswith("0x") else int(text, 10)


Yaml12Loader.add_constructor("tag:yaml.org,2002:int", construct_int12)


def load(path):
    with open(path, encoding="utf-8") as f:
        return yaml.load(f, Loader=Yaml12Loader)


def mappings(doc, path=()):
    """Paths of every mapping in DOC whose keys are fixed (not `sets:` itself)."""
    if isinstance(doc, dict):
        if path != ("sets",):
            yield path
        for k, v in doc.items():
            yield from mappings(v, path + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from mappings(v, path + (i,))


BROKEN = """version: 1
interfaces: { public: eth0 }
host: { alow: [], allow: [{ ports: 70000 }] }
containers: {}
"""


def check_cli(swarmwall):
    """`swarmwall check` on a broken policy: every error, exit 1, text and JSON."""
    import tempfile
    failures = 0
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "broken.yaml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(BROKEN)
        run = subprocess.run([swarmwall, "check", path], capture_output=True, text=True)
        expected = [f"{path}:3:9: unknown key 'alow' in host; did you mean 'allow'?",
                    f"{path}:3:36: port 70000 out of range (1-65535)"]
        lines = run.stderr.splitlines()
        if run.returncode != 1 or lines[:2] != expected:
            print(f"check (text): exit {run.returncode}, got:\n{run.stderr}")
            failures += 1
        run = subprocess.run([swarmwall, "check", path, "--output", "json"], capture_output=True, text=True)
        try:
            out = json.loads(run.stdout)
            got = [(e["line"], e["column"]) for e in out["errors"]]
            if run.returncode != 1 or out["ok"] or got != [(3, 9), (3, 36)] or "policy" in out:
                raise ValueError(f"unexpected {got}")
        except (ValueError, KeyError) as e:
            print(f"check (json): exit {run.returncode}: {e}\n{run.stdout}")
            failures += 1
    print(f"swarmwall check on a broken policy: {'ok' if not failures else 'FAILED'}")
    return failures


def main():
    schema_path, examples_dir, swarmwall = sys.argv[1:4]
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    failures = 0
    examples = sorted(glob.glob(os.path.join(examples_dir, "*.yaml")))
    if not examples:
        print(f"no examples in {examples_dir}")
        return 1
    total = 0
    for path in examples:
        total += failures
        failures = 0
        doc = load(path)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        for e in errors:
            print(f"{path}: schema: {'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}")
        failures += len(errors)
        # An unknown key in any mapping must be refused.
        for where in mappings(doc):
            broken = copy.deepcopy(doc)
            target = broken
            for k in where:
                target = target[k]
            target["no_such_key"] = 1
            if validator.is_valid(broken):
                print(f"{path}: schema accepts an unknown key at {'/'.join(map(str, where)) or '(top)'}")
                failures += 1
        run = subprocess.run([swarmwall, "check", path], capture_output=True, text=True)
        if run.returncode != 0 or "warning:" in run.stderr:
            print(f"{path}: swarmwall check exit {run.returncode}:\n{run.stdout}{run.stderr}")
            failures += 1
        print(f"{path}: {'ok' if not failures else 'FAILED'}")
    total += failures
    total += check_cli(swarmwall)
    print(f"{len(examples)} examples, {total} failures")
    return 1 if total else 0


if __name__ == "__main__":
    sys.exit(main())
