#!/usr/bin/env python3
"""Build the HTML API reference from the public headers with Doxygen.

usage: build_reference.py DOXYGEN DOXYFILE OUT_DIR HEADER...

Runs DOXYGEN on the settings of DOXYFILE with HEADER... as its input and
writes the HTML pages into OUT_DIR (replaced whole, so a page of a removed
call does not linger).  Fails (exit status 1, OUT_DIR untouched) when
Doxygen reports any warning: DOXYFILE makes each undocumented function,
parameter, return value, struct field or macro one.  Doxygen 1.9.4 says
nothing of undocumented enum values, so this script then reads Doxygen's
XML output and fails on every enum value without a description itself.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET


def has_text(element):
    return element is not None and "".join(element.itertext()).strip() != ""


def undocumented_enum_values(xml_dir):
    """'file:line: ...' for every enum value without a description."""
    problems = []
    for name in sorted(os.listdir(xml_dir)):
        if not name.endswith("_8h.xml"):  # one file per header
            continue
        root = ET.parse(os.path.join(xml_dir, name)).getroot()
        for enum in root.iter("memberdef"):
            if enum.get("kind") != "enum":
                continue
            location = enum.find("location")
            where = "%s:%s" % (location.get("file"), location.get("line"))
            for value in enum.findall("enumvalue"):
                if not (has_text(value.find("briefdescription")) or
                        has_text(value.find("detaileddescription"))):
                    problems.append("%s: enum value %s of enum %s is not "
                                    "documented" % (where,
                                                    value.findtext("name"),
                                                    enum.findtext("name")))
    return problems


def main(argv):
    if len(argv) < 5:
        sys.stderr.write(__doc__)
        return 2
    doxygen, doxyfile, out_dir, headers = argv[1], argv[2], argv[3], argv[4:]
    out_dir = os.path.abspath(out_dir)
    parent = os.path.dirname(out_dir)
    os.makedirs(parent, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=parent, prefix=".reference-") as work:
        with open(doxyfile, encoding="utf-8") as f:
            settings = f.read()
        # Later settings override earlier ones; paths may hold spaces.
        settings += "\nINPUT = %s\nOUTPUT_DIRECTORY = \"%s\"\n" % (
            " ".join('"%s"' % os.path.abspath(h) for h in headers), work)
        run = subprocess.run([doxygen, "-"], input=settings, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        # Doxygen's own chatter (stdout) only matters when it failed.
        warnings = [line for line in run.stderr.splitlines() if line.strip()]
        if run.returncode != 0 and not warnings:
            warnings = run.stdout.splitlines() or [
                "doxygen failed with exit status %d" % run.returncode]
        if not warnings:
            warnings = undocumented_enum_values(os.path.join(work, "xml"))
        if warnings:
            for line in warnings:
                print(line)
            print("reference: %d problem(s) in the header comments; "
                  "the checklist \"Documenting a public call\" of "
                  "docs/ARCHITECTURE.md says what each call needs" % len(warnings))
            return 1
        if os.path.isdir(out_dir):
            shutil.rmtree(out_dir)
        os.rename(os.path.join(work, "html"), out_dir)
    print("reference: no warnings; %s" % os.path.join(out_dir, "index.html"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
