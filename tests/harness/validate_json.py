#!/usr/bin/env python3
"""Validate a JSON document against a JSON schema, the references resolved from the schema's
own folder (CycloneDX's bom schema names spdx.schema.json and jsf-0.82.schema.json beside it).

    validate_json.py SCHEMA DOCUMENT

Exit 0 when valid; 1 with every error (path: message) on stderr otherwise. Formats (uri,
date-time, email...) are checked too, as far as python3-jsonschema's checkers reach.
Uses Debian's python3-jsonschema (4.10) and python3-rfc3987 (the uri format)."""
import json
import warnings
import os
import sys

import jsonschema


def main():
    warnings.simplefilter("ignore", DeprecationWarning)
    schema_path, doc_path = sys.argv[1], sys.argv[2]
    with open(schema_path) as f:
        schema = json.load(f)
    with open(doc_path) as f:
        doc = json.load(f)
    base = os.path.dirname(os.path.abspath(schema_path))
    store = {}
    for name in os.listdir(base):
        if name.endswith(".json"):
            with open(os.path.join(base, name)) as f:
                s = json.load(f)
            for key in ("$id", "id"):
                if key in s:
                    store[s[key]] = s
            store[name] = s
    cls = jsonschema.validators.validator_for(schema)
    resolver = jsonschema.RefResolver(base_uri="file://" + base + "/", referrer=schema, store=store)
    # A relative $ref is resolved against the schema's $id (http://cyclonedx.org/schema/...):
    # map that base to the local copies too.
    for sid, s in list(store.items()):
        if isinstance(sid, str) and "/" in sid:
            prefix = sid.rsplit("/", 1)[0] + "/"
            for name in os.listdir(base):
                if name.endswith(".json"):
                    with open(os.path.join(base, name)) as f:
                        store.setdefault(prefix + name, json.load(f))
    validator = cls(schema, resolver=resolver, format_checker=cls.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    for e in errors:
        path = "/".join(str(p) for p in e.absolute_path)
        print(f"{doc_path}: /{path}: {e.message[:400]}", file=sys.stderr)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
