"The research project's setup: the repository's setup.py run on research/settings.ini (pip runs this file from research/)"
import pathlib, runpy
runpy.run_path(str(pathlib.Path(__file__).resolve().parent.parent / 'setup.py'), run_name='__main__')
