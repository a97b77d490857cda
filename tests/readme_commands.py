#!/usr/bin/python3
"""Runs every ufm-sim and plots command the README shows, in the README's order, in a scratch
directory: the usage block, the theory section's inline commands (with its T=... line), the sweep,
network and study blocks. Each command gets a few seconds and then SIGINT, which ufm-sim answers by
writing what it has (status 130), so the long examples start, validate and write, and the next
command that reads their output (`--config ce.json`, `--init-state net-state`, `--table pd.jsonl`,
`plots/summary.py ce.json`) has a file to read. A command that exits 2 (bad input: an option
renamed, a value out of range), 1 (internal error) or 127 (not found) fails the test.

usage: readme_commands.py README.md UFM_SIM SOURCE_DIR SCRATCH
"""
import os
import re
import subprocess
import sys

SECONDS_PER_COMMAND = 3  # ufm-sim validates every option before any work, in milliseconds
PLOT_SECONDS = 60
FASHION_MNIST = "/usr/share/datasets/fashion-mnist"


def commands(readme_text):
    """(line number, command) in README order: code-block lines that start with build/ufm-sim,
    python3 plots/ or T=, and inline `build/ufm-sim ...` commands in prose."""
    found = []
    in_block = False
    for number, line in enumerate(readme_text.splitlines(), start=1):
        if line.startswith("```"):
            in_block = not in_block
            continue
        if in_block:
            stripped = line.strip()
            if stripped.startswith(("build/ufm-sim", "python3 plots/", "T=")):
                found.append((number, re.sub(r"\s+#.*$", "", stripped)))
        else:
            for inline in re.findall(r"`(build/ufm-sim[^`]*)`", line):
                found.append((number, inline.strip()))
    return found


def runnable(command):
    """The command with a timeout before each ufm-sim and the system's python3 for plots."""
    command = re.sub(r"(^|&& )build/ufm-sim", rf"\1timeout -s INT {SECONDS_PER_COMMAND} build/ufm-sim", command)
    return re.sub(r"^python3 ", f"timeout {PLOT_SECONDS} /usr/bin/python3 ", command)


def main():
    readme, binary, source, scratch = sys.argv[1:5]
    os.makedirs(os.path.join(scratch, "build"), exist_ok=True)
    os.symlink(os.path.abspath(binary), os.path.join(scratch, "build", "ufm-sim"))
    for tree in ("examples", "plots"):
        os.symlink(os.path.join(os.path.abspath(source), tree), os.path.join(scratch, tree))
    with open(os.path.join(scratch, "data.csv"), "w") as f:  # the user's own file in the README
        for i in range(40):
            f.write(f"{i % 5 * 0.1:.1f},{(i * 7) % 11 * 0.1:.1f},{i % 2}\n")
    with open(readme, encoding="utf-8") as f:
        found = commands(f.read())
    shell_prefix = ""  # the README's T="..." line, for the commands that use $T
    failures, ran, skipped, statuses = [], 0, [], {}
    for number, command in found:
        if command.startswith("T="):
            shell_prefix = command + "; "
            continue
        if "fashion-mnist" in command and not os.path.isdir(FASHION_MNIST):
            skipped.append(f"README:{number} (no {FASHION_MNIST})")
            continue
        ran += 1
        result = subprocess.run(["bash", "-c", shell_prefix + runnable(command)], cwd=scratch,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        statuses[result.returncode] = statuses.get(result.returncode, 0) + 1
        if result.returncode in (1, 2, 126, 127) or result.returncode < 0:
            lines = result.stderr.strip().splitlines()
            failures.append(f"README:{number}: status {result.returncode}: {command}\n    "
                            + (lines[-1] if lines else "(no message)"))
    for s in skipped:
        print("skipped", s)
    print(f"{ran} README commands run, {len(failures)} failed, {len(skipped)} skipped; exit statuses "
          + ", ".join(f"{code}: {count}" for code, count in sorted(statuses.items())))
    for failure in failures:
        print(failure)
    if ran < 30:
        print(f"only {ran} commands found: has the README's layout changed?")
        return 1
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
