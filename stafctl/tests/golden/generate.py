#!/usr/bin/python3
"""Writes the expected `--pprint` output of every golden case (`*.input.json` in
stafctl/tests/golden and stacctl/tests/golden) with upstream's own code paths: the daemon
replies of the case go through the assembly of upstream's stafctl.py / stacctl.py, then
`print(pprint.pformat(info, width=120))`. Inputs are derived from the examples of the
compatibility spec (§2.3, §2.4, §2.5, §3.2). Run from the repository root after changing an
input; the Rust tests compare the tools' output with the `.pprint` files.
"""
import glob
import io
import json
import pprint
from contextlib import redirect_stdout


def upstream(case):
    cmd = case['cmd']
    if cmd in ('ls', 'dlp'):
        info = case['list_controllers' if cmd == 'ls' else 'get_log_pages']
    elif cmd == 'adlp':
        info = json.loads(case['get_all_log_pages'])
    elif cmd == 'status':
        info = json.loads(case['process_info'])
        info['controllers'] = [c['details'] for c in case['controllers']]
        for controller, c in zip(info['controllers'], case['controllers']):
            if case['tool'] == 'stafctl':
                controller['log_pages'] = c['log_pages']
            controller.update(json.loads(c['controller_info']))
    out = io.StringIO()
    with redirect_stdout(out):
        print(pprint.pformat(info, width=120))
    return out.getvalue()


for path in sorted(glob.glob('sta[fc]ctl/tests/golden/*.input.json')):
    with open(path, encoding='utf-8') as f:
        case = json.load(f)
    with open(path.replace('.input.json', '.pprint'), 'w', encoding='utf-8') as f:
        f.write(upstream(case))
