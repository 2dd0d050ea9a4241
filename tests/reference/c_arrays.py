"""Print tensors as C arrays, for the fixtures the reference scripts of
this folder write (their output is committed as a header or pasted into a
test).  One writer, so every fixture has the same layout."""


def emit(name, t, ctype="double"):
    """Print tensor t as `static const <ctype> name[n] = {...};`, its values
    flattened in C order, each as Python's repr of the double (with an f
    suffix for float), lines at most 78 columns."""
    vals = t.detach().flatten().tolist()
    suffix = "f" if ctype == "float" else ""
    print(f"/* {name}: {tuple(t.shape)} */")
    print(f"static const {ctype} {name}[{len(vals)}] = {{")
    line = "   "
    for v in vals:
        item = f" {float(v)!r}{suffix},"
        if len(line) + len(item) > 78:
            print(line)
            line = "   "
        line += item
    print(line)
    print("};")
