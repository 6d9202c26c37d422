#!/usr/bin/env python3
"""Helper of scripts/rdkafka-suite: reads librdkafka's test table and the test-runner's
output (its JSON report, its summary table and its log), and merges the passes and re-runs
of one suite run into target/rdkafka-suite/results.json.

  rdkafka_suite.py table TEST_C                      print name, flags and scenario of every test
  rdkafka_suite.py scenario TEST_C SCENARIO [TESTS]  print the numbers of the tests of SCENARIO
  rdkafka_suite.py remaining REPORT LOG TEST_C SCENARIO TESTS LOCAL
                                                     print the numbers of the tests an aborted
                                                      run did not finish
  rdkafka_suite.py split LOG... OUTDIR               write one log per test to OUTDIR/<name>.log
  rdkafka_suite.py merge TEST_C OUT META RUNS...     write results.json; RUNS are
                                                      scenario:report:log triples
"""

import json
import os
import re
import sys

ANSI = re.compile(r"\x1b\[[0-9;]*m")
# TEST_SAY prefix: "[<name padded to 28>/<secs>s] "
PREFIX = re.compile(r"^\[(\S+)\s*/\s*([\d.]+)s\] ?")
FAIL_HDR = re.compile(r'^### Test "([^" (]+)')
SUMMARY = re.compile(r"^\|\s*(\S+)\s*\|\s*([A-Z]+)\s*\|\s*([\d.]+)s\s*\|\s?(.*)$")


def strip(s):
    return ANSI.sub("", s)


def parse_table(test_c):
    """The tests[] table of test.c: {name: {"flags": [...], "scenario": str}}, in order."""
    src = open(test_c, encoding="utf-8", errors="replace").read()
    start = src.index("struct test tests[] = {")
    end = src.index("{NULL}};", start)
    body = src[start:end]
    tests = {}
    for chunk in body.split("_TEST(")[1:]:
        name = chunk.split(",", 1)[0].split(")", 1)[0].strip()
        if not re.match(r"^\d{4}_", name):
            continue
        # The entry ends at the next "_TEST(" (we split on it) or at the table end.
        flags = sorted(set(re.findall(r"TEST_F_[A-Z_0-9]+", chunk)))
        m = re.search(r'\.scenario\s*=\s*"([^"]*)"', chunk)
        tests[name] = {"flags": flags, "scenario": m.group(1) if m else "default"}
    return tests


def selected(num, tests_env):
    # The test-runner's own rule: TESTS is matched with strstr() against the test number.
    return not tests_env or num in tests_env


def read_report(path):
    if not path or not os.path.exists(path):
        return None
    txt = open(path, encoding="utf-8", errors="replace").read()
    try:
        return json.loads(txt)
    except ValueError:
        # A report cut short or with odd characters: keep what the regex can read.
        out = {"tests": {}}
        for m in re.finditer(r'"name": "([^"]+)", "state": "([A-Z]+)"[^}]*?"duration": ([\d.]+)', txt):
            out["tests"][m.group(1)] = {"name": m.group(1), "state": m.group(2), "duration": float(m.group(3))}
        return out


SKIPPING = re.compile(r"WARN: SKIPPING TEST: (.*?)(\[\S+\s*/\s*[\d.]+s\].*)?$")


def read_log(path):
    """From a runner log (stderr, and stdout in <log minus .log>.stdout): the last summary
    table (state, duration, failstr per test), the tests seen starting and finishing (with
    their last log time), and the first failure and skip message per test."""
    summary, started, finished, failmsg = {}, set(), {}, {}
    read_log.skipmsg, read_log.last = {}, {}
    if not path or not os.path.exists(path):
        return summary, started, finished, failmsg
    paths = [path]
    if path.endswith(".log") and os.path.exists(path[:-4] + ".stdout"):
        paths.append(path[:-4] + ".stdout")
    lines = []
    for p in paths:
        lines += [strip(l.rstrip("\n")) for l in open(p, encoding="utf-8", errors="replace")]
    tables = []
    for i, l in enumerate(lines):
        m = SUMMARY.match(l)
        if m and m.group(1) != "<MAIN>":
            if not tables or tables[-1][0] != i - 1:
                tables.append([i, {}])
            tables[-1][0] = i
            tables[-1][1][m.group(1)] = {"state": m.group(2), "duration": float(m.group(3)), "msg": m.group(4).strip()}
        p = PREFIX.match(l)
        if p:
            rest = l[p.end():]
            read_log.last[p.group(1)] = float(p.group(2))
            sk = SKIPPING.search(rest)
            if sk and p.group(1) not in read_log.skipmsg:
                read_log.skipmsg[p.group(1)] = sk.group(1).strip()
            if rest.startswith("================= Running test "):
                started.add(rest.split()[3])
            mm = re.match(r"^================= Test (\S+) (PASSED|FAILED|SKIPPED) ", rest)
            if mm:
                finished[mm.group(1)] = {"state": mm.group(2), "duration": float(p.group(2))}
        f = FAIL_HDR.match(l)
        if f and f.group(1) not in failmsg and i + 1 < len(lines):
            failmsg[f.group(1)] = (l[3:].rstrip("#").strip() + " | " + lines[i + 1].strip())
    for _, t in tables:  # later tables win
        summary.update(t)
    return summary, started, finished, failmsg


def cmd_table(test_c):
    for name, t in parse_table(test_c).items():
        print(name, ",".join(t["flags"]) or "-", t["scenario"])


def cmd_scenario(test_c, scenario, tests_env=""):
    nums = []
    for name, t in parse_table(test_c).items():
        num = name[:4]
        if scenario in t["scenario"].split(",") and "TEST_F_MANUAL" not in t["flags"] and selected(num, tests_env):
            if num not in nums:
                nums.append(num)
    print(",".join(nums))


def cmd_remaining(report, log, test_c, scenario, tests_env="", local="0"):
    """Tests of this pass that an aborted test-runner left unfinished. With a report or a
    summary table: those still DNS (did not start) or RUNNING (killed alongside a test that
    timed out). After a crash without either: every test this pass would run that the log
    does not show starting (the one that was running when it crashed is not re-run)."""
    rep = read_report(report)
    summary, started, finished, _ = read_log(log)
    nums = []
    if rep or summary:
        states = {}
        for name, t in (rep or {}).get("tests", {}).items():
            states[name] = t.get("state")
        for name, t in summary.items():
            states.setdefault(name, t["state"])
        for name, t in finished.items():
            states[name] = t["state"]
        for name, st in states.items():
            if name != "<MAIN>" and st in ("DNS", "RUNNING") and name[:4] not in nums:
                nums.append(name[:4])
    elif started:
        for name, t in parse_table(test_c).items():
            fl = t["flags"]
            if (scenario not in t["scenario"].split(",") or not selected(name[:4], tests_env)
                    or "TEST_F_MANUAL" in fl or "TEST_F_KNOWN_ISSUE" in fl
                    or (local != "1" and "TEST_F_LOCAL" in fl)):
                continue
            if name not in started and name not in finished and name[:4] not in nums:
                nums.append(name[:4])
    print(",".join(nums))


def cmd_split(args):
    *logs, outdir = args
    os.makedirs(outdir, exist_ok=True)
    bufs = {}
    for log in logs:
        if not os.path.exists(log):
            continue
        cur = None
        for raw in open(log, encoding="utf-8", errors="replace"):
            l = strip(raw.rstrip("\n"))
            p = PREFIX.match(l)
            f = FAIL_HDR.match(l)
            if p:
                cur = p.group(1)
            elif f:
                cur = f.group(1)
            if cur and cur != "<MAIN>":
                bufs.setdefault(cur, []).append(l)
    for name, ls in bufs.items():
        with open(os.path.join(outdir, name + ".log"), "w") as fh:
            fh.write("\n".join(ls) + "\n")


def cmd_merge(test_c, out, meta_path, runs):
    table = parse_table(test_c)
    meta = json.load(open(meta_path))
    tests_env = meta.get("tests_env", "")
    skip_reasons = meta.get("skip_reasons", {})
    final = {}  # name -> result dict

    def rank(r):
        # What a pass says about a test: ran > skipped with a reason > silently filtered.
        if r["state"] in ("PASSED", "FAILED"):
            return 3
        if r["state"] == "SKIPPED" and r.get("reason"):
            return 2
        return 1

    for run in runs:
        scenario, report, log = run.split(":", 2)
        rep = read_report(report) or {"tests": {}}
        summary, started, finished, failmsg = read_log(log)
        skipmsg, last = read_log.skipmsg, read_log.last
        names = set(rep.get("tests", {})) | set(summary) | set(finished) | started
        for name in names:
            if name == "<MAIN>" or name not in table:
                continue
            rt = rep.get("tests", {}).get(name, {})
            st = summary.get(name, {})
            fin = finished.get(name, {})
            state = rt.get("state") or st.get("state") or fin.get("state") or "DNS"
            if fin.get("state") and state in ("DNS", "RUNNING"):
                state = fin["state"]
            if state == "RUNNING":
                state = "ABORTED"
            dur = rt.get("duration", st.get("duration", fin.get("duration")))
            if state in ("FAILED", "ABORTED") and name in last and (dur is None or last[name] < dur):
                # A failed test's thread exits at the failure; the runner keeps its clock going.
                dur = last[name]
            r = {"name": name, "state": state, "duration": dur, "pass": scenario}
            msg = st.get("msg") or ""
            if state == "FAILED":
                r["error"] = msg or failmsg.get(name, "")
            elif state == "SKIPPED":
                num = name[:4]
                if not msg:
                    msg = skipmsg.get(name, "")
                if msg.startswith("included in TESTS_SKIP list") and "TEST_F_LOCAL" in table[name]["flags"] and not meta.get("with_local"):
                    msg = "Filtered due to negative test flags"
                if msg.startswith("included in TESTS_SKIP list"):
                    msg = "skipped by rdkafka-suite: " + skip_reasons.get(num, "in TESTS_SKIP")
                elif msg.startswith("Filtered due to negative test flags"):
                    fl = table[name]["flags"]
                    if "TEST_F_LOCAL" in fl:
                        msg = "local test (librdkafka mock cluster or client-only, no broker involved): run with --with-local"
                    elif "TEST_F_KNOWN_ISSUE" in fl:
                        msg = "flagged TEST_F_KNOWN_ISSUE by librdkafka"
                    elif "TEST_F_SOCKEM" in fl:
                        msg = "needs sockem (socket emulation)"
                r["reason"] = msg
            prev = final.get(name)
            if prev is None or rank(r) > rank(prev) or (rank(r) == rank(prev) and rank(r) == 3):
                final[name] = r

    results = []
    for name, t in table.items():
        num = name[:4]
        if not selected(num, tests_env):
            continue
        r = final.get(name)
        if r is None or r["state"] in ("DNS",) or (r["state"] == "SKIPPED" and not r.get("reason")):
            # Never ran in any pass: say why from the table.
            if "TEST_F_MANUAL" in t["flags"]:
                reason = "manual test (TEST_F_MANUAL)"
            elif t["scenario"] not in ("default",) and not any(s in meta.get("scenarios_run", []) for s in t["scenario"].split(",")):
                reason = "requires test scenario %s (a broker with that configuration)" % t["scenario"]
            elif r is not None and r["state"] == "DNS":
                reason = "did not start: the test-runner was aborted (see runner log)"
            elif r is None:
                reason = "not built into this test-runner (e.g. a sockem test without WITH_SOCKEM)"
            else:
                reason = "filtered by the test-runner"
            state = "FAILED" if reason.startswith("did not start") else "SKIPPED"
            r = {"name": name, "state": state, "duration": (r or {}).get("duration") or 0.0,
                 "pass": (r or {}).get("pass"), "reason": reason}
            if state == "FAILED":
                r["error"] = reason
        if r["state"] == "ABORTED":
            r["state"] = "FAILED"
            r.setdefault("error", "killed while running: the test-runner aborted (another test timed out or it crashed)")
        results.append(r)

    totals = {"passed": 0, "failed": 0, "skipped": 0}
    for r in results:
        totals[{"PASSED": "passed", "FAILED": "failed"}.get(r["state"], "skipped")] += 1
    meta = dict(meta)
    meta.pop("skip_reasons", None)
    doc = dict(meta, totals=totals, tests=results)
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")

    # Human summary.
    failed = [r for r in results if r["state"] == "FAILED"]
    skipped = [r for r in results if r["state"] == "SKIPPED"]
    if failed:
        print("\nFAILED tests:")
        for r in failed:
            print("  %-45s %8.1fs  %s" % (r["name"], r.get("duration") or 0, r.get("error", "")))
    if skipped:
        by = {}
        for r in skipped:
            by.setdefault(r.get("reason", ""), []).append(r["name"])
        print("\nSKIPPED tests, by reason:")
        for reason, names in sorted(by.items(), key=lambda kv: -len(kv[1])):
            print("  %s (%d): %s" % (reason or "(no reason given)", len(names), " ".join(names)))
    ran = sorted((r for r in results if r["state"] in ("PASSED", "FAILED")), key=lambda r: -(r.get("duration") or 0))
    if ran:
        print("\nLongest tests: " + ", ".join("%s %.0fs" % (r["name"], r["duration"] or 0) for r in ran[:8]))
    print("\nrdkafka-suite: %d passed, %d failed, %d skipped" % (totals["passed"], totals["failed"], totals["skipped"]))


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    cmd, args = argv[1], argv[2:]
    if cmd == "table":
        cmd_table(*args)
    elif cmd == "scenario":
        cmd_scenario(*args)
    elif cmd == "remaining":
        cmd_remaining(*args)
    elif cmd == "split":
        cmd_split(args)
    elif cmd == "merge":
        cmd_merge(args[0], args[1], args[2], args[3:])
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
