import os
from pathlib import Path
import numpy as np
import pytest

DATA = Path(os.environ.get('HIERTS_SHARED_DATA', Path(__file__).resolve().parents[1].parent / 'shared' / 'data'))

def shared_npz(name):
    "Arrays of a dataset in ../shared/data; skip the test when the folder is not there"
    p = DATA / f'{name}.npz'
    if not p.exists(): pytest.skip(f'{p} not found (set HIERTS_SHARED_DATA to the folder holding the UEA npz files)')
    return dict(np.load(p))
