#!/usr/bin/env bash
# The report test: run every experiment in --quick mode into a fresh
# report, open report/index.html in headless Chromium and fail if any image
# is missing or broken, an SVG a chart was written as is not linked or a
# link does not load as a picture, any table is empty, or results.json is
# not JSON.
#
#   report_test.sh SOURCE_ROOT BUILD_ROOT MNIST_DIR
#   report_test.sh --check REPORT_DIR    (check an existing report only)
#
# Exit 77 (meson: skipped) without chromium.  Set KEEP_REPORT=1 to keep the
# temporary report.
set -euo pipefail

chromium=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium" ]; then
  echo "chromium not installed: skipping" >&2
  exit 77
fi

work=$(mktemp -d)
if [ -z "${KEEP_REPORT:-}" ]; then
  trap 'rm -rf "$work"' EXIT
else
  echo "keeping $work"
fi

if [ "$1" = --check ]; then
  report=$(cd "$2" && pwd)
else
  src=$1 build=$2 data=$3
  report=$work/report
  BUILD_DIR=$build REPORT_DIR=$report \
    bash "$src/examples/run_all.sh" --quick --data "$data"
fi

# The page under test plus a checker that runs once everything has loaded
# and writes its verdict into the DOM, which --dump-dom prints.  Content
# after </html> is parsed into the body, so the page itself is unchanged.
# The copy lies beside index.html, so that its links resolve as the page's.
check=$report/.report-check.html
trap 'rm -f "$check"; [ -n "${KEEP_REPORT:-}" ] || rm -rf "$work"' EXIT
cp "$report/index.html" "$check"
cat >> "$check" <<'JS'
<script>
window.addEventListener('load', function () {
  var bad = [];
  var imgs = document.querySelectorAll('img');
  if (imgs.length === 0) bad.push('no images at all');
  imgs.forEach(function (img, i) {
    if (!(img.complete && img.naturalWidth > 0 && img.naturalHeight > 0))
      bad.push('broken image ' + i + ': ' + (img.alt || '') + ' [' +
               img.getAttribute('src').slice(0, 60) + ']');
    else if (!/^data:/.test(img.getAttribute('src')))
      bad.push('image not inlined: ' + img.getAttribute('src'));
  });
  // The charts' captions link their SVG versions (the grids of pictures
  // have none); each link must load as a picture.
  var links = document.querySelectorAll('figcaption a.svg');
  if (links.length === 0) bad.push('no SVG links at all');
  var loads = Array.prototype.map.call(links, function (a) {
    return new Promise(function (done) {
      var img = new Image();
      img.onload = function () {
        if (!(img.naturalWidth > 0)) bad.push('empty SVG: ' + a.href);
        done();
      };
      img.onerror = function () {
        bad.push('SVG link does not load: ' + a.getAttribute('href'));
        done();
      };
      img.src = a.href;
    });
  });
  var tables = document.querySelectorAll('table');
  if (tables.length === 0) bad.push('no tables at all');
  tables.forEach(function (t, i) {
    var cap = t.caption ? t.caption.textContent : 'table ' + i;
    var rows = t.querySelectorAll('tbody tr');
    if (rows.length === 0) bad.push('empty table: ' + cap);
    t.querySelectorAll('td').forEach(function (td) {
      if (td.textContent.trim() === '') bad.push('empty cell in: ' + cap);
    });
  });
  document.querySelectorAll('main section').forEach(function (s) {
    if (!s.querySelector('h2')) bad.push('section without heading: ' + s.id);
  });
  Promise.all(loads).then(function () {
    var v = document.createElement('pre');
    v.id = 'verdict';
    v.textContent = bad.length ? 'REPORT-FAIL\n' + bad.join('\n') :
      'REPORT-OK ' + imgs.length + ' images, ' + links.length +
      ' SVG links, ' + tables.length + ' tables';
    document.body.appendChild(v);
  });
});
</script>
JS

dom=$work/dom.html
profile=$work/profile
"$chromium" --headless --no-sandbox --disable-gpu --disable-quic \
  --no-first-run --disable-background-networking --disable-component-update \
  --disable-sync --user-data-dir="$profile" --virtual-time-budget=10000 \
  --dump-dom "file://$check" > "$dom" 2> "$work/chromium.log" || {
    echo "chromium failed:" >&2
    tail -20 "$work/chromium.log" >&2
    exit 1
  }
verdict=$(sed -n '/<pre id="verdict">/,/<\/pre>/p' "$dom" |
          sed 's/<[^>]*>//g')
echo "$verdict"
case $verdict in
  REPORT-OK*) ;;
  *) echo "the report is broken (see above)" >&2; exit 1 ;;
esac

# Every SVG the experiments wrote is linked from the page.
unlinked=0
for svg in "$report"/*/*.svg; do
  [ -e "$svg" ] || continue
  if ! grep -qF "href=\"${svg#"$report"/}\"" "$report/index.html"; then
    echo "not linked from the report: ${svg#"$report"/}" >&2
    unlinked=1
  fi
done
[ "$unlinked" = 0 ] || exit 1

# results.json must be valid JSON with one entry per section.
sections=$(grep -c '<section id=' "$report/index.html")
if command -v python3 > /dev/null; then
  python3 - "$report/results.json" "$sections" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
assert isinstance(data, list), "results.json is not an array"
assert len(data) == int(sys.argv[2]), \
    "%d results for %s sections" % (len(data), sys.argv[2])
for e in data:
    assert "experiment" in e and "values" in e and e["values"], e
print("results.json: %d experiments, %d values" %
      (len(data), sum(len(e["values"]) for e in data)))
PY
fi
