#!/usr/bin/env python3
"""A stand-in CRI runtime for tests/collector_runtime_test.sh.

Serves runtime.v1.RuntimeService Version and Status with grpcio (Debian
python3-grpcio) on a unix socket. The messages are python3-protobuf classes
built from the descriptor set that protoc-c writes from lib/net/cri.proto
(no generated stubs: Debian has no grpc_tools), served through grpcio's
generic handlers.

What it answers is read from MODE_FILE on every call, so a test changes the
runtime's health without restarting it:
  ready | runtime-not-ready | network-not-ready | no-conditions
  slow SECONDS | grpc-error CODE MESSAGE
  bad-message (bytes that are no protobuf) | huge (a 2 MiB Version answer)
  odd-types (extra conditions: one typed "Disk\\nPressure", one CustomReady)
Every call appends "method key=value ..." to LOG_FILE.

  cri_server.py --socket PATH --descriptors FILE --mode-file F --log F
  cri_server.py --garbage --socket PATH   (accepts and writes junk, not HTTP/2)
  cri_server.py --silent --socket PATH    (accepts and reads, never answers:
      a runtime that hangs; unlike "slow", no gRPC server of its own can
      answer DEADLINE_EXCEEDED when the client's grpc-timeout runs out, so
      only the client's own timeout ends the call)
"""
import argparse
import os
import socket
import sys
import threading
import time
from concurrent import futures


def load_messages(path):
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
    fds = descriptor_pb2.FileDescriptorSet.FromString(open(path, "rb").read())
    pool = descriptor_pool.DescriptorPool()
    for f in fds.file:
        pool.Add(f)
    factory = message_factory.MessageFactory(pool)
    return {n: factory.GetPrototype(pool.FindMessageTypeByName("runtime.v1." + n))
            for n in ("VersionRequest", "VersionResponse", "StatusRequest",
                      "StatusResponse", "RuntimeCondition")}


class Runtime:
    def __init__(self, msgs, mode_file, log_file):
        self.m = msgs
        self.mode_file = mode_file
        self.log_file = log_file
        self.lock = threading.Lock()

    def mode(self):
        try:
            return open(self.mode_file).read().strip().split(None, 2) or ["ready"]
        except OSError:
            return ["ready"]

    def log(self, line):
        with self.lock, open(self.log_file, "a") as f:
            f.write(line + "\n")

    def common(self, name, context):
        md = dict(context.invocation_metadata())
        self.log("%s grpc-timeout=%s" % (name, "yes" if context.time_remaining() is not None else "no"))
        mode = self.mode()
        if mode[0] == "slow":
            time.sleep(float(mode[1]))
        elif mode[0] == "grpc-error":
            import grpc
            code = [c for c in grpc.StatusCode if c.value[0] == int(mode[1])][0]
            context.abort(code, mode[2] if len(mode) > 2 else "")
        return mode[0], md

    def version(self, req, context):
        mode, _ = self.common("Version version=%s" % req.version, context)
        return self.m["VersionResponse"](version="0.1.0", runtime_name="containerd",
                                         runtime_version="v" + "1" * (2 << 20) if mode == "huge" else "v1.7.24",
                                         runtime_api_version="v1")

    def serializer(self, cls):
        """cls's own serializer, unless the mode asks for a broken message."""
        def serialize(msg):
            if self.mode()[0] == "bad-message":
                return b"\x0a\xff\x01abc"  # field 1, length 255, 3 bytes there
            return cls.SerializeToString(msg)
        return serialize

    def status(self, req, context):
        mode, _ = self.common("Status verbose=%s" % req.verbose, context)
        cond = self.m["RuntimeCondition"]
        rt = cond(type="RuntimeReady", status=mode != "runtime-not-ready")
        if mode == "runtime-not-ready":
            rt.reason = "ContainerdNotReady"
            rt.message = "containerd is starting"
        net = cond(type="NetworkReady", status=mode != "network-not-ready")
        if mode == "network-not-ready":
            # the words containerd's CRI plugin uses when no CNI config is loaded
            net.reason = "NetworkPluginNotReady"
            net.message = "Network plugin returns error: cni plugin not initialized"
        resp = self.m["StatusResponse"]()
        if mode == "odd-types":
            resp.status.conditions.extend([cond(type="Disk\nPressure", status=True),
                                           cond(type="CustomReady", status=False, reason="Custom")])
        if mode != "no-conditions":
            resp.status.conditions.extend([rt, net])
        else:
            resp.status.SetInParent()
        return resp


def serve(args):
    import grpc
    msgs = load_messages(args.descriptors)
    rt = Runtime(msgs, args.mode_file, args.log)
    handler = grpc.method_handlers_generic_handler("runtime.v1.RuntimeService", {
        "Version": grpc.unary_unary_rpc_method_handler(
            rt.version, request_deserializer=msgs["VersionRequest"].FromString,
            response_serializer=rt.serializer(msgs["VersionResponse"])),
        "Status": grpc.unary_unary_rpc_method_handler(
            rt.status, request_deserializer=msgs["StatusRequest"].FromString,
            response_serializer=rt.serializer(msgs["StatusResponse"])),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4),
                         options=[("grpc.max_send_message_length", 8 << 20)])
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("unix:" + args.socket)
    server.start()
    print("listening", flush=True)
    server.wait_for_termination()


def junk_peer(c):
    """Answers the client's HTTP/2 preface with junk, then holds the line
    until the client hangs up (so the client reads the junk, not a reset)."""
    try:
        c.settimeout(10)
        c.recv(65536)
        c.sendall(b"\x00\x00\x12\x04\x00\x00\x00\x00\x00" + os.urandom(64) + b"not http/2\r\n")
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()


def silent_peer(c):
    """Reads what the client sends and never answers, until it hangs up."""
    try:
        while c.recv(65536):
            pass
    except OSError:
        pass
    c.close()


def garbage(args):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(args.socket)
    s.listen(8)
    print("listening", flush=True)
    while True:
        c, _ = s.accept()
        threading.Thread(target=silent_peer if args.silent else junk_peer, args=(c,),
                         daemon=True).start()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--socket", required=True)
    p.add_argument("--descriptors")
    p.add_argument("--mode-file")
    p.add_argument("--log", default=os.devnull)
    p.add_argument("--garbage", action="store_true")
    p.add_argument("--silent", action="store_true")
    args = p.parse_args()
    (garbage if args.garbage or args.silent else serve)(args)


if __name__ == "__main__":
    sys.exit(main())
