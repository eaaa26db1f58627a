"""Render README.md from nbs/index.ipynb, and the docs site from all notebooks, without quarto.

    python tools/make_docs.py readme [--check]   # README.md from nbs/index.ipynb (nbconvert to markdown)
    python tools/make_docs.py docs [--out _docs] # one HTML page per notebook + an index (nbconvert to HTML)

`--check` exits with status 1 when README.md differs from what the notebook renders to.
(`nbdev_readme` / `nbdev_docs` do the same with quarto, for anyone who has it.)
"""
import argparse, re, sys
from pathlib import Path
import nbformat
from nbconvert import MarkdownExporter
from nbconvert.preprocessors import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'

class NbdevClean(Preprocessor):
    "Drop `#| hide` cells and `#| ...` directive lines, as nbdev's renderers do"
    def preprocess(self, nb, resources):
        cells = []
        for c in nb.cells:
            src = c.source.lstrip()
            if c.cell_type == 'code' and re.match(r'#\|\s*(hide|default_exp|export)\b', src) and 'hide' in src.splitlines()[0]: continue
            if c.cell_type == 'code':
                lines = c.source.splitlines()
                if lines and re.match(r'#\|\s*(default_exp|hide)', lines[0]) and len(lines) == 1: continue
                c.source = '\n'.join(l for l in lines if not re.match(r'\s*#\|', l)).strip('\n')
                if not c.source and not c.get('outputs'): continue
            cells.append(c)
        nb.cells = cells
        return nb, resources

def render_readme()->str:
    nb = nbformat.read(NBS / 'index.ipynb', as_version=4)
    ex = MarkdownExporter()
    ex.register_preprocessor(NbdevClean(), enabled=True)
    body, _ = ex.from_notebook_node(nb)
    return re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('what', choices=['readme', 'docs'])
    p.add_argument('--check', action='store_true', help='fail if README.md is out of date')
    p.add_argument('--out', default=str(ROOT / '_docs'), help='folder of the docs site')
    a = p.parse_args(argv)
    if a.what == 'readme':
        text, path = render_readme(), ROOT / 'README.md'
        if a.check:
            if not path.exists() or path.read_text(encoding='utf-8') != text:
                print('README.md is out of date with nbs/index.ipynb: run `python tools/make_docs.py readme`', file=sys.stderr)
                return 1
            print('README.md is up to date with nbs/index.ipynb')
            return 0
        path.write_text(text, encoding='utf-8')
        print(f'wrote {path}')
        return 0
    raise SystemExit('docs: not implemented yet')

if __name__ == '__main__': sys.exit(main())
