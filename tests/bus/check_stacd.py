#!/usr/bin/python3
"""Independent client check of stacd's D-Bus API with python3-dbus: the calls upstream's
stacctl makes (ls, ls -d, status, tron/troff), keys and types of each answer.

Usage: check_stacd.py root|nonroot N   (N: the number of I/O controllers expected)
"""
import json
import sys

import dbus

ID_KEYS = ['traddr', 'trsvcid', 'transport', 'subsysnqn', 'host-iface', 'host-traddr', 'host-nqn', 'device']
DETAIL_KEYS = ['connect attempts', 'retry connect timer', 'hostid', 'hostnqn', 'model', 'serial',
               'dctype', 'cntrltype', 'connected', 'dlpe', 'dlpe.eflags.ncc']
PROCESS_KEYS = ['tron', 'log-level', 'hostnqn', 'hostid', 'hostkey', 'symname',
                'last known config file', 'config soak timer']


def check(cond, what):
    if not cond:
        print(f'FAIL: {what}')
        sys.exit(1)
    print(f'ok: {what}')


def main():
    who, n = sys.argv[1], int(sys.argv[2])
    bus = dbus.SystemBus()
    obj = bus.get_object('org.nvmexpress.stac', '/org/nvmexpress/stac')
    iface = dbus.Interface(obj, 'org.nvmexpress.stac')
    debug = dbus.Interface(obj, 'org.nvmexpress.stac.debug')
    props = dbus.Interface(obj, 'org.freedesktop.DBus.Properties')

    ids = iface.list_controllers(False)
    check(len(ids) == n, f'ls: {n} IOCs')
    for d in ids:
        check(all(isinstance(k, str) and isinstance(v, str) for k, v in d.items()), 'ls: a{ss}')
        check(all(k in d for k in ID_KEYS), f'ls: id keys {sorted(d)}')
    details = iface.list_controllers(True)
    for d in details:
        check(all(k in d for k in ID_KEYS + DETAIL_KEYS), f'ls -d: details keys {sorted(d)}')
        check(d['connected'] == 'True', 'ls -d: connected')
        check(d['dlpe'].startswith("{'trtype': "), 'ls -d: dlpe is the Python repr of the entry')

    info = json.loads(debug.process_info())
    check(list(info)[:len(PROCESS_KEYS)] == PROCESS_KEYS, f'status: process_info keys {list(info)}')
    d = ids[0]
    cinfo = json.loads(debug.controller_info(d['transport'], d['traddr'], d['trsvcid'], d['subsysnqn'],
                                             d['host-traddr'], d['host-iface'], d['host-nqn']))
    check('connect attempts' in cinfo and cinfo['subsysnqn'] == d['subsysnqn'], 'controller_info: info dict')
    check(debug.controller_info('tcp', '192.0.2.99', '4420', 'x', '', '', '') == '{}', 'controller_info: unknown -> {}')

    check(props.Get('org.nvmexpress.stac.debug', 'tron') == False, 'tron: Get false')
    if who == 'root':
        props.Set('org.nvmexpress.stac.debug', 'tron', dbus.Boolean(True))
        check(props.Get('org.nvmexpress.stac.debug', 'log_level') == 'DEBUG', 'tron as root')
        props.Set('org.nvmexpress.stac.debug', 'tron', dbus.Boolean(False))
        check(props.Get('org.nvmexpress.stac.debug', 'log_level') == 'INFO', 'troff as root')
    else:
        try:
            props.Set('org.nvmexpress.stac.debug', 'tron', dbus.Boolean(True))
            denied = False
        except dbus.exceptions.DBusException as e:
            denied = 'AccessDenied' in e.get_dbus_name()
        check(denied, 'tron: Set denied to non-root')
    print('python3-dbus checks passed')


main()
