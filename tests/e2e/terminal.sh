#!/bin/sh
# What only shows on a terminal (issue 17), through a pseudo-terminal
# (Python's pty): the progress line on stderr for a long file read (and
# none with -q), colour, message lines wrapped at the terminal's width with
# the hanging indent, and the live start line.  Needs python3 (else skip).
cd "$(dirname "$0")/../.." || exit 2
command -v python3 >/dev/null 2>&1 || { echo "skip: terminal test needs python3"; exit 77; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
# a capture long enough to read for a while (read three times: ~90 MB)
python3 tools/gen-pcap.py bench --size-mb 30 --connections 2000 --seed 3 "$T/big.pcap" >/dev/null ||
    { echo "FAIL: gen-pcap"; exit 1; }
exec python3 - "$T" <<'PY'
import os, pty, re, select, signal, subprocess, sys, struct, fcntl, termios, time

T = sys.argv[1]
BIN = "./corscope"
fail = 0
def ok(m): print("ok   " + m)
def bad(m):
    global fail
    fail = 1
    print("FAIL " + m)

def run_pty(args, cols=100, stdout_tty=True, stderr_tty=True, env=None, stop_after=None):
    """Runs args with stdout and/or stderr on a pty of `cols` columns;
    returns (pty bytes, stdout bytes if not on the pty, exit status)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, cols, 0, 0))
    out = open(os.path.join(T, "stdout"), "wb+")
    # a progress line every 20 ms: the reads below are short on a fast machine
    e = dict(os.environ, LC_ALL="C.UTF-8", TERM="xterm", CORSCOPE_PROGRESS_INTERVAL_MS="20")
    e.pop("NO_COLOR", None)
    if env:
        e.update(env)
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave if stdout_tty else out,
                         stderr=slave if stderr_tty else out, env=e)
    os.close(slave)
    data = b""
    start = time.time()
    signalled = False
    while True:
        if stop_after and not signalled and time.time() - start > stop_after(data):
            p.send_signal(signal.SIGINT)
            signalled = True
        r, _, _ = select.select([master], [], [], 0.1)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
        if time.time() - start > 120:
            p.kill()
            break
    rc = p.wait()
    os.close(master)
    out.seek(0)
    return data, out.read(), rc

big = os.path.join(T, "big.pcap")
three = ["-r", big, "-r", big, "-r", big]

# ---- progress line: stderr on the terminal, stdout to a file ----------------
err, out, rc = run_pty([BIN, *three], stdout_tty=False)
lines = re.findall(rb"\r\x1b\[Kcorscope: +(\d+)%  ([\d.]+) MB/s  (\S+) packets  (\S+) transactions  (\S+) blocked", err)
if rc == 0 and lines:
    ok("progress line: %d updates, last %s%% %s MB/s %s packets" % (len(lines), lines[-1][0].decode(), lines[-1][1].decode(), lines[-1][2].decode()))
else:
    bad("no progress line (exit %d): %r" % (rc, err[:300]))
if err.endswith(b"\r\x1b[K"):
    ok("progress line erased at the end")
else:
    bad("progress line not erased: ends %r" % err[-80:])
pcts = [int(l[0]) for l in lines]
if pcts == sorted(pcts) and all(0 <= x <= 100 for x in pcts):
    ok("percentages rise: %s" % pcts[:8])
else:
    bad("percentages %s" % pcts)
ref = subprocess.run([BIN, *three], capture_output=True)
if out == ref.stdout and ref.stderr == b"":
    ok("stdout identical to a run without a terminal (%d bytes), which prints no progress" % len(out))
else:
    bad("stdout differs from the run without terminal, or that run wrote to stderr: %r" % ref.stderr[:200])

err, out, rc = run_pty([BIN, "-q", *three], stdout_tty=False)
if rc == 0 and b"corscope:" not in err and err.strip() == b"":
    ok("-q: no progress line")
else:
    bad("-q: stderr %r" % err[:200])

# both on the terminal: the timeline's lines never share a line with the progress
both, _, rc = run_pty([BIN, *three, "--color=never"], cols=400)
text = both.replace(b"\r\n", b"\n")
# What the terminal shows of each line: the text after its last carriage
# return, with the erase (ESC [K) applied.  A progress line that was not
# erased before the timeline went on would leave "corscope: NN%" in front.
rendered = []
for l in text.split(b"\n"):
    seg = l.split(b"\r")[-1]
    if seg.startswith(b"\x1b[K"):
        seg = seg[3:]
    rendered.append(seg)
mixed = [l for l in rendered if re.match(rb"corscope: +\d+%", l)]
plain = subprocess.run([BIN, *three, "--color=never"], capture_output=True).stdout
if rc == 0 and not mixed and b"\n".join(rendered).rstrip(b"\n") == plain.rstrip(b"\n") and b"% " in both:
    ok("progress and timeline on one terminal: progress drawn and erased, the screen shows the timeline only")
else:
    r = b"\n".join(rendered).rstrip(b"\n").split(b"\n")
    q = plain.rstrip(b"\n").split(b"\n")
    diff = [(i, a, b) for i, (a, b) in enumerate(zip(r, q)) if a != b][:2]
    bad("mixed lines on the terminal: rc %d, mixed %r, progress drawn %s, %d vs %d lines, first differences %r"
        % (rc, mixed[:2], b"% " in both, len(r), len(q), diff))

# ---- colour on a terminal, NO_COLOR ----------------------------------------
data, _, rc = run_pty([BIN, "-r", "pcaps/demo.pcap"], stderr_tty=False)
if b"\x1b[1;31mBLOCKED\x1b[0m" in data:
    ok("colour on a terminal")
else:
    bad("no colour on a terminal")
data, _, rc = run_pty([BIN, "-r", "pcaps/demo.pcap"], stderr_tty=False, env={"NO_COLOR": "1"})
if b"\x1b[" not in data:
    ok("NO_COLOR on a terminal: no colour")
else:
    bad("NO_COLOR ignored")

# ---- wrapping at the width with the hanging indent ---------------------------
for cols in (80, 120):
    data, _, rc = run_pty([BIN, "-r", "pcaps/demo.pcap", "--color=never"], cols=cols, stderr_tty=False)
    lines = data.decode("utf-8").replace("\r\n", "\n").split("\n")
    # message lines (Firefox/Fix/...) and their continuations
    inblock = False
    too_long, conts, bad_indent = [], 0, []
    for i, l in enumerate(lines):
        m = re.match(r"^ {13}(Firefox|Chromium|Fix|Note|Warning) +", l)
        if m:
            inblock = True
            if len(l) > cols:
                too_long.append(l)
        elif inblock and l.startswith(" " * 23) and not l.startswith(" " * 24):
            conts += 1
            if len(l) > cols and " " in l.strip():
                too_long.append(l)
        elif inblock and l.startswith(" " * 14):
            bad_indent.append(l)
        else:
            inblock = False
    joined = re.sub(r"\n {23}", " ", "\n".join(lines))
    ref = subprocess.run([BIN, "-r", "pcaps/demo.pcap", "--color=never"], capture_output=True,
                         env=dict(os.environ, LC_ALL="C.UTF-8")).stdout.decode()
    if conts and not too_long and not bad_indent and joined.strip() == ref.strip():
        ok("%d columns: %d continuation lines at column 24, none too long, same words as unwrapped" % (cols, conts))
    else:
        bad("%d columns: %d continuations, too long %r, bad indent %r, same words %s" % (cols, conts, too_long[:1], bad_indent[:1], joined.strip() == ref.strip()))

# ---- live start line on a terminal (needs root and a network namespace) -----
if os.geteuid() == 0 and subprocess.run(["unshare", "--net", "true"], capture_output=True).returncode == 0:
    data, _, rc = run_pty(["unshare", "--net", "sh", "-c", "ip link set lo up && exec " + BIN + " -i lo -Z root"],
                          stop_after=lambda d: 0.1 if b"listening on" in d else 5)
    s = data.decode("utf-8", "replace").replace("\r\n", "\n")
    if re.search(r"^listening on lo, link-type EN10MB \(Ethernet\), snapshot length 262144 bytes$", s, re.M) and \
       re.search(r"^0 packets captured$", s, re.M):
        ok("live on a terminal: start line, and the end lines after ^C")
    else:
        bad("live start line: %r" % s[:300])
else:
    print("ok   (live start line on a terminal not tried: needs root and unshare; e2e/live_lines covers it off a terminal)")
sys.exit(fail)
PY
