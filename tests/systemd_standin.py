#!/usr/bin/env python3
"""A stand-in for systemd on a private bus, for tests/collector_systemd_test.sh.

Owns org.freedesktop.systemd1 (python3-dbus, GLib main loop) and exposes
Manager.GetUnit / LoadUnit / Subscribe / Unsubscribe and one Unit object per
--unit NAME=SHOWFILE, whose properties (org.freedesktop.systemd1.Unit and
.Service, typed as systemd types them) come from a real `systemctl show` dump.
A dump that lacks a property (the partial ones have no ActiveState) takes it
from --set NAME:Prop=Value. Units not given do not exist: GetUnit says
NoSuchUnit, LoadUnit gives a not-found unit, as systemd does.

Tests drive it through a private interface on the manager object:
  systemd_standin.py --update NAME Prop=Value ...   (emits PropertiesChanged)
  systemd_standin.py --update-from NAME SHOWFILE    (every property we serve)
  systemd_standin.py --calls                        (prints GetAll calls per unit)
--bad-types NAME serves some of NAME's properties with the wrong D-Bus types.
Both sides find the bus in DBUS_SYSTEM_BUS_ADDRESS.
"""
import argparse
import datetime
import sys
import time

import dbus
import dbus.service

BUS_NAME = "org.freedesktop.systemd1"
MANAGER_PATH = "/org/freedesktop/systemd1"
MANAGER = "org.freedesktop.systemd1.Manager"
UNIT = "org.freedesktop.systemd1.Unit"
SERVICE = "org.freedesktop.systemd1.Service"
TEST = "org.nro.Test"

# property -> (interface, D-Bus type), as systemd's own introspection has them
SCHEMA = {
    "Id": (UNIT, "s"), "LoadState": (UNIT, "s"), "ActiveState": (UNIT, "s"),
    "SubState": (UNIT, "s"), "ActiveEnterTimestamp": (UNIT, "t"),
    "NRestarts": (SERVICE, "u"), "ExecMainCode": (SERVICE, "i"),
    "ExecMainStatus": (SERVICE, "i"), "Result": (SERVICE, "s"),
    "MainPID": (SERVICE, "u"),
}


def escape(name):
    """systemd's object path escaping: every byte not [A-Za-z0-9] as _xx."""
    return "".join(c if c.isalnum() and c.isascii() else "_%02x" % ord(c) for c in name)


def timestamp_us(text):
    """'Fri 2022-02-11 19:06:30 UTC' -> microseconds since the epoch (0 if empty)."""
    if not text:
        return 0
    t = datetime.datetime.strptime(text.split(" ", 1)[1], "%Y-%m-%d %H:%M:%S UTC")
    return int(t.replace(tzinfo=datetime.timezone.utc).timestamp()) * 1000000


def typed(prop, text):
    kind = SCHEMA[prop][1]
    if prop == "ActiveEnterTimestamp":
        return dbus.UInt64(timestamp_us(text))
    if kind == "u":
        return dbus.UInt32(int(text))
    if kind == "i":
        return dbus.Int32(int(text))
    return dbus.String(text)


def read_show(path):
    props = {}
    for line in open(path, encoding="utf-8"):
        key, sep, value = line.rstrip("\n").partition("=")
        if sep and key in SCHEMA:
            props[key] = value
    return props


class Unit(dbus.service.Object):
    def __init__(self, bus, name, props, bad_types=False):
        self.name = name
        self.path = MANAGER_PATH + "/unit/" + escape(name)
        self.props = {k: typed(k, v) for k, v in props.items()}
        self.props["Id"] = dbus.String(name)
        if bad_types:  # what a broken peer could send: the collector must cope
            self.props["NRestarts"] = dbus.String("many")
            self.props["ActiveEnterTimestamp"] = dbus.Int16(-1)
            self.props["ActiveState"] = dbus.UInt32(1)
        self.getall_calls = 0
        dbus.service.Object.__init__(self, bus, self.path)

    def by_iface(self, iface):
        return dbus.Dictionary({k: v for k, v in self.props.items() if SCHEMA[k][0] == iface},
                               signature="sv")

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="ss", out_signature="v")
    def Get(self, iface, prop):
        if prop not in self.props or SCHEMA[prop][0] != iface:
            raise dbus.exceptions.DBusException("no such property " + prop,
                                                name="org.freedesktop.DBus.Error.UnknownProperty")
        return self.props[prop]

    @dbus.service.method(dbus.PROPERTIES_IFACE, in_signature="s", out_signature="a{sv}")
    def GetAll(self, iface):
        if iface not in (UNIT, SERVICE):
            raise dbus.exceptions.DBusException("no interface " + iface,
                                                name="org.freedesktop.DBus.Error.UnknownInterface")
        self.getall_calls += 1
        return self.by_iface(iface)

    @dbus.service.signal(dbus.PROPERTIES_IFACE, signature="sa{sv}as")
    def PropertiesChanged(self, iface, changed, invalidated):
        pass

    def update(self, changes):
        touched = {}
        for k, v in changes.items():
            self.props[k] = typed(k, v)
            touched.setdefault(SCHEMA[k][0], {})[k] = self.props[k]
        for iface, changed in touched.items():
            self.PropertiesChanged(iface, dbus.Dictionary(changed, signature="sv"),
                                   dbus.Array([], signature="s"))


class Manager(dbus.service.Object):
    def __init__(self, bus, units):
        dbus.service.Object.__init__(self, bus, MANAGER_PATH)
        self.bus = bus
        self.units = units
        self.not_found = {}

    @dbus.service.method(MANAGER, in_signature="s", out_signature="o")
    def GetUnit(self, name):
        if name not in self.units:
            raise dbus.exceptions.DBusException("Unit %s not loaded." % name,
                                                name="org.freedesktop.systemd1.NoSuchUnit")
        return dbus.ObjectPath(self.units[name].path)

    @dbus.service.method(MANAGER, in_signature="s", out_signature="o")
    def LoadUnit(self, name):
        if name in self.units:
            return dbus.ObjectPath(self.units[name].path)
        if name not in self.not_found:
            self.not_found[name] = Unit(self.bus, name, {
                "LoadState": "not-found", "ActiveState": "inactive", "SubState": "dead"})
        return dbus.ObjectPath(self.not_found[name].path)

    @dbus.service.method(MANAGER, in_signature="", out_signature="")
    def Subscribe(self):
        pass

    @dbus.service.method(MANAGER, in_signature="", out_signature="")
    def Unsubscribe(self):
        pass

    @dbus.service.method(TEST, in_signature="sa{ss}", out_signature="")
    def Update(self, name, changes):
        sent = time.time() * 1000  # when the signal left, for bench/services.sh
        self.units[str(name)].update({str(k): str(v) for k, v in changes.items()})
        print("emitted %s %.3f" % (name, sent), flush=True)

    @dbus.service.method(TEST, in_signature="", out_signature="a{su}")
    def Calls(self):
        return {n: dbus.UInt32(u.getall_calls) for n, u in self.units.items()}


def parse_assignments(items):
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or k not in SCHEMA:
            sys.exit("not a known Prop=Value: " + item)
        out[k] = v
    return out


def serve(args):
    from dbus.mainloop.glib import DBusGMainLoop
    from gi.repository import GLib
    DBusGMainLoop(set_as_default=True)
    bus = dbus.SystemBus()
    units = {}
    sets = {}
    for s in args.set or []:
        name, _, assignment = s.partition(":")
        sets.setdefault(name, []).append(assignment)
    for u in args.unit or []:
        name, _, path = u.partition("=")
        props = read_show(path)
        props.update(parse_assignments(sets.get(name, [])))
        units[name] = Unit(bus, name, props, bad_types=name in (args.bad_types or []))
    Manager(bus, units)
    # own the name last: a client that sees it finds every object in place
    name = dbus.service.BusName(BUS_NAME, bus, do_not_queue=True)  # noqa: F841 (kept: released when collected)
    print("ready", flush=True)
    GLib.MainLoop().run()
    del name


def control(args):
    bus = dbus.SystemBus()
    mgr = bus.get_object(BUS_NAME, MANAGER_PATH)
    if args.calls:
        for n, c in sorted(mgr.Calls(dbus_interface=TEST).items()):
            print(n, int(c))
    elif args.update_from:
        name, path = args.update_from
        mgr.Update(name, read_show(path), dbus_interface=TEST)
    else:
        mgr.Update(args.update[0], parse_assignments(args.update[1:]), dbus_interface=TEST)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--unit", action="append", help="NAME=SHOWFILE")
    p.add_argument("--set", action="append", help="NAME:Prop=Value")
    p.add_argument("--update", nargs="+", metavar="ARG")
    p.add_argument("--update-from", nargs=2, metavar=("NAME", "SHOWFILE"))
    p.add_argument("--calls", action="store_true")
    p.add_argument("--bad-types", action="append", metavar="NAME",
                   help="serve NAME's ActiveState, NRestarts, ActiveEnterTimestamp with wrong types")
    args = p.parse_args()
    if args.update or args.update_from or args.calls:
        control(args)
    else:
        serve(args)


if __name__ == "__main__":
    main()
