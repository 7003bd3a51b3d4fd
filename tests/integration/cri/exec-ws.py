#!/usr/bin/env python3
"""Attach to a CRI Exec URL (containerd's streaming server) over a websocket
with the v4.channel.k8s.io protocol, as `kubectl exec` through the API
server does, for clients-cri.bats.

    exec-ws.py URL [STDIN_TEXT]

STDIN_TEXT, if given, is sent on channel 0 (stdin) once connected.  Every
binary message starts with its channel: 1 stdout, 2 stderr, 3 the
exec's end as a JSON metav1.Status (exit code in details.causes).  Prints
{"stdout": ..., "stderr": ..., "exit_code": N} once the server closes.
"""
import json
import sys

import websocket  # python3-websocket (websocket-client)


def exit_code(status):
    if status.get("status") == "Success":
        return 0
    for cause in status.get("details", {}).get("causes", []):
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    return -1


def main():
    url = sys.argv[1].replace("http://", "ws://", 1)
    ws = websocket.create_connection(url, subprotocols=["v4.channel.k8s.io"], timeout=60)
    if ws.getsubprotocol() != "v4.channel.k8s.io":
        print("server chose protocol %r" % ws.getsubprotocol(), file=sys.stderr)
        return 1
    if len(sys.argv) > 2:
        ws.send_binary(b"\x00" + sys.argv[2].encode())
    out = {1: b"", 2: b""}
    status = None
    while True:
        try:
            op, data = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            break
        if op == websocket.ABNF.OPCODE_CLOSE:
            break
        if not data:
            continue
        if data[0] in out:
            out[data[0]] += data[1:]
        elif data[0] == 3 and len(data) > 1:
            status = json.loads(data[1:])
    ws.close()
    if status is None:
        print("no status on the error channel", file=sys.stderr)
        return 1
    print(json.dumps({"stdout": out[1].decode(errors="replace"),
                      "stderr": out[2].decode(errors="replace"),
                      "exit_code": exit_code(status), "status": status}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
