#!/usr/bin/env python3
"""Derive the compact FHIR R4 element table used by `src/fhir/validate/`.

Regenerate (python3, standard library only) from the official HL7 package
`hl7.fhir.r4.examples` 4.0.1, unpacked so that PACKAGE_DIR holds
StructureDefinition-*.json, ValueSet-*.json and CodeSystem-*.json:

    python3 tools/gen_fhir_elements.py PACKAGE_DIR data/fhir/elements.json.gz

Output (gzipped JSON):
    fhirVersion     "4.0.1"
    resourceTypes   sorted names of all concrete resource types
    primitiveTypes  {name: official regex or null}
    types           {TypeName: [[relPath, types, min, max, binding?, contentRef?], ...]}
                    relPath is the element path without the type name ("" is the root
                    and is omitted); types is "|"-joined type codes, where an element of
                    type "@string"/"@uri" is an attribute-like System type (Element.id,
                    Extension.url) that takes no `_name` companion; choice elements keep
                    their `[x]` suffix; binding is the canonical of a required binding
                    that could be expanded; contentRef is a relPath in the same type.
    valueSets       {canonical: {system: [codes]}} expansions of those bindings, in
                    definition order
"""

import glob
import gzip
import json
import os
import sys

SYSTEM_PREFIX = "http://hl7.org/fhirpath/System."
FHIR_TYPE_EXT = "http://hl7.org/fhir/StructureDefinition/structuredefinition-fhir-type"
REGEX_EXT = "http://hl7.org/fhir/StructureDefinition/regex"


def load(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def ext_value(item, url):
    for ext in item.get("extension", []):
        if ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    return value
    return None


def type_code(type_entry, is_resource_id):
    code = type_entry["code"]
    if not code.startswith(SYSTEM_PREFIX):
        return code
    if is_resource_id:
        # R4 types Resource.id as System.String technically; the spec's type is `id`.
        return "id"
    return "@" + (ext_value(type_entry, FHIR_TYPE_EXT) or "string")


class Terminology:
    """Expands required value sets from the package's CodeSystems and ValueSets."""

    def __init__(self, package_dir):
        self.code_systems = {}
        self.value_sets = {}
        for path in glob.glob(os.path.join(package_dir, "CodeSystem-*.json")):
            cs = load(path)
            if cs.get("content") == "complete" and "url" in cs:
                self.code_systems[cs["url"]] = cs
        for path in glob.glob(os.path.join(package_dir, "ValueSet-*.json")):
            vs = load(path)
            if "url" in vs:
                self.value_sets[vs["url"]] = vs
        self.cache = {}

    @staticmethod
    def all_concepts(concepts):
        for concept in concepts:
            yield concept["code"]
            yield from Terminology.all_concepts(concept.get("concept", []))

    def expand(self, url, depth=0):
        """Returns {system: {code: None}} (ordered) or None when not expandable from the package."""
        url = url.split("|")[0]
        if url in self.cache:
            return self.cache[url]
        vs = self.value_sets.get(url)
        result = None
        if vs is not None and depth < 8:
            result = self.expand_compose(vs.get("compose", {}), depth)
        self.cache[url] = result
        return result

    def expand_include(self, include, depth):
        if "filter" in include:
            return None
        parts = []
        system = include.get("system")
        if system is not None:
            if "concept" in include:
                parts.append({system: dict.fromkeys(c["code"] for c in include["concept"])})
            else:
                cs = self.code_systems.get(system)
                if cs is None:
                    return None
                parts.append({system: dict.fromkeys(self.all_concepts(cs.get("concept", [])))})
        for imported in include.get("valueSet", []):
            sub = self.expand(imported, depth + 1)
            if sub is None:
                return None
            parts.append(sub)
        if not parts:
            return None
        if system is not None and include.get("valueSet"):
            # Intersection semantics: keep the system's codes that every import allows.
            return None
        merged = {}
        for part in parts:
            for sys_url, codes in part.items():
                merged.setdefault(sys_url, {}).update(codes)
        return merged

    def expand_compose(self, compose, depth):
        if not compose.get("include"):
            return None
        merged = {}
        for include in compose["include"]:
            part = self.expand_include(include, depth)
            if part is None:
                return None
            for sys_url, codes in part.items():
                merged.setdefault(sys_url, {}).update(codes)
        for exclude in compose.get("exclude", []):
            part = self.expand_include(exclude, depth)
            if part is None:
                return None
            for sys_url, codes in part.items():
                for code in codes:
                    merged.get(sys_url, {}).pop(code, None)
        return merged


def element_rows(sd, terminology, used_value_sets, skipped):
    type_name = sd["type"]
    is_resource = sd["kind"] == "resource"
    rows = []
    for element in sd["snapshot"]["element"]:
        path = element["path"]
        if path == type_name:
            continue
        rel = path[len(type_name) + 1:]
        is_resource_id = is_resource and rel == "id"
        types = "|".join(type_code(t, is_resource_id) for t in element.get("type", []))
        row = [rel, types, element["min"], element["max"]]
        binding = element.get("binding", {})
        binding_url = None
        if binding.get("strength") == "required" and "valueSet" in binding:
            canonical = binding["valueSet"].split("|")[0]
            expansion = terminology.expand(canonical)
            if expansion is None:
                skipped.add(canonical)
            else:
                binding_url = canonical
                used_value_sets[canonical] = expansion
        content_ref = element.get("contentReference")
        if content_ref is not None:
            content_ref = content_ref.lstrip("#")[len(type_name) + 1:]
        if binding_url is not None or content_ref is not None:
            row.append(binding_url)
        if content_ref is not None:
            row.append(content_ref)
        rows.append(row)
    return rows


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: gen_fhir_elements.py PACKAGE_DIR OUT.json.gz")
    package_dir, out_path = sys.argv[1], sys.argv[2]
    terminology = Terminology(package_dir)
    types, primitives, resource_types = {}, {}, []
    used_value_sets, skipped = {}, set()
    for path in sorted(glob.glob(os.path.join(package_dir, "StructureDefinition-*.json"))):
        sd = load(path)
        if sd.get("derivation") != "specialization" or sd["kind"] == "logical":
            continue
        if sd["kind"] == "primitive-type":
            value = next(e for e in sd["snapshot"]["element"] if e["path"].endswith(".value"))
            primitives[sd["type"]] = ext_value(value["type"][0], REGEX_EXT)
            continue
        if sd["kind"] == "resource" and not sd.get("abstract"):
            resource_types.append(sd["type"])
        types[sd["type"]] = element_rows(sd, terminology, used_value_sets, skipped)
    value_sets = {
        url: {system: list(codes) for system, codes in expansion.items()}
        for url, expansion in sorted(used_value_sets.items())
    }
    table = {
        "fhirVersion": "4.0.1",
        "resourceTypes": sorted(resource_types),
        "primitiveTypes": dict(sorted(primitives.items())),
        "types": dict(sorted(types.items())),
        "valueSets": value_sets,
    }
    data = json.dumps(table, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    # No file name or time in the gzip header, so output depends on the input only.
    with open(out_path, "wb") as raw, gzip.GzipFile("", "wb", 9, raw, mtime=0) as f:
        f.write(data)
    print(
        f"{len(resource_types)} resource types, {len(types)} complex types, "
        f"{len(primitives)} primitive types, {len(value_sets)} required value sets expanded, "
        f"{len(skipped)} required value sets not expandable from the package: "
        + ", ".join(sorted(skipped)),
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
