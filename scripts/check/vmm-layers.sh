#!/usr/bin/env bash
# The folders of src/vmm include each other without cycles, and devices code
# against the VMM's contract headers, never against its snapshot, migration or
# API code (those reach devices through the vm_state_ops hooks the devices
# register on their VM: vm.h).
# kvm/ (the VM, vCPU, memory, register and CPUID core over /dev/kvm) sits
# below everything: it includes only the contract headers, and only the core,
# snapshot and migrate reach into it (devices, boot, virtio, pci and api see a
# VM through vm.h).
# Nodes are the folders (kvm, boot, devices, virtio, pci, snapshot, migrate, api),
# the headers at src/vmm's top (vm.h, bus.h, snap-format.h ...: the contract)
# and the sources there (vm.c ...: the core that composes the rest).  An
# include is resolved as the compiler does: beside the file, then src/vmm,
# then src/lib.  Run by scripts/test.sh; prints the graph with -v.
set -euo pipefail
cd "$(dirname "$0")/../.."
exec python3 - "${1:-}" <<'PY'
import os, re, sys

root, lib = 'src/vmm', 'src/lib'
verbose = sys.argv[1] == '-v'
# Folders whose code must not include these folders' headers.
forbidden = {d: {'snapshot', 'migrate', 'api'} for d in ('boot', 'devices', 'virtio', 'pci')}
# Snapshots and migrations reach the devices (virtio, serial, the split irqchip's IOAPIC
# and PIT) only through their vm_state_ops hooks.
forbidden.update({d: {'virtio', 'devices'} for d in ('snapshot', 'migrate')})
# The KVM layer knows no device, boot format, snapshot, migration or API.
forbidden['kvm'] = {'boot', 'devices', 'virtio', 'pci', 'snapshot', 'migrate', 'api'}
# Devices, boot, virtio, pci and the API see a VM through vm.h, not through kvm/.
for d in ('boot', 'devices', 'virtio', 'pci', 'api'):
    forbidden.setdefault(d, set()).add('kvm')
include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def node(path):
    rel = os.path.relpath(path, root)
    top = rel.split(os.sep)[0]
    if top != rel:
        return top
    return '(vmm headers)' if rel.endswith('.h') else '(vmm core)'


edges = {}
for dirpath, _, files in os.walk(root):
    for f in sorted(files):
        if not f.endswith(('.c', '.h')):
            continue
        path = os.path.join(dirpath, f)
        src = node(path)
        with open(path, errors='replace') as fh:
            text = fh.read()
        for m in include.finditer(text):
            for base in (dirpath, root, lib):
                target = os.path.normpath(os.path.join(base, m.group(1)))
                if os.path.exists(target):
                    break
            else:
                continue
            if not target.startswith(root + os.sep):
                continue
            dst = node(target)
            if dst != src:
                edges.setdefault(src, {}).setdefault(dst, '%s includes "%s"' % (path, m.group(1)))

bad = 0
for src, dsts in sorted(edges.items()):
    if verbose:
        print('%s -> %s' % (src, ', '.join(sorted(dsts))))
    for dst, why in sorted(dsts.items()):
        if dst in forbidden.get(src, ()):
            print('vmm-layers: %s must not include %s: %s' % (src, dst, why))
            bad = 1

# A cycle: a depth-first search that meets a node on its own path.
state, stack = {}, []


def visit(n):
    global bad
    state[n] = 'open'
    stack.append(n)
    for m in sorted(edges.get(n, {})):
        if state.get(m) == 'open':
            cyc = stack[stack.index(m):] + [m]
            print('vmm-layers: include cycle ' + ' -> '.join(cyc))
            for a, b in zip(cyc, cyc[1:]):
                print('  ' + edges[a][b])
            bad = 1
        elif m not in state:
            visit(m)
    stack.pop()
    state[n] = 'done'


for n in sorted(edges):
    if n not in state:
        visit(n)
sys.exit(bad)
PY
