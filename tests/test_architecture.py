"""The shape of the package: the architecture notebook's module table is the modules' imports, no module imports a private
name of another, the library never imports the research side (`research/`, the benchmark harness), `hierts_tsai.all` keeps every
tsai name tsai's and exports no research or command name, every public name is documented"""
import ast, json, re, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG, NBS, RES = ROOT / 'hierts_tsai', ROOT / 'nbs', ROOT / 'research' / 'hierts_research'
LIBRARY = sorted(p.stem for p in PKG.glob('*.py') if not p.stem.startswith('_'))
HARNESS = sorted(f'research.{p.stem}' for p in RES.glob('*.py') if not p.stem.startswith('_'))
MODULES = LIBRARY + HARNESS  # modules by their names: 'losses' (hierts_tsai.losses), 'research.runs' (hierts_research.runs), ...
TOPS = {'hierts_tsai': '', 'hierts_research': 'research.'}

def source(module:str)->Path:
    "The file of `module` ('losses' or 'research.runs')"
    return RES / f"{module.split('.', 1)[1]}.py" if module.startswith('research.') else PKG / f'{module}.py'

def imported_modules(module:str)->list[tuple[str, list]]:
    "Every module of the library or the research side that `module` imports anywhere in its code, by its name in `MODULES`, with the names it takes"
    package = ['hierts_research' if module.startswith('research.') else 'hierts_tsai']
    out = []
    for n in ast.walk(ast.parse(source(module).read_text())):
        if isinstance(n, ast.Import):
            out += [(TOPS[a.name.split('.')[0]] + '.'.join(a.name.split('.')[1:]), []) for a in n.names if a.name.split('.')[0] in TOPS]
            continue
        if not isinstance(n, ast.ImportFrom): continue
        parts = [p for p in (n.module or '').split('.') if p]
        if n.level: parts = package + parts  # nbdev writes `from .losses import ...`
        if not parts or parts[0] not in TOPS: continue
        names, top = [a.name for a in n.names], TOPS[parts[0]]
        if len(parts) == 1: out += [(top + a, []) for a in names]              # `from hierts_tsai import losses`
        else: out.append((top + '.'.join(parts[1:]), names))
    return out

def package_imports(module:str)->tuple[set, list]:
    "The package's modules `module` imports anywhere in its code, and the private names it imports from them"
    deps, private = set(), []
    for dep, names in imported_modules(module):
        if dep: deps.add(dep)
        private += [f'{dep}.{a}' for a in names if a.startswith('_')]
    return deps, private

def module_table()->dict:
    "The architecture notebook's table: module → the package modules it says it imports"
    nb = json.loads((NBS / 'architecture.ipynb').read_text())
    text = '\n'.join(''.join(c['source']) for c in nb['cells'] if c['cell_type'] == 'markdown')
    rows = {}
    for m in re.finditer(r'^\| `\w+` → `(\w+(?:[/.]\w+)?)\.py` \| .* \| ([^|]*) \|$', text, re.M): # `research/runs.py`: research.runs
        rows[m.group(1).replace('/', '.')] = set() if m.group(2).strip() == '—' else {d.strip().strip('`') for d in m.group(2).split(',')}
    return rows

def test_the_module_table_is_the_imports():
    table = module_table()
    assert set(table) == set(MODULES), f"modules without a row: {set(MODULES) - set(table)}; rows without a module: {set(table) - set(MODULES)}"
    for m in MODULES: assert table[m] == package_imports(m)[0], f"{m}: the table says {sorted(table[m])}, the code imports {sorted(package_imports(m)[0])}"

def test_no_module_imports_a_private_name_of_another():
    private = {m: package_imports(m)[1] for m in MODULES}
    assert not any(private.values()), {m: p for m, p in private.items() if p}

def test_modules_import_each_other_without_a_cycle():
    graph = {m: package_imports(m)[0] for m in MODULES}
    done, path = set(), []
    def visit(m):
        assert m not in path, f"import cycle: {' → '.join(path + [m])}"
        if m in done: return
        path.append(m)
        for d in graph[m]: visit(d)
        path.pop(); done.add(m)
    for m in MODULES: visit(m)

def test_the_library_never_imports_the_harness():
    "no library module imports the harness, anywhere in its code; `hierts_tsai.all` exports no harness or command name"
    import importlib
    uses = {m: sorted(d for d in package_imports(m)[0] if d.startswith('research.')) for m in LIBRARY}
    assert not any(uses.values()), {m: d for m, d in uses.items() if d}
    assert len(HARNESS) >= 6 and {'research.runs', 'research.steps', 'research.counting', 'research.cli'} <= set(HARNESS)
    exported = set(importlib.import_module('hierts_tsai.all').__all__)
    for m in HARNESS + ['cli']:
        names = set(importlib.import_module(f"hierts_research.{m.split('.', 1)[1]}" if '.' in m else f'hierts_tsai.{m}').__all__)
        assert names and not exported & names, f"hierts_tsai.all exports {sorted(exported & names)} of hierts_tsai.{m}"

HARNESS_IMPORTS = ', '.join(f"hierts_research.{m.split('.', 1)[1]}" for m in HARNESS)

STAR = f"""
import json, sys, warnings
warnings.simplefilter('ignore')
from tsai.all import *
_tsai = {{n: v for n, v in globals().items() if not n.startswith('_')}}
from hierts_tsai.all import *
import hierts_tsai.all, hierts_tsai.cli, {HARNESS_IMPORTS}
_harness = [n for m in {HARNESS!r} for n in sys.modules['hierts_research.' + m.split('.', 1)[1]].__all__]
print(json.dumps(dict(
    shadowed=sorted(n for n, v in _tsai.items() if globals().get(n) is not v and n not in ('json', 'sys', 'warnings')),
    n_tsai=len(_tsai),
    bench=sorted(set(hierts_tsai.all.__all__) & set(_harness + hierts_tsai.cli.__all__)),
    n_harness=len(_harness),
    ours=sorted(hierts_tsai.all.__all__))))
"""

def test_star_imports_in_readme_order_keep_tsai_names():
    "`from tsai.all import *; from hierts_tsai.all import *`: every tsai name is still tsai's object, no harness or command name comes in"
    p = subprocess.run([sys.executable, '-c', STAR], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    r = json.loads(p.stdout.strip().splitlines()[-1])
    assert r['n_tsai'] > 500 and 'ConvBlock' not in r['ours']
    assert r['shadowed'] == [], r['shadowed']
    assert r['n_harness'] > 20 and r['bench'] == [], r['bench']
    assert {'ts2vec_learner', 'IARS', 'TS2VecLearner', 'transfer_learner'} <= set(r['ours'])

NO_ACCELERATE = f"""
import sys; sys.modules['accelerate'] = None   # as after `pip install -e .`: accelerate is a dev requirement only
from tsai.all import *
from hierts_tsai.all import *
import hierts_tsai.cli, {HARNESS_IMPORTS}
learn = ts2vec_learner(np.random.default_rng(0).standard_normal((4, 2, 30)).astype('float32'), cbs=IARS(), repr_dims=8, arch_config=dict(hidden=8, depth=2), seed=0)
with learn.no_bar(), learn.no_logging(): learn.fit_iters(2)
print(learn.encode(np.zeros((1, 2, 30), dtype='float32')).shape)
"""

def test_the_library_works_without_accelerate():
    "fastai's distributed module fails to import without accelerate (a NameError); README's first command installs no accelerate"
    p = subprocess.run([sys.executable, '-c', NO_ACCELERATE], capture_output=True, text=True, cwd=ROOT)
    assert p.returncode == 0, p.stderr[-2000:]
    assert p.stdout.strip().splitlines()[-1] == '(1, 8)', p.stdout

def _documented()->set:
    return {m.group(1) for nb in [*NBS.glob('*.ipynb'), *(ROOT / 'research' / 'nbs').glob('*.ipynb')]
            for c in json.loads(nb.read_text())['cells'] if c['cell_type'] == 'code'
            for m in re.finditer(r'show_doc\(([\w.]+)', ''.join(c['source']))}

def _shown_in_a_base(cls, attr, shown)->bool:
    "Whether `attr` overrides a method of a base class of `cls` whose own `show_doc` documents the interface (a strategy's `pick`, ...)"
    return any(attr in vars(b) and f'{b.__name__}.{attr}' in shown for b in cls.__mro__[1:])

def test_every_public_name_and_method_has_show_doc():
    "each name a module exports, and each public method or property a class defines (unless it overrides one shown on a base), is shown in a notebook"
    import importlib, inspect
    shown, missing = _documented(), []
    for m in MODULES:
        if m == 'all': continue
        mod = importlib.import_module(f"hierts_research.{m.split('.', 1)[1]}" if m.startswith('research.') else f'hierts_tsai.{m}')
        for name in mod.__all__:
            obj = getattr(mod, name)
            if not (callable(obj) or inspect.isclass(obj)): continue # constants (KEYS, STEP_MODES, ...)
            if name not in shown: missing.append(f'{m}.{name}')
            if inspect.isclass(obj):
                for attr, v in vars(obj).items():
                    if attr.startswith('_') or not (callable(v) or isinstance(v, (property, classmethod))): continue
                    if f'{name}.{attr}' not in shown and not _shown_in_a_base(obj, attr, shown): missing.append(f'{m}.{name}.{attr}')
    assert not missing, missing

def test_module_docstrings_are_whole_sentences():
    "each module's docstring (the notebook's `>` summary) ends a sentence: nbdev keeps only the first line of the summary"
    for m in MODULES:
        doc = ast.get_docstring(ast.parse(source(m).read_text()))
        assert doc and doc.rstrip().endswith('.'), f"{m}: {doc!r}"

def _reads_mode_string(node)->list[int]:
    "Lines in `node` that compare `mode`/`self.mode` with a string or call a string method on it"
    is_mode = lambda x: (isinstance(x, ast.Name) and x.id == 'mode') or (isinstance(x, ast.Attribute) and x.attr == 'mode')
    lines = []
    for n in ast.walk(node):
        if isinstance(n, ast.Compare) and any(is_mode(x) for x in [n.left, *n.comparators]): lines.append(n.lineno)
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and is_mode(n.func.value): lines.append(n.lineno)
    return lines

def test_iars_reads_mode_strings_only_in_its_shorthand_mapping():
    "The IARS callback compares no mode string: which level trains is a strategy object; `choice_for` maps the names to them"
    tree = ast.parse((PKG / 'iars.py').read_text())
    top = {n.name: n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    assert _reads_mode_string(top['IARS']) == [], f"IARS reads a mode string at lines {_reads_mode_string(top['IARS'])}"
    others = {k: _reads_mode_string(n) for k, n in top.items() if k != 'choice_for'}
    assert not any(others.values()), others
    assert _reads_mode_string(top['choice_for'])          # the mapping is where the names are read (the check can see them)

def test_library_functions_are_short():
    "no function of the library (the installed package, research apart) is longer than 35 lines, its signature included"
    long = [(m, n.name, n.end_lineno - n.lineno + 1) for m in LIBRARY for n in ast.walk(ast.parse(source(m).read_text()))
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.end_lineno - n.lineno + 1 > 35]
    assert not long, long
