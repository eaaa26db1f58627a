"""Where each IARS rule's draws went (issue 30, step 2): the share of training steps per level and its entropy, beside
uniform draws, from the study's rows (no new training).

    python tools/level_mass.py benchmarks/level_mass benchmarks/study_*.json
"""
import json, sys
from pathlib import Path
from hierts_research.study import mass_table

out, files = Path(sys.argv[1]), sys.argv[2:]
rows = [r for f in files for r in json.loads(Path(f).read_text())]
res, table = mass_table(rows)
Path(f'{out}.json').write_text(json.dumps(res, indent=1))
text = f"command: python tools/level_mass.py {' '.join(sys.argv[1:])}\n\n{table}\n"
Path(f'{out}.md').write_text(text)
print(text)
