#!/usr/bin/env python3
"""The API reference's gate fails on each kind of missing documentation.

usage: reference_gate_test.py BUILD_REFERENCE DOXYGEN DOXYFILE HEADER...

First builds the reference from the headers as they are, which must pass.
Then, for each kind of comment a public name needs, copies the headers
with one such comment taken out (a function's whole comment, one @param,
one @return, an enum value's ///<, a struct field's, a macro's) or made
wrong (an @param naming no parameter), builds the reference from the
copy, and expects the build to fail and to name what is missing.  Each
change must apply exactly once, so that a reworded header cannot turn a
case into one that changes nothing and passes.
"""
import os
import re
import shutil
import subprocess
import sys
import tempfile

DOC_BLOCK = r"/\*\*(?:(?!\*/).)*?\*/\n"


def declaration(function):
    return r"AE_API [^;(]*\b%s\(" % re.escape(function)


def doc_of(text, function):
    """(start, end) of the comment just before `function`'s declaration."""
    decl = re.search(declaration(function), text)
    if decl is None:
        return None
    start = text.rfind("/**", 0, decl.start())
    end = text.rfind("*/", 0, decl.start())
    if start < 0 or end < start or text[end + 2:decl.start()].strip():
        return None
    return start, end + 2


def drop_function_doc(function):
    def change(text):
        span = doc_of(text, function)
        if span is None:
            return text, 0
        return text[:span[0]] + text[span[1]:].lstrip("\n"), 1
    return change


def drop_tag(function, tag):
    """Drops the line starting with `tag` (and its continuation lines) from
    the comment of `function`."""
    line = re.compile(r"^ \* %s\b.*\n(?: \*   +[^@\s].*\n)*" % tag, re.M)

    def change(text):
        span = doc_of(text, function)
        if span is None:
            return text, 0
        block, count = line.subn("", text[span[0]:span[1]] + "\n")
        block = block[:-1] if block.endswith("*/\n") else block + " */"
        return text[:span[0]] + block + text[span[1]:], count
    return change


def replace(pattern, replacement):
    def change(text):
        return re.subn(pattern, replacement, text, flags=re.S | re.M)
    return change


CASES = [
    # (what, the change, text the failure must name)
    ("a function without its comment",
     drop_function_doc("ae_model_save"), "ae_model_save"),
    ("a parameter without its @param",
     drop_tag("ae_dataset_split", r"@param seed"), "parameter 'seed'"),
    ("an output parameter without its @param",
     drop_tag("ae_trainer_evaluate", r"@param\[out\] loss"),
     "parameter 'loss'"),
    ("a function without its @return",
     drop_tag("ae_dataset_count", "@return"),
     "return type of member ae_dataset_count"),
    ("an @param naming no parameter",
     replace(r"(@param) dir (the folder of class folders)", r"\1 folder \2"),
     "argument 'folder' of command @param"),
    ("an enum value without its comment",
     replace(r"(AE_RANGE_SYMMETRIC = 1) +/\*\*<.*?\*/", r"\1"),
     "enum value AE_RANGE_SYMMETRIC"),
    ("an enum value documented before it, without its comment",
     replace(r"    /\*\* Wang et al\.(?:(?!\*/).)*\*/\n(    AE_SSIM_GAUSSIAN11)",
             r"\1"),
     "enum value AE_SSIM_GAUSSIAN11"),
    ("a struct field without its comment",
     replace(r"(double seconds;) +/\*\*<.*?\*/", r"\1"), "Member seconds"),
    ("a macro without its comment",
     replace(r"%s(#define AE_NPY_MAX_DIMS)" % DOC_BLOCK, r"\1"),
     "AE_NPY_MAX_DIMS"),
    ("an opaque handle without its comment",
     replace(r"%s(typedef struct ae_pca ae_pca;)" % DOC_BLOCK, r"\1"),
     "Member ae_pca (typedef)"),
]


def build(script, doxygen, doxyfile, headers, out):
    run = subprocess.run([sys.executable, script, doxygen, doxyfile, out] +
                         headers, stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, text=True)
    return run.returncode, run.stdout


def main(argv):
    script, doxygen, doxyfile, headers = argv[1], argv[2], argv[3], argv[4:]
    main_header = headers[0]
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        rc, output = build(script, doxygen, doxyfile, headers,
                           os.path.join(work, "reference"))
        if rc != 0:
            print(output)
            print("FAIL: the reference of the headers as they are does not "
                  "build")
            return 1
        print("ok: the headers as they are build without warnings")

        with open(main_header, encoding="utf-8") as f:
            original = f.read()
        copies = os.path.join(work, "include")
        os.mkdir(copies)
        for other in headers[1:]:
            shutil.copy(other, copies)
        copy = os.path.join(copies, os.path.basename(main_header))
        for what, change, expected in CASES:
            changed, count = change(original)
            if count != 1:
                print("FAIL: %s: the change applies %d times, not once "
                      "(update this test along with the header)" %
                      (what, count))
                failures += 1
                continue
            with open(copy, "w", encoding="utf-8") as f:
                f.write(changed)
            rc, output = build(script, doxygen, doxyfile,
                               [copy] + [os.path.join(copies,
                                                      os.path.basename(h))
                                         for h in headers[1:]],
                               os.path.join(work, "broken"))
            if rc == 0:
                print("FAIL: %s: the reference built anyway" % what)
                failures += 1
            elif expected not in output:
                print(output)
                print("FAIL: %s: the build failed without naming %r" %
                      (what, expected))
                failures += 1
            else:
                print("ok: %s fails the build (%s)" % (what, expected))
    print("%d of %d cases failed" % (failures, len(CASES)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
