#!/usr/bin/python3
"""A scriptable Modbus device for gatehouse tests (Debian pymodbus 3.0.0rc1).

Run with /usr/bin/python3 (the only interpreter that sees Debian's pymodbus).

Protocol on stdout, one JSON object per line:
  {"event":"listening","port":N}            Modbus TCP server is accepting on 127.0.0.1:N
  {"event":"listening","path":P}            serial RTU server has the serial device P open
  {"event":"write","unit":U,"table":"co"|"hr","address":A,"values":[...],"t":ms}
                                            a client request stored values (values read back from the store)
  {"event":"dropped","unit":U}              a request to a muted unit arrived and got no answer
  {"event":"ok","id":..}                    a stdin command succeeded
  {"event":"value","id":..,"values":[...]}  reply to "get"
  {"event":"error","id":..,"message":M}     a stdin command failed (the device keeps running)

Commands on stdin, one JSON object per line ("id" optional, echoed back):
  {"op":"set","unit":1,"table":"di","address":0,"values":[true]}   write without a write record
  {"op":"get","unit":1,"table":"co","address":0,"count":2}
  {"op":"mute","unit":2,"on":true}          unit stops answering (no response at all) until unmuted

Exits cleanly on SIGTERM or stdin EOF.
"""
import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time

from pymodbus.datastore import (
    ModbusSequentialDataBlock,
    ModbusServerContext,
    ModbusSlaveContext,
)
from pymodbus.server.async_io import (
    ModbusConnectedRequestHandler,
    ModbusSerialServer,
    ModbusSingleRequestHandler,
    ModbusTcpServer,
)
from pymodbus.transaction import ModbusRtuFramer, ModbusSocketFramer

TABLE_SIZE = 200
TABLES = ("co", "di", "hr", "ir")
BIT_TABLES = ("co", "di")
# ModbusSlaveContext keys its store by the first letter of the table name.
STORE_KEY = {"co": "c", "di": "d", "hr": "h", "ir": "i"}
TABLE_OF_STORE_KEY = {v: k for k, v in STORE_KEY.items()}

muted_units = set()


def emit(record):
    sys.stdout.write(json.dumps(record, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def normalise(table, values):
    if table in BIT_TABLES:
        return [bool(v) for v in values]
    return [int(v) for v in values]


class RecordingSlaveContext(ModbusSlaveContext):
    """A unit whose client-initiated writes are reported on stdout.

    The record carries the values read back from the store after the write,
    so it shows what the device actually stored.
    """

    def __init__(self, unit):
        super().__init__(
            co=ModbusSequentialDataBlock(0, [False] * TABLE_SIZE),
            di=ModbusSequentialDataBlock(0, [False] * TABLE_SIZE),
            hr=ModbusSequentialDataBlock(0, [0] * TABLE_SIZE),
            ir=ModbusSequentialDataBlock(0, [0] * TABLE_SIZE),
            zero_mode=True,
        )
        self.unit = unit

    def setValues(self, fc_as_hex, address, values):  # pylint: disable=invalid-name
        super().setValues(fc_as_hex, address, values)
        table = TABLE_OF_STORE_KEY[self.decode(fc_as_hex)]
        stored = self.store[STORE_KEY[table]].getValues(address, len(values))
        emit(
            {
                "event": "write",
                "unit": self.unit,
                "table": table,
                "address": address,
                "values": normalise(table, stored),
                "t": time.time() * 1000.0,
            }
        )


def drop_if_muted(handler_class):
    """Wrap a request handler so muted units get no response at all."""

    class MutingHandler(handler_class):
        def execute(self, request, *addr):
            if request.unit_id in muted_units:
                emit({"event": "dropped", "unit": request.unit_id})
                return
            super().execute(request, *addr)

    return MutingHandler


def unit_store(context, unit, table):
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}, expected one of {list(TABLES)}")
    if unit not in context.slaves():
        raise ValueError(f"unknown unit {unit!r}, device has units {context.slaves()}")
    return context[unit].store[STORE_KEY[table]]


def check_range(address, count):
    if not isinstance(address, int) or not isinstance(count, int):
        raise ValueError("address and count must be integers")
    if address < 0 or count < 0 or address + count > TABLE_SIZE:
        raise ValueError(f"range {address}+{count} outside 0..{TABLE_SIZE}")


def run_command(context, line):
    cmd_id = None
    try:
        cmd = json.loads(line)
        if not isinstance(cmd, dict):
            raise ValueError("command must be a JSON object")
        cmd_id = cmd.get("id")
        op = cmd.get("op")
        if op == "set":
            values = cmd["values"]
            if not isinstance(values, list):
                raise ValueError("values must be a list")
            check_range(cmd["address"], len(values))
            store = unit_store(context, cmd["unit"], cmd["table"])
            store.setValues(cmd["address"], normalise(cmd["table"], values))
            emit({"event": "ok", "id": cmd_id})
        elif op == "get":
            check_range(cmd["address"], cmd["count"])
            store = unit_store(context, cmd["unit"], cmd["table"])
            values = store.getValues(cmd["address"], cmd["count"])
            emit({"event": "value", "id": cmd_id, "values": normalise(cmd["table"], values)})
        elif op == "mute":
            unit = cmd["unit"]
            if unit not in context.slaves():
                raise ValueError(f"unknown unit {unit!r}")
            if cmd["on"]:
                muted_units.add(unit)
            else:
                muted_units.discard(unit)
            emit({"event": "ok", "id": cmd_id})
        else:
            raise ValueError(f"unknown op {op!r}")
    except Exception as exc:  # pylint: disable=broad-except
        emit({"event": "error", "id": cmd_id, "message": f"{type(exc).__name__}: {exc}"})


async def read_commands(context, stop):
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(sys.stdin.fileno(), "rb", 0)
    )
    while True:
        line = await reader.readline()
        if not line:
            break
        line = line.strip()
        if line:
            run_command(context, line)
    stop.set()


async def start_tcp(context, port):
    server = ModbusTcpServer(
        context,
        framer=ModbusSocketFramer,
        address=("127.0.0.1", port),
        handler=drop_if_muted(ModbusConnectedRequestHandler),
        allow_reuse_address=True,
    )
    serve_task = asyncio.create_task(server.serve_forever())
    serving = asyncio.ensure_future(server.serving)
    done, _ = await asyncio.wait({serve_task, serving}, return_when=asyncio.FIRST_COMPLETED)
    if serve_task in done:
        serve_task.result()  # raises the bind error
        raise RuntimeError("Modbus TCP server stopped before listening")
    bound_port = server.server.sockets[0].getsockname()[1]
    emit({"event": "listening", "port": bound_port})
    return server, serve_task


async def start_rtu(context, path, baud):
    server = ModbusSerialServer(
        context,
        framer=ModbusRtuFramer,
        port=path,
        baudrate=baud,
        handler=drop_if_muted(ModbusSingleRequestHandler),
    )
    await server.start()
    if server.transport is None:
        # 3.0.0rc1 swallows non-serial errors in _connect and logs them at debug level.
        raise RuntimeError(f"could not open serial port {path}")
    emit({"event": "listening", "path": path})
    return server, None


async def main(args):
    units = [int(u) for u in args.units.split(",") if u.strip()]
    context = ModbusServerContext(
        slaves={unit: RecordingSlaveContext(unit) for unit in units}, single=False
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)

    if args.rtu:
        server, serve_task = await start_rtu(context, args.rtu, args.baud)
    else:
        server, serve_task = await start_tcp(context, args.port)

    commands_task = asyncio.create_task(read_commands(context, stop))
    await stop.wait()
    commands_task.cancel()
    if isinstance(server, ModbusTcpServer):
        # server_close only cancels handler tasks; close the client sockets too.
        for handler in list(server.active_connections.values()):
            handler.transport.close()
        await server.server_close()
    else:
        await server.shutdown()
    if serve_task is not None:
        serve_task.cancel()
        try:
            await serve_task
        except asyncio.CancelledError:
            pass


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0, help="TCP port on 127.0.0.1 (0 = OS picks)")
    parser.add_argument("--rtu", help="serial device path for Modbus RTU instead of TCP")
    parser.add_argument("--baud", type=int, default=9600, help="RTU baud rate")
    parser.add_argument("--units", default="1", help="comma separated unit ids, e.g. 1,2,3")
    return parser.parse_args()


if __name__ == "__main__":
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if os.environ.get("GATEHOUSE_TEST_DEBUG") else logging.WARNING,
        format="modbus_device %(levelname)s %(name)s: %(message)s",
    )
    try:
        asyncio.run(main(parse_args()))
    except Exception as exc:  # pylint: disable=broad-except
        sys.stderr.write(f"modbus_device: {type(exc).__name__}: {exc}\n")
        sys.exit(1)
