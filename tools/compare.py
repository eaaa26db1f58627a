"""A pre-registered paired comparison of two study configurations (the grid-crop equivalence, the importance rule against
uniform draws): study rows of A and B merged from the files given, written as one JSON and one markdown table (per
dataset: both accuracies, A − B with its 95% interval and sign-flip p, TOST within ±margin, the time ratio).

    python tools/compare.py OUT_STEM A B ROWS.json [ROWS.json ...] [--margin 0.02]
"""
import argparse, json
from pathlib import Path
from hierts_research.runs import header
from hierts_research.precision import precision_table

p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
p.add_argument('out'); p.add_argument('a'); p.add_argument('b'); p.add_argument('files', nargs='+')
p.add_argument('--margin', type=float, default=0.02)
args = p.parse_args()
rows = [r for f in args.files for r in json.loads(Path(f).read_text()) if r['mode'] in (args.a, args.b)]
Path(f'{args.out}.json').write_text(json.dumps(rows, indent=1))
text = f"{header()}\nrows: {', '.join(args.files)}\n\n{precision_table(rows, a=args.a, b=args.b, margin=args.margin)}\n"
Path(f'{args.out}.md').write_text(text)
print(text)
