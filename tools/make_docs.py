"""Render README.md from nbs/index.ipynb, and the docs site from all notebooks, without quarto.

    python tools/make_docs.py readme [--check]            # README.md from nbs/index.ipynb (nbconvert to markdown)
    python tools/make_docs.py docs [--out _docs] [--check] # one HTML page per notebook (nbconvert to HTML)

`readme --check` exits with status 1 when README.md differs from what the notebook renders to.
`docs` writes `index.html` (from nbs/index.ipynb), `benchmarks.html` (from benchmarks/README.md), then one page
per other notebook, each with a sidebar linking all pages by their first markdown heading. Notebooks are rendered as
stored, not executed. Headings also get GitHub's anchors (`#when-to-use-it`), so README's links work on the site;
relative links of README and the benchmarks page go to the site's pages or to the file on GitHub.
`docs --check` renders, then exits with status 1 unless every page exists, has content, shows its title
and has no `#|` directive line left in its code, and every link of index.html and benchmarks.html to a page of
the site finds the page and its anchor.
(`nbdev_readme` / `nbdev_docs` do the same with quarto, for anyone who has it.)
"""
import argparse, configparser, html, os, re, sys
from pathlib import Path
import nbformat
from nbconvert import HTMLExporter, MarkdownExporter
from nbconvert.preprocessors import Preprocessor
from pygments.formatters import HtmlFormatter

ROOT = Path(__file__).resolve().parents[1]
NBS = ROOT / 'nbs'
BENCH = ROOT / 'benchmarks' / 'README.md' # the benchmarks page: a markdown file, rendered as a notebook of one cell
DIRECTIVE = re.compile(r'\s*#\|')
LINK_ATTRS = re.compile(r'\[([^\]]*)\]\(([^)\s]+)\)\{([^}]*)\}')

def html_links(md:str)->str:
    "`[text](url){attrs}` (pandoc's link attributes, which `show_doc` writes for its source link) as an HTML link"
    return LINK_ATTRS.sub(r'<a href="\2" \3>\1</a>', md)

class NbdevClean(Preprocessor):
    """Drop `#| hide` (`#| include: false`) cells, `#| ...` directive lines and stderr outputs (warnings); honour
    `#| echo: false`, `#| output: false`; turn pandoc-style `[text](url){attrs}` links into HTML"""
    def preprocess(self, nb, resources):
        cells = []
        for c in nb.cells:
            if c.cell_type == 'code':
                lines = c.source.splitlines()
                ds = {' '.join(re.split(r'[\s:]+', l.split('|', 1)[1].strip().lower())) for l in lines if DIRECTIVE.match(l)}
                if ds & {'hide', 'include false'}: continue
                c.source = '\n'.join(l for l in lines if not DIRECTIVE.match(l)).strip('\n')
                if 'echo false' in ds: c.metadata['transient'] = {'remove_source': True}
                if 'output false' in ds: c.outputs = []
                if not c.source and not c.outputs: continue
                # warnings and other stderr of the run that stored the outputs are not documentation
                c.outputs = [o for o in c.get('outputs', []) if not (o.get('output_type') == 'stream' and o.get('name') == 'stderr')]
            if c.cell_type == 'markdown': c.source = html_links(c.source)
            for o in c.get('outputs', []):
                if 'text/markdown' in o.get('data', {}): o.data['text/markdown'] = html_links(o.data['text/markdown'])
            cells.append(c)
        nb.cells = cells
        return nb, resources

def render_readme()->str:
    nb = nbformat.read(NBS / 'index.ipynb', as_version=4)
    ex = MarkdownExporter()
    ex.register_preprocessor(NbdevClean(), enabled=True)
    body, _ = ex.from_notebook_node(nb)
    return re.sub(r'\n{3,}', '\n\n', body).strip() + '\n'

CSS = """
body{margin:0;display:flex;font:16px/1.55 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#222}
nav{position:sticky;top:0;height:100vh;overflow:auto;box-sizing:border-box;flex:none;width:14rem;
    padding:1.2rem .8rem;background:#f6f7f9;border-right:1px solid #e3e5e8}
nav a{display:block;padding:.25rem .5rem;border-radius:4px;color:#2d4a6b;text-decoration:none}
nav a:hover{background:#e8ecf2} nav a.here{background:#dde6f3;font-weight:600}
nav .site{font-size:1.15rem;font-weight:700;margin-bottom:.6rem}
main{flex:1;min-width:0;max-width:66rem;padding:1rem 2.5rem 4rem}
h1,h2,h3{line-height:1.25} .prompt{display:none} img{max-width:100%;height:auto}
pre{overflow-x:auto;font:13px/1.45 ui-monospace,Menlo,Consolas,"DejaVu Sans Mono",monospace}
.highlight pre,.text_cell_render pre{padding:.6rem .9rem;background:#f8f8f8;border:1px solid #e4e4ea;border-radius:6px}
.output_text pre{margin:.2rem 0 1rem;padding:0 .9rem} .output_stderr{background:#fdf1f1}
code{font-size:.9em;background:#f1f2f5;padding:.05em .3em;border-radius:3px} pre code{background:none;padding:0}
table{border-collapse:collapse;margin:.6rem 0;font-size:.93em} th,td{border:1px solid #dcdde2;padding:.3rem .6rem;text-align:left}
blockquote{margin:0 0 1rem;padding-left:1rem;border-left:3px solid #cfd6e0;color:#555}
hr{border:0;border-top:1px solid #e3e5e8;margin:1.5rem 0}
.anchor-link{margin-left:.3rem;color:#bbc;text-decoration:none;visibility:hidden} :hover>.anchor-link{visibility:visible}
@media (max-width:800px){body{display:block} nav{position:static;height:auto;width:auto}}
""" + HtmlFormatter().get_style_defs('.highlight')
MATHJAX = ("<script>window.MathJax={tex:{inlineMath:[['$','$'],['\\\\(','\\\\)']]}}</script>"
           '<script async src="https://cdn.jsdelivr.net/npm/mathjax@3/es5/tex-chtml.js"></script>')

def notebooks()->list[Path]:
    "nbs/index.ipynb, then the numbered notebooks in order, then any others (skipping `.*` and `_*` files and folders)"
    nbs = [p.relative_to(NBS) for p in NBS.rglob('*.ipynb')]
    nbs = [p for p in nbs if not any(s[0] in '._' for s in p.parts)]
    return [NBS/p for p in sorted(nbs, key=lambda p: (p.as_posix() != 'index.ipynb', not p.name[0].isdigit(), p.as_posix()))]

def nb_title(nb, path:Path)->str:
    "The notebook's first markdown heading as plain text, or its file name"
    for c in nb.cells:
        m = c.cell_type == 'markdown' and re.search(r'^#+\s+(.+)$', c.source, re.M)
        if m: return re.sub(r'[`*]', '', m.group(1)).strip()
    return path.stem

def _from_page(src:str, page:Path)->str:
    "A path relative to the repository root (as README.md uses them) made relative to `page`, if the file exists"
    return Path(os.path.relpath(ROOT/src, page.parent)).as_posix() if (ROOT/src).is_file() else src

def github_slug(text:str, seen:dict)->str:
    "The anchor GitHub gives a heading of `text` (lower case, punctuation dropped, spaces as `-`, `-1`... for repeats)"
    slug = re.sub(r'[^\w\- ]', '', text.strip().lower()).replace(' ', '-')
    n = seen.get(slug, 0); seen[slug] = n + 1
    return f'{slug}-{n}' if n else slug

def github_anchors(body:str)->str:
    "Give each heading of rendered HTML GitHub's anchor too (nbconvert's own id stays), so README's `#links` work here"
    seen = {}
    def add(m):
        text = html.unescape(re.sub(r'<[^>]+>', '', re.sub(r'<a class="anchor-link".*?</a>', '', m.group(3), flags=re.S)))
        slug = github_slug(text, seen)
        return m.group(0) if slug == m.group(2) else f'{m.group(1)}<span id="{html.escape(slug)}"></span>{m.group(3)}</h'
    return re.sub(r'(<h[1-6][^>]*\bid="([^"]*)"[^>]*>)(.*?)</h', add, body, flags=re.S)

def settings()->configparser.SectionProxy:
    "settings.ini's [DEFAULT]"
    cp = configparser.ConfigParser(); cp.read(ROOT/'settings.ini', encoding='utf-8')
    return cp['DEFAULT']

def site_links(body:str, src_dir:Path, page:Path, pages:dict)->str:
    """Relative links of a markdown file that lives in `src_dir` (README.md: the repository root) made links of the site:
    README.md, benchmarks/README.md and notebooks go to their pages, other files of the repository to GitHub"""
    s = settings()
    def fix(m):
        href = html.unescape(m.group(1))
        path, _, anchor = href.partition('#')
        if not path: return m.group(0)
        target = Path(os.path.normpath(src_dir/path))
        by_src = {ROOT/'README.md': pages.get(NBS/'index.ipynb'), **pages}
        if by_src.get(target) is not None: url = Path(os.path.relpath(by_src[target], page.parent)).as_posix()
        elif target.is_relative_to(ROOT):
            url = f"{s['git_url']}/{'tree' if target.is_dir() else 'blob'}/{s['branch']}/{target.relative_to(ROOT).as_posix()}"
        else: return m.group(0)
        return f'href="{html.escape(url + ("#" + anchor if anchor else ""))}"'
    return re.sub(r'href="(?![a-z]+:)(?!#)([^"]+)"', fix, body)

def md_notebook(path:Path):
    "A markdown file as a notebook of one markdown cell"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(path.read_text(encoding='utf-8'))]
    return nb

def render_docs(out:Path)->dict:
    "Write one HTML page per notebook (and the benchmarks page) into `out`, each with a sidebar linking all pages; return {page: title}"
    ex = HTMLExporter(template_name='basic') # the cells only: the page around them is ours
    ex.register_preprocessor(NbdevClean(), enabled=True)
    index = NBS/'index.ipynb'
    nbs = {p: nbformat.read(p, as_version=4) for p in notebooks()}
    if BENCH.exists(): nbs = {index: nbs.pop(index), BENCH: md_notebook(BENCH), **nbs} # second in the sidebar
    pages = {p: out/('benchmarks.html' if p == BENCH else p.relative_to(NBS).with_suffix('.html')) for p in nbs}
    titles = {p: nb_title(nb, p) for p, nb in nbs.items()}
    for p, nb in nbs.items():
        page = pages[p]
        def link(q): return (f'<a href="{Path(os.path.relpath(pages[q], page.parent)).as_posix()}"'
                             f'{" class=here" * (q == p)}>{html.escape(titles[q])}</a>')
        nav = f'<div class="site">{link(index)}</div>\n' + '\n'.join(link(q) for q in nbs if q != index)
        body, _ = ex.from_notebook_node(nb)
        body = github_anchors(body)
        if p in (index, BENCH): body = site_links(body, ROOT if p == index else p.parent, page, pages) # written for GitHub
        body = re.sub(r'(href="(?![a-z]+:)[^"#]*)\.ipynb', r'\1.html', body) # links between notebooks
        body = re.sub(r'src="(?![a-z]+:)([^"]+)"', lambda m: f'src="{_from_page(m.group(1), page)}"', body) # repo files
        page.parent.mkdir(parents=True, exist_ok=True)
        page.write_text(f'<!doctype html>\n<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">\n'
                        f'<title>{html.escape(titles[p])} – {html.escape(titles[index])}</title>\n<style>{CSS}</style>\n{MATHJAX}\n</head>\n'
                        f'<body>\n<nav>\n{nav}\n</nav>\n<main>\n{body}\n</main>\n</body></html>\n', encoding='utf-8')
    return {pages[p]: titles[p] for p in nbs}

def check_docs(pages:dict)->list[str]:
    "Problems with the rendered `pages` ({page: title}): missing, empty, untitled, or with `#|` lines left in code"
    problems = []
    for page, title in pages.items():
        src = page.read_text(encoding='utf-8') if page.exists() else ''
        text = html.unescape(re.sub(r'<[^>]+>', '', src.partition('<main>')[2]))
        if not text.strip(): problems.append(f'{page}: missing or empty'); continue
        if title not in text: problems.append(f'{page}: title {title!r} not in the page')
        code = html.unescape(re.sub(r'<[^>]+>', '', ''.join(re.findall(r'class="input_area">(.*?)</pre>', src, re.S))))
        problems += [f'{page}: directive line left: {l.strip()!r}' for l in code.splitlines() if DIRECTIVE.match(l)]
    for page in pages: # README's and the benchmarks page's links into the site: each page and anchor must exist
        if page.name not in ('index.html', 'benchmarks.html') or not page.exists(): continue
        main = page.read_text(encoding='utf-8').partition('<main>')[2]
        for href in re.findall(r'href="(?![a-z]+:)([^"]*)"', main):
            path, _, anchor = html.unescape(href).partition('#')
            target = (page.parent/path) if path else page
            if target.suffix != '.html': continue
            if not target.exists(): problems.append(f'{page}: link to a missing page: {href}'); continue
            if anchor and not re.search(rf'\bid="{re.escape(html.escape(anchor))}"', target.read_text(encoding='utf-8')):
                problems.append(f'{page}: link to a missing anchor: {href}')
    return problems

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('what', choices=['readme', 'docs'])
    p.add_argument('--check', action='store_true', help='readme: fail if README.md is out of date; docs: verify the rendered pages')
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
    out = Path(a.out)
    pages = render_docs(out)
    if a.check:
        if problems := check_docs(pages):
            print(f'docs check failed ({len(problems)} problems):', *problems, sep='\n  ', file=sys.stderr)
            return 1
        print(f'docs ok: {len(pages)} pages in {out}')
        return 0
    print(f'wrote {len(pages)} pages to {out}')
    return 0

if __name__ == '__main__': sys.exit(main())
