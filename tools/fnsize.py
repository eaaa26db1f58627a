"""The largest functions of the library and of the research side (research/hierts_research), in lines (signature and docments included), by `ast`.

    python tools/fnsize.py [N]      # the N largest of each (default 5)
"""
import ast, sys
from pathlib import Path

TOP = Path(__file__).resolve().parents[1]
ROOT, RESEARCH = TOP / 'hierts_tsai', TOP / 'research' / 'hierts_research'

def sizes(files):
    "(lines, module.function) of every function and method in `files`"
    out = []
    for p in files:
        mod = p.relative_to(p.parent).with_suffix('').as_posix().replace('/', '.')
        for n in ast.walk(ast.parse(p.read_text())):
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)): out.append((n.end_lineno - n.lineno + 1, f'{mod}.{n.name}'))
    return sorted(out, reverse=True)

if __name__ == '__main__':
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    lib = [p for p in ROOT.glob('*.py') if not p.name.startswith('_')]
    for name, files in (('library', lib), ('research', sorted(p for p in RESEARCH.glob('*.py') if not p.name.startswith('_')))):
        print(f'{name}: ' + ', '.join(f'{f} {l}' for l, f in sizes(files)[:n]))
