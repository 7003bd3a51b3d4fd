#!/usr/bin/env python3
"""A tiny CRI client (crictl is not packaged in Debian) for clients-cri.bats.

    cri.py GENDIR SOCKET SERVICE.METHOD [REQUEST_JSON]

GENDIR holds api_pb2.py, made by `protoc --python_out=GENDIR api.proto` from
the api.proto beside this file.  The request is the protobuf JSON mapping of
the method's request message (field names as in api.proto or lowerCamelCase);
the response is printed the same way, with field names as in api.proto.  On
a gRPC error, prints "CODE: details" to stderr and exits 1.
"""
import json
import sys

import grpc
from google.protobuf import json_format


def main():
    gendir, sock, method = sys.argv[1:4]
    body = sys.argv[4] if len(sys.argv) > 4 else "{}"
    sys.path.insert(0, gendir)
    import api_pb2  # noqa: E402 (generated at test time)

    service, name = method.split(".")
    desc = api_pb2.DESCRIPTOR.services_by_name[service].methods_by_name[name]
    req_cls = getattr(api_pb2, desc.input_type.name)
    resp_cls = getattr(api_pb2, desc.output_type.name)
    req = json_format.Parse(body, req_cls())
    with grpc.insecure_channel("unix:" + sock) as ch:
        call = ch.unary_unary(
            "/runtime.v1.%s/%s" % (service, name),
            request_serializer=req_cls.SerializeToString,
            response_deserializer=resp_cls.FromString,
        )
        try:
            resp = call(req, timeout=120)
        except grpc.RpcError as e:
            print("%s: %s" % (e.code().name, e.details()), file=sys.stderr)
            return 1
    out = json_format.MessageToDict(
        resp, preserving_proto_field_name=True, including_default_value_fields=True
    )
    # ExecSync's stdout and stderr are bytes (base64 in JSON): print them as text.
    for f in resp.DESCRIPTOR.fields:
        if f.type == f.TYPE_BYTES:
            out[f.name] = getattr(resp, f.name).decode(errors="replace")
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
