#!/usr/bin/python3
"""Independent client check of stafd's D-Bus API with python3-dbus: every call upstream's
stafctl makes (ls, ls -d, dlp, adlp, status, tron/troff), keys and types of each answer.

Usage: check_stafd.py root|nonroot SECRET
Prints one line per check; exits non-zero on the first failure.
"""
import json
import sys

import dbus

ID_KEYS = ['traddr', 'trsvcid', 'transport', 'subsysnqn', 'host-iface', 'host-traddr']
INFO_KEYS = ['connect attempts', 'retry connect timer', 'origin']
DETAIL_KEYS = ['hostid', 'hostnqn', 'model', 'serial', 'dctype', 'cntrltype', 'connected']
DLPE_KEYS = ['trtype', 'adrfam', 'traddr', 'trsvcid', 'subnqn', 'subtype', 'treq', 'tsas',
             'portid', 'cntlid', 'asqsz', 'eflags']
PROCESS_KEYS = ['tron', 'log-level', 'hostnqn', 'hostid', 'hostkey', 'symname',
                'last known config file', 'config soak timer', 'kernel support.TP8013',
                'kernel support.host_iface', 'terminator.audit timer']


def check(cond, what):
    if not cond:
        print(f'FAIL: {what}')
        sys.exit(1)
    print(f'ok: {what}')


def all_str(d):
    return all(isinstance(k, str) and isinstance(v, str) for k, v in d.items())


def main():
    who, secret = sys.argv[1], sys.argv[2]
    bus = dbus.SystemBus()
    obj = bus.get_object('org.nvmexpress.staf', '/org/nvmexpress/staf')
    iface = dbus.Interface(obj, 'org.nvmexpress.staf')
    debug = dbus.Interface(obj, 'org.nvmexpress.staf.debug')
    props = dbus.Interface(obj, 'org.freedesktop.DBus.Properties')

    # stafctl ls
    ids = iface.list_controllers(False)
    check(len(ids) == 1, 'ls: one DC')
    dc = {str(k): str(v) for k, v in ids[0].items()}
    check(all_str(ids[0]), 'ls: a{ss}')
    check(all(k in dc for k in ID_KEYS + ['host-nqn', 'device']), f'ls: id keys {sorted(dc)}')
    check(dc['device'] == 'nvme?', 'ls: device nvme? on the native backend')
    want_secret = secret if who == 'root' else '(redacted)'
    check(dc.get('dhchap-secret') == want_secret, f'ls: dhchap-secret shown to {who} as {want_secret!r}')

    # stafctl ls -d
    details = iface.list_controllers(True)
    d = details[0]
    check(all(k in d for k in ID_KEYS + INFO_KEYS + DETAIL_KEYS), 'ls -d: details keys')
    check(d['connected'] == 'True' and d['origin'] == 'configured', 'ls -d: connected, configured')
    check(d['model'] == 'nvme-sim', 'ls -d: model from Identify')

    # stafctl adlp / adlp -d
    for detailed in (False, True):
        text = iface.get_all_log_pages(detailed)
        check(isinstance(text, str), f'adlp({detailed}): a string')
        pages = json.loads(text)
        check(isinstance(pages, list) and len(pages) == 1, f'adlp({detailed}): one element')
        check(list(pages[0]) == ['discovery-controller', 'log-pages'], f'adlp({detailed}): element keys')
        entries = pages[0]['log-pages']
        check(len(entries) >= 1, f'adlp({detailed}): entries')
        for e in entries:
            check(list(e) == DLPE_KEYS, f'adlp({detailed}): DLPE keys in upstream order')
            check(all(isinstance(v, str) for v in e.values()), f'adlp({detailed}): DLPE values are strings')
        check(json.dumps(pages) == text, f'adlp({detailed}): byte-identical to Python json.dumps')
        sec = pages[0]['discovery-controller'].get('dhchap-secret')
        check(sec == want_secret, f'adlp({detailed}): secret as {want_secret!r}')

    # stafctl dlp
    args = [dc['transport'], dc['traddr'], dc['trsvcid'], dc['subsysnqn'],
            dc['host-traddr'], dc['host-iface'], dc['host-nqn']]
    lp = iface.get_log_pages(*args)
    check(len(lp) == len(entries) and all(all_str(e) for e in lp), 'dlp: same entries, a{ss}')
    check(sorted(str(k) for k in lp[0]) == sorted(DLPE_KEYS), 'dlp: DLPE keys')
    check(len(iface.get_log_pages('tcp', '192.0.2.99', '8009', '', '', '', '')) == 0, 'dlp: unknown DC -> []')

    # stafctl status
    info = json.loads(debug.process_info())
    check(list(info)[:len(PROCESS_KEYS)] == PROCESS_KEYS, f'status: process_info keys {list(info)}')
    check(info['tron'] is False and info['log-level'] == 'INFO', 'status: tron off, INFO')
    cinfo = json.loads(debug.controller_info(*args))
    check(all(k in cinfo for k in ID_KEYS + INFO_KEYS), 'controller_info: info keys')
    check(debug.controller_info('tcp', '192.0.2.99', '8009', '', '', '', '') == '{}', 'controller_info: unknown -> {}')

    # stafctl tron / troff
    check(props.Get('org.nvmexpress.staf.debug', 'tron') == False, 'tron: Get false')
    check(props.Get('org.nvmexpress.staf.debug', 'log_level') == 'INFO', 'log_level: INFO')
    if who == 'root':
        props.Set('org.nvmexpress.staf.debug', 'tron', dbus.Boolean(True))
        check(props.Get('org.nvmexpress.staf.debug', 'tron') == True, 'tron: Set true as root')
        check(props.Get('org.nvmexpress.staf.debug', 'log_level') == 'DEBUG', 'log_level: DEBUG')
        props.Set('org.nvmexpress.staf.debug', 'tron', dbus.Boolean(False))
        check(props.Get('org.nvmexpress.staf.debug', 'tron') == False, 'troff as root')
    else:
        try:
            props.Set('org.nvmexpress.staf.debug', 'tron', dbus.Boolean(True))
            denied = False
        except dbus.exceptions.DBusException as e:
            denied = 'AccessDenied' in e.get_dbus_name()
        check(denied, 'tron: Set denied to non-root')
        check(props.Get('org.nvmexpress.staf.debug', 'tron') == False, 'tron: unchanged')
    print('python3-dbus checks passed')


main()
