#!/usr/bin/env python3
"""Checks what the QEMU guest printed (test/guest-init.sh) and the build logs.

The guest only dumps raw readings between "@@BEGIN name" / "@@END name"
markers; every judgement is made here, on the host, with the stdlib only.
Prints one line per check and a closing "N passed, M failed" line; exits 1
when any check failed.
"""
import argparse
import json
import re
import sys
from pathlib import Path

USER_HZ = 100  # /proc/stat's unit on x86
NS_PER_TICK = 1_000_000_000 // USER_HZ
MIB = 1 << 20

KEYS = {
    "cpu": ["cpus", "total_ns", "busy_ns", "idle_ns", "iowait_ns"],
    "ram": ["total_ram", "ram_libre", "uso_ram", "porcentaje_ram", "ram_disponible"],
    "procesos": [
        "procesos_corriendo",
        "total_procesos",
        "procesos_durmiendo",
        "procesos_zombie",
        "procesos_parados",
    ],
}


class Checker:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def check(self, ok, what, detail=""):
        if ok:
            self.passed += 1
            print(f"ok - {what}")
        else:
            self.failed += 1
            print(f"FAIL - {what}" + (f": {detail}" if detail else ""))
        return ok


def parse_sections(text):
    """Maps each section name (marker text without its @uptime) to its lines."""
    sections, name, lines = {}, None, []
    for raw in text.splitlines():
        line = raw.rstrip("\r")
        if line.startswith("@@BEGIN "):
            name, lines = re.sub(r" @[0-9.]+$", "", line[len("@@BEGIN "):]), []
        elif line.startswith("@@END ") and name is not None:
            sections[name] = lines
            name = None
        elif name is not None:
            lines.append(line)
    return sections


def parse_meminfo(lines):
    """Returns {field: kB} for the lines that look like /proc/meminfo."""
    out = {}
    for line in lines:
        match = re.match(r"^(\w[\w()]*):\s+(\d+)", line)
        if match:
            out[match.group(1)] = int(match.group(2))
    return out


def parse_record(kind, line, c, where):
    """Parses one output line of a module; checks JSON, keys, order, types."""
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, TypeError) as err:
        c.check(False, f"{where}: valid JSON", f"{err}: {line!r}")
        return None
    if not c.check(isinstance(record, dict) and list(record) == KEYS[kind],
                   f"{where}: exactly the keys {KEYS[kind]} in order",
                   repr(line)):
        return None
    numbers_ok = all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0
        and (isinstance(v, int) or k == "porcentaje_ram")
        for k, v in record.items())
    c.check(numbers_ok, f"{where}: non-negative integers"
            + (" (porcentaje_ram a number)" if kind == "ram" else ""), repr(line))
    return record if numbers_ok else None


def section(sections, name, c):
    lines = sections.get(name)
    c.check(lines is not None, f"guest printed section '{name}'")
    return lines or []


def check_build(c, build_log, checkpatch_log):
    log = Path(build_log).read_text(errors="replace") if Path(build_log).exists() else ""
    # Compiler and modpost diagnostics; make's own notes are not the build's.
    warnings = [l for l in log.splitlines()
                if re.search(r"\b(warning|error):", l, re.I)
                and not re.match(r"make(\[\d+\])?: ", l)]
    c.check(bool(log) and not warnings, "build with W=1 prints no warning",
            "; ".join(warnings[:5]) or "no build log")
    log = Path(checkpatch_log).read_text(errors="replace") if Path(checkpatch_log).exists() else ""
    totals = re.findall(r"^total: .*$", log, re.M)
    clean = [t for t in totals if t.startswith("total: 0 errors, 0 warnings, 0 checks")]
    c.check(len(totals) == 3 and len(clean) == 3,
            "checkpatch.pl --strict: 0 errors, 0 warnings, 0 checks in all 3 sources",
            "; ".join(totals) or log.strip()[-300:] or "no checkpatch output")


def check_scripts(c, shellcheck_log, dry_run_log, carnet, kver):
    log = Path(shellcheck_log).read_text(errors="replace") if Path(shellcheck_log).exists() else None
    c.check(log == "", "shellcheck: install.sh and test scripts are clean", (log or "no log")[:300])
    log = Path(dry_run_log).read_text(errors="replace") if Path(dry_run_log).exists() else ""
    names = [f"{kind}_{carnet}" for kind in KEYS]
    steps = [f"/lib/modules/{kver}/extra/{name}.ko" for name in names]
    steps += [f"+ depmod -a {kver}",
              "+ write /etc/modules-load.d/so1-monitor.conf: " + " ".join(names)]
    steps += [f"+ modprobe {name}" for name in names]
    missing = [step for step in steps if step not in log]
    missing += [f"build of {name}.ko" for name in names  # the dry run really builds
                if not re.search(rf"LD \[M\]\s+\S*/{name}\.ko$", log, re.M)]
    c.check(not missing and f"installed for {kver}" in log,
            "install.sh dry run: builds, then .ko files in extra/, depmod, modules-load.d, modprobe",
            f"missing {missing}: {log[-300:]}")


def check_files(c, sections, files):
    records = {}
    for kind, path in files.items():
        lines = section(sections, f"file {path}", c)
        c.check(len(lines) == 1, f"{path}: one line of output", repr(lines[:3]))
        records[kind] = parse_record(kind, lines[0] if lines else "", c, path)
        shape = section(sections, f"shape {path}", c)
        c.check([s.strip() for s in shape] == ["1", "0a"],
                f"{path}: exactly one line, ending in a newline", repr(shape))
    return records


def check_procesos(c, sections):
    lines = section(sections, "procesos", c)
    record = parse_record("procesos", lines[0] if lines else "", c, "procesos reading")
    if record is None:
        return
    parts = (record["procesos_corriendo"] + record["procesos_durmiendo"]
             + record["procesos_zombie"] + record["procesos_parados"])
    c.check(parts == record["total_procesos"], "procesos: the four categories add up to the total",
            f"{parts} != {record['total_procesos']}")
    c.check(record["procesos_corriendo"] >= 1, "procesos: the reader itself counts as running",
            repr(record))
    for name in ("states-before", "states-after"):
        states = [l.split() for l in section(sections, name, c) if l.strip()]
        letters = [s[1][0] for s in states if len(s) == 2 and s[1]]
        zombies = letters.count("Z")
        stopped = sum(1 for s in letters if s in "Tt")
        c.check(zombies >= 2 and stopped >= 2,
                f"{name}: the guest made >= 2 zombies and >= 2 stopped processes",
                f"{zombies} zombies, {stopped} stopped")
        c.check(record["procesos_zombie"] == zombies,
                f"procesos_zombie equals the 'Z' count from /proc/[pid]/stat ({name})",
                f"module {record['procesos_zombie']}, /proc {zombies}")
        c.check(record["procesos_parados"] == stopped,
                f"procesos_parados equals the 'T'/'t' count from /proc/[pid]/stat ({name})",
                f"module {record['procesos_parados']}, /proc {stopped}")
        c.check(abs(record["total_procesos"] - len(states)) <= 2,
                f"total_procesos equals the number of /proc/[pid] entries +-2 ({name})",
                f"module {record['total_procesos']}, /proc {len(states)}")


def check_ram(c, sections):
    lines = section(sections, "ram", c)
    if len(lines) < 3:
        c.check(False, "ram: two readings around /proc/meminfo", repr(lines))
        return
    raw_readings = [lines[0], lines[-1]]
    meminfo = parse_meminfo(lines[1:-1])
    if not c.check(all(k in meminfo for k in ("MemTotal", "MemFree", "MemAvailable")),
                   "ram: /proc/meminfo has MemTotal, MemFree, MemAvailable"):
        return
    expected_pct = (meminfo["MemTotal"] - meminfo["MemAvailable"]) * 100 / meminfo["MemTotal"]
    for i, raw in enumerate(raw_readings):
        where = f"ram reading {i + 1}"
        c.check(re.search(r'"porcentaje_ram":\d+\.\d\d,', raw) is not None,
                f"{where}: porcentaje_ram printed with exactly two decimals", raw)
        record = parse_record("ram", raw, c, where)
        if record is None:
            continue
        c.check(abs(record["porcentaje_ram"] - expected_pct) <= 1.0,
                f"{where}: porcentaje_ram within 1 point of /proc/meminfo's "
                "(MemTotal - MemAvailable) / MemTotal",
                f"{record['porcentaje_ram']} vs {expected_pct:.2f}")
        c.check(record["total_ram"] == meminfo["MemTotal"] // 1024,
                f"{where}: total_ram is MemTotal in MiB",
                f"{record['total_ram']} vs {meminfo['MemTotal'] // 1024}")
        c.check(abs(record["ram_disponible"] - meminfo["MemAvailable"] * 1024) <= MIB,
                f"{where}: ram_disponible is MemAvailable in bytes (+-1 MiB)",
                f"{record['ram_disponible']} vs {meminfo['MemAvailable'] * 1024}")
        c.check(abs(record["ram_libre"] - meminfo["MemFree"] * 1024) <= MIB,
                f"{where}: ram_libre is MemFree in bytes (+-1 MiB)",
                f"{record['ram_libre']} vs {meminfo['MemFree'] * 1024}")
        used_mib = (meminfo["MemTotal"] - meminfo["MemAvailable"]) / 1024
        c.check(abs(record["uso_ram"] - used_mib) <= 1.5,
                f"{where}: uso_ram is MemTotal - MemAvailable in MiB (+-1)",
                f"{record['uso_ram']} vs {used_mib:.1f}")


def check_cpu_window(c, sections, name, vcpus, bound):
    lines = section(sections, name, c)
    if len(lines) != 4:
        c.check(False, f"{name}: three readings and /proc/stat's cpu line", repr(lines))
        return
    first, after_stat, last = (parse_record("cpu", lines[i], c, f"{name} reading {i}")
                               for i in (0, 2, 3))
    if None in (first, after_stat, last):
        return
    for r in (first, after_stat, last):
        c.check(r["cpus"] == vcpus, f"{name}: cpus equals the guest's {vcpus} vCPUs", repr(r))
        c.check(r["busy_ns"] + r["idle_ns"] + r["iowait_ns"] == r["total_ns"],
                f"{name}: busy + idle + iowait == total", repr(r))
    c.check(all(first[k] <= after_stat[k] <= last[k] for k in KEYS["cpu"][1:]),
            f"{name}: counters never go backwards", repr((first, after_stat, last)))
    # /proc/stat, read between two module readings, must lie between them
    # (it truncates each of its 8 summed fields to whole ticks).
    fields = lines[1].split()
    if c.check(fields[:1] == ["cpu"] and len(fields) >= 9, f"{name}: /proc/stat cpu line",
               lines[1]):
        ticks = [int(f) for f in fields[1:9]]
        stat_total = sum(ticks) * NS_PER_TICK
        stat_idle = ticks[3] * NS_PER_TICK
        c.check(first["total_ns"] - 8 * NS_PER_TICK <= stat_total <= after_stat["total_ns"],
                f"{name}: total_ns agrees with /proc/stat",
                f"{first['total_ns']} <= {stat_total} <= {after_stat['total_ns']}")
        c.check(first["idle_ns"] - NS_PER_TICK <= stat_idle <= after_stat["idle_ns"],
                f"{name}: idle_ns agrees with /proc/stat",
                f"{first['idle_ns']} <= {stat_idle} <= {after_stat['idle_ns']}")
    total = last["total_ns"] - first["total_ns"]
    busy = last["busy_ns"] - first["busy_ns"]
    share = busy / total if total > 0 else -1.0
    low, high = bound
    c.check(total > 0 and low <= share <= high,
            f"{name}: busy share over the 1 s window in [{low:.0%}, {high:.0%}]",
            f"busy {busy} ns of {total} ns = {share:.1%}")


def pcp_growth_kb(before, after):
    """Growth of the per-CPU free page lists: free memory that MemFree omits."""
    return (after.get("PerCpuFreePages", 0) - before.get("PerCpuFreePages", 0)) * 4


SLAB_LIMIT_KB = 160  # noise after settling: ~10 KiB; a 32-byte leak per open: ~310 KiB


def leak_figures(c, sections, path):
    """(MemAvailable drop net of per-CPU lists, SUnreclaim growth) in kB, or None."""
    before = parse_meminfo(section(sections, f"leak-before {path}", c))
    after = parse_meminfo(section(sections, f"leak-after {path}", c))
    keys = ("MemAvailable", "SUnreclaim", "PerCpuFreePages")
    if not all(k in before and k in after for k in keys):
        c.check(False, f"{path}: {', '.join(keys)} before and after 10,000 reads")
        return None
    pcp_growth = (after["PerCpuFreePages"] - before["PerCpuFreePages"]) * 4
    drop = before["MemAvailable"] - after["MemAvailable"] - pcp_growth
    slab = after["SUnreclaim"] - before["SUnreclaim"]
    print(f"# {path}: MemAvailable {after['MemAvailable'] - before['MemAvailable']:+} kB "
          f"(per-CPU free lists {pcp_growth:+} kB), SUnreclaim {slab:+} kB over 10,000 reads")
    return drop, slab


def check_leaks(c, sections, files):
    """MemAvailable within 1 MiB (pages parked on per-CPU free lists are free
    memory that MemFree leaves out, so their swing is taken out), and
    unreclaimable slab below SLAB_LIMIT_KB; both checks must flag the controls."""
    for path in files:
        figures = leak_figures(c, sections, path)
        if figures:
            drop, slab = figures
            c.check(abs(drop) <= 1024, f"{path}: 10,000 reads leave MemAvailable within 1 MiB",
                    f"dropped by {drop} kB")
            c.check(slab < SLAB_LIMIT_KB,
                    f"{path}: 10,000 reads grow unreclaimable slab by < {SLAB_LIMIT_KB} KiB",
                    f"grew by {slab} kB")
    figures = leak_figures(c, sections, "/proc/leak_control_no_release")
    c.check(figures is not None and figures[0] > 1024,
            "negative control: the MemAvailable check flags a file without release",
            f"figures {figures}")
    figures = leak_figures(c, sections, "/proc/leak_control_seq_release")
    c.check(figures is not None and figures[1] >= SLAB_LIMIT_KB,
            "negative control: the slab check flags seq_release instead of single_release",
            f"figures {figures}")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data_log")
    parser.add_argument("--carnet", required=True)
    parser.add_argument("--kver", required=True)
    parser.add_argument("--vcpus", type=int, default=2)
    parser.add_argument("--build-log", required=True)
    parser.add_argument("--checkpatch-log", required=True)
    parser.add_argument("--shellcheck-log", required=True)
    parser.add_argument("--install-dry-run-log", required=True)
    parser.add_argument("--console-log")
    args = parser.parse_args()

    c = Checker()
    check_build(c, args.build_log, args.checkpatch_log)
    check_scripts(c, args.shellcheck_log, args.install_dry_run_log, args.carnet, args.kver)

    data = Path(args.data_log)
    sections = parse_sections(data.read_text(errors="replace") if data.exists() else "")
    files = {kind: f"/proc/{kind}_{args.carnet}" for kind in KEYS}
    c.check(section(sections, "boot", c)[:1] == [args.kver], f"guest runs kernel {args.kver}")
    loaded = section(sections, "insmod", c)
    c.check(all(f"loaded {kind}_{args.carnet}.ko" in loaded for kind in KEYS),
            "insmod loads all three modules", repr(loaded))

    check_files(c, sections, files)
    check_procesos(c, sections)
    check_ram(c, sections)
    check_cpu_window(c, sections, "cpu-idle", args.vcpus, (0.0, 0.20))
    check_cpu_window(c, sections, "cpu-busy", args.vcpus, (0.80, 1.0))
    check_leaks(c, sections, files.values())

    removed = section(sections, "rmmod", c)
    c.check("rmmod ok" in removed, "rmmod unloads all three modules", repr(removed))
    for path in files.values():
        c.check(f"gone {path}" in removed, f"{path} is gone after rmmod", repr(removed))
    c.check("@@DONE" in data.read_text(errors="replace") if data.exists() else False,
            "guest ran its script to the end")

    if c.failed and args.console_log and Path(args.console_log).exists():
        print(f"# guest console: {args.console_log}")
    print(f"{c.passed} passed, {c.failed} failed")
    return 1 if c.failed else 0


if __name__ == "__main__":
    sys.exit(main())
