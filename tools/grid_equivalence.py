"""The grid-crop equivalence (issue 31, pre-registered in benchmarks/grid_prereg.md): study rows of `iars-grid-fp32`
against `iars-exact-fp32`, merged from the files given, written as one JSON and one markdown table.

    python tools/grid_equivalence.py OUT_STEM ROWS.json [ROWS.json ...]
"""
import json, sys
from pathlib import Path
from hierts_research.runs import header
from hierts_research.precision import precision_table

out, files = Path(sys.argv[1]), sys.argv[2:]
rows = [r for f in files for r in json.loads(Path(f).read_text())]
Path(f'{out}.json').write_text(json.dumps(rows, indent=1))
table = precision_table(rows, a='iars-grid-fp32', b='iars-exact-fp32', margin=0.02)
text = f"{header()}\nrows: {', '.join(files)}\n\n{table}\n"
Path(f'{out}.md').write_text(text)
print(text)
