"""The fixed-level sweep (issue 30, step 1): `fixed-K` study rows from the files given, merged into one JSON, and the
table of `sweep_table` (each level's accuracy, the best level against each other, paired by seed, Holm) as markdown.

    python tools/sweep_table.py benchmarks/fixed_level_sweep ROWS.json [ROWS.json ...]
"""
import json, sys
from pathlib import Path
from hierts_research.runs import header
from hierts_research.study import sweep_table

out, files = Path(sys.argv[1]), sys.argv[2:]
rows = [r for f in files for r in json.loads(Path(f).read_text())]
Path(f'{out}.json').write_text(json.dumps(rows, indent=1))
res, table = sweep_table(rows)
text = f"{header()}\nrows: {len(rows)} runs from {len(files)} study files, merged into {out.name}.json\n\n{table}\n"
Path(f'{out}.md').write_text(text)
print(text)
