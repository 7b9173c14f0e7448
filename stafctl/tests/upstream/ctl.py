#!/usr/bin/python3
"""Upstream's stafctl.py / stacctl.py subcommands (nvme-stas 2.x), with python3-dbus in
place of dasbus: the same calls, the same assembly, `print(pprint.pformat(info, width=120))`.
The bus tests compare the Rust tools' `--pprint` output with this, byte for byte.

Usage: ctl.py stafctl|stacctl ls [-d] | adlp [-d] | status | dlp TRADDR TRSVCID HOSTNQN
"""
import json
import pprint
import sys

import dbus


def plain(v):
    """dbus-python types as the native types dasbus hands upstream's tools."""
    if isinstance(v, dbus.Boolean):
        return bool(v)
    if isinstance(v, (dbus.String, dbus.ObjectPath, str)):
        return str(v)
    if isinstance(v, dict):
        return {plain(k): plain(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [plain(x) for x in v]
    return v


def cid(c):
    return (c['transport'], c['traddr'], c['trsvcid'], c['subsysnqn'], c['host-traddr'],
            c['host-iface'], c['host-nqn'])


def main():
    tool, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    name = 'org.nvmexpress.staf' if tool == 'stafctl' else 'org.nvmexpress.stac'
    obj = dbus.SystemBus().get_object(name, '/' + name.replace('.', '/'))
    iface = dbus.Interface(obj, name)
    debug = dbus.Interface(obj, name + '.debug')
    if cmd == 'ls':
        info = plain(iface.list_controllers('-d' in args))
    elif cmd == 'adlp':
        info = json.loads(iface.get_all_log_pages('-d' in args))
    elif cmd == 'dlp':
        traddr, trsvcid, hostnqn = args
        info = plain(iface.get_log_pages('tcp', traddr, trsvcid,
                                         'nqn.2014-08.org.nvmexpress.discovery', '', '', hostnqn))
    elif cmd == 'status':
        info = json.loads(debug.process_info())
        info['controllers'] = plain(iface.list_controllers(True))
        for controller in info['controllers']:
            if tool == 'stafctl':
                controller['log_pages'] = plain(iface.get_log_pages(*cid(controller)))
            controller.update(json.loads(debug.controller_info(*cid(controller))))
    else:
        sys.exit(f'unknown command {cmd}')
    print(pprint.pformat(info, width=120))


main()
