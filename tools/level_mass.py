"""Where each IARS rule's draws went (issue 30, step 2): the share of training steps per level and its entropy, beside
uniform draws, from study rows (no new training).

    python tools/level_mass.py benchmarks/level_mass benchmarks/study_*.json
    python tools/level_mass.py benchmarks/level_mass_candidates a.json b.json --labels iars-fp32,iars-a10-fp32 --uniform random-fp32
"""
import argparse, json
from pathlib import Path
from hierts_research.study import mass_table

p = argparse.ArgumentParser()
p.add_argument('out'); p.add_argument('files', nargs='+')
p.add_argument('--labels', help='configurations, comma-separated (default: the study rules)')
p.add_argument('--uniform', default='random', help='the uniform-draw reference configuration')
a = p.parse_args()
rows = [r for f in a.files for r in json.loads(Path(f).read_text())]
kw = dict(labels=a.labels.split(',')) if a.labels else {}
res, table = mass_table(rows, uniform=a.uniform, **kw)
Path(f'{a.out}.json').write_text(json.dumps(res, indent=1))
text = f"command: python tools/level_mass.py {a.out} {' '.join(a.files)}" + (f" --labels {a.labels}" if a.labels else '') + \
       (f" --uniform {a.uniform}" if a.uniform != 'random' else '') + f"\n\n{table}\n"
Path(f'{a.out}.md').write_text(text)
print(text)
