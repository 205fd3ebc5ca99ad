#!/usr/bin/env python3
"""Compares our contract data with a copy of the API's OpenAPI document and
lists every fact that differs. Run by hand when refreshing (README.md); not
part of CTest, since the document is not kept in this repository.

Usage: check_openapi_drift.py PATH/openapi.json
Exit status: 0 no drift, 1 drift (one line per difference), 2 usage error.
"""

import json
import sys

import contract_lib


def ref_name(media):
    ref = media.get("schema", {}).get("$ref", "")
    return ref.rsplit("/", 1)[-1] if ref else None


def types_of(schema):
    """The JSON types a document schema admits (anyOf of single types folded)."""
    if "anyOf" in schema:
        out = set()
        for s in schema["anyOf"]:
            out |= types_of(s)
        return out
    t = schema.get("type")
    if t is None:
        return {"any"}
    return set(t) if isinstance(t, list) else {t}


def our_types(schema):
    if schema is True or schema == {}:
        return {"any"}
    if "const" in schema:
        v = schema["const"]
        return {"string"} if isinstance(v, str) else {"integer"} if isinstance(v, int) else {"any"}
    if "$ref" in schema:
        return {"string"}  # our refs in properties are to string enums
    t = schema.get("type")
    return set(t) if isinstance(t, list) else {t}


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    with open(argv[1], encoding="utf-8") as f:
        doc = json.load(f)
    contract = contract_lib.load_contract()
    ours = contract_lib.load_schemas()["$defs"]
    drift = []

    def differ(what, theirs, mine):
        if theirs != mine:
            drift.append(f"{what}: document says {theirs!r}, we say {mine!r}")

    for op_id, op in contract["operations"].items():
        found = [(p, m, o) for p, item in doc["paths"].items() for m, o in item.items()
                 if isinstance(o, dict) and o.get("operationId") == op_id]
        if len(found) != 1:
            drift.append(f"{op_id}: found {len(found)} operations with this operationId")
            continue
        path, method, o = found[0]
        differ(f"{op_id} path", path, op["path_template"])
        differ(f"{op_id} method", method.upper(), op["method"])
        params = o.get("parameters", [])
        differ(f"{op_id} path parameters",
               sorted((p["name"], p.get("required", False), p["schema"].get("format")) for p in params
                      if p["in"] == "path"),
               sorted((n, r["required"], r["format"]) for n, r in op["path_parameters"].items()))
        differ(f"{op_id} query parameters", sorted(p["name"] for p in params if p["in"] == "query"),
               sorted(op["query_parameters"]))
        differ(f"{op_id} header parameters",
               sorted((p["name"].lower(), p.get("required", False)) for p in params if p["in"] == "header"),
               sorted((h["name"], h["required"]) for h in op["header_parameters"]))
        body = o.get("requestBody", {})
        media = body.get("content", {})
        differ(f"{op_id} request body required", body.get("required", False), op["request_body"]["required"])
        differ(f"{op_id} request body media types", sorted(media), [op["request_body"]["media_type"]])
        for mt, m in media.items():
            differ(f"{op_id} request body type", m.get("schema", {}).get("type"), "object")
        differ(f"{op_id} security", o.get("security"), [{op["security"]["scheme"]: op["security"]["scopes"]}])
        responses = o.get("responses", {})
        success = sorted(s for s in responses if s.startswith("2"))
        differ(f"{op_id} success statuses", success, [str(op["success"]["status"])])
        for s in success:
            differ(f"{op_id} {s} schema", ref_name(responses[s]["content"]["application/json"]),
                   op["success"]["schema"])
        errors = {s: ref_name(r.get("content", {}).get("application/json", {}))
                  for s, r in responses.items() if not s.startswith("2")}
        differ(f"{op_id} error statuses and schemas", errors, op["errors"])
        for s, r in responses.items():
            differ(f"{op_id} {s} media types", sorted(r.get("content", {})), ["application/json"])

    schemas = doc["components"]["schemas"]
    for name, mine in ours.items():
        if name == "RequestBody":
            continue  # inline in the document; checked with the operations
        theirs = schemas.get(name)
        if theirs is None:
            drift.append(f"schema {name}: not in the document")
            continue
        if "enum" in theirs:
            differ(f"{name} enum", theirs["enum"], mine.get("enum"))
            continue
        differ(f"{name} properties", sorted(theirs.get("properties", {})), sorted(mine.get("properties", {})))
        differ(f"{name} required", sorted(theirs.get("required", [])), sorted(mine.get("required", [])))
        differ(f"{name} additionalProperties", theirs.get("additionalProperties", True),
               mine.get("additionalProperties", True))
        for prop, ts in theirs.get("properties", {}).items():
            ms = mine.get("properties", {}).get(prop)
            if ms is None:
                continue
            if "const" in ts:
                differ(f"{name}.{prop} const", ts["const"], ms.get("const"))
            if "$ref" in ts and "enum" in schemas[ts["$ref"].rsplit("/", 1)[-1]]:
                differ(f"{name}.{prop} ref", ts["$ref"].rsplit("/", 1)[-1], ms.get("$ref", "").rsplit("/", 1)[-1])
                continue
            if ts.get("type") == "array":
                continue  # item schemas are compared under their own names
            if "anyOf" in ts and all(s.get("type") == "string" for s in ts["anyOf"]):
                differ(f"{name}.{prop} types", {"string"}, our_types(ms))
                continue
            if "const" not in ts:
                differ(f"{name}.{prop} types", types_of(ts), our_types(ms))
        if name.startswith("Error") and name[5:].isdigit():
            status = int(name[5:])
            code_default = theirs["properties"]["code"].get("default")
            differ(f"{name} code (default/'Always')", code_default, contract["error_codes"].get(str(status)))
            differ(f"{name} code const", code_default, mine["properties"]["code"].get("const"))
            differ(f"{name} status default", theirs["properties"]["status"].get("default"), status)

    for d in drift:
        print(d)
    print(f"{len(drift)} difference(s) between {argv[1]} and tests/contract/")
    return 1 if drift else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
